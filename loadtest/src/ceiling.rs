//! The ceiling: what this machine can do at all. C keep-alive HTTP/1.1 connections POST the same payload to the
//! sink as fast as it answers, for a few seconds, through the same `hyper` stack the server's deliveries use.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::payload::PayloadBuilder;
use crate::sink::Sink;
use crate::unix_micros;

/// Requests per second the sink answered.
pub async fn measure(
    sink: &Sink,
    payload: &PayloadBuilder,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let before = sink.ceiling_requests();
    let started = Instant::now();
    let deadline = started + duration;
    let mut blasters = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (url, body) = (sink.ceiling_url(), payload.delivery(0, unix_micros()));
        let addr = sink.addr;
        blasters.spawn(async move { blast(addr, &url, body, deadline).await });
    }
    while let Some(done) = blasters.join_next().await {
        done.context("a ceiling connection panicked")??;
    }
    let answered = sink.ceiling_requests() - before;
    Ok(answered as f64 / started.elapsed().as_secs_f64())
}

async fn blast(addr: std::net::SocketAddr, url: &str, body: Bytes, deadline: Instant) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    while Instant::now() < deadline {
        sender.ready().await?;
        let req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("host", addr.to_string())
            .body(Full::new(body.clone()))?;
        let res = sender.send_request(req).await?;
        res.into_body().collect().await?;
    }
    Ok(())
}
