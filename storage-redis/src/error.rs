//! Redis and serde failures as `StoreError`s, with the original error kept as the source.

use xwebhook_engine::store::{StoreError, StoreErrorKind};

/// Maps a Redis error to the kind callers decide on.
pub fn redis_err(context: impl Into<String>, e: redis::RedisError) -> StoreError {
    let kind = if e.is_timeout() {
        StoreErrorKind::Timeout
    } else if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_cluster_error()
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Internal
    };
    StoreError::with_source(kind, context, e)
}

pub fn decode_err(context: impl Into<String>, e: serde_json::Error) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, context, e)
}

/// `map_err` helpers: `.redis("reading an application")?`.
pub trait Context<T> {
    fn redis(self, context: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, redis::RedisError> {
    fn redis(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|e| redis_err(context, e))
    }
}
