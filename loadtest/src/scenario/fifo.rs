//! `fifo`: `--apps` applications (10), each with one FIFO destination (`fifoEndpoint`, batches of at most
//! `--batch-size`, sent as soon as anything waits: `maxWaitSecs` 0) and no endpoint; one closed-loop sender per
//! application, so that each application's messages are accepted in the order of their `seq`. The sink checks
//! each batch's signature (the key is ours, given at creation), counts its events and checks their order; the
//! report's `fifo` part gives batches/s, the mean batch size, re-sent batches and order violations.
//!
//! A destination has one batch in flight at a time, so its delivered rate is at most batch size / round trip,
//! and the run's at most destinations × that.

use std::io::Read as _;

use anyhow::Context as _;
use base64::Engine as _;

use super::{Mode, Plan};
use crate::api::Api;
use crate::cli::Workload;
use crate::report::FifoReport;
use crate::signature::Verifier;
use crate::sink::Sink;
use crate::sink::stats::BatchStats;

/// The FIFO destination each application of a plan gets.
#[derive(Clone, Copy, Debug)]
pub struct Destination {
    pub batch_size: u16,
    pub max_wait_secs: u16,
}

pub fn plan(w: &Workload) -> Plan {
    Plan {
        apps: vec![Vec::new(); w.apps.max(1)],
        fifo: Some(Destination {
            batch_size: w.batch_size,
            max_wait_secs: w.max_wait_secs,
        }),
        rate_limit: None,
        mode: Mode::Ordered {
            messages: w.messages.unwrap_or(5000),
        },
    }
}

impl Destination {
    /// Creates application `index`'s destination, delivering to the sink's destination `index`; returns its id.
    pub async fn create(
        &self,
        api: &Api,
        sink: &Sink,
        app_id: &str,
        index: usize,
        verify: bool,
    ) -> anyhow::Result<String> {
        let key = new_key()?;
        let url = sink.destination_url(index);
        let id = api.create_fifo_destination(app_id, &url, *self, &key).await?;
        if verify {
            sink.set_destination_verifier(index, Verifier::from_secret(&key)?);
        }
        Ok(id)
    }
}

/// A fresh signing key, `whsec_` and 32 random bytes in base64.
fn new_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom for a destination key")?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The destinations the server does not show as `enabled` after the run (one stuck retrying its head batch
/// explains losses), each as `id: status (failureReason)`; a destination that cannot be read says so.
pub async fn not_enabled(api: &Api, destinations: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (app_id, id) in destinations {
        match api.destination(app_id, id).await {
            Ok(d) if d["status"] == "enabled" => {}
            Ok(d) => found.push(format!(
                "{id}: {} ({})",
                d["status"].as_str().unwrap_or("no status"),
                d["failureReason"].as_str().unwrap_or("no failure reason")
            )),
            Err(e) => found.push(format!("{id}: cannot be read: {e:#}")),
        }
    }
    found
}

/// The report's `fifo` part, from the sink's batch counts; `seconds` is the delivery span the other rates use.
pub fn report(
    destination: &Destination,
    destinations: usize,
    batches: &BatchStats,
    seconds: f64,
    not_enabled: Vec<String>,
) -> FifoReport {
    FifoReport {
        destinations,
        batch_size: destination.batch_size,
        max_wait_secs: destination.max_wait_secs,
        batches: batches.batches,
        batches_per_sec: if seconds > 0.0 {
            batches.batches as f64 / seconds
        } else {
            0.0
        },
        mean_batch_size: batches.events as f64 / batches.batches.max(1) as f64,
        resent_batches: batches.resent,
        order_violations: batches.violations,
        first_violation: batches.first_violation.clone(),
        not_enabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_verifiable() {
        let (a, b) = (new_key().expect("key"), new_key().expect("key"));
        assert_ne!(a, b);
        assert!(Verifier::from_secret(&a).is_ok(), "{a}");
        assert_eq!(a.len(), "whsec_".len() + 44);
    }
}
