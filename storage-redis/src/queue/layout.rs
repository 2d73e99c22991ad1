//! Where a task lives: its partition, the partition's keys, receipts and scheduled-set members.

use std::sync::atomic::{AtomicU64, Ordering};

use xwebhook_engine::store::{Receipt, Task, TaskKind};

use crate::keys::Keys;

/// The two lanes of ready work (see `xwebhook_engine::store::LaneShares`): new work, and due retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    Fresh,
    Retry,
}

impl Lane {
    /// Both lanes, in the order a partition's streams are passed to commands and scripts.
    pub const BOTH: [Lane; 2] = [Lane::Fresh, Lane::Retry];
}

/// The keys of one partition. They share a hash tag, so a script may touch all of them on a cluster.
#[derive(Debug, Clone)]
pub(super) struct PartitionKeys {
    /// Fresh tasks (`enqueue`, fan-outs' deliveries), ready and leased, read by the consumer group. It keeps the
    /// name of the single ready stream of the layout before lanes, so a deployment upgrading in place finds its
    /// unfinished tasks there and delivers them as fresh work.
    pub fresh: String,
    /// Retries made ready by promotion, and redriven dead letters; ready and leased, same group.
    pub retry: String,
    /// Parked tasks, scored by due time in milliseconds since the epoch.
    pub scheduled: String,
    /// Tasks that were leased too often, or could not be decoded.
    pub dead: String,
}

impl PartitionKeys {
    pub fn new(keys: &Keys, partition: u16) -> Self {
        let tag = keys.tag(&format!("q{partition}"));
        Self {
            fresh: keys.key(&[&tag, "stream"]),
            retry: keys.key(&[&tag, "retry"]),
            scheduled: keys.key(&[&tag, "scheduled"]),
            dead: keys.key(&[&tag, "dead"]),
        }
    }

    /// The ready stream of `lane`.
    pub fn stream(&self, lane: Lane) -> &str {
        match lane {
            Lane::Fresh => &self.fresh,
            Lane::Retry => &self.retry,
        }
    }
}

/// The partition of a task: a delivery follows its endpoint, so one endpoint's work stays together; a fan-out
/// follows its message. The hash is FNV-1a, fixed here (not `std`'s hasher, which may change between Rust
/// releases) because every process of a deployment must agree on it.
pub(super) fn partition_of(task: &Task, partitions: u16) -> u16 {
    let key = match &task.kind {
        TaskKind::Deliver(deliver) => deliver.endpoint_id.as_str(),
        TaskKind::FanOut => task.msg_id.as_str(),
    };
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // `partitions` is at least 1 (checked at start-up), so the remainder fits in a u16.
    u16::try_from(hash % u64::from(partitions.max(1))).unwrap_or(0)
}

/// `<partition>:<entry id>` for the fresh lane (the receipt of the layout before lanes, so leases taken before
/// an upgrade still finish), `<partition>r:<entry id>` for the retry lane.
pub(super) fn receipt(partition: u16, lane: Lane, entry_id: &str) -> Receipt {
    match lane {
        Lane::Fresh => Receipt(format!("{partition}:{entry_id}")),
        Lane::Retry => Receipt(format!("{partition}r:{entry_id}")),
    }
}

/// Where a leased entry lives, as its receipt says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry<'a> {
    pub partition: u16,
    pub lane: Lane,
    pub id: &'a str,
}

/// The entry a receipt this store issued names; `None` for anything else.
pub(super) fn parse_receipt(receipt: &Receipt, partitions: u16) -> Option<Entry<'_>> {
    let (partition, entry_id) = receipt.0.split_once(':')?;
    let (partition, lane) = match partition.strip_suffix('r') {
        Some(p) => (p, Lane::Retry),
        None => (partition, Lane::Fresh),
    };
    let partition: u16 = partition.parse().ok()?;
    let entry = Entry {
        partition,
        lane,
        id: entry_id,
    };
    (partition < partitions && is_entry_id(entry_id)).then_some(entry)
}

/// `<ms>-<seq>`, the shape Redis gives stream entry ids; anything else would make Redis reply with an error.
fn is_entry_id(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    s.split_once('-')
        .is_some_and(|(ms, seq)| digits(ms) && digits(seq))
}

/// Makes scheduled-set members unique: a sorted set keeps one copy of equal members, so two identical tasks
/// scheduled at different times would otherwise collapse into one. A member is `<token>|<task JSON>`; the
/// promotion script keeps what follows the first `|`.
pub(super) struct MemberTokens {
    /// Distinguishes this store instance from other processes' instances.
    nonce: u64,
    counter: AtomicU64,
}

impl MemberTokens {
    pub fn new() -> Self {
        use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
        // `RandomState` is seeded from the OS: a random nonce without a dependency on a random crate.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        std::process::id().hash(&mut hasher);
        std::time::SystemTime::now().hash(&mut hasher);
        Self {
            nonce: hasher.finish(),
            counter: AtomicU64::new(0),
        }
    }

    pub fn member(&self, task_json: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:x}|{task_json}", self.nonce)
    }
}

#[cfg(test)]
mod tests {
    use xwebhook_engine::id::EndpointId;
    use xwebhook_engine::testsuite::fixtures::delivery_task_to as deliver;

    use super::*;

    #[test]
    fn one_endpoints_deliveries_share_a_partition() {
        let endpoint = EndpointId::generate();
        let p = partition_of(&deliver(&endpoint, 0), 16);
        assert!(p < 16);
        assert!((1..20).all(|a| partition_of(&deliver(&endpoint, a), 16) == p));
    }

    #[test]
    fn receipts_round_trip_and_reject_strangers() {
        let r = receipt(3, Lane::Fresh, "1700000000000-0");
        assert_eq!(r.0, "3:1700000000000-0", "the receipt of the layout before lanes");
        let entry = |lane| Entry {
            partition: 3,
            lane,
            id: "1700000000000-0",
        };
        assert_eq!(parse_receipt(&r, 16), Some(entry(Lane::Fresh)));
        assert_eq!(parse_receipt(&r, 3), None, "partition out of range");
        let r = receipt(3, Lane::Retry, "1700000000000-0");
        assert_eq!(parse_receipt(&r, 16), Some(entry(Lane::Retry)));
        assert_eq!(parse_receipt(&Receipt("3x:1-0".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("r:1-0".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("42".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("x:1-0".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("1:".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("1:abc".into()), 16), None);
        assert_eq!(parse_receipt(&Receipt("1:1-".into()), 16), None);
    }

    #[test]
    fn members_are_unique_and_keep_the_task() {
        let tokens = MemberTokens::new();
        let (a, b) = (tokens.member("{\"x\":1}"), tokens.member("{\"x\":1}"));
        assert_ne!(a, b);
        assert_eq!(a.split_once('|').map(|(_, t)| t), Some("{\"x\":1}"));
    }
}
