//! Sinks (what the SDK's `destination` API serves): the plug-in point for destination types, the events they
//! carry, and the pump that drives pushing sinks.
//!
//! A destination type is a [`SinkType`]: its name (the API's `type`), its config type, how a change to it
//! applies, what the API shows of it, and, for a type that pushes, the [`BatchSender`] that delivers a batch.
//! The types themselves live in the `destinations` crate; the server hands them to the API and the pump as one
//! [`SinkTypes`] registry.
//!
//! Layout:
//! - this module: the plug-in traits and the registry;
//! - `event`: the JSON shape of one event, the same for every type (the SDK's `PollingEndpointMessageOut`);
//! - `log`: reading a sink's log as events (for the pump's batches and the pollers' pages);
//! - `pump`: which process drives which pushing sink, and the loop that sends its log in order;
//! - `driver`: one step of that loop (the next batch, sent when ready, the state saved under the lease);
//! - `news`: the in-process wake-up from the intake's appends to the drivers waiting for them;
//! - `backoff`: when a failed batch is tried again.

mod backoff;
mod driver;
mod event;
mod log;
mod news;
mod pump;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use backoff::retry_delay;
pub use event::{Batch, SinkEvent};
pub use log::{EventFilter, LogPage, MESSAGE_GRACE, read_events};
pub use news::SinkNews;
pub use pump::{SinkPump, SinkPumpConfig};

use crate::delivery::{AddressPolicy, HttpSender};
use crate::domain::Sink;

/// A destination's settings were refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Why a batch was not delivered: what `failureReason` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendFailure(pub String);

/// Delivers one batch; it counts as delivered only when this returns `Ok` (a 2xx, a broker's confirms).
#[async_trait]
pub trait BatchSender: Send + Sync {
    async fn send(&mut self, batch: &Batch) -> Result<(), SendFailure>;
}

/// What a sender may use: the process's shared HTTP client (pooled, address-guarded), and the address policy
/// that a sender with a client of its own (a broker's) must apply to the addresses it connects to.
#[derive(Clone)]
pub struct SendContext {
    pub http: HttpSender,
    pub policy: AddressPolicy,
}

/// A destination type. Adding one is a module implementing this and a line registering it.
pub trait SinkType: Send + Sync + 'static {
    /// The API's name for it (`type`).
    const NAME: &'static str;
    /// Whether deliveries are pushed by a sender (driven by the pump), or pulled by the sink's consumers.
    const PUSHES: bool;
    /// Its stored settings (secrets included), as the API's `config` reads them. Unknown fields must be refused
    /// (`#[serde(deny_unknown_fields)]`), so that a field we do not implement is never silently dropped.
    type Config: Serialize + DeserializeOwned + Send + Sync;
    /// A change to them, as the API's patch `config` reads it.
    type Patch: DeserializeOwned;

    /// Checks settings beyond their shape (a URL's scheme, a value's range).
    fn check(config: &Self::Config) -> Result<(), ConfigError>;

    fn apply(config: &mut Self::Config, patch: Self::Patch);

    /// What `DestinationOut.config` shows: never a secret.
    fn shown(config: &Self::Config) -> Value;

    /// The sender of a pushing type; `None` for a type whose consumers pull (a poller).
    fn sender(config: Self::Config, sink: &Sink, cx: &SendContext) -> Option<Box<dyn BatchSender>>;

    /// Whether the type signs what it sends with the destination's secret (so that rotating it means something).
    fn signs() -> bool {
        false
    }

    /// Takes the signing secret the caller chose out of a creation's config (a FIFO endpoint's `key`), so that
    /// it is kept as the destination's secret, not in its config.
    fn take_secret(_config: &mut Self::Config) -> Option<String> {
        None
    }
}

/// A creation's config, read and checked: what to store, and the secret the caller chose, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub config: Value,
    pub secret: Option<String>,
}

/// A registered type, with its config erased to JSON, so that the registry can hold every type in one map.
pub trait AnySinkType: Send + Sync {
    fn name(&self) -> &'static str;
    /// Reads and checks a creation's `config`, giving what to store.
    fn configure(&self, config: Value) -> Result<Configured, ConfigError>;
    /// Applies a patch's `config` to the stored one, giving what to store.
    fn patch(&self, stored: &Value, patch: Value) -> Result<Value, ConfigError>;
    fn shown(&self, stored: &Value) -> Value;
    /// The sender of a pushing type, `None` for a pulled one; an error if the stored config no longer reads.
    fn sender(&self, sink: &Sink, cx: &SendContext) -> Result<Option<Box<dyn BatchSender>>, ConfigError>;
    fn pushes(&self) -> bool;
    fn signs(&self) -> bool;
}

struct Registered<T>(std::marker::PhantomData<fn() -> T>);

fn read<C: DeserializeOwned>(config: Value) -> Result<C, ConfigError> {
    serde_json::from_value(config).map_err(|e| ConfigError::new(format!("config: {e}")))
}

fn stored<C: Serialize>(config: &C) -> Result<Value, ConfigError> {
    serde_json::to_value(config).map_err(|e| ConfigError::new(format!("config: {e}")))
}

impl<T: SinkType> AnySinkType for Registered<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn configure(&self, config: Value) -> Result<Configured, ConfigError> {
        let mut config: T::Config = read(config)?;
        T::check(&config)?;
        let secret = T::take_secret(&mut config);
        Ok(Configured {
            config: stored(&config)?,
            secret,
        })
    }

    fn patch(&self, current: &Value, patch: Value) -> Result<Value, ConfigError> {
        let mut config: T::Config = read(current.clone())?;
        T::apply(&mut config, read(patch)?);
        T::check(&config)?;
        stored(&config)
    }

    fn shown(&self, current: &Value) -> Value {
        read::<T::Config>(current.clone()).map_or(Value::Object(Default::default()), |c| T::shown(&c))
    }

    fn sender(&self, sink: &Sink, cx: &SendContext) -> Result<Option<Box<dyn BatchSender>>, ConfigError> {
        Ok(T::sender(read(sink.config.clone())?, sink, cx))
    }

    fn pushes(&self) -> bool {
        T::PUSHES
    }

    fn signs(&self) -> bool {
        T::signs()
    }
}

/// Every destination type this deployment serves, by name.
#[derive(Clone, Default)]
pub struct SinkTypes(Arc<BTreeMap<&'static str, Arc<dyn AnySinkType>>>);

impl fmt::Debug for SinkTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl SinkTypes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `T` under its name.
    pub fn with<T: SinkType>(mut self) -> Self {
        Arc::make_mut(&mut self.0).insert(T::NAME, Arc::new(Registered::<T>(std::marker::PhantomData)));
        self
    }

    pub fn get(&self, name: &str) -> Option<&dyn AnySinkType> {
        self.0.get(name).map(|t| t.as_ref())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
}
