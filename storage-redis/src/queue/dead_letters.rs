//! The dead-letter streams, for operators: listing them (`xwebhook dlq list`) and redriving their tasks
//! (`xwebhook dlq redrive`) once the cause is fixed. Tasks get there from `reclaim.rs`.

use std::collections::HashMap;

use xwebhook_engine::store::{DeadLetter, StoreResult};

use super::decode_task;
use super::scripts;
use crate::RedisStore;
use crate::error::Context as _;

/// One `XRANGE` entry: its id and its fields.
type Entry = (String, HashMap<String, String>);

/// `DeliveryQueue::dead_letters`: up to `max` entries, partition by partition, oldest first within each.
pub(super) async fn dead_letters(store: &RedisStore, max: usize) -> StoreResult<Vec<DeadLetter>> {
    let mut conn = store.pool.get().await?;
    let mut listed = Vec::new();
    for (p, keys) in (0u16..).zip(&store.queue.parts) {
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

/// `DeliveryQueue::redrive_dead_letters`: moves up to `max` dead-lettered tasks back to their retry
/// streams as new entries, whose delivery count starts again (old work: it must not crowd out fresh). For operators, once
/// the cause (a bug, a broken message) is fixed. Each partition moves in one script; returns how many moved.
pub(super) async fn redrive_dead_letters(store: &RedisStore, max: usize) -> StoreResult<usize> {
    if max == 0 {
        return Ok(0);
    }
    let mut conn = store.pool.get().await?;
    let mut moved = 0;
    for keys in &store.queue.parts {
        if moved >= max {
            break;
        }
        let n: usize = scripts::REDRIVE
            .key(&keys.dead)
            .key(&keys.retry)
            .arg(max - moved)
            .invoke_async(&mut conn)
            .await
            .redis("cannot redrive dead-lettered tasks")?;
        moved += n;
    }
    Ok(moved)
}

impl RedisStore {}

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
