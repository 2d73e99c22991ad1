//! The `rabbitMq` destination against a real broker at 127.0.0.1:5672 (guest/guest). Without one these tests
//! fail: install `rabbitmq-server`, or `docker run -p 5672:5672 rabbitmq:3`.
//!
//! Each test declares its own exclusive queue (gone when the test's connection closes), so they run in parallel.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::{Value, json, value::RawValue};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use xwebhook_engine::delivery::{AddressPolicy, HttpSender};
use xwebhook_engine::domain::{Payload, Position, Sink};
use xwebhook_engine::id::{AppId, MessageId, OrgId, SinkId};
use xwebhook_engine::sink::{Batch, BatchSender, SendContext, SendFailure, SinkEvent};
use xwebhook_engine::testsuite::fixtures;

const BROKER: &str = "127.0.0.1:5672";

fn uri(addr: &str) -> String {
    format!("amqp://guest:guest@{addr}/%2F")
}

/// A channel of the test's own; the queues it declares live as long as the returned connection.
async fn broker() -> (Connection, Channel) {
    let connection = Connection::connect(&uri(BROKER), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("no RabbitMQ broker at {BROKER} ({e}): install rabbitmq-server or `docker run -p 5672:5672 rabbitmq:3`")
        });
    let channel = connection.create_channel().await.expect("a channel");
    (connection, channel)
}

async fn fresh_queue(channel: &Channel, arguments: FieldTable) -> String {
    let name = format!("xwebhook-test-{}", SinkId::generate());
    let options = QueueDeclareOptions {
        exclusive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.as_str().into(), options, arguments)
        .await
        .expect("queue.declare");
    name
}

fn sink(uri: &str, routing_key: &str, mandatory: bool) -> Sink {
    Sink {
        type_name: "rabbitMq".to_owned(),
        config: json!({ "uri": uri, "routingKey": routing_key, "mandatory": mandatory }),
        ..fixtures::sink(&OrgId::generate(), &AppId::generate())
    }
}

/// The sender the pump would build for `sink`, through the registry.
fn sender(sink: &Sink) -> Box<dyn BatchSender> {
    sender_under(sink, AddressPolicy::allow_all())
}

/// The sender for `sink` in a deployment whose deliveries follow `policy`.
fn sender_under(sink: &Sink, policy: AddressPolicy) -> Box<dyn BatchSender> {
    let cx = SendContext {
        http: HttpSender::new(policy.clone(), Duration::from_secs(5)),
        policy,
    };
    let types = xwebhook_destinations::all();
    let rabbit_mq = types.get("rabbitMq").expect("rabbitMq is registered");
    rabbit_mq
        .sender(sink, &cx)
        .expect("the config reads")
        .expect("rabbitMq pushes")
}

fn batch(sink: &Sink, events: usize) -> Batch {
    let events = (0..events)
        .map(|n| {
            let payload =
                RawValue::from_string(json!({ "n": n, "note": "héllo" }).to_string()).expect("JSON");
            SinkEvent {
                id: MessageId::generate(),
                event_id: None,
                event_type: "invoice.paid".parse().expect("an event type"),
                payload: Payload::from_raw(payload).expect("a payload"),
                channels: None,
                timestamp: Utc::now(),
                tags: vec!["t".to_owned()],
                deliver_at: None,
            }
        })
        .collect();
    let at = Position { ms: 1, seq: 0 };
    Batch {
        sink: sink.id.clone(),
        events,
        first: at,
        last: at,
    }
}

/// Sends with a bound, so that a sender that hangs fails the test instead of stalling it.
async fn send(sender: &mut Box<dyn BatchSender>, batch: &Batch) -> Result<(), SendFailure> {
    tokio::time::timeout(Duration::from_secs(10), sender.send(batch))
        .await
        .expect("the send answers within 10 s")
}

struct Received {
    message_id: String,
    kind: Option<String>,
    content_type: Option<String>,
    delivery_mode: Option<u8>,
    body: Value,
}

/// Everything in `queue`, in order, taken off it.
async fn drain(channel: &Channel, queue: &str) -> Vec<Received> {
    let mut received = Vec::new();
    let options = BasicGetOptions { no_ack: true };
    while let Some(message) = channel.basic_get(queue.into(), options).await.expect("basic.get") {
        let properties = &message.delivery.properties;
        received.push(Received {
            message_id: properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            kind: properties.kind().as_ref().map(|s| s.to_string()),
            content_type: properties.content_type().as_ref().map(|s| s.to_string()),
            delivery_mode: *properties.delivery_mode(),
            body: serde_json::from_slice(&message.delivery.data).expect("a JSON body"),
        });
    }
    received
}

fn ids(batches: &[&Batch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| &b.events)
        .map(|e| e.id.to_string())
        .collect()
}

#[tokio::test]
async fn publishes_every_event_in_order_as_its_json_with_its_message_id() {
    let (_connection, channel) = broker().await;
    let queue = fresh_queue(&channel, FieldTable::default()).await;
    let sink = sink(&uri(BROKER), &queue, true);
    let mut sender = sender(&sink);
    let (first, second) = (batch(&sink, 3), batch(&sink, 2));
    send(&mut sender, &first)
        .await
        .expect("the first batch is confirmed");
    send(&mut sender, &second)
        .await
        .expect("the second batch is confirmed");

    let received = drain(&channel, &queue).await;
    let got: Vec<String> = received.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(got, ids(&[&first, &second]));
    for (r, event) in received.iter().zip(first.events.iter().chain(&second.events)) {
        assert_eq!(r.body, serde_json::to_value(event).expect("JSON"));
        assert_eq!(r.body["eventType"], "invoice.paid");
        assert_eq!(r.kind.as_deref(), Some("invoice.paid"));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.delivery_mode, Some(2));
    }
}

#[tokio::test]
async fn a_mandatory_publish_no_queue_takes_fails_and_names_the_routing_key() {
    let (_connection, _channel) = broker().await;
    let nobody = format!("xwebhook-test-nobody-{}", SinkId::generate());

    let mandatory = sink(&uri(BROKER), &nobody, true);
    let err = send(&mut sender(&mandatory), &batch(&mandatory, 2))
        .await
        .expect_err("refused")
        .0;
    assert_eq!(
        err,
        format!("unroutable: no queue is bound to routing key `{nobody}` (2 of 2 events returned)")
    );

    let dropped = sink(&uri(BROKER), &nobody, false);
    send(&mut sender(&dropped), &batch(&dropped, 2))
        .await
        .expect("the broker drops it and confirms");
}

#[tokio::test]
async fn a_broker_on_a_blocked_network_is_refused_before_connecting() {
    let (_connection, _channel) = broker().await;
    let private = sink(&uri(BROKER), "anything", false);
    // The deployment's default policy: no private network is allowed, loopback included.
    let err = send(
        &mut sender_under(&private, AddressPolicy::new(Vec::new())),
        &batch(&private, 1),
    )
    .await
    .expect_err("refused")
    .0;
    assert!(err.contains("non-public address"), "{err}");
}

#[tokio::test]
async fn a_batch_the_broker_refuses_in_part_fails() {
    let (_connection, channel) = broker().await;
    // A queue that holds one message and nacks any publish beyond it.
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongLongInt(1));
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString(LongString::from("reject-publish")),
    );
    let queue = fresh_queue(&channel, arguments).await;
    let sink = sink(&uri(BROKER), &queue, true);
    let err = send(&mut sender(&sink), &batch(&sink, 3))
        .await
        .expect_err("refused")
        .0;
    assert_eq!(err, "the broker refused 2 of 3 events");
}

#[tokio::test]
async fn a_refused_login_fails_without_showing_the_password() {
    // Fails here, loudly, without a broker: otherwise "connection refused" would pass for a refused login.
    let (_connection, _channel) = broker().await;
    let sink = sink("amqp://guest:wr0ng-pa55@127.0.0.1:5672/%2F", "any", false);
    let err = send(&mut sender(&sink), &batch(&sink, 1))
        .await
        .expect_err("refused")
        .0;
    assert!(err.starts_with("cannot connect to the broker: "), "{err}");
    assert!(!err.contains("wr0ng-pa55"), "{err}");
}

/// A TCP relay to the broker that the test can cut (every connection dropped, nothing accepted) and restore.
struct Proxy {
    port: u16,
    relay: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `port` (0 for any free one).
    async fn start(port: u16) -> Proxy {
        let socket = TcpSocket::new_v4().expect("a socket");
        // So that the port of a cut relay can be listened on again at once.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(([127, 0, 0, 1], port).into()).expect("bind");
        let listener = socket.listen(64).expect("listen");
        let port = listener.local_addr().expect("an address").port();
        let relay = tokio::spawn(async move {
            // Owned by this task: aborting it drops the listener and every relayed connection.
            let mut links = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut broker) = TcpStream::connect(BROKER).await {
                        let _ = copy_bidirectional(&mut client, &mut broker).await;
                    }
                });
            }
        });
        Proxy { port, relay }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Drops every connection and stops listening; gives the port back for `start`.
    async fn cut(self) -> u16 {
        self.relay.abort();
        let _ = self.relay.await;
        self.port
    }
}

#[tokio::test]
async fn a_broker_that_goes_away_fails_the_batch_and_the_next_send_reconnects() {
    let (_connection, channel) = broker().await;
    let queue = fresh_queue(&channel, FieldTable::default()).await;
    let proxy = Proxy::start(0).await;
    let sink = sink(&uri(&proxy.addr()), &queue, true);
    let mut sender = sender(&sink);
    let (first, second, third) = (batch(&sink, 3), batch(&sink, 3), batch(&sink, 3));
    send(&mut sender, &first)
        .await
        .expect("sent while the broker is there");

    let port = proxy.cut().await;
    let err = send(&mut sender, &second)
        .await
        .expect_err("the broker is gone")
        .0;
    assert!(err.contains("broker"), "{err}");
    // The broken connection was dropped: the next send tries a new one.
    let err = send(&mut sender, &second)
        .await
        .expect_err("the broker is still gone")
        .0;
    assert!(err.starts_with("cannot connect to the broker: "), "{err}");

    let _proxy = Proxy::start(port).await;
    // As the pump would: the failed batch again, then the next.
    send(&mut sender, &second).await.expect("reconnected");
    send(&mut sender, &third).await.expect("still connected");

    // Every confirmed event, in order; a failed batch may have left copies, which are allowed.
    let mut seen = HashSet::new();
    let got: Vec<String> = drain(&channel, &queue)
        .await
        .into_iter()
        .map(|r| r.message_id)
        .filter(|id| seen.insert(id.clone()))
        .collect();
    assert_eq!(got, ids(&[&first, &second, &third]));
}
