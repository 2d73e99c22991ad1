//! The destination types beyond webhook endpoints, each a `xwebhook_engine::sink::SinkType`:
//!
//! - `fifo`: `fifoEndpoint`, batches of events in order, one signed HTTP request each;
//! - `polling`: `pollingEndpoint`, whose consumers pull the log through the poller API;
//! - `rabbit_mq`: `rabbitMq`, each event published to the customer's broker, confirmed.
//!
//! Adding a type is a module here and a line in [`all`]. The engine drives the pushing types (its `sink::pump`);
//! the API serves every type through the SDK's `destination` and `message_poller` calls.

mod fifo;
mod polling;
mod rabbit_mq;

pub use fifo::FifoEndpoint;
pub use polling::PollingEndpoint;
pub use rabbit_mq::RabbitMq;

use xwebhook_engine::sink::SinkTypes;

/// Every destination type this build serves.
pub fn all() -> SinkTypes {
    SinkTypes::new()
        .with::<FifoEndpoint>()
        .with::<PollingEndpoint>()
        .with::<RabbitMq>()
}
