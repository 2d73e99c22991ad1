//! The operator commands on the delivery queue: `xwebhook queue stats`, `xwebhook dlq list` and
//! `xwebhook dlq redrive`, against the configured queue backend (Redis when configured, else the embedded
//! store, as `serve` chooses).

use std::fmt;
use std::sync::Arc;

use xwebhook_engine::store::{DeadLetter, DeliveryQueue, QueueDepths, TaskKind};

use crate::config::Config;
use crate::{prune, run};

/// Tasks moved per redrive call: one bounded script run per partition each.
pub const REDRIVE_BATCH: usize = 1000;

/// The queue backend alone, opened as `serve` would.
pub async fn open_queue(config: &Config) -> anyhow::Result<Arc<dyn DeliveryQueue>> {
    if let Some(url) = &config.storage.redis_url {
        return Ok(run::open_redis(config, url).await?);
    }
    prune::open_embedded(config, "run this command").map(|s| s as Arc<dyn DeliveryQueue>)
}

/// `queue stats`, as printed.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(transparent)]
pub struct Stats(pub QueueDepths);

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        writeln!(f, "ready        {}", d.ready)?;
        writeln!(f, "in flight    {}", d.in_flight)?;
        writeln!(f, "scheduled    {}", d.scheduled)?;
        write!(f, "dead letter  {}", d.dead_letter)
    }
}

/// `dlq list`, as printed: one line per dead letter, oldest first within each partition.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub dead_letters: Vec<DeadLetter>,
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dead_letters.is_empty() {
            return write!(f, "no dead letters");
        }
        for (i, d) in self.dead_letters.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}  {}  deliveries {}", d.id, describe(d), d.deliveries)?;
            if !d.reason.is_empty() {
                write!(f, "  ({})", d.reason)?;
            }
        }
        Ok(())
    }
}

fn describe(dead: &DeadLetter) -> String {
    let Some(task) = &dead.task else {
        return "undecodable task".to_owned();
    };
    match &task.kind {
        TaskKind::FanOut => format!("fan-out of {} in {}", task.msg_id, task.app_id),
        TaskKind::Deliver(deliver) => format!(
            "delivery of {} to {} (attempt {})",
            task.msg_id,
            deliver.endpoint_id,
            u32::from(deliver.attempt) + 1
        ),
    }
}

/// `dlq redrive`, as printed.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Redriven {
    pub redriven: usize,
}

impl fmt::Display for Redriven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "moved {} dead-lettered tasks back to the ready queue",
            self.redriven
        )
    }
}

pub async fn stats(queue: &dyn DeliveryQueue) -> anyhow::Result<Stats> {
    Ok(Stats(queue.depths().await?))
}

pub async fn list(queue: &dyn DeliveryQueue, limit: usize) -> anyhow::Result<Listing> {
    Ok(Listing {
        dead_letters: queue.dead_letters(limit).await?,
    })
}

/// Redrives batch by batch until `max` moved or a batch comes back short (the dead letters are drained).
pub async fn redrive(queue: &dyn DeliveryQueue, max: Option<usize>) -> anyhow::Result<Redriven> {
    let max = max.unwrap_or(usize::MAX);
    let mut redriven = 0;
    while redriven < max {
        let batch = REDRIVE_BATCH.min(max - redriven);
        let moved = queue.redrive_dead_letters(batch).await?;
        redriven += moved;
        if moved < batch {
            break;
        }
    }
    Ok(Redriven { redriven })
}

#[cfg(test)]
mod tests {
    use xwebhook_engine::store::DeliverTask;
    use xwebhook_engine::testsuite::fixtures::delivery_task;

    use super::*;

    #[test]
    fn stats_read_as_a_table() {
        let stats = Stats(QueueDepths {
            ready: 1,
            in_flight: 2,
            scheduled: 3,
            dead_letter: 4,
        });
        assert_eq!(
            stats.to_string(),
            "ready        1\nin flight    2\nscheduled    3\ndead letter  4"
        );
        let json = serde_json::to_value(stats).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"ready": 1, "in_flight": 2, "scheduled": 3, "dead_letter": 4})
        );
    }

    #[test]
    fn dead_letters_read_one_a_line() -> Result<(), String> {
        let task = delivery_task(2);
        let listing = Listing {
            dead_letters: vec![
                DeadLetter {
                    id: "0:1-0".into(),
                    task: Some(task.clone()),
                    deliveries: 5,
                    reason: String::new(),
                },
                DeadLetter {
                    id: "1:2-0".into(),
                    task: None,
                    deliveries: 0,
                    reason: "undecodable task: eof".into(),
                },
            ],
        };
        let TaskKind::Deliver(DeliverTask { endpoint_id, .. }) = &task.kind else {
            return Err(format!("the fixture built {:?}, not a delivery", task.kind));
        };
        let expected = format!(
            "0:1-0  delivery of {} to {endpoint_id} (attempt 3)  deliveries 5\n\
             1:2-0  undecodable task  deliveries 0  (undecodable task: eof)",
            task.msg_id
        );
        assert_eq!(listing.to_string(), expected);
        let empty = Listing {
            dead_letters: Vec::new(),
        };
        assert_eq!(empty.to_string(), "no dead letters");
        Ok(())
    }
}
