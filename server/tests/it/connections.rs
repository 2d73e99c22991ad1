//! Client connections: slow heads, late bodies and idle keep-alive connections are closed, so that such
//! clients cannot hold the API's connections; a new client is then served; a refused request leaves its
//! connection usable. Raw TCP, to be the slow client and to see the connection itself.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{DEADLINE, TestApp, spawn_app_with};

const PING: &[u8] = b"GET /api/v1/health/ping HTTP/1.1\r\nHost: x\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(DEADLINE, read_all)
        .await
        .expect("the server closes the connection");
    received
}

/// Reads one response whose head announces a `content-length`, leaving the connection open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = |r: &[u8]| {
        let text = String::from_utf8_lossy(r).to_lowercase();
        let Some(end) = text.find("\r\n\r\n") else {
            return false;
        };
        let length = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        r.len() >= end + 4 + length
    };
    let read = async {
        while !complete(&received) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before a whole response");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("a response arrives");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_client_sending_its_head_too_slowly_is_disconnected() {
    let app = spawn_app_with(&[("XWEBHOOK_HEADER_READ_TIMEOUT", "1")]).await;
    let mut stream = connect(&app).await;
    let (mut reader, mut writer) = stream.split();
    // A header line every 200 ms: progress that never completes the head, as a slowloris client sends.
    let trickle = async {
        writer.write_all(b"GET /api/v1/health/ping HTTP/1.1\r\n").await?;
        let mut every = tokio::time::interval(Duration::from_millis(200));
        loop {
            every.tick().await;
            writer.write_all(b"X-Slow: 1\r\n").await?;
        }
        #[allow(unreachable_code)]
        std::io::Result::Ok(())
    };
    let mut received = Vec::new();
    let closed = async {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = reader.read(&mut buf).await {
            received.extend_from_slice(&buf[..n]);
        }
    };
    let outcome = tokio::time::timeout(DEADLINE, async {
        tokio::select! {
            () = closed => {},
            _ = trickle => {}, // a failed write: the server has closed the connection
        }
    })
    .await;
    assert!(outcome.is_ok(), "the slow client is still connected");
    assert!(!String::from_utf8_lossy(&received).contains("200 OK"));
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_the_connection_closes() {
    let app = spawn_app_with(&[("XWEBHOOK_BODY_READ_TIMEOUT", "1")]).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/app HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        app.token
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream
        .write_all(br#"{"name":"x"#)
        .await
        .expect("write 10 of 100 bytes");
    let response = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("request_timeout"), "{response}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    // The head deadline is longer than the test waits: only the idle timeout can close the connection.
    let app = spawn_app_with(&[
        ("XWEBHOOK_HEADER_READ_TIMEOUT", "60"),
        ("XWEBHOOK_IDLE_TIMEOUT", "1"),
    ])
    .await;
    let mut stream = connect(&app).await;
    stream.write_all(PING).await.expect("write");
    let first = read_response(&mut stream).await;
    assert!(
        first.starts_with("HTTP/1.1 204") || first.starts_with("HTTP/1.1 200"),
        "{first}"
    );
    // Kept alive: a second request on the same connection is served.
    stream.write_all(PING).await.expect("write");
    read_response(&mut stream).await;
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn once_idle_clients_time_out_a_new_client_is_served() {
    let app = spawn_app_with(&[
        ("XWEBHOOK_MAX_CONNECTIONS", "4"),
        ("XWEBHOOK_HEADER_READ_TIMEOUT", "1"),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&app).await);
    }
    // Connected while every slot is held by a client that sends nothing.
    let mut fresh = connect(&app).await;
    fresh.write_all(PING).await.expect("write");
    let response = read_response(&mut fresh).await;
    assert!(response.starts_with("HTTP/1.1 2"), "{response}");
    for stream in &mut idle {
        assert!(
            read_until_closed(stream).await.is_empty(),
            "an idle client got a response"
        );
    }
}

#[tokio::test]
async fn a_request_refused_before_its_body_is_read_leaves_the_connection_usable() {
    let app = spawn_app_with(&[]).await;
    let body = r#"{"name":"refused"}"#;
    let refused = [
        // No token: 401 from the access layer, which needs no body to decide.
        ("POST", "HTTP/1.1 401"),
        // A method the route does not serve: 405, the same way.
        ("PATCH", "HTTP/1.1 405"),
    ];
    for (method, status) in refused {
        let mut stream = connect(&app).await;
        let head = format!(
            "{method} /api/v1/app HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        // As SDK clients do, the body follows the head in a write of its own, here once the server has had time
        // to answer without it. A server that answers before the body arrives then closes the connection.
        let mut early = [0u8; 1];
        let _ = tokio::time::timeout(Duration::from_millis(300), stream.peek(&mut early)).await;
        stream.write_all(body.as_bytes()).await.expect("write");
        let first = read_response(&mut stream).await;
        assert!(first.starts_with(status), "{first}");
        // The client's next request on the same connection is answered, not dropped with the connection.
        stream.write_all(PING).await.expect("write");
        let second = read_response(&mut stream).await;
        assert!(
            second.starts_with("HTTP/1.1 204") || second.starts_with("HTTP/1.1 200"),
            "{second}"
        );
    }
}
