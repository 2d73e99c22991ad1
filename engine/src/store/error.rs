//! The one error type every storage and queue port returns: a small kind to decide on, plus the source.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// What went wrong, coarsely enough that callers can decide (retry, 404, 409, 503) without knowing the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The addressed row does not exist (in this organization).
    NotFound,
    /// A uniqueness rule would be broken (a UID, an event type name, a message `eventId`).
    Conflict,
    /// The backend cannot be reached or refused the work; retrying later may succeed.
    Unavailable,
    /// The backend did not answer in time; the operation may or may not have happened.
    Timeout,
    /// Stored data could not be decoded: a bug or a corrupted store, never the client's fault.
    Corrupt,
    /// Anything else inside the backend.
    Internal,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::NotFound => "not found",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Corrupt => "corrupt data",
            Self::Internal => "internal error",
        };
        f.write_str(s)
    }
}

/// A storage failure: its kind, what was being done, and the original error.
///
/// `Clone`, so that one failure of a grouped write (see [`super::Coalescer`]) reaches every member of the group
/// whole: the source sits behind an `Arc` and is shared, never flattened into text.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    /// What was being done, for logs and (for `Conflict`/`NotFound`) for the client.
    pub context: String,
    pub source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.context)
    }
}

impl StdError for StoreError {
    /// The original error itself (not the `Arc` around it), so that callers can downcast it.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, context: impl Into<String>) -> Self {
        Self {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(
        kind: StoreErrorKind,
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    pub fn not_found(context: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::NotFound, context)
    }

    pub fn conflict(context: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Conflict, context)
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_keeps_kind_context_and_the_original_source() {
        let original = StoreError::with_source(
            StoreErrorKind::Unavailable,
            "cannot insert messages",
            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset"),
        );
        let copy = original.clone();
        assert_eq!(copy.kind(), StoreErrorKind::Unavailable);
        assert_eq!(copy.to_string(), "unavailable: cannot insert messages");
        let source = StdError::source(&copy).expect("the source is kept");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("the source is the original error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
    }
}
