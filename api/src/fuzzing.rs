//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`): the request decoding the routes use,
//! reachable without an HTTP request. Nothing here is a second path into the API; it only re-exports the one
//! the extractors take, so a finding is a finding in production code.

use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Decodes a JSON request body exactly as [`JsonBody`](crate::extract::JsonBody) does.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::extract::parse_json(bytes)
}

/// The status the one error mapping answers `error` with.
pub fn status_of(error: ApiError) -> StatusCode {
    error.into_response().status()
}
