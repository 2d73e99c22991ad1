//! The write side of each sink's log, keyed `(org/app/sink_id, ms, seq)`: positions that only grow (the writer
//! thread runs one operation at a time), appends that trim past retention, and withdrawals.

use std::ops::Bound;

use redb::ReadableTable;
use xwebhook_engine::domain::Position;
use xwebhook_engine::id::{AppId, MessageId, OrgId, SinkId};
use xwebhook_engine::store::{Appended, LOG_RETENTION, StoreResult};

use super::{millis, now_ms, row_key};
use crate::error::Context as _;
use crate::tables::{SINK_LOG, SINKS, has_row};
use crate::writer::Batch;

pub(super) type LogKey<'k> = (&'k str, u64, u64);

/// The whole log of the sink at `row`, for ranges over [`SINK_LOG`].
pub(super) fn whole_log(row: &str) -> (Bound<LogKey<'_>>, Bound<LogKey<'_>>) {
    (
        Bound::Included((row, 0, 0)),
        Bound::Included((row, u64::MAX, u64::MAX)),
    )
}

/// The position after every entry of the log at `row`: now, or, if the clock has not moved past the last entry,
/// the next in its millisecond (as Redis stream ids do).
fn next_position(
    log: &impl ReadableTable<LogKey<'static>, &'static str>,
    row: &str,
    now: u64,
) -> StoreResult<Position> {
    let last = log
        .range(whole_log(row))
        .context("cannot read a sink's log")?
        .next_back()
        .transpose()
        .context("cannot read a sink's log")?
        .map(|(k, _)| {
            let (_, ms, seq) = k.value();
            Position { ms, seq }
        });
    // `max(1)`: a log's first entry comes after `Position::START`, even with a clock at the epoch.
    let now = now.max(1);
    Ok(match last {
        Some(last) if last.ms >= now => match last.seq.checked_add(1) {
            Some(seq) => Position { ms: last.ms, seq },
            None => Position {
                ms: last.ms.saturating_add(1),
                seq: 0,
            },
        },
        _ => Position { ms: now, seq: 0 },
    })
}

pub(super) fn append(
    b: &mut Batch<'_>,
    org: &OrgId,
    app: &AppId,
    sinks: &[SinkId],
    msg: &MessageId,
) -> StoreResult<Vec<Appended>> {
    let rows = b.tx.open_table(SINKS).context("cannot open sinks")?;
    let mut log = b.tx.open_table(SINK_LOG).context("cannot open the sink log")?;
    let now = now_ms();
    let horizon = now.saturating_sub(millis(LOG_RETENTION));
    let mut seen = std::collections::BTreeSet::new();
    let mut appended = Vec::with_capacity(sinks.len());
    for id in sinks {
        let row = row_key(org, app, id);
        // A sink deleted meanwhile, or named twice, gets nothing (more).
        if !seen.insert(id) || !has_row(&rows, &row)? {
            continue;
        }
        let at = next_position(&log, &row, now)?;
        log.insert((row.as_str(), at.ms, at.seq), msg.as_str())
            .context("cannot append to a sink's log")?;
        // Trimmed here, a few at a time as messages arrive, so that no sweeper has to walk every log.
        let expired = (
            Bound::Included((row.as_str(), 0, 0)),
            Bound::Excluded((row.as_str(), horizon, 0)),
        );
        log.retain_in(expired, |_, _| false)
            .context("cannot trim a sink's log")?;
        appended.push(Appended {
            sink: id.clone(),
            position: at,
        });
    }
    Ok(appended)
}

pub(super) fn withdraw(b: &mut Batch<'_>, org: &OrgId, app: &AppId, entries: &[Appended]) -> StoreResult<()> {
    let mut log = b.tx.open_table(SINK_LOG).context("cannot open the sink log")?;
    for entry in entries {
        let row = row_key(org, app, &entry.sink);
        let Position { ms, seq } = entry.position;
        log.remove((row.as_str(), ms, seq))
            .context("cannot withdraw a sink's log entry")?;
    }
    Ok(())
}
