//! The `xwebhook` binary's library: configuration, the composition root that picks backends, and the
//! commands (`serve`, `migrate`, `prune`, `queue stats`, `dlq list|redrive`, `jwt generate`). Only this crate
//! knows which storage crates exist.
//!
//! Layout:
//! - `config`: defaults → TOML file → `XWEBHOOK_*` environment → flags, validated.
//! - `contract`: the `openapi --check-against` comparison of a reference OpenAPI document with ours.
//! - `run`: opens backends and runs the API and the worker (with the payload cleaner).
//! - `prune`: `xwebhook prune --older-than`, its cutoff parsing and report.
//! - `operator`: `xwebhook queue stats`, `xwebhook dlq list` and `xwebhook dlq redrive`.
//! - `limits`: the open-file limit raised at start, and the API's connection limits derived from it.
//! - `secret_file`: the generated JWT secret kept in the data directory.
//! - `logging`: text or JSON log lines, and the span export layer.
//! - `traces`: the OTLP/HTTP span exporter (`XWEBHOOK_OTLP_ENDPOINT`).
//! - `metrics`: the Prometheus exporter and `GET /metrics`.
//!
//! It must never hold delivery or API logic of its own: that belongs to `xwebhook-engine` and `xwebhook-api`.

pub mod config;
pub mod contract;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod operator;
pub mod prune;
pub mod run;
pub mod secret_file;
pub mod traces;
