//! When a pushing sink tries its failed head batch again.
//!
//! Not the endpoints' schedule (5 s, 5 min, 30 min, … then give up): a sink cannot give up on a batch without
//! losing it or letting the events behind it overtake it, so it retries for as long as it is enabled, and every
//! event behind the batch waits on each retry, so the first retries come quickly. One second, doubling, at
//! most ten minutes apart, with the endpoints' ±20 % jitter so that sinks failing together do not retry in
//! lockstep.

use std::time::Duration;

const FIRST: Duration = Duration::from_secs(1);
const MOST: Duration = Duration::from_secs(600);
const JITTER: f64 = 0.2;

/// The wait after the `failures`-th failure in a row (1 after the first); `draw` is uniform in [0, 1).
pub fn retry_delay(failures: u32, draw: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let base = FIRST.saturating_mul(1 << doublings).min(MOST);
    base.mul_f64(1.0 + JITTER * (2.0 * draw.clamp(0.0, 1.0) - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_a_second_up_to_ten_minutes_with_jitter() {
        let middle = |n| retry_delay(n, 0.5);
        assert_eq!(middle(1), Duration::from_secs(1));
        assert_eq!(middle(2), Duration::from_secs(2));
        assert_eq!(middle(5), Duration::from_secs(16));
        assert_eq!(middle(10), Duration::from_secs(512));
        assert_eq!(middle(11), MOST);
        assert_eq!(middle(u32::MAX), MOST);
        assert_eq!(retry_delay(1, 0.0), Duration::from_millis(800));
        assert!(retry_delay(1, 0.999) < Duration::from_millis(1200));
    }
}
