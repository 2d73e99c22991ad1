//! The embedded store against the conformance suite, plus what only an embedded store must do: survive a
//! reopen, and batch concurrent writes.

mod durability;
mod intake;
#[cfg(unix)]
mod permissions;
mod recorder;
mod sink_pump;
mod timing;

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite::Backend;
use xwebhook_storage_embedded::EmbeddedStore;

/// A fresh store in its own temporary directory, removed when the case ends.
async fn fresh() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    Backend::with_guard(Stores::from_one(store), dir)
}

mod conformance {
    xwebhook_engine::conformance_suite!(super::fresh);
}
