//! How redb and serde failures become [`StoreError`]s: a kind to decide on, the original error kept as source.

use std::error::Error as StdError;

use serde::Serialize;
use serde::de::DeserializeOwned;
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

/// The coarse kind of a redb failure: I/O may pass (`Unavailable`), a corrupted page will not (`Corrupt`).
pub(crate) trait Classify {
    fn kind(&self) -> StoreErrorKind;
}

impl Classify for redb::StorageError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Io(_) | Self::PreviousIo => StoreErrorKind::Unavailable,
            Self::Corrupted(_) => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Internal,
        }
    }
}

impl Classify for redb::TableError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Storage(e) => e.kind(),
            _ => StoreErrorKind::Internal,
        }
    }
}

impl Classify for redb::TransactionError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Storage(e) => e.kind(),
            _ => StoreErrorKind::Internal,
        }
    }
}

impl Classify for redb::CommitError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Storage(e) => e.kind(),
            _ => StoreErrorKind::Internal,
        }
    }
}

impl Classify for redb::DatabaseError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            // Another process holds the file: it may let go.
            Self::DatabaseAlreadyOpen => StoreErrorKind::Unavailable,
            Self::Storage(e) => e.kind(),
            _ => StoreErrorKind::Internal,
        }
    }
}

/// Adds what was being done to a redb error, keeping it as the source.
pub(crate) trait Context<T> {
    fn context(self, what: &str) -> StoreResult<T>;
}

impl<T, E> Context<T> for Result<T, E>
where
    E: Classify + StdError + Send + Sync + 'static,
{
    fn context(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::with_source(e.kind(), what, e))
    }
}

/// Decodes a stored row; a row we cannot read is a corrupted store, not a client error.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> StoreResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, format!("cannot decode {what}"), e))
}

pub(crate) fn encode<T: Serialize>(value: &T, what: &str) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| StoreError::with_source(StoreErrorKind::Internal, format!("cannot encode {what}"), e))
}

/// An index entry that does not hold a valid id: the store is corrupted.
pub(crate) fn corrupt_index(e: xwebhook_engine::id::InvalidId, what: &str) -> StoreError {
    StoreError::with_source(
        StoreErrorKind::Corrupt,
        format!("index entry of {what} is not a valid id"),
        e,
    )
}
