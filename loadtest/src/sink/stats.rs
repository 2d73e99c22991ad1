//! What the sink records about the deliveries it accepted: per endpoint which messages arrived (duplicates),
//! per group of alike endpoints the counts and end-to-end latency, and arrivals per wall-clock second. A FIFO
//! destination's batch counts as one request and as a delivery of each of its events; its order is checked
//! (see `order`) and counted in `BatchStats`.

use std::collections::HashSet;
use std::time::Instant;

use hdrhistogram::Histogram;

use super::order::{Class, Order};
use crate::payload::Stamp;

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

/// The batches FIFO destinations accepted, all destinations together.
#[derive(Clone, Debug, Default)]
pub struct BatchStats {
    /// Batches answered 2xx, re-sent ones included.
    pub batches: u64,
    /// Events in those batches, re-sent ones included.
    pub events: u64,
    /// Batches that opened with events already delivered.
    pub resent: u64,
    /// Events out of order (see `order`).
    pub violations: u64,
    pub first_violation: Option<String>,
}

pub struct Recorder {
    seen: Vec<HashSet<u64>>,
    orders: Vec<Order>,
    pub batches: BatchStats,
    messages: HashSet<u64>,
    pub groups: Vec<GroupStats>,
    pub latency: Histogram<u64>,
    /// Accepted deliveries per wall-clock second, from the second the sink started in.
    pub per_second: Vec<u64>,
    start_second: u64,
    pub bad_signatures: u64,
    pub unstamped: u64,
}

/// What a request carried.
pub enum Carried {
    /// One message, with its stamp when the payload had one.
    Message(Option<Stamp>),
    /// A FIFO batch: its events' stamps in order, or `None` when the body was not a batch.
    Batch(Option<Vec<Option<Stamp>>>),
}

/// One request as the sink saw it.
pub struct Arrival<'a> {
    pub endpoint: usize,
    pub group: usize,
    pub accepted: bool,
    pub signature_ok: bool,
    /// `webhook-id`: a message's, or a batch's.
    pub id: &'a str,
    pub carried: Carried,
    pub now_micros: u64,
}

impl Recorder {
    pub fn new(endpoints: usize, groups: Vec<GroupStats>, now_micros: u64) -> Self {
        Self {
            seen: vec![HashSet::new(); endpoints],
            orders: vec![Order::default(); endpoints],
            batches: BatchStats::default(),
            messages: HashSet::new(),
            groups,
            latency: latency_histogram(),
            per_second: Vec::new(),
            start_second: now_micros / 1_000_000,
            bad_signatures: 0,
            unstamped: 0,
        }
    }

    /// Records one request; returns how many new deliveries it brought (a batch may bring many).
    pub fn record(&mut self, arrival: &Arrival<'_>) -> u64 {
        self.groups[arrival.group].requests += 1;
        if !arrival.signature_ok {
            self.bad_signatures += 1;
        }
        if !arrival.accepted {
            return 0;
        }
        match &arrival.carried {
            Carried::Message(Some(stamp)) => u64::from(self.deliver(arrival, *stamp)),
            Carried::Message(None) | Carried::Batch(None) => {
                self.unstamped += 1;
                0
            }
            Carried::Batch(Some(events)) => self.record_batch(arrival, events),
        }
    }

    fn record_batch(&mut self, arrival: &Arrival<'_>, events: &[Option<Stamp>]) -> u64 {
        self.batches.batches += 1;
        self.batches.events += events.len() as u64;
        // Taken out for the batch, so that each event can be delivered (which borrows all of `self`) in between.
        let mut order = std::mem::take(&mut self.orders[arrival.endpoint]);
        let mut check = order.batch();
        let mut new = 0;
        for (position, stamp) in events.iter().enumerate() {
            let Some(stamp) = *stamp else {
                self.unstamped += 1;
                continue;
            };
            let after = check.last_delivered();
            let seen = self.seen[arrival.endpoint].contains(&stamp.seq);
            if check.next(stamp.seq, seen) == Class::Violation {
                self.batches.violations += 1;
                self.batches.first_violation.get_or_insert_with(|| {
                    let after = after.map_or("nothing".into(), |s| format!("seq {s}"));
                    format!(
                        "batch {} (event {position} of {}): seq {} came after {after} had been delivered",
                        arrival.id,
                        events.len(),
                        stamp.seq
                    )
                });
            }
            new += u64::from(self.deliver(arrival, stamp));
        }
        if check.was_resent() {
            self.batches.resent += 1;
        }
        self.orders[arrival.endpoint] = order;
        new
    }

    /// Counts one accepted message at one endpoint; returns whether it was new there.
    fn deliver(&mut self, arrival: &Arrival<'_>, stamp: Stamp) -> bool {
        let group = &mut self.groups[arrival.group];
        if !self.seen[arrival.endpoint].insert(stamp.seq) {
            group.duplicates += 1;
            return false;
        }
        self.messages.insert(stamp.seq);
        group.accepted += 1;
        group.last_accepted = Some(Instant::now());
        let latency = arrival.now_micros.saturating_sub(stamp.sent_at_micros).max(1);
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
