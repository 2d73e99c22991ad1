//! `rabbitMq`: each event of a batch published to the customer's broker, on the default exchange with the
//! destination's routing key, under publisher confirms: the batch counts as delivered only when the broker
//! confirmed every event of it.
//!
//! The sender holds one connection (and one confirming channel on it), opened on the first send. A send that
//! fails on the connection, or that the pump cuts off half-way, drops it, so the next send starts on a fresh
//! one; refusals by a healthy broker (a nack, an unroutable event) keep it.

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use xwebhook_engine::delivery::AddressPolicy;
use xwebhook_engine::domain::Sink;
use xwebhook_engine::sink::{Batch, BatchSender, ConfigError, SendContext, SendFailure, SinkEvent, SinkType};

/// AMQP's longest short string (a routing key, a message's `type`).
const SHORT_MAX: usize = 255;
/// `delivery_mode` 2: the broker writes the message to disk in a durable queue.
const PERSISTENT: u8 = 2;
/// What `shown` puts in place of the URI's password.
const MASK: &str = "****";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RabbitMqConfig {
    /// `amqp://user:pass@host:port/vhost`, the vhost percent-escaped (`%2F` for `/`).
    pub uri: String,
    pub routing_key: String,
    /// Whether a publish no queue takes fails (true) or is dropped by the broker (false).
    #[serde(default)]
    pub mandatory: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RabbitMqPatch {
    pub uri: Option<String>,
    pub routing_key: Option<String>,
    pub mandatory: Option<bool>,
}

#[derive(Debug)]
pub struct RabbitMq;

impl SinkType for RabbitMq {
    const NAME: &'static str = "rabbitMq";
    const PUSHES: bool = true;
    type Config = RabbitMqConfig;
    type Patch = RabbitMqPatch;

    fn check(config: &RabbitMqConfig) -> Result<(), ConfigError> {
        let uri = url::Url::parse(&config.uri).map_err(|e| ConfigError::new(format!("config.uri: {e}")))?;
        if !matches!(uri.scheme(), "amqp" | "amqps") {
            return Err(ConfigError::new("config.uri: must be an amqp:// or amqps:// URI"));
        }
        if config.routing_key.len() > SHORT_MAX {
            return Err(ConfigError::new("config.routingKey: at most 255 bytes"));
        }
        Ok(())
    }

    fn apply(config: &mut RabbitMqConfig, patch: RabbitMqPatch) {
        if let Some(uri) = patch.uri {
            config.uri = unmasked(uri, &config.uri);
        }
        if let Some(routing_key) = patch.routing_key {
            config.routing_key = routing_key;
        }
        if let Some(mandatory) = patch.mandatory {
            config.mandatory = mandatory;
        }
    }

    fn shown(config: &RabbitMqConfig) -> Value {
        json!({ "uri": masked(&config.uri), "routingKey": config.routing_key, "mandatory": config.mandatory })
    }

    fn sender(config: RabbitMqConfig, sink: &Sink, cx: &SendContext) -> Option<Box<dyn BatchSender>> {
        Some(Box::new(RabbitMqSender {
            name: format!("xwebhook {}", sink.id),
            config,
            policy: cx.policy.clone(),
            link: None,
        }))
    }
}

/// A URI sent back as `shown` showed it keeps the stored password: the mask is not a password.
fn unmasked(uri: String, stored: &str) -> String {
    let (Ok(mut new), Ok(old)) = (url::Url::parse(&uri), url::Url::parse(stored)) else {
        return uri;
    };
    if new.password() != Some(MASK) {
        return uri;
    }
    match new.set_password(old.password()) {
        Ok(()) => new.to_string(),
        Err(()) => uri,
    }
}

/// The URI with its password masked. A URI that does not parse is not echoed at all: it may hold one.
fn masked(uri: &str) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return MASK.to_owned();
    };
    if url.password().is_none() {
        return uri.to_owned();
    }
    match url.set_password(Some(MASK)) {
        Ok(()) => url.to_string(),
        Err(()) => MASK.to_owned(),
    }
}

struct RabbitMqSender {
    /// The connection's name in the broker's management UI, so that its operator can tell who is connected.
    name: String,
    config: RabbitMqConfig,
    /// The deployment's rule for where deliveries may go: a broker URI must not reach its private network.
    policy: AddressPolicy,
    link: Option<Link>,
}

/// An open connection and its channel in confirm mode; dropping it closes both.
struct Link {
    connection: Connection,
    channel: Channel,
}

impl Link {
    fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

#[async_trait]
impl BatchSender for RabbitMqSender {
    async fn send(&mut self, batch: &Batch) -> Result<(), SendFailure> {
        let routing_key = ShortString::try_new(self.config.routing_key.as_str())
            .map_err(|_| SendFailure("the routing key is longer than 255 bytes".to_owned()))?;
        let bodies = batch
            .events
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SendFailure(format!("cannot encode an event: {e}")))?;
        // Taken out for the send and put back only once the send is over: see the module's comment.
        let link = match self.link.take() {
            Some(link) if link.is_open() => link,
            _ => self.connect().await?,
        };
        let options = BasicPublishOptions {
            mandatory: self.config.mandatory,
            immediate: false,
        };
        let confirms = publish(&link.channel, routing_key, options, &batch.events, &bodies)
            .await
            .map_err(|e| SendFailure(format!("lost the broker: {e}")))?;
        self.link = Some(link);
        confirms.verdict(&self.config.routing_key)
    }
}

impl RabbitMqSender {
    async fn connect(&self) -> Result<Link, SendFailure> {
        // lapin's messages name neither the URI nor its password, so they are safe to show.
        let failed = |e: lapin::Error| SendFailure(format!("cannot connect to the broker: {e}"));
        let uri: AMQPUri =
            self.config.uri.parse().map_err(|_| {
                SendFailure("cannot connect to the broker: the URI does not parse".to_owned())
            })?;
        self.check_address(&uri).await?;
        let properties = ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let connection = Connection::connect_uri(uri, properties).await.map_err(failed)?;
        let channel = connection.create_channel().await.map_err(failed)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(failed)?;
        Ok(Link { connection, channel })
    }
}

impl RabbitMqSender {
    /// Refuses a broker whose host resolves to any address the policy blocks, as endpoints' deliveries are
    /// refused. lapin resolves the host again to connect, so a name that changes its answer in between
    /// (DNS rebinding) is not caught here.
    async fn check_address(&self, uri: &AMQPUri) -> Result<(), SendFailure> {
        let (host, port) = (uri.authority.host.as_str(), uri.authority.port);
        let addrs: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                SendFailure(format!(
                    "cannot connect to the broker: cannot resolve `{host}`: {e}"
                ))
            })?
            .collect();
        if addrs.is_empty() || addrs.iter().any(|a| !self.policy.permits(a.ip())) {
            return Err(SendFailure(format!(
                "refused to connect to `{host}`: it resolves to a non-public address"
            )));
        }
        Ok(())
    }
}

/// Publishes every event in order, then waits for the broker's confirm of each.
async fn publish(
    channel: &Channel,
    routing_key: ShortString,
    options: BasicPublishOptions,
    events: &[SinkEvent],
    bodies: &[Vec<u8>],
) -> lapin::Result<Confirms> {
    // All published before any confirm is awaited: one round trip per batch, not per event.
    let mut pending = Vec::with_capacity(events.len());
    for (event, body) in events.iter().zip(bodies) {
        let confirm = channel
            .basic_publish(
                ShortString::default(),
                routing_key.clone(),
                options,
                body,
                properties(event),
            )
            .await?;
        pending.push(confirm);
    }
    let mut confirms = Confirms {
        total: pending.len(),
        ..Confirms::default()
    };
    for confirm in pending {
        match confirm.await? {
            // The broker acks an unroutable mandatory publish after returning it; lapin hands the returned
            // message over with that ack.
            Confirmation::Ack(returned) => confirms.returned += usize::from(returned.is_some()),
            // `NotRequested` cannot happen on a confirming channel; counted as refused, it can never pass.
            Confirmation::Nack(_) | Confirmation::NotRequested => confirms.refused += 1,
        }
    }
    Ok(confirms)
}

fn properties(event: &SinkEvent) -> BasicProperties {
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(event.id.as_str().into())
        .with_timestamp(u64::try_from(event.timestamp.timestamp()).unwrap_or(0));
    // An event type may be one byte longer than a short string; it is in the body anyway.
    match ShortString::try_new(event.event_type.as_str()) {
        Ok(kind) => properties.with_type(kind),
        Err(_) => properties,
    }
}

/// How the broker answered a batch's publishes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Confirms {
    total: usize,
    refused: usize,
    returned: usize,
}

impl Confirms {
    fn verdict(&self, routing_key: &str) -> Result<(), SendFailure> {
        let Confirms {
            total,
            refused,
            returned,
        } = *self;
        if refused > 0 {
            return Err(SendFailure(format!(
                "the broker refused {refused} of {total} events"
            )));
        }
        if returned > 0 {
            return Err(SendFailure(format!(
                "unroutable: no queue is bound to routing key `{routing_key}` ({returned} of {total} events returned)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(uri: &str) -> RabbitMqConfig {
        RabbitMqConfig {
            uri: uri.to_owned(),
            routing_key: "orders".to_owned(),
            mandatory: false,
        }
    }

    #[test]
    fn shows_the_uri_with_its_password_masked() {
        let cases = [
            (
                "amqp://guest:s3cret@broker.example:5672/%2F",
                "amqp://guest:****@broker.example:5672/%2F",
            ),
            (
                "amqps://user:p%40ss@broker.example/prod",
                "amqps://user:****@broker.example/prod",
            ),
            ("amqp://user@broker.example", "amqp://user@broker.example"),
            ("amqp://broker.example", "amqp://broker.example"),
            ("not a uri :secret@", "****"),
        ];
        for (uri, want) in cases {
            assert_eq!(RabbitMq::shown(&config(uri))["uri"], want, "{uri}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_long_routing_keys_without_quoting_the_uri() {
        let err = RabbitMq::check(&config("http://u:s3cret@host"))
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("config.uri"), "{err}");
        let err = RabbitMq::check(&config("amqp//u:s3cret@host"))
            .expect_err("refused")
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        let mut long = config("amqp://host");
        long.routing_key = "k".repeat(256);
        assert!(RabbitMq::check(&long).is_err());
        long.routing_key.pop();
        assert!(RabbitMq::check(&long).is_ok());
    }

    #[test]
    fn a_batch_passes_only_if_every_event_was_confirmed_and_routed() {
        let cases = [
            ((3, 0, 0), Ok(())),
            ((3, 1, 0), Err("the broker refused 1 of 3 events")),
            ((3, 1, 2), Err("the broker refused 1 of 3 events")),
            (
                (3, 0, 2),
                Err("unroutable: no queue is bound to routing key `rk` (2 of 3 events returned)"),
            ),
        ];
        for ((total, refused, returned), want) in cases {
            let got = Confirms {
                total,
                refused,
                returned,
            }
            .verdict("rk");
            assert_eq!(
                got,
                want.map_err(|r| SendFailure(r.to_owned())),
                "{total} {refused} {returned}"
            );
        }
    }
}
