//! `retry-storm`: 20 applications × 1 endpoint; half fail (500) for the first `--fail-seconds` then recover.
//! The report's drain time is how long the retries took to clear, and the `healthy` group's latency is that of
//! first attempts while the storm goes on. Retries come as fast as the server's retry schedule allows.

use std::time::Duration;

use super::Plan;
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub fn plan(w: &Workload) -> Plan {
    let recovering = Behaviour::FailUntil(Duration::from_secs(w.fail_seconds));
    let apps = (0..20)
        .map(|i| vec![if i % 2 == 0 { recovering } else { Behaviour::Ok }])
        .collect();
    Plan::closed(apps, w, 2000)
}
