//! `xwebhook-loadtest`: the load-testing harness. It drives any Svix-compatible server through its API, receives
//! the webhooks on its own sink on loopback, and reports ingest and delivery rates, end-to-end latency
//! percentiles, losses, duplicates, bad signatures and the order of FIFO destinations' batches, optionally as
//! ratios to the machine's ceiling. `suite` starts Xwebhook on each backend, runs every scenario, draws its charts
//! (SVG) and rewrites the tables of `BENCHMARKS.md`; `charts` draws them again from a run's JSON reports.
//!
//! Layout: `cli` (arguments), `api` (the Svix API client), `payload` (stamped bodies), `signature` (Standard
//! Webhooks verifier), `sink` (the receiver, its per-endpoint behaviours and the FIFO order check), `load`
//! (closed, ordered and open loop), `ceiling`, `progress`, `rss` (server memory), `report`, `scenario` (one file per scenario), `suite`,
//! `slow_clients` (idle and slow-header connections against a fresh client's ping),
//! `burst` (overload honesty: every answer to a burst of sends matches what was stored).
//! It must not depend on Xwebhook's own crates: it judges the server from the outside.
//! The server under test must be allowed to deliver to loopback (`XWEBHOOK_ALLOW_SUBNETS=127.0.0.0/8`).

mod api;
mod burst;
mod ceiling;
mod cli;
mod load;
mod payload;
mod progress;
mod report;
mod rss;
mod scenario;
mod signature;
mod sink;
mod slow_clients;
mod suite;

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use cli::{Cli, Command};

/// Wall-clock time in microseconds since the Unix epoch: the clock the payload stamps and the sink share.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => {
            let report = scenario::run(&args).await?;
            println!("{}", report.human());
            if let Some(path) = &args.json {
                std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
            }
            if !report.is_correct() {
                anyhow::bail!("deliveries were lost, unstamped, badly signed or out of order");
            }
            Ok(())
        }
        Command::Suite(args) => suite::run(args).await,
        Command::Charts(args) => suite::redraw(&args),
        Command::SlowClients(args) => slow_clients::run(args).await,
        Command::Burst(args) => burst::run(&args).await,
    }
}
