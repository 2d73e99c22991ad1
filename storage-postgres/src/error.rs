//! How driver and pool failures become [`StoreError`]s: a kind to decide on, the original error as source.

use deadpool_postgres::PoolError;
use tokio_postgres::error::{DbError, SqlState};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

/// The kind of a failed statement, from its SQLSTATE when the server sent one.
fn classify(e: &tokio_postgres::Error) -> StoreErrorKind {
    let Some(db) = e.as_db_error() else {
        // No server answer: the connection broke or could not be made. Decoding failures are mapped where
        // rows are read (see `corrupt`), so what is left here is the transport.
        return if e.is_closed() || source_is_io(e) {
            StoreErrorKind::Unavailable
        } else {
            StoreErrorKind::Internal
        };
    };
    classify_state(db)
}

fn classify_state(db: &DbError) -> StoreErrorKind {
    let code = db.code();
    let class = &code.code()[..2];
    if *code == SqlState::UNIQUE_VIOLATION {
        StoreErrorKind::Conflict
    } else if *code == SqlState::QUERY_CANCELED {
        // `statement_timeout` and `lock_timeout` surface as cancellations.
        StoreErrorKind::Timeout
    } else if matches!(class, "08" | "53" | "57" | "40" | "25") {
        // Connection exceptions, insufficient resources, operator intervention (shutdown), serialization
        // failures and deadlocks, read-only transactions (a failover in progress): all may pass.
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Internal
    }
}

fn source_is_io(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Adds what was being done to a driver or pool error, keeping it as the source.
pub(crate) trait Context<T> {
    fn context(self, what: &str) -> StoreResult<T>;
}

impl<T> Context<T> for Result<T, tokio_postgres::Error> {
    fn context(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::with_source(classify(&e), what, e))
    }
}

impl<T> Context<T> for Result<T, PoolError> {
    fn context(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| {
            let kind = match &e {
                PoolError::Timeout(_) => StoreErrorKind::Timeout,
                PoolError::Backend(b) => classify(b),
                PoolError::Closed => StoreErrorKind::Unavailable,
                PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_) => StoreErrorKind::Internal,
            };
            StoreError::with_source(kind, what, e)
        })
    }
}

/// The unique constraint a statement broke, if that is why it failed.
pub(crate) fn violated_constraint(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error()
        .filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION)
        .and_then(|db| db.constraint())
}

/// Turns a unique violation into `Conflict` with the message `describe` gives for its constraint; anything
/// else is classified as usual.
pub(crate) fn on_conflict(
    e: tokio_postgres::Error,
    what: &str,
    describe: impl FnOnce(&str) -> Option<String>,
) -> StoreError {
    match violated_constraint(&e).and_then(describe) {
        Some(message) => StoreError::with_source(StoreErrorKind::Conflict, message, e),
        None => StoreError::with_source(classify(&e), what, e),
    }
}

/// A stored value that cannot be decoded: a bug or a damaged table, never the client's fault.
pub(crate) fn corrupt(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, format!("cannot decode {what}"), e)
}
