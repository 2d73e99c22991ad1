//! What the sink records about the deliveries it accepted: per endpoint which messages arrived (duplicates),
//! per group of alike endpoints the counts and end-to-end latency, and arrivals per wall-clock second.

use std::collections::HashSet;
use std::time::Instant;

use hdrhistogram::Histogram;

/// Latencies are kept in microseconds, up to ten minutes.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant histogram bounds are valid")
}

#[derive(Clone)]
pub struct GroupStats {
    pub name: &'static str,
    /// Whether every message sent to these endpoints must arrive.
    pub delivers: bool,
    pub endpoints: usize,
    /// Requests of any outcome, retries included.
    pub requests: u64,
    /// Distinct (endpoint, message) deliveries answered with 2xx.
    pub accepted: u64,
    pub duplicates: u64,
    /// End-to-end latency of first acceptances, µs.
    pub latency: Histogram<u64>,
    pub last_accepted: Option<Instant>,
}

pub struct Recorder {
    seen: Vec<HashSet<u64>>,
    messages: HashSet<u64>,
    pub groups: Vec<GroupStats>,
    pub latency: Histogram<u64>,
    /// Accepted deliveries per wall-clock second, from the second the sink started in.
    pub per_second: Vec<u64>,
    start_second: u64,
    pub bad_signatures: u64,
    pub unstamped: u64,
}

/// One request as the sink saw it.
pub struct Arrival {
    pub endpoint: usize,
    pub group: usize,
    pub accepted: bool,
    pub signature_ok: bool,
    /// `(seq, sentAtMicros)` when the payload carried a stamp.
    pub stamp: Option<(u64, u64)>,
    pub now_micros: u64,
}

impl Recorder {
    pub fn new(endpoints: usize, groups: Vec<GroupStats>, now_micros: u64) -> Self {
        Self {
            seen: vec![HashSet::new(); endpoints],
            messages: HashSet::new(),
            groups,
            latency: latency_histogram(),
            per_second: Vec::new(),
            start_second: now_micros / 1_000_000,
            bad_signatures: 0,
            unstamped: 0,
        }
    }

    /// Records one request; returns whether it was a new accepted delivery.
    pub fn record(&mut self, arrival: &Arrival) -> bool {
        let group = &mut self.groups[arrival.group];
        group.requests += 1;
        if !arrival.signature_ok {
            self.bad_signatures += 1;
        }
        if !arrival.accepted {
            return false;
        }
        let Some((seq, sent_at)) = arrival.stamp else {
            self.unstamped += 1;
            return false;
        };
        if !self.seen[arrival.endpoint].insert(seq) {
            group.duplicates += 1;
            return false;
        }
        self.messages.insert(seq);
        group.accepted += 1;
        group.last_accepted = Some(Instant::now());
        let latency = arrival.now_micros.saturating_sub(sent_at).max(1);
        // Out-of-range values (a clock step) are dropped rather than failing the run.
        let _ = group.latency.record(latency);
        let _ = self.latency.record(latency);
        let second = (arrival.now_micros / 1_000_000).saturating_sub(self.start_second) as usize;
        if self.per_second.len() <= second {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] += 1;
        true
    }

    /// Distinct messages accepted by at least one endpoint.
    pub fn messages(&self) -> u64 {
        self.messages.len() as u64
    }
}
