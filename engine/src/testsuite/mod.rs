//! The backend conformance suite: one set of generic async cases that every storage backend must pass.
//!
//! A backend crate stamps out one `#[tokio::test]` per case with [`conformance_suite!`](crate::conformance_suite),
//! giving it an async factory that returns a fresh, empty [`Backend`]:
//!
//! ```ignore
//! async fn fresh() -> xwebhook_engine::testsuite::Backend { /* open a new store */ }
//! mod conformance {
//!     xwebhook_engine::conformance_suite!(super::fresh);
//! }
//! ```
//!
//! Record cases isolate themselves by organization id and idempotency cases by fresh keys, but queue cases
//! count every task they receive: a backend on a shared server must give each case its own namespace (a key
//! prefix, a schema). The invoking crate needs `tokio` with `macros` and `rt-multi-thread`.

mod attempts;
mod background_tasks;
mod endpoint_health;
pub mod fixtures;
mod idempotency;
mod isolation;
mod messages;
mod probe;
mod put_destinations;
mod queue;
mod rate_limits;
mod records;
mod retention;
mod revocation;
mod sink_leases;
mod sinks;

use std::any::Any;

pub use attempts::*;
pub use background_tasks::*;
pub use endpoint_health::*;
pub use idempotency::*;
pub use isolation::*;
pub use messages::*;
pub use probe::*;
pub use put_destinations::*;
pub use queue::*;
pub use rate_limits::*;
pub use records::*;
pub use retention::*;
pub use revocation::*;
pub use sink_leases::*;
pub use sinks::*;

use crate::store::Stores;

/// A fresh backend for one case, with whatever must outlive it (a temporary directory, a server handle).
pub struct Backend {
    pub stores: Stores,
    // Declared after `stores` so it is dropped after them.
    _guard: Box<dyn Any + Send + Sync>,
}

impl Backend {
    pub fn new(stores: Stores) -> Self {
        Self {
            stores,
            _guard: Box::new(()),
        }
    }

    /// Keeps `guard` alive until the case is over (e.g. a `tempfile::TempDir`).
    pub fn with_guard(stores: Stores, guard: impl Any + Send + Sync) -> Self {
        Self {
            stores,
            _guard: Box::new(guard),
        }
    }
}

/// Stamps out one `#[tokio::test]` per conformance case, each on a fresh backend from `$factory`, an
/// expression callable as `$factory().await` that yields a [`Backend`].
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::conformance_suite!(@cases $factory;
            application_crud,
            application_uid_conflicts,
            endpoint_crud,
            endpoint_uid_conflicts,
            delete_application_deletes_its_endpoints,
            event_type_crud,
            missing_rows_are_not_found,
            tenants_cannot_see_each_other,
            tenants_cannot_change_each_other,
            applications_paginate_both_ways,
            message_event_id_conflicts,
            messages_are_read_together,
            message_lands_with_its_destinations,
            message_keeps_its_scheduled_time,
            message_tags_filter_the_listing,
            messages_paginate_both_ways,
            message_filters,
            attempts_listing_and_filters,
            destinations_listing_and_filters,
            create_destinations_keeps_existing,
            destination_counts_by_status,
            attempt_counts_by_status,
            expunge_forgets_content_only,
            queue_enqueue_receive_finish,
            queue_consumers_never_share_tasks,
            queue_two_receivers_race_for_one_task,
            queue_reclaims_dead_consumer,
            queue_finish_adds_follow_up_once,
            queue_promotes_due_task_exactly_once,
            queue_receive_waits_and_wakes,
            queue_depths_count_each_state,
            queue_fresh_task_passes_a_wave_of_retries,
            queue_due_retry_passes_a_wave_of_fresh_tasks,
            queue_batches_of_one_alternate_lanes,
            idempotency_begin_race,
            idempotency_complete_then_replay,
            idempotency_large_response,
            idempotency_abandon_then_begin,
            idempotency_stale_claim_expires,
            endpoint_health_streak_keeps_first_failure,
            endpoint_health_streak_lapses,
            endpoint_health_racers_agree,
            put_destinations_overwrites_state,
            retention_expires_each_message_by_its_own_period,
            retention_expiry_batches_respect_limit,
            prune_removes_old_messages_in_every_tenant,
            prune_batches_respect_limit,
            revocation_revoke_then_check,
            revocation_lapses_at_until,
            revocation_scope_expiry_merges_and_lapses,
            rate_limit_admits_a_burst_then_defers,
            rate_limit_first_call_is_admitted_then_told_when,
            rate_limit_endpoints_do_not_share_a_budget,
            background_tasks_are_kept_per_organization,
            background_task_is_claimed_by_one_runner_at_a_time,
            background_task_lease_lapses_and_the_old_holder_is_fenced_off,
            sink_crud,
            sink_uid_conflicts,
            sinks_are_kept_per_tenant,
            sink_log_keeps_append_order,
            sink_log_entries_are_withdrawn,
            sink_pumps_count_while_alive,
            sink_lease_is_held_by_one_owner_and_fences_the_old_holder,
            sink_consumers_keep_their_own_positions,
            probes_answer_when_up,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let backend: $crate::testsuite::Backend = ($factory)().await;
                $crate::testsuite::$case(backend.stores.clone()).await;
                drop(backend);
            }
        )*
    };
}
