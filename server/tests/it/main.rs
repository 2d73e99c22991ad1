//! Integration tests of the `xwebhook` service: the real API and worker on the embedded store, in process or as
//! the real binary, against a real HTTP receiver.

mod access;
mod api;
mod binary;
mod delivery;
mod ed25519;
mod helpers;
mod logout;
mod process;
mod redis;
