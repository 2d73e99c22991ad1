//! `slow-clients`: holds many idle or slow-header connections open against a running server, and meanwhile asks
//! `GET /api/v1/health/ping` from a fresh connection every probe interval: does a new client still get served,
//! and how fast? Bounded: the flood is opened once (no reconnects) and the run lasts `--seconds`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::cli::{Flood, SlowClientsArgs};

/// How the flood's connections fail to be proper clients.
async fn hold(mut stream: TcpStream, flood: Flood, closed: Arc<AtomicUsize>) {
    let mut buf = [0u8; 512];
    let ended = match flood {
        // Connect and send nothing: wait until the server closes.
        Flood::Idle => stream.read(&mut buf).await.map(drop),
        // A request head that never ends: one header line every 5 s, as reported in issue 11.
        Flood::SlowHeader => {
            let (mut reader, mut writer) = stream.split();
            let trickle = async {
                writer.write_all(b"GET /api/v1/health/ping HTTP/1.1\r\n").await?;
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    writer.write_all(b"X-Slow: 1\r\n").await?;
                }
            };
            tokio::select! {
                read = reader.read(&mut buf) => read.map(drop),
                written = trickle => written,
            }
        }
    };
    let _ = ended;
    closed.fetch_add(1, Ordering::Relaxed);
}

/// One fresh client's ping: its latency, or `None` if it was not answered with 2xx within `timeout`.
async fn ping(addr: SocketAddr, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET /api/v1/health/ping HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        head.starts_with(b"HTTP/1.1 2").then(|| start.elapsed())
    };
    tokio::time::timeout(timeout, exchange).await.ok().flatten()
}

/// Connects one flood client (reporting whether it got through within 10 s), then holds it.
async fn open(addr: SocketAddr, flood: Flood, closed: Arc<AtomicUsize>, report: mpsc::Sender<bool>) {
    let connected = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await;
    let stream = connected.ok().and_then(Result::ok);
    let _ = report.send(stream.is_some()).await;
    drop(report);
    if let Some(stream) = stream {
        hold(stream, flood, closed).await;
    }
}

pub async fn run(args: SlowClientsArgs) -> anyhow::Result<()> {
    let addr: SocketAddr = args.addr.parse()?;
    let closed = Arc::new(AtomicUsize::new(0));
    // All at once, as a flood comes: a server that stops accepting leaves the rest in its backlog or unanswered.
    let (report, mut reports) = mpsc::channel(args.connections.max(1));
    for _ in 0..args.connections {
        tokio::spawn(open(addr, args.flood, Arc::clone(&closed), report.clone()));
    }
    drop(report);
    let mut opened = 0;
    // Every client reports once, then drops its sender.
    while let Some(connected) = reports.recv().await {
        opened += usize::from(connected);
    }
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut probes = 0;
    let mut first_ok = None;
    let mut every = tokio::time::interval(Duration::from_secs(args.probe_every));
    while start.elapsed() < Duration::from_secs(args.seconds) {
        every.tick().await;
        probes += 1;
        if let Some(latency) = ping(addr, Duration::from_secs(args.probe_timeout)).await {
            first_ok.get_or_insert(start.elapsed());
            latencies.push(latency);
        }
    }
    latencies.sort();
    let ms = |d: Option<&Duration>| d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e3));
    println!(
        "flood {:?}: {opened}/{} connections opened within 10 s, {} closed by the server within {} s",
        args.flood,
        args.connections,
        closed.load(Ordering::Relaxed),
        args.seconds
    );
    println!(
        "ping from a fresh client: {}/{probes} answered (timeout {} s); first at {} s; latency p50 {} ms, max {} ms",
        latencies.len(),
        args.probe_timeout,
        first_ok.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64())),
        ms(latencies.get(latencies.len() / 2)),
        ms(latencies.last()),
    );
    Ok(())
}
