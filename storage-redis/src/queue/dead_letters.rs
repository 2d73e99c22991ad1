//! Reading the dead-letter streams, for operators (`xwebhook dlq list`). Nothing here moves an entry.

use std::collections::HashMap;

use xwebhook_engine::store::{DeadLetter, StoreResult};

use super::decode_task;
use crate::RedisStore;
use crate::error::Context as _;

/// One `XRANGE` entry: its id and its fields.
type Entry = (String, HashMap<String, String>);

impl RedisStore {
    /// `DeliveryQueue::dead_letters`: up to `max` entries, partition by partition, oldest first within each.
    pub(super) async fn list_dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        let mut conn = self.pool.get().await?;
        let mut listed = Vec::new();
        for (p, keys) in (0u16..).zip(&self.queue.parts) {
            if listed.len() >= max {
                break;
            }
            let entries: Vec<Entry> = redis::cmd("XRANGE")
                .arg(&keys.dead)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max - listed.len())
                .query_async(&mut conn)
                .await
                .redis("cannot list dead-lettered tasks")?;
            listed.extend(
                entries
                    .into_iter()
                    .map(|(id, fields)| dead_letter(p, &id, &fields)),
            );
        }
        Ok(listed)
    }
}

/// An entry as the scripts write it: `t` (the task), and `deliveries` or `reason` depending on why it died.
fn dead_letter(partition: u16, id: &str, fields: &HashMap<String, String>) -> DeadLetter {
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let (task, undecodable) = match decode_task(field("t")) {
        Ok(task) => (Some(task), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let reason = match (field("reason"), undecodable) {
        ("", Some(e)) => e,
        (reason, _) => reason.to_owned(),
    };
    DeadLetter {
        // `<partition>:<entry id>` of the dead-letter stream (not a lease: no lane).
        id: format!("{partition}:{id}"),
        task,
        deliveries: field("deliveries").parse().unwrap_or(0),
        reason,
    }
}
