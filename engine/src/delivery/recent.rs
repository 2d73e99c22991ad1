//! Messages this process has just accepted (its intake puts them here once stored) or fanned out, shared by
//! reference with their first deliveries, together with the endpoints they were fanned out to: a message to 50
//! endpoints is read at most once, and each of the 50 deliveries that this process leases soon after takes the
//! same `Arc`s instead of reading the message and its endpoint from the store.
//!
//! The intake queues a message's deliveries just before it stores the message, so a quick worker leases them
//! while the insert is still on its way. The intake says so first ([`RecentMessages::expect`]), and a delivery
//! that finds its message expected waits here for the insert's outcome ([`RecentMessages::wait`]), woken the
//! moment it is known, instead of reading the store and pausing until it commits.
//!
//! Entries live a short time (`TTL`) and the whole holds a bounded number of bytes (payloads, and endpoints at
//! an estimated [`ENDPOINT_BYTES`] each), oldest evicted first. The short life bounds staleness: a payload
//! expunged or an endpoint changed meanwhile could still be used by a first delivery within that window, as it
//! could by a delivery that read them just before the change (svix-server's workers deliver from a view of an
//! application's endpoints cached for 30 s). A delivery that misses (another process accepted the message, or
//! the entry expired) reads the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::domain::{Endpoint, Message};
use crate::id::{EndpointId, MessageId};

/// How long a message is kept for its first deliveries.
const TTL: Duration = Duration::from_secs(1);
/// What one endpoint kept with a message counts against the budget: an estimate of a typical endpoint's heap
/// (its URL, secrets, headers and filters), so that a fan-out to thousands of endpoints cannot hold an
/// unbounded copy of them.
const ENDPOINT_BYTES: usize = 1024;

/// A message and the endpoints it was fanned out to, as they were then.
#[derive(Clone)]
pub struct Recent {
    pub message: Arc<Message>,
    pub endpoints: Arc<[Endpoint]>,
}

impl Recent {
    /// What this entry counts against the budget.
    fn bytes(&self) -> usize {
        self.message.payload.as_bytes().len() + self.endpoints.len() * ENDPOINT_BYTES
    }

    /// A message read from the store: no endpoints come with it.
    pub fn read(message: Message) -> Self {
        Self {
            message: Arc::new(message),
            endpoints: Arc::from([]),
        }
    }

    pub fn endpoint(&self, id: &EndpointId) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| &e.id == id)
    }
}

/// Messages this process just accepted or fanned out, for their first deliveries.
pub struct RecentMessages {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<MessageId, Recent>,
    /// Insertion order, for eviction by age and by size.
    order: VecDeque<(Instant, MessageId)>,
    bytes: usize,
    /// Messages whose insert is on its way, each with the wake-up its waiting deliveries listen for.
    expected: HashMap<MessageId, Arc<Notify>>,
}

/// A message's insert in progress (see [`RecentMessages::expect`]). Dropped, it wakes whoever waits for the
/// message: with the message put here when stored, or without it when the insert failed.
pub struct Expected<'a> {
    recent: &'a RecentMessages,
    id: MessageId,
}

impl Drop for Expected<'_> {
    fn drop(&mut self) {
        if let Some(wake) = self.recent.lock().expected.remove(&self.id) {
            wake.notify_waiters();
        }
    }
}

impl RecentMessages {
    /// Bytes a worker keeps for first deliveries, by default.
    pub const DEFAULT_BYTES: usize = 32 << 20;

    /// Keeps at most `max_bytes` of payloads and endpoints.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that `id`'s insert starts now, until the returned guard is dropped (after `put`, on success).
    pub fn expect(&self, id: &MessageId) -> Expected<'_> {
        self.lock().expected.insert(id.clone(), Arc::new(Notify::new()));
        Expected {
            recent: self,
            id: id.clone(),
        }
    }

    /// Keeps `message`, fanned out to `endpoints`, for its first deliveries, unless it alone exceeds the
    /// budget. A message put again (its fan-out ran twice) replaces the first and keeps its place in line.
    pub fn put(&self, message: Arc<Message>, endpoints: Vec<Endpoint>, now: Instant) {
        let recent = Recent {
            message,
            endpoints: endpoints.into(),
        };
        let size = recent.bytes();
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        inner.evict(now, self.max_bytes - size);
        let id = recent.message.id.clone();
        match inner.by_id.insert(id.clone(), recent) {
            Some(old) => inner.bytes -= old.bytes(),
            None => inner.order.push_back((now, id)),
        }
        inner.bytes += size;
    }

    /// The message, when it was put here less than `TTL` ago.
    pub fn get(&self, id: &MessageId, now: Instant) -> Option<Recent> {
        let mut inner = self.lock();
        inner.evict(now, self.max_bytes);
        inner.by_id.get(id).cloned()
    }

    /// The message, as [`RecentMessages::get`]; when its insert is on its way here, waits for its outcome, at
    /// most `limit`. `None`: not here (another process accepted it, it expired, or its insert failed).
    pub async fn wait(&self, id: &MessageId, limit: Duration) -> Option<Recent> {
        let wake;
        let woken = {
            let mut inner = self.lock();
            inner.evict(Instant::now(), self.max_bytes);
            if let Some(found) = inner.by_id.get(id) {
                return Some(found.clone());
            }
            wake = inner.expected.get(id)?.clone();
            // Created under the lock (not lazily, when first polled), so it hears a wake-up sent any time
            // after the lock is released: `Notified` counts from its creation.
            wake.notified()
        };
        let _ = tokio::time::timeout(limit, woken).await;
        self.get(id, Instant::now())
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
                self.bytes -= gone.bytes();
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
        let ep = fixtures::endpoint(&m.org_id, &m.app_id, None);
        recent.put(m.clone(), vec![ep.clone()], start);
        let shared = recent.get(&m.id, start + TTL / 2).expect("kept");
        assert!(Arc::ptr_eq(&shared.message, &m), "the same message, not a copy");
        assert_eq!(shared.endpoint(&ep.id), Some(&ep));
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
            recent.put(m.clone(), Vec::new(), now);
        }
        assert!(recent.get(&a.id, now).is_none(), "the oldest made room");
        assert!(recent.get(&b.id, now).is_some() && recent.get(&c.id, now).is_some());
        assert_eq!(recent.lock().bytes, 2 * one);
    }

    #[test]
    fn counts_the_endpoints_kept_with_a_message() {
        let m = message();
        let ep = fixtures::endpoint(&m.org_id, &m.app_id, None);
        let budget = m.payload.as_bytes().len() + 9 * ENDPOINT_BYTES;
        let recent = RecentMessages::new(budget);
        let now = Instant::now();
        recent.put(m.clone(), vec![ep.clone(); 10], now);
        assert!(
            recent.get(&m.id, now).is_none(),
            "ten endpoints are over the budget"
        );
        recent.put(m.clone(), vec![ep; 9], now);
        assert!(recent.get(&m.id, now).is_some(), "nine fit");
        assert_eq!(recent.lock().bytes, budget);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_waits_for_an_expected_message_and_no_longer() {
        let recent = Arc::new(RecentMessages::new(1 << 20));
        let (stored, failed, unknown) = (message(), message(), message());
        let forever = Duration::from_secs(3600);

        // Time is paused: it moves only if the waiter, never woken, sits out its limit.
        let start = tokio::time::Instant::now();
        let expected = recent.expect(&stored.id);
        let waiter = tokio::spawn({
            let (recent, id) = (recent.clone(), stored.id.clone());
            async move { recent.wait(&id, forever).await.map(|r| r.message) }
        });
        tokio::task::yield_now().await;
        recent.put(stored.clone(), Vec::new(), Instant::now());
        drop(expected);
        let got = waiter.await.expect("waiter").expect("the stored message");
        assert!(Arc::ptr_eq(&got, &stored));
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "woken when stored, not after its limit"
        );

        let expected = recent.expect(&failed.id);
        let waiter = tokio::spawn({
            let (recent, id) = (recent.clone(), failed.id.clone());
            async move { recent.wait(&id, forever).await.is_none() }
        });
        tokio::task::yield_now().await;
        drop(expected);
        assert!(
            waiter.await.expect("waiter"),
            "a failed insert wakes its waiters empty-handed"
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "woken when the insert failed");

        assert!(
            recent.wait(&unknown.id, forever).await.is_none(),
            "not expected: no wait"
        );
    }

    /// Waiter and intake on different threads: a wake-up sent between the waiter's look at the map and its
    /// first poll must not be lost (a lost one would leave the waiter to sit out its hour).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_wake_up_is_lost_between_threads() {
        let recent = Arc::new(RecentMessages::new(1 << 30));
        let forever = Duration::from_secs(3600);
        let rounds = async {
            for _ in 0..20_000 {
                let m = message();
                let expected = recent.expect(&m.id);
                let waiter = tokio::spawn({
                    let (recent, id) = (recent.clone(), m.id.clone());
                    async move { recent.wait(&id, forever).await.is_some() }
                });
                recent.put(m, Vec::new(), Instant::now());
                drop(expected);
                assert!(waiter.await.expect("waiter"), "stored, so found");
            }
        };
        tokio::time::timeout(Duration::from_secs(60), rounds)
            .await
            .expect("every waiter is woken (a lost wake-up waits an hour)");
    }
}
