//! Rate limits: a fresh endpoint is admitted, a burst beyond its bucket is told when to come back, and no two
//! endpoints or applications share a budget. Bounds are logical (counts against the time the calls took), never speeds.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use crate::id::{AppId, EndpointId};
use crate::store::{Admission, Limited, Stores, burst, emission_interval};

fn rate(per_second: u32) -> NonZeroU32 {
    NonZeroU32::new(per_second).expect("a non-zero rate")
}

/// Calls `admit` `calls` times in a row; returns how many were admitted, the longest wait it was told, and
/// how long the calls took.
async fn hammer(
    s: &Stores,
    limited: &Limited,
    per_second: NonZeroU32,
    calls: usize,
) -> (u64, Duration, Duration) {
    let started = Instant::now();
    let (mut admitted, mut longest) = (0, Duration::ZERO);
    for _ in 0..calls {
        match s.rate_limits.admit(limited, per_second).await.expect("admit") {
            Admission::Now => admitted += 1,
            Admission::After(d) => longest = longest.max(d),
        }
    }
    (admitted, longest, started.elapsed())
}

/// The most GCRA may admit in `elapsed` at `per_second`: the bucket, plus one per interval begun.
fn most_admitted(per_second: NonZeroU32, elapsed: Duration) -> u64 {
    let intervals = elapsed.as_secs_f64() / emission_interval(per_second).as_secs_f64();
    u64::from(burst(per_second).get()) + intervals.ceil() as u64
}

pub async fn rate_limit_admits_a_burst_then_defers(s: Stores) {
    let per_second = rate(100);
    let endpoint = Limited::Endpoint(EndpointId::generate());
    let (admitted, longest, elapsed) = hammer(&s, &endpoint, per_second, 20).await;
    assert!(
        admitted >= u64::from(burst(per_second).get()),
        "a fresh endpoint gets its whole bucket at once ({admitted} admitted)"
    );
    assert!(
        admitted <= most_admitted(per_second, elapsed),
        "{admitted} admitted in {elapsed:?} at {per_second}/s"
    );
    // A refused call consumed nothing, so the next slot is never more than one interval away.
    assert!(longest <= emission_interval(per_second), "told {longest:?}");
}

pub async fn rate_limit_first_call_is_admitted_then_told_when(s: Stores) {
    let per_second = rate(1);
    let endpoint = Limited::Application(AppId::generate());
    let started = Instant::now();
    let first = s.rate_limits.admit(&endpoint, per_second).await.expect("admit");
    assert_eq!(first, Admission::Now);
    let (admitted, longest, _) = hammer(&s, &endpoint, per_second, 3).await;
    // At 1/s with a bucket of 1, the next slot frees a whole second after the first call.
    let whole_seconds = started.elapsed().as_secs();
    assert!(
        admitted <= whole_seconds,
        "{admitted} more admitted within {whole_seconds} whole seconds"
    );
    if admitted < 3 {
        assert!(
            longest > Duration::ZERO && longest <= Duration::from_secs(1),
            "told {longest:?}"
        );
    }
}

pub async fn rate_limit_endpoints_do_not_share_a_budget(s: Stores) {
    let per_second = rate(1);
    let app = AppId::generate();
    let budgets = [
        Limited::Endpoint(EndpointId::generate()),
        Limited::Endpoint(EndpointId::generate()),
        Limited::Application(app.clone()),
        Limited::Application(AppId::generate()),
    ];
    for limited in &budgets {
        assert_eq!(
            s.rate_limits.admit(limited, per_second).await.expect("admit"),
            Admission::Now,
            "{limited}: the others' spent budgets do not touch this one"
        );
    }
    assert!(
        matches!(
            s.rate_limits
                .admit(&Limited::Application(app), per_second)
                .await
                .expect("admit"),
            Admission::After(_)
        ),
        "an application's own budget is spent by its slot"
    );
}
