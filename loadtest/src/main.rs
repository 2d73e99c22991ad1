//! `xwebhook-loadtest`: drives a Svix-compatible API and a receiving sink on loopback, and reports ingest and
//! delivery throughput and end-to-end latency percentiles.
//!
//! Layout: `driver` (API setup and closed-loop senders), `sink` (the receiver), `main` (the run and the report).
//! The server under test must be allowed to deliver to loopback (`XWEBHOOK_ALLOW_SUBNETS=127.0.0.0/8`).

mod driver;
mod sink;

use std::time::Duration;

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Load-test a Svix-compatible webhook server")]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8071")]
    url: String,
    /// An organization token for the server.
    #[arg(long, env = "XWEBHOOK_TOKEN")]
    token: String,
    /// Messages to send.
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Concurrent senders.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Approximate payload size in bytes.
    #[arg(long, default_value_t = 1024)]
    payload_bytes: usize,
    /// How long to wait for deliveries after the last send.
    #[arg(long, default_value_t = 120)]
    drain_seconds: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

fn percentiles(h: &Histogram<u64>) -> serde_json::Value {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    json!({"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "p999": ms(0.999), "max": h.max() as f64 / 1000.0})
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sink = sink::Sink::start().await?;
    let api = driver::Api::new(&args.url, &args.token);
    let app_id = api.setup(&[format!("http://{}/hook", sink.addr)]).await?;
    let started = tokio::time::Instant::now();
    let sent =
        driver::send_closed_loop(&api, &app_id, args.messages, args.concurrency, args.payload_bytes).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.drain_seconds);
    let delivered = sink.wait_for(sent.sent as usize, deadline).await;
    let delivery_elapsed = started.elapsed();
    let report = sink.with_stats(|s| {
        json!({
            "messages": args.messages,
            "concurrency": args.concurrency,
            "payload_bytes": args.payload_bytes,
            "sent": sent.sent,
            "send_errors": sent.errors,
            "ingest_per_sec": sent.sent as f64 / sent.elapsed.as_secs_f64(),
            "ingest_latency_ms": percentiles(&sent.latency),
            "delivered": delivered,
            "lost": sent.sent as usize - delivered.min(sent.sent as usize),
            "duplicates": s.duplicates,
            "delivered_per_sec": delivered as f64 / delivery_elapsed.as_secs_f64(),
            "end_to_end_latency_ms": percentiles(&s.latency),
        })
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    if report["lost"] != 0 || report["send_errors"] != 0 {
        anyhow::bail!("messages were lost or refused");
    }
    Ok(())
}
