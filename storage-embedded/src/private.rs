//! Owner-only files and directories. The data directory holds endpoint secrets, custom `Authorization` header
//! values and payloads, so nobody but the service's own user may read it. Used for the store's directory and
//! file here, and by the server for the JWT secret kept beside them.
//!
//! A directory or file found with looser permissions (made by an older version, or by hand) is tightened, and
//! the change is logged: silently keeping a readable secret would be worse than surprising an operator.

use std::io;
use std::path::Path;

/// Owner read, write and search.
pub const DIR_MODE: u32 = 0o700;
/// Owner read and write.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents owner-only, or tightens it if it exists with looser permissions.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Takes away every permission beyond `mode` (group's and others'), logging when that changed anything.
#[cfg(unix)]
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    let wanted = current & mode;
    if wanted == current {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))?;
    tracing::warn!(path = %path.display(), from = format!("{current:o}"), to = format!("{wanted:o}"),
        "tightened permissions: the data directory holds secrets");
    Ok(())
}

/// Elsewhere, permissions are not Unix modes; the directory is whatever the platform's defaults make it.
#[cfg(not(unix))]
pub fn tighten(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
