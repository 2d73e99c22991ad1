//! `ratelimit`: one endpoint created with `rateLimit` (`--rate-limit`, 100 by default), sent to as fast as
//! possible; the report's per-second arrivals (min / mean / max over full seconds) show whether it holds.

use super::Plan;
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub fn plan(w: &Workload) -> Plan {
    Plan {
        rate_limit: Some(w.rate_limit),
        ..Plan::closed(vec![vec![Behaviour::Ok]], w, 1000)
    }
}
