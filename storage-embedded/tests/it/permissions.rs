//! The store's directory and file are readable by their owner only: they hold endpoint secrets and payloads.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use xwebhook_storage_embedded::{EmbeddedStore, FILE_NAME};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_new_store_is_owner_only() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("data");
    drop(EmbeddedStore::open(&dir).expect("open"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
}

#[test]
fn a_readable_store_is_tightened_when_opened() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("data");
    drop(EmbeddedStore::open(&dir).expect("open"));
    set_mode(&dir, 0o755);
    set_mode(&dir.join(FILE_NAME), 0o644);

    drop(EmbeddedStore::open(&dir).expect("reopen"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
}
