//! The order check of a FIFO destination: the `seq` of its events must rise strictly, within a batch and from one
//! batch to the next. The one exception is a batch sent again (its sender timed out on an answer we gave, or the
//! process driving it died before recording the success): it starts where the batch that was sent again started,
//! so it may open with events already delivered, as long as they are in order and before any new one. Anything
//! else that is not new is a violation: an event older than the newest one delivered (it was overtaken), or a
//! repeat that does not open a re-sent batch.
//!
//! Pure: the sink feeds it each accepted batch, event by event.

/// What one event of a batch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Later than everything delivered before.
    New,
    /// Already delivered, opening a re-sent batch: a duplicate, allowed.
    Repeat,
    /// Out of order.
    Violation,
}

/// One destination's order so far.
#[derive(Clone, Debug, Default)]
pub struct Order {
    /// The newest `seq` delivered.
    last: Option<u64>,
    /// The first `seq` of the latest batch that brought new events: where a re-sent batch starts.
    resend_from: Option<u64>,
}

/// The check of one batch, event by event.
pub struct BatchCheck<'a> {
    order: &'a mut Order,
    first: Option<u64>,
    previous: Option<u64>,
    /// Whether a new event came already: a repeat after it is out of order.
    fresh: bool,
    resent: bool,
}

impl Order {
    pub fn batch(&mut self) -> BatchCheck<'_> {
        BatchCheck {
            order: self,
            first: None,
            previous: None,
            fresh: false,
            resent: false,
        }
    }
}

impl BatchCheck<'_> {
    /// Classifies the batch's next event; `seen` tells whether this destination was already given it.
    pub fn next(&mut self, seq: u64, seen: bool) -> Class {
        let opening = self.first.is_none();
        let first = *self.first.get_or_insert(seq);
        let rising = self.previous.is_none_or(|p| seq > p);
        self.previous = Some(seq);
        let order = &mut *self.order;
        if !rising {
            return Class::Violation;
        }
        if order.last.is_none_or(|last| seq > last) {
            if !self.fresh {
                self.fresh = true;
                order.resend_from = Some(first);
            }
            order.last = Some(seq);
            return Class::New;
        }
        let within_resend = order.resend_from.is_some_and(|from| seq >= from);
        if seen && !self.fresh && within_resend {
            self.resent |= opening;
            Class::Repeat
        } else {
            Class::Violation
        }
    }

    /// The newest `seq` delivered so far (for telling what an event came after).
    pub fn last_delivered(&self) -> Option<u64> {
        self.order.last
    }

    /// Whether the batch opened with events already delivered: it was sent again.
    pub fn was_resent(&self) -> bool {
        self.resent
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use Class::{New, Repeat, Violation};

    /// Feeds batches to one destination as the sink does (each event's `seen` from what came before); returns
    /// each batch's classes.
    fn run(batches: &[&[u64]]) -> Vec<Vec<Class>> {
        let mut order = Order::default();
        let mut seen = HashSet::new();
        batches
            .iter()
            .map(|batch| {
                let mut check = order.batch();
                batch
                    .iter()
                    .map(|&seq| check.next(seq, !seen.insert(seq)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rising_batches_are_new_and_gaps_are_allowed() {
        // Gaps: a message whose send failed was never accepted, so never owed (losses are counted apart).
        assert_eq!(
            run(&[&[0, 10, 20], &[30], &[50, 60]]),
            vec![vec![New; 3], vec![New], vec![New; 2]]
        );
    }

    #[test]
    fn a_resent_batch_may_repeat_its_start_then_go_on() {
        assert_eq!(
            run(&[
                &[1, 2, 3],
                &[1, 2, 3],
                &[1, 2, 3, 4, 5],
                &[1, 2, 3, 4, 5, 6],
                &[7]
            ]),
            vec![
                vec![New; 3],
                vec![Repeat; 3],
                vec![Repeat, Repeat, Repeat, New, New],
                // Sent again from the same start: its repeated prefix is longer than the first batch.
                vec![Repeat, Repeat, Repeat, Repeat, Repeat, New],
                vec![New],
            ]
        );
    }

    #[test]
    fn a_batch_is_resent_when_it_opens_with_a_repeat() {
        let mut order = Order::default();
        let mut check = order.batch();
        assert_eq!((check.next(1, false), check.next(2, false)), (New, New));
        assert!(!check.was_resent());
        let mut check = order.batch();
        assert_eq!((check.next(1, true), check.next(3, false)), (Repeat, New));
        assert!(check.was_resent());
        assert_eq!(check.last_delivered(), Some(3));
    }

    #[test]
    fn overtaken_events_and_misplaced_repeats_are_violations() {
        // 2 arrives after 3: it was overtaken.
        assert_eq!(
            run(&[&[1, 3], &[2, 4]]),
            vec![vec![New, New], vec![Violation, New]]
        );
        // Not rising within a batch.
        assert_eq!(run(&[&[1, 3, 2]]), vec![vec![New, New, Violation]]);
        assert_eq!(run(&[&[1, 1]]), vec![vec![New, Violation]]);
        // A repeat after a new event of the same batch.
        assert_eq!(
            run(&[&[1, 2], &[3, 2]]),
            vec![vec![New, New], vec![New, Violation]]
        );
        // A repeat of an older batch than the latest: not a re-send of where delivery stood.
        assert_eq!(
            run(&[&[1, 2], &[3, 4], &[1, 2]]),
            vec![vec![New, New], vec![New, New], vec![Violation, Violation]]
        );
        // A re-sent batch that skips an event it carried the first time: 3 was never delivered.
        assert_eq!(run(&[&[1, 2, 4]]), vec![vec![New, New, New]]);
        assert_eq!(
            run(&[&[1, 2, 4], &[1, 3]]),
            vec![vec![New, New, New], vec![Repeat, Violation]]
        );
    }
}
