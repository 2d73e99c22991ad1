use xwebhook_engine::testsuite::fixtures::sink;

use super::*;

/// What the conformance suite cannot reach without waiting 90 days or moving the clock: the trim, and
/// positions that keep growing when the last entry is ahead of this clock.
#[tokio::test]
async fn append_trims_past_retention_and_never_goes_back_in_time() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let (org, app) = (OrgId::generate(), AppId::generate());
    let x = sink(&org, &app);
    store.create_sink(&x).await.expect("create");
    let row = sink_key(&x.key());
    let (expired, ahead, new) = (
        MessageId::generate(),
        MessageId::generate(),
        MessageId::generate(),
    );
    let later = now_ms() + 60_000;
    let tx = store.db.begin_write().expect("write");
    {
        let mut log = tx.open_table(SINK_LOG).expect("log");
        log.insert((row.as_str(), 1, 0), expired.as_str()).expect("seed");
        log.insert((row.as_str(), later, 4), ahead.as_str())
            .expect("seed");
    }
    tx.commit().expect("commit");

    store
        .append(&org, &app, std::slice::from_ref(&x.id), &new)
        .await
        .expect("append");
    let log = store.read_log(&x.key(), None, 10).await.expect("read");
    let entries: Vec<_> = log.iter().map(|e| (e.position, e.msg_id.clone())).collect();
    assert_eq!(
        entries,
        [
            (Position { ms: later, seq: 4 }, ahead),
            (Position { ms: later, seq: 5 }, new),
        ]
    );
}
