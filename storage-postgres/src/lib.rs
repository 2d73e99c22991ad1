//! Xwebhook's Postgres backend (not built yet): applications, endpoints, event types, messages and attempts in
//! Postgres tables. It will implement the record ports of `xwebhook-engine` (the queue stays on Redis or the
//! embedded store) and must never depend on another storage crate or on the HTTP API.
