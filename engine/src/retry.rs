//! The retry policy: when a failed delivery is tried again, as pure functions of the schedule, the attempt
//! number, the receiver's `Retry-After` and a random draw.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A receiver may ask for more time with `Retry-After`, but never for more than this: a typo'd header must not
/// park a message for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Scheduled retry delays get ±20 % jitter so that retries of a burst do not hit a receiver in lockstep.
const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before each retry: the first entry follows the first failure. Its length is the number of retries.
    pub schedule: Vec<Duration>,
}

impl RetryPolicy {
    /// Svix's default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    pub fn svix_default() -> Self {
        Self {
            schedule: [5, 300, 1800, 7200, 18000, 36000, 36000]
                .map(Duration::from_secs)
                .to_vec(),
        }
    }

    /// The delay before the next attempt after `failed_attempts` failures (1 after the first), or `None` when
    /// the schedule is exhausted. `jitter_draw` is uniform in [0, 1); `retry_after` is what the receiver asked.
    pub fn next_delay(
        &self,
        failed_attempts: u16,
        retry_after: Option<Duration>,
        jitter_draw: f64,
    ) -> Option<Duration> {
        let base = *self.schedule.get(usize::from(failed_attempts).checked_sub(1)?)?;
        let factor = 1.0 + JITTER * (2.0 * jitter_draw.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor);
        let asked = retry_after.map(|d| d.min(MAX_RETRY_AFTER)).unwrap_or_default();
        // The schedule is a floor: a receiver may slow retries down, never speed them up.
        Some(jittered.max(asked))
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `now`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(secs: &[u64]) -> RetryPolicy {
        RetryPolicy {
            schedule: secs.iter().copied().map(Duration::from_secs).collect(),
        }
    }

    #[test]
    fn schedule_with_jitter_bounds() {
        let p = policy(&[5, 300]);
        // (failed attempts, retry-after, draw, expected)
        let cases: &[(u16, Option<u64>, f64, Option<Duration>)] = &[
            (0, None, 0.5, None),
            (1, None, 0.5, Some(Duration::from_secs(5))),
            (1, None, 0.0, Some(Duration::from_secs(4))),
            (1, None, 1.0, Some(Duration::from_secs(6))),
            (2, None, 0.5, Some(Duration::from_secs(300))),
            (3, None, 0.5, None),
            (1, Some(60), 0.5, Some(Duration::from_secs(60))),
            (2, Some(1), 0.5, Some(Duration::from_secs(300))),
            (1, Some(86_400), 0.5, Some(MAX_RETRY_AFTER)),
            (3, Some(60), 0.5, None),
        ];
        for (i, &(failed, after, draw, expected)) in cases.iter().enumerate() {
            let got = p.next_delay(failed, after.map(Duration::from_secs), draw);
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn default_schedule_has_seven_retries() {
        let p = RetryPolicy::svix_default();
        assert!(p.next_delay(7, None, 0.5).is_some());
        assert!(p.next_delay(8, None, 0.5).is_none());
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
