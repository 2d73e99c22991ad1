//! Overload honesty: while Redis stalls, every answer to `POST …/msg` tells the truth. A 2xx means the message
//! is stored; a refusal means it is not (a client retrying it must not create a duplicate), and is a 429 or
//! 503 with `Retry-After`.
//!
//! The stall is `CLIENT PAUSE <ms> WRITE` on a private Redis (never the shared one: it would stall every other
//! test), longer than the 500 ms reply limit and issued while a closed loop of senders keeps writes in flight,
//! so that each pause catches some requests between queueing the deliveries and storing the message: the insert
//! times out, then runs once the pause ends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::binary::PrivateRedis;
use crate::helpers::{Client, spawn_app_with};
use crate::receiver::Receiver;

const SENDERS: usize = 48;
/// Longer than the reply limit of Redis calls (500 ms), so paused writes time out before they run.
const PAUSE_MS: u64 = 700;
const PAUSES: usize = 8;
/// Answers between two pauses: enough for the senders to be back in full flow when the next pause starts.
const ANSWERS_BETWEEN_PAUSES: usize = 100;
const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One sender's view of one message.
#[derive(Debug)]
struct Answer {
    event_id: String,
    status: u16,
    retry_after: bool,
    msg_id: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_under_a_redis_stall_means_not_stored_on_redis() {
    let redis = PrivateRedis::start().await;
    let url = redis.url();
    answers_match_storage(&redis, &[("XWEBHOOK_REDIS_URL", url.as_str())]).await;
}

/// Records on Postgres, the queue on the stalled Redis: the deliveries' enqueue is the write that times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_under_a_redis_stall_means_not_stored_on_postgres() {
    let redis = PrivateRedis::start().await;
    let url = redis.url();
    let schema = format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let env = [
        ("XWEBHOOK_REDIS_URL", url.as_str()),
        ("XWEBHOOK_DATABASE_URL", PG_URL),
        ("XWEBHOOK_DATABASE_SCHEMA", schema.as_str()),
    ];
    answers_match_storage(&redis, &env).await;
}

async fn answers_match_storage(redis: &PrivateRedis, env: &[(&str, &str)]) {
    let app = spawn_app_with(env).await;
    // An endpoint, so that every message queues a delivery: with none, nothing would be written to the queue.
    let rx = Receiver::start().await;
    let (a, _, _) = app.app_with_endpoint(&rx.url("/hook")).await;
    let app_id = a.id;
    let http = HyperClient::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(HttpConnector::new());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let next = Arc::new(AtomicUsize::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (http, client, app_id, next, tx, stop) = (
            http.clone(),
            app.client.clone(),
            app_id.clone(),
            next.clone(),
            tx.clone(),
            stop.clone(),
        );
        senders.spawn(async move {
            while !stop.is_cancelled() {
                let event_id = format!("ev-{}", next.fetch_add(1, Ordering::Relaxed));
                let _ = tx.send(send(&http, &client, &app_id, event_id).await);
            }
        });
    }
    drop(tx);
    let mut answers = Vec::new();
    for _ in 0..PAUSES {
        let target = answers.len() + ANSWERS_BETWEEN_PAUSES;
        while answers.len() < target {
            answers.push(rx.recv().await.expect("senders run until stopped"));
        }
        pause_writes(redis.port).await;
    }
    // Past the last pause: everything it held has been answered once the senders stop.
    let target = answers.len() + ANSWERS_BETWEEN_PAUSES;
    while answers.len() < target {
        answers.push(rx.recv().await.expect("senders run until stopped"));
    }
    stop.cancel();
    while let Some(a) = rx.recv().await {
        answers.push(a);
    }
    while senders.join_next().await.is_some() {}
    judge(&answers, &stored(&app.client, &app_id).await);
}

fn judge(answers: &[Answer], stored: &HashMap<String, String>) {
    let refused = answers.iter().filter(|a| !(200..300).contains(&a.status)).count();
    assert!(
        refused > 0,
        "the pauses made no write time out: the test exercised nothing"
    );
    let lies: Vec<String> = answers
        .iter()
        .filter_map(|a| lie(a, stored.get(&a.event_id)).map(|why| format!("{why}: {a:?}")))
        .collect();
    assert!(
        lies.is_empty(),
        "{} of {} answers did not match storage, e.g.:\n{}",
        lies.len(),
        answers.len(),
        lies[..lies.len().min(5)].join("\n")
    );
    let unique: HashSet<&str> = answers.iter().map(|a| a.event_id.as_str()).collect();
    assert_eq!(unique.len(), answers.len(), "each eventId sent once");
    eprintln!(
        "{} answers under {PAUSES} pauses: {} accepted, {refused} refused",
        answers.len(),
        answers.len() - refused,
    );
}

/// What is wrong with an answer, given the id stored under its eventId (if any).
fn lie(a: &Answer, stored: Option<&String>) -> Option<&'static str> {
    let accepted = (200..300).contains(&a.status);
    match stored {
        Some(id) if accepted => (a.msg_id.as_ref() != Some(id)).then_some("accepted as another id"),
        Some(_) => Some("refused, yet stored (a retry would duplicate it)"),
        None if accepted => Some("accepted, yet not stored"),
        None if !matches!(a.status, 429 | 503) => Some("a refusal that is not 429 or 503"),
        None => (!a.retry_after).then_some("a refusal without Retry-After"),
    }
}

/// `CLIENT PAUSE` over a plain socket (the test binary has no Redis client of its own).
async fn pause_writes(port: u16) {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the private Redis");
    let command = format!("CLIENT PAUSE {PAUSE_MS} WRITE\r\n");
    socket
        .write_all(command.as_bytes())
        .await
        .expect("send CLIENT PAUSE");
    let mut reply = [0u8; 5];
    socket.read_exact(&mut reply).await.expect("CLIENT PAUSE reply");
    assert_eq!(&reply, b"+OK\r\n");
}

type Http = HyperClient<HttpConnector, Full<Bytes>>;

async fn send(http: &Http, client: &Client, app_id: &str, event_id: String) -> Answer {
    let body = json!({"eventType": "overload", "eventId": event_id, "payload": {}});
    let req = http::Request::post(format!("{}/api/v1/app/{app_id}/msg", client.base))
        .header("authorization", format!("Bearer {}", client.token))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid request");
    let res = http.request(req).await.expect("the server answers");
    let (status, retry_after) = (res.status().as_u16(), res.headers().contains_key("retry-after"));
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        event_id,
        status,
        retry_after,
        msg_id: json["id"].as_str().map(str::to_owned),
    }
}

/// Every stored message of the application: eventId → message id.
async fn stored(client: &Client, app_id: &str) -> HashMap<String, String> {
    let mut all = HashMap::new();
    let mut iterator = String::new();
    loop {
        let path = format!("/app/{app_id}/msg?limit=250&with_content=false{iterator}");
        let (status, page) = client.call("GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        for m in page["data"].as_array().expect("data") {
            let (event, id) = (m["eventId"].as_str(), m["id"].as_str());
            all.insert(event.expect("eventId").to_owned(), id.expect("id").to_owned());
        }
        match page["iterator"].as_str() {
            Some(next) if page["done"] == false => iterator = format!("&iterator={next}"),
            _ => return all,
        }
    }
}
