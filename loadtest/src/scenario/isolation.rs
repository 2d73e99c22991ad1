//! `isolation`: 50 applications × 1 endpoint; 20 % answer after 2 s, 20 % answer 500, the rest are healthy.
//! The report's `healthy` group is what matters: its delivered rate and p99 against the all-healthy baseline
//! (`isolation-baseline`, the same layout with every endpoint healthy).

use std::time::Duration;

use super::Plan;
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub const SLOW: Duration = Duration::from_secs(2);

pub fn plan(w: &Workload, baseline: bool) -> Plan {
    let apps = (0..50)
        .map(|i| match i % 5 {
            _ if baseline => Behaviour::Ok,
            0 => Behaviour::Slow(SLOW),
            1 => Behaviour::Fail,
            _ => Behaviour::Ok,
        })
        .map(|b| vec![b])
        .collect();
    Plan::closed(apps, w, 3000)
}
