//! Per-endpoint concurrency: at most `max` deliveries in flight to one endpoint, and at most `max` more
//! waiting for a turn. Past that, the caller defers the task through the queue instead of holding a worker slot,
//! so a slow endpoint can occupy at most `2 × max` slots while a fast one never pays a queue round trip.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::id::EndpointId;

struct Gate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
}

pub struct EndpointGates {
    max: usize,
    gates: Mutex<HashMap<EndpointId, Arc<Gate>>>,
}

/// A turn at one endpoint; the endpoint's gate is forgotten when its last turn ends and nobody waits.
pub struct Turn<'a> {
    gates: &'a EndpointGates,
    endpoint: EndpointId,
    gate: Arc<Gate>,
    permit: Option<OwnedSemaphorePermit>,
}

impl EndpointGates {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            gates: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointId, Arc<Gate>>> {
        self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a turn at `endpoint`, or returns `None` at once when too many already wait.
    pub async fn enter(&self, endpoint: &EndpointId) -> Option<Turn<'_>> {
        let gate = self
            .lock()
            .entry(endpoint.clone())
            .or_insert_with(|| {
                Arc::new(Gate {
                    permits: Arc::new(Semaphore::new(self.max)),
                    waiting: AtomicUsize::new(0),
                })
            })
            .clone();
        let permit = match gate.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) if gate.waiting.fetch_add(1, Ordering::AcqRel) >= self.max => {
                gate.waiting.fetch_sub(1, Ordering::AcqRel);
                self.forget_if_idle(endpoint, &gate);
                return None;
            }
            Err(_) => {
                let permit = gate.permits.clone().acquire_owned().await;
                gate.waiting.fetch_sub(1, Ordering::AcqRel);
                permit.ok()?
            }
        };
        Some(Turn {
            gates: self,
            endpoint: endpoint.clone(),
            gate,
            permit: Some(permit),
        })
    }

    /// Drops the gate from the map when nobody holds or waits for it. Clones are only made under the map lock,
    /// so the reference count read under it is exact.
    fn forget_if_idle(&self, endpoint: &EndpointId, gate: &Arc<Gate>) {
        let mut gates = self.lock();
        let idle = gate.permits.available_permits() == self.max && gate.waiting.load(Ordering::Acquire) == 0;
        // Held by the map and by the caller only.
        if idle && Arc::strong_count(gate) == 2 {
            gates.remove(endpoint);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.gates.forget_if_idle(&self.endpoint, &self.gate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_in_flight_and_waiting_then_forgets_idle_endpoints() {
        let gates = EndpointGates::new(2);
        let ep = EndpointId::generate();
        let first = gates.enter(&ep).await.expect("first turn");
        let second = gates.enter(&ep).await.expect("second turn");
        // Two more may wait; the fifth is turned away at once.
        let waiting = futures_util::future::join(gates.enter(&ep), gates.enter(&ep));
        tokio::pin!(waiting);
        assert!(futures_util::poll!(&mut waiting).is_pending());
        assert!(gates.enter(&ep).await.is_none(), "too many waiting");
        drop(first);
        drop(second);
        let (third, fourth) = waiting.await;
        assert!(third.is_some() && fourth.is_some());
        let other = gates.enter(&EndpointId::generate()).await;
        assert!(other.is_some(), "other endpoints are not affected");
        drop((third, fourth, other));
        assert_eq!(gates.tracked(), 0, "idle endpoints are forgotten");
    }
}
