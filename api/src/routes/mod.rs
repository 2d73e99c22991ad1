//! Handlers, one module per resource. Handlers parse, call the ports, and shape the answer; the rules they
//! share (lookups, pagination, errors) live in one place each.

pub mod admin;
pub mod application;
pub mod attempt;
pub mod background_task;
pub mod destination;
pub mod endpoint;
pub mod event_type;
pub mod example;
pub mod expunge;
pub mod headers;
pub mod health;
pub(crate) mod labels;
pub mod logout;
pub(crate) mod lookup;
pub mod message;
pub mod operational_webhook;
pub mod poller;
pub mod portal;
pub(crate) mod rate;
pub mod recover;
pub mod secret;
pub mod statistics;
pub mod stats;
