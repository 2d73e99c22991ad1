//! What only the Redis queue must do, beyond the conformance suite: block longer than the client's default
//! reply limit, survive a lost stream or group, bury poison tasks, list and redrive them, never lease more than
//! asked, count its depths; and pass the suite's queue cases on a Redis Cluster (`cluster`).

mod cluster;

use std::sync::Arc;
use std::time::{Duration, Instant};

use xwebhook_engine::id::{AppId, MessageId, OrgId};
use xwebhook_engine::store::{DeliveryQueue, FollowUp, QueueDepths, Receipt, Task};
use xwebhook_storage_redis::scratch::ScratchPrefix;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

use crate::support::{raw, redis_url, store};

fn task() -> Task {
    Task::fan_out(OrgId::generate(), AppId::generate(), MessageId::generate(), None)
}

/// A store with `tune` applied to its configuration, under a prefix the returned guard cleans up (the guard
/// comes with a default store on the same prefix, which is dropped unused).
async fn tuned(tune: impl FnOnce(&mut RedisConfig)) -> (Arc<RedisStore>, ScratchPrefix) {
    let (_, guard) = store().await;
    let mut config = RedisConfig::new(redis_url());
    config.prefix = guard.prefix.clone();
    config.pool_size = 4;
    tune(&mut config);
    let store = RedisStore::connect(config)
        .await
        .expect("connect to the test Redis");
    (store, guard)
}

/// The ready streams of partition `n`, fresh lane then retry lane, as the queue module documents its layout.
fn lanes(guard: &ScratchPrefix, n: u16) -> [String; 2] {
    let p = &guard.prefix;
    [
        format!("{p}:{{{p}:q{n}}}:stream"),
        format!("{p}:{{{p}:q{n}}}:retry"),
    ]
}

/// The fresh-lane stream of partition `n`.
fn stream(guard: &ScratchPrefix, n: u16) -> String {
    let [fresh, _] = lanes(guard, n);
    fresh
}

/// Every ready stream of a store with `partitions` partitions. Named, not scanned for: a `SCAN` walks the
/// whole keyspace of the shared Redis, which other tests may have filled.
fn streams(guard: &ScratchPrefix, partitions: u16) -> Vec<String> {
    (0..partitions).flat_map(|n| lanes(guard, n)).collect()
}

#[tokio::test]
async fn blocking_receive_outlasts_the_default_reply_limit() {
    let (q, _guard) = store().await;
    let started = Instant::now();
    let nothing = q
        .receive("c", 1, Duration::from_secs(2))
        .await
        .expect("idle receive");
    assert!(nothing.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "waited the whole wait"
    );

    let producer = q.clone();
    let t = task();
    let sent = t.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        producer.enqueue(vec![sent]).await.expect("enqueue");
    });
    let started = Instant::now();
    let got = q
        .receive("c", 1, Duration::from_secs(2))
        .await
        .expect("blocking receive");
    assert_eq!(got.len(), 1, "work enqueued during the block is received");
    assert_eq!(got[0].task, t);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it came from the block, not the sweep"
    );
}

#[tokio::test]
async fn recovers_a_destroyed_group_and_a_deleted_stream() {
    let (q, guard) = tuned(|c| c.partitions = 4).await;
    let mut conn = raw();
    for stream in streams(&guard, 4) {
        let _: i64 = redis::cmd("XGROUP")
            .arg("DESTROY")
            .arg(&stream)
            .arg("workers")
            .query(&mut conn)
            .expect("destroy");
    }
    let t = task();
    q.enqueue(vec![t.clone()]).await.expect("enqueue");
    let got = q
        .receive("c", 5, Duration::from_millis(200))
        .await
        .expect("receive after XGROUP DESTROY");
    assert_eq!(got.iter().map(|l| &l.task).collect::<Vec<_>>(), [&t]);
    q.finish(&got[0].receipt, FollowUp::none()).await.expect("finish");

    // Deleted while a receiver is blocked on it: the read is released with an error, repaired, and waits on.
    // The wait is a deadline, not a measure: generous, so that it outlasts this test's own steps on a loaded
    // machine.
    let waiter = {
        let q = q.clone();
        tokio::spawn(async move { q.receive("c", 5, Duration::from_secs(15)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _: i64 = redis::cmd("DEL")
        .arg(streams(&guard, 4))
        .query(&mut conn)
        .expect("delete streams");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = task();
    q.enqueue(vec![t.clone()]).await.expect("enqueue after DEL");
    let got = waiter.await.expect("waiter").expect("receive across DEL");
    assert_eq!(got.iter().map(|l| &l.task).collect::<Vec<_>>(), [&t]);
}

#[tokio::test]
async fn poison_task_is_dead_lettered_then_redriven() {
    let (q, _guard) = tuned(|c| c.max_deliveries = 2).await;
    let t = task();
    q.enqueue(vec![t.clone()]).await.expect("enqueue");
    let first = q
        .receive("a", 1, Duration::from_millis(100))
        .await
        .expect("receive");
    assert_eq!(first[0].deliveries, 1);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = q
        .reclaim("b", Duration::from_millis(10), 10)
        .await
        .expect("reclaim");
    assert_eq!((second.len(), second[0].deliveries), (1, 2));
    tokio::time::sleep(Duration::from_millis(30)).await;
    let third = q
        .reclaim("c", Duration::from_millis(10), 10)
        .await
        .expect("reclaim");
    assert!(
        third.is_empty(),
        "leased max_deliveries times: buried, not handed out"
    );
    let dead = q.dead_letters(10).await.expect("list dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].task.as_ref(), dead[0].deliveries), (Some(&t), 2));
    assert_eq!(dead[0].reason, "leased too often without being finished");
    assert!(q.dead_letters(0).await.expect("list none").is_empty());
    let stats = q.depths().await.expect("stats");
    assert_eq!((stats.dead_letter, stats.in_flight, stats.ready), (1, 0, 0));

    assert_eq!(q.redrive_dead_letters(10).await.expect("redrive"), 1);
    let again = q
        .receive("d", 1, Duration::from_millis(100))
        .await
        .expect("receive");
    assert_eq!(again.len(), 1);
    assert_eq!(
        (&again[0].task, again[0].deliveries),
        (&t, 1),
        "redriven with a fresh count"
    );
    assert_eq!(q.depths().await.expect("stats").dead_letter, 0);
}

#[tokio::test]
async fn undecodable_entries_are_buried() {
    let (q, guard) = tuned(|c| c.partitions = 1).await;
    let stream = stream(&guard, 0);
    let _: String = redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("t")
        .arg("not json")
        .query(&mut raw())
        .expect("xadd");
    let got = q
        .receive("c", 5, Duration::from_millis(100))
        .await
        .expect("receive");
    assert!(got.is_empty());
    let stats = q.depths().await.expect("stats");
    assert_eq!((stats.dead_letter, stats.in_flight, stats.ready), (1, 0, 0));
    let dead = q.dead_letters(10).await.expect("list dead letters");
    assert_eq!(dead.len(), 1, "listing moves nothing");
    assert_eq!(dead[0].task, None);
    assert!(dead[0].reason.starts_with("undecodable task"), "{dead:?}");
}

#[tokio::test]
async fn never_leases_more_than_asked() {
    let (q, _guard) = tuned(|c| c.partitions = 8).await;
    q.enqueue((0..40).map(|_| task()).collect())
        .await
        .expect("enqueue");
    let got = q.receive("c", 7, Duration::ZERO).await.expect("sweep");
    assert_eq!(got.len(), 7);
}

#[tokio::test]
async fn surplus_of_a_blocking_read_goes_back() {
    // Several streams may fill during one block, and `COUNT` applies to each: the surplus must go back.
    let (q, _guard) = tuned(|c| c.partitions = 8).await;
    let waiter = {
        let q = q.clone();
        tokio::spawn(async move { q.receive("c", 2, Duration::from_secs(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    q.enqueue((0..30).map(|_| task()).collect())
        .await
        .expect("enqueue");
    let got = waiter.await.expect("waiter").expect("blocking receive");
    assert!(!got.is_empty() && got.len() <= 2, "got {}", got.len());
    let stats = q.depths().await.expect("stats");
    assert_eq!(
        stats.in_flight,
        got.len() as u64,
        "only what was returned is leased"
    );
    assert_eq!(stats.ready, 30 - got.len() as u64);
}

#[tokio::test]
async fn stats_count_each_state() {
    let (q, _guard) = store().await;
    q.enqueue((0..3).map(|_| task()).collect())
        .await
        .expect("enqueue");
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    q.schedule(vec![(task(), later), (task(), later)])
        .await
        .expect("schedule");
    let leased = q
        .receive("c", 1, Duration::from_millis(100))
        .await
        .expect("receive");
    assert_eq!(leased.len(), 1);
    let want = QueueDepths {
        ready: 2,
        in_flight: 1,
        scheduled: 2,
        dead_letter: 0,
    };
    assert_eq!(q.depths().await.expect("stats"), want);
    q.finish(&leased[0].receipt, FollowUp::none())
        .await
        .expect("finish");
    assert_eq!(q.depths().await.expect("stats").in_flight, 0);
}

#[tokio::test]
async fn work_of_the_layout_before_lanes_is_delivered() {
    // Before lanes, each partition had one ready stream, `…:stream`, and receipts `<partition>:<entry id>`.
    // The fresh lane kept both, so an upgrade finds the old tasks and the old leases still finish.
    let (q, guard) = tuned(|c| c.partitions = 1).await;
    let (waiting, held) = (task(), task());
    let mut conn = raw();
    for t in [&held, &waiting] {
        let json = serde_json::to_string(t).expect("encode");
        let _: String = redis::cmd("XADD")
            .arg(stream(&guard, 0))
            .arg("*")
            .arg("t")
            .arg(json)
            .query(&mut conn)
            .expect("xadd");
    }
    // An old process leased `held`, the first entry, and is finishing it after the upgrade.
    let old: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("old")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(stream(&guard, 0))
        .arg(">")
        .query(&mut conn)
        .expect("old lease");
    let id = &old.keys[0].ids[0].id;
    q.finish(&Receipt(format!("0:{id}")), FollowUp::none())
        .await
        .expect("finish an old receipt");

    let got = q
        .receive("new", 5, Duration::from_millis(100))
        .await
        .expect("receive");
    assert_eq!(got.iter().map(|l| &l.task).collect::<Vec<_>>(), [&waiting]);
    let stats = q.depths().await.expect("stats");
    assert_eq!((stats.ready, stats.in_flight), (0, 1), "the old lease is gone");
}
