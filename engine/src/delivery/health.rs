//! Endpoint auto-disable: an endpoint whose deliveries have all failed for `disable_after` is disabled.
//!
//! Every attempt counts, manual resends too: each says whether the endpoint answers. An endpoint already
//! disabled is not watched.
//!
//! When the failing streak began is kept in the shared [`EndpointHealth`] store, so that every worker process
//! counts the same streak. Asking the store on every attempt would put a round trip on the hot path, so each
//! process keeps a view per endpoint — "failing since T" or "healthy" — and trusts it for [`RECHECK`]:
//!
//! - a failure writes only when the endpoint is not known to be failing (a streak may start), and once more to
//!   confirm with the store before disabling (another process may have seen a success since);
//! - a success writes when the endpoint was known to be failing (the streak ends), and otherwise at most once
//!   per `RECHECK`, because another process may have started a streak meanwhile.
//!
//! So, per endpoint and process, writes happen on changes between failing and healthy and at most once per
//! `RECHECK` otherwise. The price: a success this process saw within `RECHECK` of its last write is not
//! written, so a streak another process started may look up to `RECHECK` older than it is, and an endpoint
//! can be disabled that much early — seconds against a threshold of hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::Endpoint;
use crate::store::{EndpointHealth, StoreResult};

/// How long a view is trusted before the store is asked again.
pub const RECHECK: Duration = Duration::from_secs(5);
/// Views kept before the stale ones are dropped: they are only a cache of the store.
const MAX_VIEWS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Failing { since: DateTime<Utc> },
    Healthy,
}

#[derive(Debug, Clone, Copy)]
struct View {
    known: Known,
    checked_at: DateTime<Utc>,
}

/// The store call an attempt's outcome needs, given this process's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    None,
    NoteFailure,
    NoteSuccess,
}

/// What the view (trusted for `RECHECK`) makes of an attempt's outcome: see the module comment.
fn write_for(known: Option<Known>, succeeded: bool) -> Write {
    match (known, succeeded) {
        (Some(Known::Healthy), true) | (Some(Known::Failing { .. }), false) => Write::None,
        (_, true) => Write::NoteSuccess,
        (_, false) => Write::NoteFailure,
    }
}

/// Whether a streak that began at `since` has lasted long enough, at `now`, to disable its endpoint.
fn is_due(since: DateTime<Utc>, now: DateTime<Utc>, after: Duration) -> bool {
    (now - since).to_std().is_ok_and(|lasted| lasted >= after)
}

pub struct HealthTracker {
    store: Arc<dyn EndpointHealth>,
    disable_after: Duration,
    views: Mutex<HashMap<crate::id::EndpointId, View>>,
}

impl HealthTracker {
    pub fn new(store: Arc<dyn EndpointHealth>, disable_after: Duration) -> Self {
        Self {
            store,
            disable_after,
            views: Mutex::new(HashMap::new()),
        }
    }

    /// Notes an attempt's outcome; returns the streak's start when the endpoint must now be disabled.
    pub async fn after_attempt(
        &self,
        endpoint: &Endpoint,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let known = self.fresh_view(endpoint, now);
        match write_for(known, succeeded) {
            Write::NoteSuccess => {
                let (org, app) = (&endpoint.org_id, &endpoint.app_id);
                self.store.note_success(org, app, &endpoint.id).await?;
                self.set_view(endpoint, Known::Healthy, now);
                Ok(None)
            }
            Write::NoteFailure => {
                let since = self.note_failure(endpoint, now).await?;
                Ok(is_due(since, now, self.disable_after).then_some(since))
            }
            Write::None => match known {
                Some(Known::Failing { since }) if is_due(since, now, self.disable_after) => {
                    // Looks due on our view alone: confirm with the store, which a success elsewhere may have
                    // cleared since we looked.
                    let since = self.note_failure(endpoint, now).await?;
                    Ok(is_due(since, now, self.disable_after).then_some(since))
                }
                _ => Ok(None),
            },
        }
    }

    /// Forgets the endpoint's streak once it is disabled, so that re-enabling it gives it a fresh start.
    pub async fn forget(&self, endpoint: &Endpoint) -> StoreResult<()> {
        self.views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&endpoint.id);
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        self.store.note_success(org, app, &endpoint.id).await
    }

    async fn note_failure(&self, endpoint: &Endpoint, now: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
        // A streak nobody renews for twice the threshold is forgotten, as in Svix.
        let ttl = self.disable_after.saturating_mul(2).max(RECHECK * 2);
        let (org, app) = (&endpoint.org_id, &endpoint.app_id);
        let since = self.store.note_failure(org, app, &endpoint.id, now, ttl).await?;
        self.set_view(endpoint, Known::Failing { since }, now);
        Ok(since)
    }

    fn fresh_view(&self, endpoint: &Endpoint, now: DateTime<Utc>) -> Option<Known> {
        let views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        views
            .get(&endpoint.id)
            .filter(|v| is_fresh(v, now))
            .map(|v| v.known)
    }

    fn set_view(&self, endpoint: &Endpoint, known: Known, now: DateTime<Utc>) {
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        if views.len() >= MAX_VIEWS {
            views.retain(|_, v| is_fresh(v, now));
        }
        views.insert(
            endpoint.id.clone(),
            View {
                known,
                checked_at: now,
            },
        );
    }
}

fn is_fresh(view: &View, now: DateTime<Utc>) -> bool {
    !is_due(view.checked_at, now, RECHECK)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::id::{AppId, EndpointId, OrgId};
    use crate::testsuite::fixtures;

    /// The port's contract in memory, counting writes: what the views are meant to spare.
    #[derive(Default)]
    struct CountingStore {
        streaks: Mutex<HashMap<EndpointId, DateTime<Utc>>>,
        writes: AtomicUsize,
    }

    #[async_trait]
    impl EndpointHealth for CountingStore {
        async fn note_failure(
            &self,
            _: &OrgId,
            _: &AppId,
            ep: &EndpointId,
            at: DateTime<Utc>,
            _: Duration,
        ) -> StoreResult<DateTime<Utc>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut streaks = self.streaks.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(*streaks.entry(ep.clone()).or_insert(at))
        }

        async fn note_success(&self, _: &OrgId, _: &AppId, ep: &EndpointId) -> StoreResult<()> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.streaks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(ep);
            Ok(())
        }
    }

    fn endpoint() -> Endpoint {
        let org = OrgId::generate();
        fixtures::endpoint(&org, &AppId::generate(), None)
    }

    #[tokio::test]
    async fn the_hot_path_writes_on_changes_and_disables_once_due() {
        let store = Arc::new(CountingStore::default());
        // Shorter than RECHECK, so that a view still trusted can look due.
        let tracker = HealthTracker::new(store.clone(), Duration::from_secs(1));
        let ep = endpoint();
        let t0 = Utc::now();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        let writes = || store.writes.load(Ordering::SeqCst);

        for ms in [0, 10, 20] {
            assert_eq!(tracker.after_attempt(&ep, true, at(ms)).await.expect("ok"), None);
        }
        assert_eq!(writes(), 1, "successes within RECHECK write once");
        for ms in [30, 40, 50] {
            assert_eq!(tracker.after_attempt(&ep, false, at(ms)).await.expect("ok"), None);
        }
        assert_eq!(writes(), 2, "a streak's failures write once");
        assert_eq!(tracker.after_attempt(&ep, true, at(60)).await.expect("ok"), None);
        assert_eq!(writes(), 3, "a success after failures ends the streak");

        tracker.after_attempt(&ep, false, at(100)).await.expect("ok");
        // Another process saw a success: the store's streak is gone, this process's view is not.
        store
            .streaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let late = tracker.after_attempt(&ep, false, at(1_200)).await.expect("ok");
        assert_eq!(
            late, None,
            "the store is asked before disabling, and the streak starts afresh"
        );
        assert_eq!(writes(), 5);
        let due = tracker.after_attempt(&ep, false, at(2_300)).await.expect("ok");
        assert_eq!(due, Some(at(1_200)), "due once a whole threshold failed");
    }

    #[test]
    fn views_spare_the_store_until_the_outcome_changes() {
        let since = Utc::now();
        let failing = Some(Known::Failing { since });
        // (trusted view, succeeded, store call)
        let cases = [
            (None, true, Write::NoteSuccess),
            (None, false, Write::NoteFailure),
            (Some(Known::Healthy), true, Write::None),
            (Some(Known::Healthy), false, Write::NoteFailure),
            (failing, false, Write::None),
            (failing, true, Write::NoteSuccess),
        ];
        for (i, (known, ok, write)) in cases.into_iter().enumerate() {
            assert_eq!(write_for(known, ok), write, "case {i}");
        }
    }

    #[test]
    fn a_streak_is_due_once_it_lasted_the_threshold() {
        let t = Utc::now();
        let hour = Duration::from_secs(3600);
        let at = |secs: i64| t + chrono::Duration::seconds(secs);
        assert!(!is_due(t, at(3599), hour));
        assert!(is_due(t, at(3600), hour));
        assert!(is_due(t, at(7200), hour));
        assert!(!is_due(at(10), t, hour), "a streak from the future is not due");
    }
}
