//! Domain types: validated names, bounded texts, secrets, payloads and the stored records.

mod background_task;
mod ed25519_key;
mod names;
mod payload;
mod records;
mod secret;
mod sink;
mod text;

pub use background_task::{BackgroundTask, Job, ReplayFilter, TaskStatus};
pub use ed25519_key::{Ed25519Key, Ed25519KeyError};
pub use names::{Channel, EndpointUrl, EventTypeName, NameError, Uid};
pub use payload::{Payload, PayloadError};
pub use records::{
    Application, Attempt, Destination, Endpoint, EventType, Message, MessageStatus, Metadata, TriggerType,
};
pub use secret::{EndpointSecret, RetiringSecret, SecretError, SecretSet, SigningKey};
pub use sink::{BadPosition, LogEntry, Position, Sink, SinkAttempt, SinkKey, SinkState};
pub use text::{BoundedMetadata, Description, Name, Schemas, TextError, check_text};
