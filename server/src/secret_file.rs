//! The JWT signing secret of a deployment without `XWEBHOOK_JWT_SECRET`: generated on first start and kept in
//! the data directory (readable by its owner only), so that tokens survive restarts.
//!
//! A kept secret obeys the same rule as a configured one (at least [`MIN_JWT_SECRET_LEN`] characters): a
//! hand-edited one-character file would otherwise sign tokens anyone can forge.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore as _;
use xwebhook_storage_embedded::private;

use crate::config::{MIN_JWT_SECRET_LEN, Secret};

const FILE_NAME: &str = "jwt-secret";

/// Why the kept secret cannot be used; each names the file, so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read the JWT secret file {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the JWT secret file {path} is empty: write a secret of at least {MIN_JWT_SECRET_LEN} characters \
         into it, or delete it to have one generated"
    )]
    Empty { path: PathBuf },
    #[error(
        "the JWT secret in {path} has {len} characters: it must have at least {MIN_JWT_SECRET_LEN} (or delete \
         the file to have one generated)"
    )]
    TooShort { path: PathBuf, len: usize },
    #[error("cannot create the JWT secret file {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the kept secret, if there is one; tightens the file's permissions if they are looser than 0600.
pub fn read(data_dir: &Path) -> Result<Option<Secret>, SecretFileError> {
    let path = path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SecretFileError::Unreadable { path, source }),
    };
    private::tighten(&path, private::FILE_MODE).map_err(|source| SecretFileError::Unreadable {
        path: path.clone(),
        source,
    })?;
    parse(text.trim(), path).map(Some)
}

fn parse(secret: &str, path: PathBuf) -> Result<Secret, SecretFileError> {
    match secret.chars().count() {
        0 => Err(SecretFileError::Empty { path }),
        len if len < MIN_JWT_SECRET_LEN => Err(SecretFileError::TooShort { path, len }),
        _ => Ok(Secret::new(secret.to_owned())),
    }
}

/// Reads the kept secret or creates one. Returns whether it was created.
pub fn read_or_create(data_dir: &Path) -> Result<(Secret, bool), SecretFileError> {
    if let Some(secret) = read(data_dir)? {
        return Ok((secret, false));
    }
    let path = path(data_dir);
    let created = create(data_dir, &path).map_err(|source| SecretFileError::Create {
        path: path.clone(),
        source,
    })?;
    match created {
        Some(secret) => Ok((secret, true)),
        // Another process (a concurrent `serve` or `jwt generate`) created it first: use theirs.
        None => {
            let theirs = read(data_dir)?.ok_or(SecretFileError::Empty { path })?;
            Ok((theirs, false))
        }
    }
}

/// Writes a new random secret; `None` if the file appeared meanwhile.
fn create(data_dir: &Path, path: &Path) -> std::io::Result<Option<Secret>> {
    private::create_dir(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, private::FILE_MODE);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(Some(Secret::new(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) {
        std::fs::write(path(dir), text).expect("write");
    }

    #[test]
    fn a_kept_secret_needs_16_characters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            ("x", Some("has 1 characters: it must have at least 16")),
            ("  \n", Some("is empty")),
            ("0123456789abcde\n", Some("has 15 characters")),
            ("0123456789abcdef\n", None),
        ];
        let file = path(dir.path()).display().to_string();
        for (text, expected) in cases {
            write(dir.path(), text);
            match (read_or_create(dir.path()), expected) {
                (Ok((secret, created)), None) => {
                    assert_eq!((secret.expose(), created), (text.trim(), false));
                }
                (Err(e), Some(words)) => {
                    let message = e.to_string();
                    assert!(
                        message.contains(&file) && message.contains(words),
                        "{text:?}: {message}"
                    );
                }
                (got, _) => panic!("{text:?}: unexpected {:?}", got.map(|(_, created)| created)),
            }
        }
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory where the file should be cannot be read as one, whoever runs the test (even root).
        std::fs::create_dir(path(dir.path())).expect("mkdir");
        let message = read(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            format!("cannot read the JWT secret file {}", path(dir.path()).display())
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_file_and_its_directory_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("data");
        let (_, created) = read_or_create(&dir).expect("created");
        assert!(created);
        assert_eq!((mode(&dir), mode(&path(&dir))), (0o700, 0o600));

        std::fs::set_permissions(path(&dir), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        read_or_create(&dir).expect("read");
        assert_eq!(mode(&path(&dir)), 0o600);
    }
}
