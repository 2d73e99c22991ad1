//! `throughput`: 100 applications × 1 healthy endpoint, 1 KiB payloads, closed loop: the delivered rate.

use super::Plan;
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub fn plan(w: &Workload) -> Plan {
    Plan::closed(vec![vec![Behaviour::Ok]; 100], w, 5000)
}
