//! Messages this process has just fanned out, shared by reference with their deliveries: a fan-out to 50
//! endpoints loads its message once, and each of the 50 deliveries that this process leases soon after takes the
//! same `Arc` instead of reading the message back from the store.
//!
//! Entries live a short time (`TTL`) and the whole holds a bounded number of payload bytes, oldest evicted
//! first. The short life bounds staleness: a payload expunged meanwhile (`DELETE …/content`) could still be sent
//! by a delivery within that window, as it could by a delivery that read the message just before the expunge.
//! A delivery that misses (another process fanned out, or the entry expired) reads the store as before.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::Message;
use crate::id::MessageId;

/// How long a fanned-out message is kept for its deliveries.
const TTL: Duration = Duration::from_secs(1);

pub struct RecentMessages {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<MessageId, Arc<Message>>,
    /// Insertion order, for eviction by age and by size.
    order: VecDeque<(Instant, MessageId)>,
    bytes: usize,
}

impl RecentMessages {
    /// Keeps at most `max_bytes` of payloads.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `message` for its deliveries, unless its payload alone exceeds the budget. A message put again
    /// (its fan-out ran twice) replaces the first and keeps its place in line.
    pub fn put(&self, message: Arc<Message>, now: Instant) {
        let size = message.payload.as_bytes().len();
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        inner.evict(now, self.max_bytes - size);
        let id = message.id.clone();
        match inner.by_id.insert(id.clone(), message) {
            Some(old) => inner.bytes -= old.payload.as_bytes().len(),
            None => inner.order.push_back((now, id)),
        }
        inner.bytes += size;
    }

    /// The message, when it was fanned out here less than `TTL` ago.
    pub fn get(&self, id: &MessageId, now: Instant) -> Option<Arc<Message>> {
        let mut inner = self.lock();
        inner.evict(now, self.max_bytes);
        inner.by_id.get(id).cloned()
    }
}

impl Inner {
    /// Drops entries older than `TTL`, then the oldest until at most `keep_bytes` remain.
    fn evict(&mut self, now: Instant, keep_bytes: usize) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < TTL && self.bytes <= keep_bytes {
                return;
            }
            if let Some((_, id)) = self.order.pop_front()
                && let Some(gone) = self.by_id.remove(&id)
            {
                self.bytes -= gone.payload.as_bytes().len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AppId, OrgId};
    use crate::testsuite::fixtures;

    fn message() -> Arc<Message> {
        Arc::new(fixtures::message(
            &OrgId::generate(),
            &AppId::generate(),
            "a.b",
            None,
            &[],
        ))
    }

    #[test]
    fn shares_a_message_until_it_expires() {
        let recent = RecentMessages::new(1 << 20);
        let (m, start) = (message(), Instant::now());
        recent.put(m.clone(), start);
        let shared = recent.get(&m.id, start + TTL / 2).expect("kept");
        assert!(Arc::ptr_eq(&shared, &m), "the same message, not a copy");
        assert!(recent.get(&m.id, start + TTL).is_none(), "expired");
        assert!(recent.get(&message().id, start).is_none(), "never put");
    }

    #[test]
    fn keeps_within_its_byte_budget_oldest_out_first() {
        let one = message().payload.as_bytes().len();
        let recent = RecentMessages::new(2 * one);
        let now = Instant::now();
        let (a, b, c) = (message(), message(), message());
        for m in [&a, &b, &c] {
            recent.put(m.clone(), now);
        }
        assert!(recent.get(&a.id, now).is_none(), "the oldest made room");
        assert!(recent.get(&b.id, now).is_some() && recent.get(&c.id, now).is_some());
        assert_eq!(recent.lock().bytes, 2 * one);
    }
}
