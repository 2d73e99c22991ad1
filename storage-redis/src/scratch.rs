//! Throw-away key prefixes on a local Redis, for this crate's tests and for benches (feature `scratch`): each
//! user gets a prefix nobody else uses, and its keys are deleted when the guard drops, even after a panic.

/// The local Redis the tests share (see `scripts/check-services`); `XWEBHOOK_TEST_REDIS_URL` points elsewhere.
pub fn local_url() -> String {
    std::env::var("XWEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh key prefix on the local Redis; every key under it is deleted when this drops.
pub struct ScratchPrefix {
    pub url: String,
    pub prefix: String,
}

impl ScratchPrefix {
    /// `<label>:<ulid>` on [`local_url`].
    pub fn new(label: &str) -> Self {
        Self {
            url: local_url(),
            prefix: format!("{label}:{}", ulid::Ulid::new()),
        }
    }
}

impl Drop for ScratchPrefix {
    fn drop(&mut self) {
        // A blocking client: `Drop` cannot await. A failed cleanup only leaves keys under a prefix nobody reuses.
        let deleted = redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection())
            .and_then(|mut conn| delete_prefix(&mut conn, &self.prefix));
        if let Err(e) = deleted {
            eprintln!("could not delete the keys under {}: {e}", self.prefix);
        }
    }
}

fn delete_prefix(conn: &mut redis::Connection, prefix: &str) -> redis::RedisResult<()> {
    let pattern = format!("{prefix}:*");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        if !keys.is_empty() {
            redis::cmd("UNLINK").arg(&keys).query::<()>(conn)?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
