//! Xwebhook's Redis backend (not built yet): records in Redis hashes, the delivery queue on Redis streams with
//! consumer groups, scheduled retries in sorted sets. It will implement the storage and queue ports of
//! `xwebhook-engine` and must never depend on another storage crate or on the HTTP API.
