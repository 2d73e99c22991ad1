//! Reporting off the caller's path: an API request should not wait while its report is turned into a webhook.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::{OperationalEvent, OperationalEvents};

/// Reports beyond this many waiting make reporters wait: back-pressure rather than unbounded memory or lost
/// events when the inner implementation falls behind (its storage is down or slow).
const QUEUE_CAPACITY: usize = 4096;

/// Hands each event to a background task that reports them one at a time, in the order they came, to the inner
/// implementation. `report` returns as soon as the event is queued.
#[derive(Clone)]
pub struct InBackground {
    queue: mpsc::Sender<OperationalEvent>,
}

/// The background task; [`BackgroundTask::finish`] it at shutdown so that no queued event is lost.
pub struct BackgroundTask {
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

impl InBackground {
    pub fn spawn(inner: Arc<dyn OperationalEvents>) -> (Self, BackgroundTask) {
        let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
        let stop = CancellationToken::new();
        let handle = tokio::spawn(run(inner, events, stop.clone()));
        (Self { queue }, BackgroundTask { stop, handle })
    }
}

#[async_trait]
impl OperationalEvents for InBackground {
    async fn report(&self, event: OperationalEvent) {
        if let Err(refused) = self.queue.send(event).await {
            warn!(
                event_type = refused.0.event_type(),
                "operational event reported after shutdown, dropped"
            );
        }
    }
}

impl BackgroundTask {
    /// Stops taking events and returns once every event queued before has been reported.
    pub async fn finish(self) {
        self.stop.cancel();
        if let Err(e) = self.handle.await {
            warn!(error = %e, "the operational event reporter failed");
        }
    }
}

async fn run(
    inner: Arc<dyn OperationalEvents>,
    mut events: mpsc::Receiver<OperationalEvent>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => inner.report(event).await,
                None => return,
            },
            () = stop.cancelled() => break,
        }
    }
    // Refuse new events, then report what is already queued.
    events.close();
    while let Some(event) = events.recv().await {
        inner.report(event).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::id::{AppId, EndpointId, OrgId};
    use crate::operational::EndpointRef;

    /// Records event types, each report waiting for a permit so the test decides when the inner side progresses.
    struct Gated {
        permits: Semaphore,
        seen: Mutex<Vec<String>>,
    }

    impl Gated {
        fn closed() -> Arc<Self> {
            Arc::new(Self {
                permits: Semaphore::new(0),
                seen: Mutex::default(),
            })
        }
    }

    #[async_trait]
    impl OperationalEvents for Gated {
        async fn report(&self, event: OperationalEvent) {
            let permit = self.permits.acquire().await.expect("semaphore open");
            permit.forget();
            let endpoint = match event {
                OperationalEvent::EndpointCreated(e) => e.endpoint_uid.map(String::from),
                _ => None,
            };
            self.seen.lock().expect("lock").push(endpoint.unwrap_or_default());
        }
    }

    fn created(n: usize) -> OperationalEvent {
        OperationalEvent::EndpointCreated(EndpointRef {
            org_id: OrgId::generate(),
            app_id: AppId::generate(),
            endpoint_id: EndpointId::generate(),
            endpoint_uid: Some(format!("ep-{n}").parse().expect("valid uid")),
        })
    }

    #[tokio::test]
    async fn reports_return_before_the_inner_side_and_finish_delivers_them_in_order() {
        let inner = Gated::closed();
        let (events, task) = InBackground::spawn(inner.clone());
        // The inner side is blocked: were `report` waiting for it, this would never return.
        for n in 0..5 {
            events.report(created(n)).await;
        }
        assert!(inner.seen.lock().expect("lock").is_empty());

        inner.permits.add_permits(5);
        task.finish().await;
        let expected: Vec<String> = (0..5).map(|n| format!("ep-{n}")).collect();
        assert_eq!(*inner.seen.lock().expect("lock"), expected);
    }

    #[tokio::test]
    async fn events_reported_after_finish_are_dropped_without_failing() {
        let inner = Gated::closed();
        let (events, task) = InBackground::spawn(inner.clone());
        task.finish().await;
        events.report(created(0)).await;
        assert!(inner.seen.lock().expect("lock").is_empty());
    }
}
