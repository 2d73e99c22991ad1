//! `fanout`: messages to one application with 50 healthy endpoints: deliveries per second.

use super::Plan;
use crate::cli::Workload;
use crate::sink::behaviour::Behaviour;

pub fn plan(w: &Workload) -> Plan {
    Plan::closed(vec![vec![Behaviour::Ok; 50]], w, 200)
}
