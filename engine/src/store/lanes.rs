//! How one `receive` shares its batch between the two lanes of ready work, so that neither starves the other.
//!
//! Ready tasks come in two lanes: *fresh* (what `enqueue` and `FollowUp::enqueue` add: fan-outs and first
//! deliveries) and *retry* (what `promote_due` moves out of the scheduled set). After an endpoint outage a wave
//! of due retries becomes ready at once; in one FIFO it would sit ahead of every new message. Each lane is
//! therefore reserved half of every batch, and what one lane leaves unused goes to the other.
//!
//! Backends share the policy through this type: one that knows how much each lane holds calls
//! [`LaneShares::take`]; one that does not (Redis) reads each lane up to [`LaneShares::reserved`], then fills
//! what is left of the batch from either lane.

/// How many tasks one batch takes from each lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneShares {
    pub fresh: usize,
    pub retry: usize,
}

impl LaneShares {
    /// The shares reserved to each lane in a batch of `max`: half each. The odd task of an odd batch goes to
    /// the fresh lane when `odd_to_fresh`; callers alternate it, because a busy worker asks for one task at a
    /// time (one free slot) and a fixed choice would starve the other lane.
    pub fn reserved(max: usize, odd_to_fresh: bool) -> Self {
        let half = max / 2;
        let odd = max % 2;
        if odd_to_fresh {
            Self {
                fresh: half + odd,
                retry: half,
            }
        } else {
            Self {
                fresh: half,
                retry: half + odd,
            }
        }
    }

    /// What a batch of `max` takes when `fresh` and `retry` tasks are ready: each lane up to its reserved
    /// share, then the rest of the batch from whichever lane still has work (fresh first).
    pub fn take(max: usize, fresh: usize, retry: usize, odd_to_fresh: bool) -> Self {
        let reserved = Self::reserved(max, odd_to_fresh);
        let mut shares = Self {
            fresh: fresh.min(reserved.fresh),
            retry: retry.min(reserved.retry),
        };
        let extra_fresh = (fresh - shares.fresh).min(max - shares.total());
        shares.fresh += extra_fresh;
        let extra_retry = (retry - shares.retry).min(max - shares.total());
        shares.retry += extra_retry;
        shares
    }

    pub fn total(&self) -> usize {
        self.fresh + self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::LaneShares;

    #[test]
    fn reserved_shares_split_the_batch() {
        let cases = [
            // (max, odd_to_fresh, fresh, retry)
            (0, true, 0, 0),
            (1, true, 1, 0),
            (1, false, 0, 1),
            (10, true, 5, 5),
            (10, false, 5, 5),
            (7, true, 4, 3),
            (7, false, 3, 4),
        ];
        for (max, odd_to_fresh, fresh, retry) in cases {
            assert_eq!(
                LaneShares::reserved(max, odd_to_fresh),
                LaneShares { fresh, retry },
                "max {max}, odd to fresh {odd_to_fresh}"
            );
        }
    }

    #[test]
    fn take_fills_the_batch_from_either_lane() {
        let cases = [
            // (max, ready fresh, ready retry, odd_to_fresh, fresh, retry)
            (10, 1, 200, true, 1, 9),
            (10, 200, 200, true, 5, 5),
            (10, 200, 1, false, 9, 1),
            (10, 3, 4, true, 3, 4),
            (10, 0, 0, true, 0, 0),
            (1, 5, 5, true, 1, 0),
            (1, 5, 5, false, 0, 1),
            (1, 0, 5, true, 0, 1),
            (1, 5, 0, false, 1, 0),
            (9, 200, 200, false, 4, 5),
        ];
        for (max, ready_fresh, ready_retry, odd, fresh, retry) in cases {
            assert_eq!(
                LaneShares::take(max, ready_fresh, ready_retry, odd),
                LaneShares { fresh, retry },
                "max {max}, ready ({ready_fresh}, {ready_retry}), odd to fresh {odd}"
            );
        }
    }
}
