//! Request extractors that answer bad input the Svix way: JSON bodies and query strings are checked with the
//! failing field's location, oversized bodies get 413, path segments are parsed into typed references.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use xwebhook_engine::domain::Uid;
use xwebhook_engine::store::Ref;

use crate::error::{ApiError, ValidationError};

/// A JSON body parsed into `T`; unknown fields are ignored, as Svix does.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Like [`JsonBody`], but an empty body reads as `{}` (for operations whose body is optional).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else if body_timed_out(&rejection) {
            ApiError::RequestTimeout
        } else {
            ApiError::BadRequest(format!("could not read the request body: {rejection}"))
        }
    })
}

/// Whether the body failed because it did not arrive in time (see [`crate::serve`]); axum wraps the cause.
fn body_timed_out(rejection: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(rejection), |e| e.source()).any(|e| e.is::<crate::BodyReadTimeout>())
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e))?;
    de.end()
        .map_err(|e| ApiError::invalid(&["body"], format!("invalid JSON: {e}")))?;
    Ok(value)
}

fn json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::invalid(&["body"], format!("invalid JSON: {inner}"));
    }
    let mut loc = vec!["body".to_owned()];
    let path = e.path().to_string();
    if path != "." {
        loc.extend(path.split('.').map(str::to_owned));
    }
    // serde_json appends " at line L column C"; the location already says where.
    let msg = inner.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    // A missing field is reported at its parent; FastAPI (and so Svix) locates it at the field itself.
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        loc.push(field.to_owned());
        return ApiError::Validation(vec![ValidationError {
            loc,
            msg: "field required".into(),
            kind: "value_error.missing".into(),
        }]);
    }
    ApiError::Validation(vec![ValidationError {
        loc,
        msg,
        kind: "value_error".into(),
    }])
}

/// The query string as name/value pairs, with typed, located accessors.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = parts
            .uri
            .query()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect());
        Ok(Self(pairs.unwrap_or_default()))
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a list parameter, given repeated (`a=1&a=2`) or comma-separated (`a=1,2`).
    pub fn list(&self, name: &str) -> Vec<&str> {
        let with_brackets = format!("{name}[]");
        self.0
            .iter()
            .filter(|(k, _)| k == name || *k == with_brackets)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::invalid(&["query", name], format!("invalid value `{v}`: {e}")))
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::invalid(
                    &["query", name],
                    format!("`{v}` is not a boolean (true or false)"),
                )),
            })
            .transpose()
    }

    /// Like [`Self::bool`], but a bare `?name` (no `=value`) reads as `true`, as a flag on a command line does.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            Some("") => Ok(Some(true)),
            _ => self.bool(name),
        }
    }

    pub fn datetime(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_datetime(v).ok_or_else(|| {
                    ApiError::invalid(&["query", name], format!("`{v}` is not an RFC 3339 date-time"))
                })
            })
            .transpose()
    }
}

/// RFC 3339, or the same without an offset (read as UTC): some SDK versions drop the offset of naive datetimes.
fn parse_datetime(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.with_timezone(&Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(naive.and_utc())
}

/// Reads a path segment that holds an id or a UID.
pub fn id_or_uid<I>(
    segment: &str,
    param: &str,
    parse_id: impl Fn(&str) -> Result<I, xwebhook_engine::id::InvalidId>,
) -> Result<Ref<I>, ApiError> {
    if let Ok(id) = parse_id(segment) {
        return Ok(Ref::Id(id));
    }
    Uid::try_from(segment.to_owned())
        .map(Ref::Uid)
        .map_err(|e| ApiError::invalid(&["path", param], format!("not a valid id or uid: {e}")))
}

/// Reads a path segment that must be an id of one kind.
pub fn id<I>(
    segment: &str,
    param: &str,
    parse_id: impl Fn(&str) -> Result<I, xwebhook_engine::id::InvalidId>,
) -> Result<I, ApiError> {
    parse_id(segment).map_err(|e| ApiError::invalid(&["path", param], e.to_string()))
}

/// Answers with `response` once the request body that no handler read is read and dropped (at most `limit`
/// bytes, as a handler's read is bounded). Every layer that answers by itself (a refusal, a cached replay) goes
/// through here: with the body unread, the server closes the keep-alive connection after answering, so a client
/// that already sent its next request on it sees that request dropped without an answer, and unread bytes make
/// the kernel reset the connection, which can cut the client's read of the answer short.
pub(crate) async fn answer_unread(body: Body, limit: usize, response: Response) -> Response {
    let _ = to_bytes(body, limit).await;
    response
}
