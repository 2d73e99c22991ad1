//! Criterion micro-benchmarks of Xwebhook's hot paths (see `benches/`), and the few fixtures they share. The
//! benchmarks use the real types of the engine, the API and the backends, never copies of them.
//!
//! Layout:
//! - [`payloads`]: JSON payloads of realistic shape at our sizes, and create-message bodies around them.
//! - [`services`]: stores on the local Redis and Postgres (a unique key prefix or schema per run, removed
//!   afterwards), and the rule that a bench whose service is not reachable is skipped with a message rather
//!   than failed.
//!
//! It must never be a dependency of anything but the benches.

pub mod payloads;
pub mod services;

/// The runtime the async benches run on: multi-threaded, like the server's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the benches")
}
