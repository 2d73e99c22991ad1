//! Per-endpoint concurrency, fair across endpoints. Every task at a gate (in flight, or waiting for a turn)
//! holds one of the worker's `capacity` slots, so a slow endpoint could crowd out the rest by holding many of
//! them. Hence two bounds on an endpoint's tasks (its *occupancy*):
//! - at most `max` in flight and `max` more waiting, as ever;
//! - past a small `share`, an endpoint's extra tasks come out of one pool of a quarter of the capacity, common
//!   to all endpoints. Endpoints below their share always get in.
//!
//! So k slow endpoints hold at most `k × share + capacity / 4` slots, and the rest of the capacity is left to
//! endpoints that finish their tasks: with the defaults (512 slots, share 8) it takes 48 endpoints that never
//! answer to fill the worker. Past either bound the caller defers the task through the queue instead of
//! holding a slot. With the defaults an endpoint alone, however busy, keeps its whole `2 × max` (56 extras fit
//! in the pool of 128).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::id::EndpointId;

struct Gate {
    permits: Arc<Semaphore>,
    /// Tasks in flight or waiting for a turn.
    occupancy: usize,
}

#[derive(Default)]
struct Occupants {
    gates: HashMap<EndpointId, Gate>,
    /// The sum over endpoints of their occupancy beyond their share.
    extras: usize,
}

pub struct EndpointGates {
    /// In flight to one endpoint; as many more may wait.
    max: usize,
    /// The occupancy any endpoint may have, whatever the others hold.
    share: usize,
    /// How many tasks beyond their share all endpoints together may have.
    extras_max: usize,
    occupants: Mutex<Occupants>,
}

/// A turn at one endpoint (or a place in its line while the turn is awaited); the endpoint's gate is forgotten
/// when its last task leaves.
pub struct Turn<'a> {
    gates: &'a EndpointGates,
    endpoint: EndpointId,
    permit: Option<OwnedSemaphorePermit>,
}

impl EndpointGates {
    /// `max`: deliveries in flight at once to one endpoint; `capacity`: the tasks the worker holds at once.
    pub fn new(max: usize, capacity: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            share: (max / 4).clamp(1, (capacity / 16).max(1)),
            extras_max: capacity / 4,
            occupants: Mutex::new(Occupants::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Occupants> {
        self.occupants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a turn at `endpoint`, or returns `None` at once when the endpoint already holds its part.
    pub async fn enter(&self, endpoint: &EndpointId) -> Option<Turn<'_>> {
        let permits = self.join(endpoint)?;
        // From here the turn's drop undoes the count, even if this wait is abandoned.
        let mut turn = Turn {
            gates: self,
            endpoint: endpoint.clone(),
            permit: None,
        };
        turn.permit = Some(permits.acquire_owned().await.ok()?);
        Some(turn)
    }

    /// Counts one more task at `endpoint` if the bounds allow it; returns the endpoint's in-flight permits.
    fn join(&self, endpoint: &EndpointId) -> Option<Arc<Semaphore>> {
        let mut occupants = self.lock();
        let extras = occupants.extras;
        let gate = occupants.gates.entry(endpoint.clone()).or_insert_with(|| Gate {
            permits: Arc::new(Semaphore::new(self.max)),
            occupancy: 0,
        });
        let extra = gate.occupancy >= self.share;
        // A refused endpoint holds at least its share, so its gate is in use and stays.
        if gate.occupancy >= 2 * self.max || (extra && extras >= self.extras_max) {
            return None;
        }
        gate.occupancy += 1;
        let permits = gate.permits.clone();
        occupants.extras += usize::from(extra);
        Some(permits)
    }

    fn leave(&self, endpoint: &EndpointId) {
        let mut occupants = self.lock();
        let Some(gate) = occupants.gates.get_mut(endpoint) else {
            return;
        };
        gate.occupancy -= 1;
        let (was_extra, idle) = (gate.occupancy >= self.share, gate.occupancy == 0);
        occupants.extras -= usize::from(was_extra);
        if idle {
            occupants.gates.remove(endpoint);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().gates.len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.gates.leave(&self.endpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_in_flight_and_waiting_then_forgets_idle_endpoints() {
        let gates = EndpointGates::new(2, 512);
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

    /// Holds every turn (and place in line) `endpoint` can get, as an endpoint that never answers would.
    fn occupy<'a>(
        gates: &'a EndpointGates,
        endpoint: &'a EndpointId,
    ) -> Vec<futures_util::future::BoxFuture<'a, Option<Turn<'a>>>> {
        let mut held = Vec::new();
        loop {
            let mut entering = Box::pin(gates.enter(endpoint));
            match futures_util::FutureExt::now_or_never(&mut entering) {
                Some(None) => return held,
                // A turn at once, or a place in line (pending).
                Some(Some(turn)) => held.push(Box::pin(async move { Some(turn) }) as _),
                None => held.push(entering),
            }
        }
    }

    #[tokio::test]
    async fn endpoints_that_never_answer_leave_room_for_another() {
        // As a worker with 8 slots and 4 per endpoint: three stuck endpoints could hold 3 × 8 tasks.
        let capacity = 8;
        let gates = EndpointGates::new(4, capacity);
        let stuck: Vec<_> = (0..3).map(|_| EndpointId::generate()).collect();
        let held: Vec<_> = stuck.iter().map(|ep| occupy(&gates, ep)).collect();
        let holding: usize = held.iter().map(Vec::len).sum();
        assert!(
            holding < capacity,
            "stuck endpoints hold {holding} of {capacity} slots"
        );
        let healthy = EndpointId::generate();
        let turn = futures_util::FutureExt::now_or_never(gates.enter(&healthy));
        assert!(
            matches!(turn, Some(Some(_))),
            "a fourth endpoint gets a turn at once"
        );
        drop(held);
        drop(turn);
        assert_eq!(gates.tracked(), 0);
    }

    #[tokio::test]
    async fn an_endpoint_alone_keeps_its_whole_part() {
        let gates = EndpointGates::new(32, 512);
        let endpoint = EndpointId::generate();
        let held = occupy(&gates, &endpoint);
        assert_eq!(held.len(), 64, "32 in flight and 32 waiting");
    }
}
