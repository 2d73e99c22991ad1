//! The socket's phases and deadlines, on paused time over an in-memory pipe.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

use super::{GuardedIo, Requests, Timeouts};

const TIMEOUTS: Timeouts = Timeouts {
    header: Duration::from_secs(10),
    idle: Duration::from_secs(75),
};

fn pipe() -> (GuardedIo<DuplexStream>, DuplexStream, Arc<Requests>) {
    let (server, client) = tokio::io::duplex(1024);
    let requests = Arc::new(Requests::default());
    (
        GuardedIo::new(server, Arc::clone(&requests), TIMEOUTS),
        client,
        requests,
    )
}

/// Reads until the socket fails, returning how long (paused time) that took.
async fn time_to_failure(io: &mut GuardedIo<DuplexStream>) -> Duration {
    let start = tokio::time::Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match io.read(&mut buf).await {
            Ok(n) => assert!(n > 0, "the peer does not close"),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
                return start.elapsed();
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_gets_the_header_deadline() {
    let (mut io, _client, _) = pipe();
    assert_eq!(time_to_failure(&mut io).await, TIMEOUTS.header);
}

#[tokio::test(start_paused = true)]
async fn a_trickled_head_does_not_move_its_deadline() {
    let (mut io, mut client, _) = pipe();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if client.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break;
            }
        }
    });
    assert_eq!(time_to_failure(&mut io).await, TIMEOUTS.header);
}

#[tokio::test(start_paused = true)]
async fn between_requests_the_idle_deadline_applies_and_a_request_has_none() {
    let (mut io, mut client, requests) = pipe();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
    let mut buf = [0u8; 64];
    let n = io.read(&mut buf).await.expect("the head");
    assert!(n > 0);
    let in_flight = requests.enter();
    // A slow handler: no deadline while the request is in flight.
    let still_open = tokio::time::timeout(TIMEOUTS.idle * 2, io.read(&mut buf)).await;
    assert!(still_open.is_err(), "closed while a request was in flight");
    drop(in_flight);
    io.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .await
        .expect("response");
    assert_eq!(time_to_failure(&mut io).await, TIMEOUTS.idle);
}

#[tokio::test(start_paused = true)]
async fn the_next_head_gets_its_own_header_deadline() {
    let (mut io, mut client, requests) = pipe();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
    let mut buf = [0u8; 64];
    let n = io.read(&mut buf).await.expect("the head");
    assert!(n > 0);
    drop(requests.enter());
    io.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .await
        .expect("response");
    tokio::time::sleep(Duration::from_secs(30)).await;
    client
        .write_all(b"GET / HTTP/1.1\r\n")
        .await
        .expect("half a head");
    let n = io.read(&mut buf).await.expect("the first byte starts the head");
    assert!(n > 0);
    assert_eq!(time_to_failure(&mut io).await, TIMEOUTS.header);
}
