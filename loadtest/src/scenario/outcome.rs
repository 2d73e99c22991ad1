//! Turns what the senders and the sink saw into the run's `Report`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Mode, Plan};
use crate::cli::RunArgs;
use crate::load::Ingest;
use crate::report::{
    Ceiling, Delivered, GroupReport, IngestReport, PerSecond, Percentiles, Report, ServerRss, Settings,
};
use crate::rss::Peaks;
use crate::sink::Sink;
use crate::sink::stats::Recorder;

pub struct Seen<'a> {
    pub plan: &'a Plan,
    pub args: &'a RunArgs,
    pub ingest: Ingest,
    /// Deliveries owed per endpoint group.
    pub owed: BTreeMap<&'static str, u64>,
    pub started: Instant,
    pub sent_by: Instant,
    /// Ceiling requests/s, when measured.
    pub ceiling: Option<f64>,
    pub peaks: &'a Peaks,
    /// The FIFO destinations not `enabled` after the run.
    pub not_enabled: Vec<String>,
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

pub fn report(seen: Seen<'_>, sink: &Sink) -> Report {
    let recorder = sink.recorder();
    let owed: u64 = seen.owed.values().sum();
    let since_start = |at: Option<Instant>| at.map_or(0.0, |t| (t - seen.started).as_secs_f64());
    let owed_groups: Vec<_> = recorder.groups.iter().filter(|g| g.delivers).collect();
    let owed_accepted: u64 = owed_groups.iter().map(|g| g.accepted).sum();
    let last_owed = owed_groups.iter().filter_map(|g| g.last_accepted).max();
    let last_any = recorder.groups.iter().filter_map(|g| g.last_accepted).max();
    let seconds = since_start(last_any);
    let deliveries: u64 = recorder.groups.iter().map(|g| g.accepted).sum();
    let groups = group_reports(&recorder, &seen.owed, since_start);
    let ingest_seconds = seen.ingest.elapsed.as_secs_f64();
    let delivered = Delivered {
        messages: recorder.messages(),
        deliveries,
        seconds,
        messages_per_sec: rate(recorder.messages(), seconds),
        deliveries_per_sec: rate(deliveries, seconds),
    };
    let ingest = IngestReport {
        sent: seen.ingest.sent,
        errors: seen.ingest.errors,
        first_error: seen.ingest.first_error,
        per_sec: rate(seen.ingest.sent, ingest_seconds),
        latency_ms: Percentiles::of(&seen.ingest.latency),
    };
    let ceiling = seen.ceiling.map(|c| Ceiling {
        requests_per_sec: c,
        ingest_ratio: ingest.per_sec / c,
        delivered_messages_ratio: delivered.messages_per_sec / c,
        deliveries_ratio: delivered.deliveries_per_sec / c,
    });
    let drain_seconds = last_owed.map_or(0.0, |t| t.saturating_duration_since(seen.sent_by).as_secs_f64());
    let fifo = seen.plan.fifo.as_ref().map(|destination| {
        let count = seen.plan.apps.len();
        super::fifo::report(destination, count, &recorder.batches, seconds, seen.not_enabled)
    });
    Report {
        scenario: scenario_label(seen.args),
        settings: settings(seen.plan, seen.args),
        ingest,
        delivered,
        end_to_end_ms: Percentiles::of(&recorder.latency),
        owed,
        lost: owed.saturating_sub(owed_accepted),
        duplicates: recorder.groups.iter().map(|g| g.duplicates).sum(),
        bad_signatures: recorder.bad_signatures,
        unstamped: recorder.unstamped,
        drain_seconds,
        groups,
        per_second: PerSecond::of(&recorder.per_second),
        ceiling,
        server_rss: server_rss(seen.peaks),
        fifo,
    }
}

fn group_reports(
    recorder: &Recorder,
    owed: &BTreeMap<&'static str, u64>,
    since_start: impl Fn(Option<Instant>) -> f64,
) -> Vec<GroupReport> {
    recorder
        .groups
        .iter()
        .map(|g| GroupReport {
            name: g.name.into(),
            endpoints: g.endpoints,
            owed: g.delivers.then(|| owed.get(g.name).copied().unwrap_or(0)),
            requests: g.requests,
            accepted: g.accepted,
            duplicates: g.duplicates,
            per_sec: rate(g.accepted, since_start(g.last_accepted)),
            latency_ms: Percentiles::of(&g.latency),
        })
        .collect()
}

fn server_rss(peaks: &Peaks) -> Vec<ServerRss> {
    peaks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(&pid, &peak_kib)| ServerRss { pid, peak_kib })
        .collect()
}

fn scenario_label(args: &RunArgs) -> String {
    let name = args.scenario.label();
    match args.scenario {
        crate::cli::ScenarioName::Latency => format!("{name}@{}", args.workload.rate),
        _ => name.to_owned(),
    }
}

fn settings(plan: &Plan, args: &RunArgs) -> Settings {
    let (messages, concurrency, rate) = match plan.mode {
        Mode::Closed {
            messages,
            concurrency,
        } => (messages, Some(concurrency), None),
        Mode::Ordered { messages } => (messages, Some(plan.apps.len()), None),
        Mode::Open { messages, rate } => (messages, None, Some(rate)),
    };
    Settings {
        apps: plan.apps.len(),
        endpoints: plan.apps.iter().map(Vec::len).sum(),
        messages,
        concurrency,
        rate,
        payload_bytes: args.workload.payload_bytes,
        rate_limit: plan.rate_limit,
    }
}
