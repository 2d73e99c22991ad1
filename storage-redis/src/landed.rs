//! Whether a write whose reply timed out happened after all.
//!
//! A reply limit expiring says nothing about the command: it may still be queued on the socket, may have run
//! with its reply late, or may never run (the connection broke). Redis runs one connection's commands in the
//! order they arrive, and a multiplexed connection sends them in the order they are issued; so a read issued
//! on the *same* connection after the write is answered only after the write ran, and "does a key the write
//! sets exist?" settles the outcome, once that read is answered. Reads that time out too are simply issued
//! again, each behind the write as well, until one is answered or [`SETTLE_WITHIN`] passes.

use std::time::Duration;

use redis::RedisError;
use tokio::time::Instant;

use crate::conn::Conn;

/// How long to keep asking. Long enough to outlast a stall that made the write time out in the first place
/// (a burst, a fork for a snapshot, a paused server); well within the two minutes the worker waits for a
/// fan-out's message, so a message found to have landed late is still delivered.
pub const SETTLE_WITHIN: Duration = Duration::from_secs(20);

/// What became of a write whose reply did not come in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    Yes,
    No,
    /// No answer within [`SETTLE_WITHIN`], or the connection broke: the write may or may not have run.
    Unknown,
}

/// Whether `key`, which the timed-out write on `conn` sets and nothing else could have, now exists.
pub async fn landed(conn: &mut Conn, key: &str) -> Landed {
    let deadline = Instant::now() + SETTLE_WITHIN;
    loop {
        let exists: Result<bool, RedisError> = redis::cmd("EXISTS").arg(key).query_async(conn).await;
        match exists {
            Ok(true) => return Landed::Yes,
            Ok(false) => return Landed::No,
            Err(e) if e.is_timeout() && Instant::now() < deadline => continue,
            Err(e) => {
                tracing::warn!(error = %e, key, "cannot learn whether a timed-out write happened");
                return Landed::Unknown;
            }
        }
    }
}
