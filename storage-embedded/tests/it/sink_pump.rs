//! The sink pump on a real store: a pushing destination gets the application's messages in the order they were
//! accepted, in batches no larger than its `batchSize`, a failed batch is retried before anything behind it, and
//! a destination whose driver died is taken over by another pump, from its last delivered position; pumps share
//! the destinations; a message the store refused leaves nothing in the logs.
//!
//! The destination type here is the test's own (a sender that records what it is given and fails on command),
//! so that the pump is tested alone; the real types have their own tests.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use xwebhook_engine::clock::SystemClock;
use xwebhook_engine::delivery::{AddressPolicy, HttpSender};
use xwebhook_engine::domain::{Message, Sink};
use xwebhook_engine::id::{AppId, MessageId, OrgId, SinkId};
use xwebhook_engine::intake::{Admission, Intake, IntakeError};
use xwebhook_engine::sink::{
    Batch, BatchSender, ConfigError, EventFilter, SendContext, SendFailure, SinkNews, SinkPump,
    SinkPumpConfig, SinkType, SinkTypes, read_events,
};
use xwebhook_engine::store::{Ref, StoreErrorKind, Stores};
use xwebhook_engine::testsuite::fixtures::{self, message};
use xwebhook_storage_embedded::EmbeddedStore;

/// One call of a sender: the destination, its batch's message ids, and whether it was answered with success.
type Call = (SinkId, Vec<MessageId>, bool);

/// What every sender of the test's type saw.
#[derive(Default)]
struct Log {
    calls: Vec<Call>,
    /// Every call whose number (from 1) is a multiple of this fails.
    fail_every: usize,
}

static LOG: Mutex<Option<Arc<Mutex<Log>>>> = Mutex::new(None);

fn log() -> Arc<Mutex<Log>> {
    LOG.lock().expect("lock").clone().expect("the test set the log")
}

struct Recording;

impl SinkType for Recording {
    const NAME: &'static str = "recording";
    const PUSHES: bool = true;
    type Config = Value;
    type Patch = Value;

    fn check(_: &Value) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(_: &mut Value, _: Value) {}
    fn shown(_: &Value) -> Value {
        json!({})
    }
    fn sender(_: Value, _: &Sink, _: &SendContext) -> Option<Box<dyn BatchSender>> {
        Some(Box::new(RecordingSender(log())))
    }
}

struct RecordingSender(Arc<Mutex<Log>>);

#[async_trait]
impl BatchSender for RecordingSender {
    async fn send(&mut self, batch: &Batch) -> Result<(), SendFailure> {
        let mut log = self.0.lock().expect("lock");
        let n = log.calls.len() + 1;
        let ok = log.fail_every == 0 || !n.is_multiple_of(log.fail_every);
        let ids = batch.events.iter().map(|e| e.id.clone()).collect();
        log.calls.push((batch.sink.clone(), ids, ok));
        match ok {
            true => Ok(()),
            false => Err(SendFailure(format!("call {n} fails"))),
        }
    }
}

fn sink(org: &OrgId, app: &AppId, batch_size: u16) -> Sink {
    Sink {
        type_name: Recording::NAME.into(),
        batch_size,
        ..fixtures::sink(org, app)
    }
}

fn pump(stores: &Stores, owner: &str, lease: Duration) -> Arc<SinkPump> {
    let config = SinkPumpConfig {
        lease,
        scan: Duration::from_millis(50),
        idle_poll: Duration::from_millis(50),
        ..SinkPumpConfig::new(owner)
    };
    let cx = SendContext {
        http: HttpSender::new(AddressPolicy::allow_all(), Duration::from_secs(1)),
        policy: AddressPolicy::allow_all(),
    };
    let types = SinkTypes::new().with::<Recording>();
    SinkPump::new(
        stores.clone(),
        types,
        cx,
        Arc::new(SystemClock),
        config,
        SinkNews::new(),
    )
}

/// `n` messages accepted one after another through the intake: the accepted order.
async fn accept(stores: &Stores, org: &OrgId, app: &AppId, n: usize) -> Vec<Message> {
    let intake = Intake::new(stores.clone(), Admission::default());
    let mut accepted = Vec::new();
    for _ in 0..n {
        let m = message(org, app, "invoice.paid", None, &[]);
        intake.accept(&m).await.expect("accepted");
        accepted.push(m);
    }
    accepted
}

/// `sink`'s calls, in order, once its successful ones hold `n` distinct ids (bounded wait).
async fn delivered(sink: &SinkId, n: usize) -> Vec<(Vec<MessageId>, bool)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let calls: Vec<_> = log()
            .lock()
            .expect("lock")
            .calls
            .iter()
            .filter(|(s, _, _)| s == sink)
            .map(|(_, ids, ok)| (ids.clone(), *ok))
            .collect();
        let seen: BTreeSet<_> = calls
            .iter()
            .filter(|(_, ok)| *ok)
            .flat_map(|(ids, _)| ids.clone())
            .collect();
        if seen.len() >= n {
            return calls;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} delivered",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts what a FIFO destination promises: the successful calls, in order, hold the accepted messages in
/// order, a re-sent batch repeating only what came right before; no call holds more than `batch_size`.
fn assert_in_order(calls: &[(Vec<MessageId>, bool)], accepted: &[Message], batch_size: usize) {
    let order: Vec<&MessageId> = accepted.iter().map(|m| &m.id).collect();
    let mut next = 0;
    for (ids, ok) in calls {
        assert!(ids.len() <= batch_size, "a batch of {} > {batch_size}", ids.len());
        assert!(!ids.is_empty(), "an empty batch was sent");
        let start = order
            .iter()
            .position(|id| *id == &ids[0])
            .expect("an accepted message");
        assert!(
            start <= next,
            "a batch skipped ahead: starts at {start}, next due {next}"
        );
        let expected: Vec<&MessageId> = order[start..start + ids.len()].to_vec();
        assert_eq!(ids.iter().collect::<Vec<_>>(), expected, "a batch out of order");
        if *ok {
            next = next.max(start + ids.len());
        }
    }
    assert_eq!(next, order.len(), "everything delivered");
}

fn set_log(fail_every: usize) {
    *LOG.lock().expect("lock") = Some(Arc::new(Mutex::new(Log {
        calls: Vec::new(),
        fail_every,
    })));
}

// The cases share the sender's log (a static: the registry builds the senders), so they run as one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_keep_their_order_through_failures_takeovers_and_shared_pumps() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let stores = Stores::from_one(EmbeddedStore::open(dir.path()).expect("open store"));
    let (org, app) = (OrgId::generate(), AppId::generate());

    // Every third call fails: each failed batch is sent again before anything behind it.
    set_log(3);
    let destination = sink(&org, &app, 7);
    stores.sinks.create_sink(&destination).await.expect("create");
    let accepted = accept(&stores, &org, &app, 50).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(pump(&stores, "a", Duration::from_secs(5)).run(shutdown.clone()));
    let calls = delivered(&destination.id, 50).await;
    assert!(calls.iter().any(|(_, ok)| !ok), "some calls failed");
    assert_in_order(&calls, &accepted, 7);
    shutdown.cancel();
    running.await.expect("the pump stops");
    let found = stores
        .sinks
        .get_sink(&org, &app, &Ref::Id(destination.id.clone()))
        .await
        .expect("get")
        .expect("found");
    assert_eq!(found.state.failures, 0, "healthy again");
    assert!(found.state.position.is_some(), "its position moved");
    // The last batches are kept, failed ones with their reason, as the destination's attempts.
    let attempts = &found.state.attempts;
    assert!(
        !attempts.is_empty() && attempts.len() <= 20,
        "{} attempts kept",
        attempts.len()
    );
    assert!(
        attempts
            .iter()
            .any(|a| a.failure.as_deref().is_some_and(|f| f.ends_with("fails")))
    );
    assert_eq!(
        attempts.last().map(|a| a.failure.is_none()),
        Some(true),
        "the last one delivered"
    );

    // A pump that dies holding a destination (its task aborted: no release) is replaced once its lease lapses.
    set_log(0);
    let app = AppId::generate();
    let second = sink(&org, &app, 5);
    stores.sinks.create_sink(&second).await.expect("create");
    let dying = tokio::spawn(pump(&stores, "dies", Duration::from_millis(500)).run(CancellationToken::new()));
    let first_half = accept(&stores, &org, &app, 20).await;
    delivered(&second.id, 20).await;
    dying.abort();
    let _ = dying.await;
    let rest = accept(&stores, &org, &app, 20).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(pump(&stores, "takes over", Duration::from_millis(500)).run(shutdown.clone()));
    let second_calls = delivered(&second.id, 40).await;
    let all: Vec<Message> = first_half.into_iter().chain(rest).collect();
    assert_in_order(&second_calls, &all, 5);
    shutdown.cancel();
    running.await.expect("the pump stops");

    pumps_share_the_destinations().await;
}

/// Two pumps share the destinations: the first takes them all; once the second runs, the first lets go of
/// what is beyond its share, the quietest first, and the second takes it; when the first stops, the second
/// takes everything. Every destination gets every message in order throughout.
async fn pumps_share_the_destinations() {
    set_log(0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let stores = Stores::from_one(EmbeddedStore::open(dir.path()).expect("open store"));
    let org = OrgId::generate();
    let mut destinations = Vec::new();
    for _ in 0..6 {
        let destination = sink(&org, &AppId::generate(), 10);
        stores.sinks.create_sink(&destination).await.expect("create");
        destinations.push(destination);
    }
    let lease = Duration::from_secs(2);
    let (first, first_stop) = (pump(&stores, "first", lease), CancellationToken::new());
    let first_run = tokio::spawn(first.clone().run(first_stop.clone()));
    until("the first pump drives all six", || first.driving() == 6).await;
    // Three have just delivered; the other three have been quiet since they were taken.
    let (busy, quiet) = destinations.split_at(3);
    each_in_order(&stores, &org, busy, 10).await;
    let (second, second_stop) = (pump(&stores, "second", lease), CancellationToken::new());
    let second_run = tokio::spawn(second.clone().run(second_stop.clone()));
    until("three each", || first.driving() == 3 && second.driving() == 3).await;
    for d in busy {
        assert!(first.drives(&d.key()), "the quiet ones are let go first");
    }
    each_in_order(&stores, &org, busy, 20).await;
    each_in_order(&stores, &org, quiet, 10).await;
    first_stop.cancel();
    first_run.await.expect("the first pump stops");
    until("the second pump drives all six", || second.driving() == 6).await;
    each_in_order(&stores, &org, busy, 30).await;
    each_in_order(&stores, &org, quiet, 20).await;
    second_stop.cancel();
    second_run.await.expect("the second pump stops");
}

/// Accepts 10 messages for each destination and checks that they arrive in order, `total` in all so far.
async fn each_in_order(stores: &Stores, org: &OrgId, destinations: &[Sink], total: usize) {
    for d in destinations {
        let accepted = accept(stores, org, &d.app_id, 10).await;
        let calls = delivered(&d.id, total).await;
        let these: Vec<_> = calls
            .into_iter()
            .skip_while(|(ids, _)| ids[0] != accepted[0].id)
            .collect();
        assert_in_order(&these, &accepted, 10);
    }
}

/// Waits (bounded) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A message whose insert is refused after its append (a concurrent duplicate `eventId` gets there; here its
/// id is taken) is withdrawn from its sinks' logs at once, rather than hold up a FIFO destination's reader for
/// `MESSAGE_GRACE`.
#[tokio::test]
async fn a_refused_message_is_withdrawn_from_its_sinks_logs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let stores = Stores::from_one(EmbeddedStore::open(dir.path()).expect("open store"));
    let (org, app) = (OrgId::generate(), AppId::generate());
    let destination = sink(&org, &app, 10);
    stores.sinks.create_sink(&destination).await.expect("create");
    let intake = Intake::new(stores.clone(), Admission::default());
    let first = message(&org, &app, "invoice.paid", None, &[]);
    intake.accept(&first).await.expect("accepted");
    let refused = intake.accept(&first).await;
    assert!(
        matches!(&refused, Err(IntakeError::Store(e)) if e.kind() == StoreErrorKind::Conflict),
        "{refused:?}"
    );
    let next = message(&org, &app, "invoice.paid", None, &[]);
    intake.accept(&next).await.expect("accepted");

    let key = destination.key();
    let log = stores.sinks.read_log(&key, None, 10).await.expect("read log");
    let logged: Vec<&MessageId> = log.iter().map(|e| &e.msg_id).collect();
    assert_eq!(
        logged,
        [&first.id, &next.id],
        "the refused message's entry is gone"
    );
    let page = read_events(&stores, &key, None, 10, &EventFilter::default(), Utc::now())
        .await
        .expect("read events");
    let read: Vec<&MessageId> = page.events.iter().map(|(_, e)| &e.id).collect();
    assert_eq!(read, [&first.id, &next.id]);
    assert!(!page.waiting && page.done, "{page:?}");
}
