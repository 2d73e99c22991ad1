//! Integration tests of the `xwebhook` service: the real API and worker on the embedded store, in process or as
//! the real binary, against a real HTTP receiver.

mod access;
mod access_table;
mod api;
mod auto_disable;
mod binary;
mod connections;
mod contract;
mod dashboard;
mod delivery;
mod ed25519;
mod fairness;
mod helpers;
mod idempotency;
mod inputs;
mod logout;
mod operational;
mod operator;
mod overload;
mod portal;
mod process;
mod rate_limit;
mod readiness;
mod receiver;
mod redis;
mod retention;
mod sdk_fields;
mod telemetry;
mod worker;
