//! The rate-limit port: message rates per endpoint and per application, shared by every process that delivers
//! for them.
//!
//! The contract is that of GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp): each
//! limited endpoint or application has an emission interval `1 / per_second` and a small burst ([`burst`]); a
//! call either takes a slot now or says how long until the next one frees, without taking it.

use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;
use crate::id::{AppId, EndpointId};

/// What an endpoint's limit says about one more message now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A slot was taken: send now.
    Now,
    /// No slot is free; the next one frees after this long. Nothing was taken.
    After(Duration),
}

/// Whose budget a slot is taken from: an endpoint's own (`throttleRate` on the endpoint), or its application's,
/// shared by all the application's endpoints (`throttleRate` on the application).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Limited {
    Endpoint(EndpointId),
    Application(AppId),
}

impl Limited {
    /// A key that names one budget: ids carry their kind's prefix (`ep_`, `app_`), so an endpoint's key never
    /// equals an application's.
    pub fn key(&self) -> &str {
        match self {
            Self::Endpoint(id) => id.as_str(),
            Self::Application(id) => id.as_str(),
        }
    }
}

impl std::fmt::Display for Limited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Takes a slot of `limited`'s budget of `per_second` messages per second, or says when the next frees.
    /// At most `per_second × t + burst(per_second)` calls are admitted in any span `t`, across every process
    /// sharing the backend. No two endpoints or applications share a budget. A call with a different rate for
    /// the same key (its limit was changed) applies the new rate from then on.
    async fn admit(&self, limited: &Limited, per_second: NonZeroU32) -> StoreResult<Admission>;
}

/// How many messages may go at once after a quiet spell: a twentieth of a second's worth, at least one, so
/// that the first second of a backlog receives about the rate and not rate plus a large bucket.
pub fn burst(per_second: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(per_second.get() / 20).unwrap_or(NonZeroU32::MIN)
}

/// The time between two slots at `per_second`.
pub fn emission_interval(per_second: NonZeroU32) -> Duration {
    Duration::from_secs(1) / per_second.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_a_twentieth_of_the_rate_and_at_least_one() {
        for (rate, expected) in [(1, 1), (19, 1), (20, 1), (40, 2), (100, 5), (1000, 50)] {
            let rate = NonZeroU32::new(rate).expect("non-zero");
            assert_eq!(burst(rate).get(), expected, "rate {rate}");
        }
    }

    #[test]
    fn emission_interval_is_the_inverse_of_the_rate() {
        let rate = |r| NonZeroU32::new(r).expect("non-zero");
        assert_eq!(emission_interval(rate(10)), Duration::from_millis(100));
        assert_eq!(emission_interval(rate(1)), Duration::from_secs(1));
        assert_eq!(emission_interval(rate(1000)), Duration::from_millis(1));
    }
}
