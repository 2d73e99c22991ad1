//! `latency`: open loop at `--rate` messages/s for `--seconds` to 10 applications × 1 healthy endpoint: the
//! end-to-end latency percentiles at a known load.

use super::{Mode, Plan};
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub fn plan(w: &Workload) -> Plan {
    Plan {
        apps: vec![vec![Behaviour::Ok]; 10],
        fifo: None,
        rate_limit: None,
        mode: Mode::Open {
            messages: w.messages.unwrap_or(w.rate * w.seconds),
            rate: w.rate,
        },
    }
}
