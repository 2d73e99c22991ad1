//! Walking a listing set: a sorted set whose members (score 0) are the listing's sort keys, read in chunks
//! with `ZRANGE … BYLEX [REV] LIMIT`, rows fetched with one `HMGET` or `MGET` per chunk (the set and its rows
//! share a hash tag, so both work on a cluster).
//!
//! This serves the contract of `xwebhook_engine::store::Walk`: rows strictly past `walk.from`, in the walk's
//! direction, at most `walk.take` of them. A filter that rejects rows does not shorten the answer: further
//! chunks are read until `take` rows match or the set ends.

use serde::de::DeserializeOwned;
use xwebhook_engine::store::{StoreResult, Walk};

use super::decode;
use crate::conn::Conn;
use crate::error::Context as _;

/// The largest chunk read at once when a filter keeps asking for more; bounds the size of one reply.
const MAX_CHUNK: usize = 1024;

/// Where a listing's rows live.
pub(super) enum Rows<'a> {
    /// Fields of one hash, named by the member.
    Hash(&'a str),
    /// One key per member.
    Keys(&'a (dyn Fn(&str) -> String + Sync)),
}

/// A lexical window of the set, from the caller's own knowledge (e.g. a time filter on time-sortable ids):
/// `lo` inclusive, `hi` exclusive.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Window<'a> {
    pub lo: Option<&'a str>,
    pub hi: Option<&'a str>,
}

/// One ZRANGE BYLEX bound.
fn lower(window: Window<'_>, after: Option<&str>) -> String {
    match (after, window.lo) {
        (Some(a), Some(lo)) if a < lo => format!("[{lo}"),
        (Some(a), _) => format!("({a}"),
        (None, Some(lo)) => format!("[{lo}"),
        (None, None) => "-".to_owned(),
    }
}

fn upper(window: Window<'_>, before: Option<&str>) -> String {
    match (before, window.hi) {
        (Some(b), Some(hi)) => format!("({}", b.min(hi)),
        (Some(b), None) | (None, Some(b)) => format!("({b}"),
        (None, None) => "+".to_owned(),
    }
}

/// Members of `set` strictly past `from` in the walk's direction, within `window`, at most `count`.
async fn members(
    conn: &mut Conn,
    set: &str,
    ascending: bool,
    from: Option<&str>,
    window: Window<'_>,
    count: usize,
) -> StoreResult<Vec<String>> {
    let mut cmd = redis::cmd("ZRANGE");
    cmd.arg(set);
    if ascending {
        cmd.arg(lower(window, from)).arg(upper(window, None));
        cmd.arg("BYLEX");
    } else {
        cmd.arg(upper(window, from)).arg(lower(window, None));
        cmd.arg("BYLEX").arg("REV");
    }
    cmd.arg("LIMIT").arg(0).arg(count);
    cmd.query_async(conn).await.redis("cannot read a listing set")
}

async fn fetch(conn: &mut Conn, rows: &Rows<'_>, members: &[String]) -> StoreResult<Vec<Option<Vec<u8>>>> {
    let cmd = match rows {
        Rows::Hash(hash) => {
            let mut c = redis::cmd("HMGET");
            c.arg(*hash);
            c.arg(members);
            c
        }
        Rows::Keys(key_of) => {
            let mut c = redis::cmd("MGET");
            for m in members {
                c.arg(key_of(m));
            }
            c
        }
    };
    cmd.query_async(&mut *conn).await.redis("cannot read listed rows")
}

/// Walks `set` as `walk` says, decoding rows as `what` and keeping those `keep` accepts.
pub(super) async fn walk<T: DeserializeOwned>(
    conn: &mut Conn,
    set: &str,
    rows: Rows<'_>,
    walk: &Walk<'_>,
    window: Window<'_>,
    what: &str,
    keep: impl Fn(&T) -> bool,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::with_capacity(walk.take.min(MAX_CHUNK));
    let mut from = walk.from.map(str::to_owned);
    // The first chunk is exactly what an unfiltered walk needs; later ones grow, so a sparse filter does not
    // cost one round trip per page-sized chunk.
    let mut chunk = walk.take.clamp(1, MAX_CHUNK);
    while out.len() < walk.take {
        let mut batch = members(conn, set, walk.ascending, from.as_deref(), window, chunk).await?;
        if batch.is_empty() {
            break;
        }
        let values = fetch(conn, &rows, &batch).await?;
        // A member without a row cannot come from the write scripts (they change both at once); skipping it
        // keeps a listing usable should one appear.
        for value in values.into_iter().flatten() {
            let row: T = decode(&value, what)?;
            if keep(&row) {
                out.push(row);
                if out.len() == walk.take {
                    return Ok(out);
                }
            }
        }
        if batch.len() < chunk {
            break;
        }
        from = batch.pop();
        chunk = (chunk * 2).min(MAX_CHUNK);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_combine_cursor_and_window() {
        let none = Window::default();
        let w = Window {
            lo: Some("b"),
            hi: Some("y"),
        };
        // (window, cursor, lower, upper)
        let cases = [
            (none, None, "-", "+"),
            (none, Some("k"), "(k", "(k"),
            (w, None, "[b", "(y"),
            (w, Some("a"), "[b", "(a"),
            (w, Some("k"), "(k", "(k"),
            (w, Some("z"), "(z", "(y"),
        ];
        for (i, (window, cursor, lo, hi)) in cases.into_iter().enumerate() {
            assert_eq!(lower(window, cursor), lo, "case {i}");
            assert_eq!(upper(window, cursor), hi, "case {i}");
        }
    }
}
