//! The real binary on the embedded store: `kill -9` loses nothing, SIGTERM exits cleanly.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::binary::Xwebhook;
use crate::helpers::{Client, Receiver, eventually};

#[tokio::test]
async fn sigkill_mid_delivery_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start().await;
    rx.delay("/crash", Duration::from_millis(200));
    let server = Xwebhook::start(dir.path(), &[]).await;
    let api = Client::for_new_org(&server.base());
    let app_id = api.app_with_endpoint(&rx.url("/crash")).await.0.id;
    let mut sent = BTreeSet::new();
    for i in 0..60 {
        sent.insert(api.send(&app_id, "test.event", json!({"i": i})).await.id);
    }
    rx.wait_for("/crash", 1).await;
    server.kill();
    let before = rx.received("/crash").len();
    assert!(
        before < sent.len(),
        "the kill must interrupt delivery (got all {before} already)"
    );

    let server = Xwebhook::start(dir.path(), &[]).await;
    let delivered = eventually("every message after restart", || async {
        let ids = rx.ids("/crash");
        ids.is_superset(&sent).then_some(ids)
    })
    .await;
    assert_eq!(delivered.len(), sent.len());
    assert!(server.terminate().await, "graceful shutdown exits 0");
}

#[tokio::test]
async fn sigterm_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Xwebhook::start(dir.path(), &[]).await;
    assert!(server.terminate().await);
}
