//! The one error type every storage and queue port returns: a small kind to decide on, plus the source.

use std::error::Error as StdError;
use std::fmt;

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

#[derive(Debug, thiserror::Error)]
#[error("{kind}: {context}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    /// What was being done, for logs and (for `Conflict`/`NotFound`) for the client.
    pub context: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
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
            source: Some(Box::new(source)),
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
