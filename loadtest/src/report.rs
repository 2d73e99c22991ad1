//! The run's report: built from what the senders and the sink saw, printed for people and written as JSON.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds; all zero when it is empty.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "p50 {} / p90 {} / p99 {} / p99.9 {} / max {} ms",
            round(self.p50),
            round(self.p90),
            round(self.p99),
            round(self.p999),
            round(self.max)
        )
    }
}

/// Three significant figures at most, for people.
pub fn round(x: f64) -> String {
    if x >= 100.0 || x == 0.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub apps: usize,
    pub endpoints: usize,
    pub messages: u64,
    /// Closed-loop senders, or `None` in open loop.
    pub concurrency: Option<usize>,
    /// Open-loop arrival rate, messages/s.
    pub rate: Option<u64>,
    pub payload_bytes: usize,
    pub rate_limit: Option<u16>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IngestReport {
    pub sent: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub per_sec: f64,
    pub latency_ms: Percentiles,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivered {
    /// Distinct messages accepted by at least one endpoint.
    pub messages: u64,
    /// Distinct (endpoint, message) deliveries accepted.
    pub deliveries: u64,
    /// From the first send to the last accepted delivery.
    pub seconds: f64,
    pub messages_per_sec: f64,
    pub deliveries_per_sec: f64,
}

/// Endpoints that behave alike (healthy, slow, failing, …).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupReport {
    pub name: String,
    pub endpoints: usize,
    /// Deliveries owed (messages accepted by the API × endpoints), when they must all arrive.
    pub owed: Option<u64>,
    pub requests: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub per_sec: f64,
    pub latency_ms: Percentiles,
}

/// Accepted deliveries per full wall-clock second (the partial first and last seconds left out).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PerSecond {
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub seconds: Vec<u64>,
}

impl PerSecond {
    pub fn of(buckets: &[u64]) -> Self {
        let first = buckets.iter().position(|&n| n > 0);
        let last = buckets.iter().rposition(|&n| n > 0);
        let full: Vec<u64> = match (first, last) {
            (Some(first), Some(last)) if last > first + 1 => buckets[first + 1..last].to_vec(),
            _ => Vec::new(),
        };
        Self {
            min: full.iter().copied().min().unwrap_or(0),
            max: full.iter().copied().max().unwrap_or(0),
            mean: full.iter().sum::<u64>() as f64 / full.len().max(1) as f64,
            seconds: full,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ceiling {
    pub requests_per_sec: f64,
    pub ingest_ratio: f64,
    pub delivered_messages_ratio: f64,
    pub deliveries_ratio: f64,
}

/// The FIFO destinations' batches (the `fifo` scenario). Their events are the report's deliveries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FifoReport {
    pub destinations: usize,
    /// The destinations' `batchSize`: the most events a batch may carry.
    pub batch_size: u16,
    /// The destinations' `maxWaitSecs`: how long a batch may wait to fill.
    #[serde(default)]
    pub max_wait_secs: u16,
    /// Batches answered 2xx, re-sent ones included.
    pub batches: u64,
    /// Over the same span as the delivered rates.
    pub batches_per_sec: f64,
    /// Events per batch, re-sent ones included.
    pub mean_batch_size: f64,
    /// Batches that opened with events already delivered (sent again; allowed, their events are duplicates).
    pub resent_batches: u64,
    /// Events out of order: must be 0.
    pub order_violations: u64,
    pub first_violation: Option<String>,
    /// Destinations not `enabled` after the run: `id: status (failureReason)`.
    pub not_enabled: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerRss {
    pub pid: u32,
    pub peak_kib: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub settings: Settings,
    pub ingest: IngestReport,
    pub delivered: Delivered,
    pub end_to_end_ms: Percentiles,
    pub owed: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub bad_signatures: u64,
    /// Accepted deliveries without the driver's stamp (not ours, or mangled).
    pub unstamped: u64,
    /// From the end of sending to the last owed delivery.
    pub drain_seconds: f64,
    pub groups: Vec<GroupReport>,
    pub per_second: PerSecond,
    pub ceiling: Option<Ceiling>,
    pub server_rss: Vec<ServerRss>,
    /// Reports written before FIFO destinations existed have none.
    #[serde(default)]
    pub fifo: Option<FifoReport>,
}

impl Report {
    /// Correct: nothing owed was lost, every signature verified, and every FIFO destination's events came in
    /// order.
    pub fn is_correct(&self) -> bool {
        self.lost == 0
            && self.bad_signatures == 0
            && self.unstamped == 0
            && self.fifo.as_ref().is_none_or(|f| f.order_violations == 0)
    }

    pub fn group(&self, name: &str) -> Option<&GroupReport> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn human(&self) -> String {
        let s = &self.settings;
        let d = &self.delivered;
        let mut out = format!(
            "scenario {}: {} apps, {} endpoints, {} messages of ~{} B, {}\n",
            self.scenario,
            s.apps,
            s.endpoints,
            s.messages,
            s.payload_bytes,
            match (s.concurrency, s.rate) {
                (_, Some(rate)) => format!("open loop at {rate} msg/s"),
                (Some(c), None) => format!("closed loop with {c} senders"),
                (None, None) => String::new(),
            }
        );
        out += &format!(
            "ingest     {} sent, {} errors, {} msg/s, {}\n",
            self.ingest.sent,
            self.ingest.errors,
            round(self.ingest.per_sec),
            self.ingest.latency_ms.summary()
        );
        if let Some(e) = &self.ingest.first_error {
            out += &format!("           first error: {e}\n");
        }
        out += &format!(
            "delivered  {} messages ({} msg/s), {} deliveries ({} /s) in {} s; drain {} s\n",
            d.messages,
            round(d.messages_per_sec),
            d.deliveries,
            round(d.deliveries_per_sec),
            round(d.seconds),
            round(self.drain_seconds)
        );
        out += &format!("end-to-end {}\n", self.end_to_end_ms.summary());
        out += &format!(
            "checks     owed {}, lost {}, duplicates {}, bad signatures {}, unstamped {}\n",
            self.owed, self.lost, self.duplicates, self.bad_signatures, self.unstamped
        );
        out + &self.human_details()
    }

    fn human_details(&self) -> String {
        let mut out = String::new();
        if self.groups.len() > 1 {
            for g in &self.groups {
                out += &format!(
                    "group      {}: {} endpoints, {} requests, {} accepted ({} /s), {}\n",
                    g.name,
                    g.endpoints,
                    g.requests,
                    g.accepted,
                    round(g.per_sec),
                    g.latency_ms.summary()
                );
            }
        }
        if let Some(f) = &self.fifo {
            out += &format!(
                "fifo       {} destinations of batch size {} (max wait {} s): {} batches ({} /s), mean {} events \
                 per batch, {} re-sent, {} order violations\n",
                f.destinations,
                f.batch_size,
                f.max_wait_secs,
                f.batches,
                round(f.batches_per_sec),
                round(f.mean_batch_size),
                f.resent_batches,
                f.order_violations
            );
            if let Some(v) = &f.first_violation {
                out += &format!("           first violation: {v}\n");
            }
            for d in &f.not_enabled {
                out += &format!("           not enabled: {d}\n");
            }
        }
        let p = &self.per_second;
        if !p.seconds.is_empty() {
            out += &format!(
                "per second min {} / mean {} / max {}\n",
                p.min,
                round(p.mean),
                p.max
            );
        }
        if let Some(c) = &self.ceiling {
            out += &format!(
                "ceiling    {} req/s; ingest {}, delivered messages {}, deliveries {} of it\n",
                round(c.requests_per_sec),
                percent(c.ingest_ratio),
                percent(c.delivered_messages_ratio),
                percent(c.deliveries_ratio)
            );
        }
        for rss in &self.server_rss {
            out += &format!(
                "server     pid {} peak RSS {} MiB\n",
                rss.pid,
                rss.peak_kib / 1024
            );
        }
        out
    }
}

pub fn percent(ratio: f64) -> String {
    format!("{} %", round(ratio * 100.0))
}

/// A fixed report for the tests of the modules that turn reports into tables and charts.
#[cfg(test)]
pub mod fixture {
    use super::*;

    /// A closed-loop run of 3000 messages whose `healthy` group delivered `healthy_per_sec` with p99
    /// `healthy_p99` ms; the ceiling is 100 000 req/s.
    pub fn report(scenario: &str, healthy_per_sec: f64, healthy_p99: f64) -> Report {
        let latency = Percentiles {
            p50: 2.0,
            p90: 3.0,
            p99: healthy_p99,
            p999: 9.0,
            max: 12.5,
        };
        Report {
            scenario: scenario.into(),
            settings: Settings {
                apps: 50,
                endpoints: 50,
                messages: 3000,
                concurrency: Some(32),
                rate: None,
                payload_bytes: 1024,
                rate_limit: None,
            },
            ingest: IngestReport {
                sent: 3000,
                errors: 0,
                first_error: None,
                per_sec: 2000.0,
                latency_ms: latency.clone(),
            },
            delivered: Delivered {
                messages: 3000,
                deliveries: 3000,
                seconds: 2.0,
                messages_per_sec: 1500.0,
                deliveries_per_sec: 1500.0,
            },
            end_to_end_ms: latency.clone(),
            owed: 3000,
            lost: 0,
            duplicates: 1,
            bad_signatures: 0,
            unstamped: 0,
            drain_seconds: 0.5,
            groups: vec![GroupReport {
                name: "healthy".into(),
                endpoints: 30,
                owed: Some(1800),
                requests: 1800,
                accepted: 1800,
                duplicates: 0,
                per_sec: healthy_per_sec,
                latency_ms: latency,
            }],
            per_second: PerSecond::default(),
            ceiling: Some(Ceiling {
                requests_per_sec: 100_000.0,
                ingest_ratio: 0.02,
                delivered_messages_ratio: 0.015,
                deliveries_ratio: 0.015,
            }),
            server_rss: vec![ServerRss {
                pid: 7,
                peak_kib: 64 * 1024,
            }],
            fifo: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_in_milliseconds() {
        let mut h = crate::sink::stats::latency_histogram();
        for micros in 1..=1000u64 {
            h.record(micros * 10).expect("in range");
        }
        let p = Percentiles::of(&h);
        assert!((p.p50 - 5.0).abs() < 0.01, "{p:?}");
        assert!((p.p99 - 9.9).abs() < 0.01, "{p:?}");
        assert!((p.max - 10.0).abs() < 0.01, "{p:?}");
        assert_eq!(
            Percentiles::of(&crate::sink::stats::latency_histogram()),
            Percentiles::default()
        );
    }

    #[test]
    fn rounds_to_about_three_figures() {
        assert_eq!(round(0.0), "0");
        assert_eq!(round(1.23456), "1.23");
        assert_eq!(round(12.345), "12.3");
        assert_eq!(round(12345.6), "12346");
        assert_eq!(percent(0.0512), "5.12 %");
    }

    #[test]
    fn per_second_keeps_only_full_seconds() {
        let p = PerSecond::of(&[0, 0, 40, 100, 98, 104, 30, 0]);
        assert_eq!(p.seconds, vec![100, 98, 104]);
        assert_eq!((p.min, p.max), (98, 104));
        assert!((p.mean - 100.666).abs() < 0.01);
        assert_eq!(PerSecond::of(&[0, 5, 7]).seconds, Vec::<u64>::new());
    }
}
