//! The JWT signing secret of a deployment without `XWEBHOOK_JWT_SECRET`: generated on first start and kept in
//! the data directory (readable by its owner only), so that tokens survive restarts.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore as _;

use crate::config::Secret;

const FILE_NAME: &str = "jwt-secret";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the kept secret, if there is one.
pub fn read(data_dir: &Path) -> std::io::Result<Option<Secret>> {
    match std::fs::read_to_string(path(data_dir)) {
        Ok(s) if !s.trim().is_empty() => Ok(Some(Secret::new(s.trim().to_owned()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the kept secret or creates one. Returns whether it was created.
pub fn read_or_create(data_dir: &Path) -> std::io::Result<(Secret, bool)> {
    if let Some(secret) = read(data_dir)? {
        return Ok((secret, false));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path(data_dir)) {
        Ok(file) => file,
        // Another process (a concurrent `serve` or `jwt generate`) created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = read(data_dir)?.ok_or(e)?;
            return Ok((secret, false));
        }
        Err(e) => return Err(e),
    };
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok((Secret::new(secret), true))
}
