//! `/endpoint/{id}/send-example`: sends one example event to one endpoint, to test a receiver. `svix.ping`
//! always exists; any other event type sends an example of its JSON schema (the first, or `exampleIndex`), or
//! the organization's own `payload`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use xwebhook_engine::domain::{EventTypeName, Message, Payload};
use xwebhook_engine::id::MessageId;

use super::lookup;
use crate::auth::Auth;
use crate::dto::message::{DEFAULT_RETENTION_DAYS, MessageOut};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

const PING: &str = "svix.ping";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventExampleIn {
    #[schema(value_type = String)]
    pub event_type: EventTypeName,
    /// Which of the schema's `examples` to send (default 0, the first); ignored for `svix.ping`.
    #[serde(default)]
    pub example_index: Option<u32>,
    /// A payload of the caller's own to send instead of the schema's example (a JSON object). Svix keeps it for
    /// allow-listed customers; here organization tokens may send one, application tokens get 403.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Box<RawValue>>,
}

#[utoipa::path(post, path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example", tag = "Endpoint",
    request_body = EventExampleIn, params(("app_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = MessageOut)))]
pub async fn send_example(
    State(state): State<AppState>,
    auth: Auth,
    Path((app_id, endpoint_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EventExampleIn>,
) -> ApiResult<Json<MessageOut>> {
    let app = lookup::application(&state, &auth, &app_id).await?;
    let endpoint = lookup::endpoint(&state, &app, &endpoint_id).await?;
    let payload = match body.payload {
        Some(custom) => custom_payload(&auth, custom)?,
        None => {
            let index = body.example_index.unwrap_or(0);
            example_payload(&state, &auth, &body.event_type, index).await?
        }
    };
    let message = Message {
        id: MessageId::generate(),
        org_id: app.org_id.clone(),
        app_id: app.id.clone(),
        event_type: body.event_type,
        event_id: None,
        channels: None,
        payload,
        retention_days: DEFAULT_RETENTION_DAYS,
        retention_hours: None,
        created_at: state.clock.now(),
        deliver_at: None,
        tags: Vec::new(),
    };
    state.intake.send_example(&message, &endpoint).await?;
    Ok(Json(MessageOut::new(message, true)))
}

/// A custom example: the sender's own payload, signed with the endpoint's secret like any message. Only the
/// organization may send one, since an application token's holder (a customer in the portal) would otherwise
/// have the sender sign whatever it likes.
fn custom_payload(auth: &Auth, custom: Box<RawValue>) -> ApiResult<Payload> {
    if auth.app_id.is_some() {
        return Err(ApiError::Forbidden(
            "`payload` may only be sent with an organization token".into(),
        ));
    }
    Payload::from_sender(custom).map_err(|e| ApiError::invalid(&["body", "payload"], e.to_string()))
}

async fn example_payload(
    state: &AppState,
    auth: &Auth,
    name: &EventTypeName,
    index: u32,
) -> ApiResult<Payload> {
    let example = if name.as_str() == PING {
        serde_json::json!({"success": true})
    } else {
        let event_type = state
            .stores
            .event_types
            .get_event_type(&auth.org_id, name)
            .await?;
        let schemas = event_type
            .filter(|t| auth.can_see_event_type(t))
            .and_then(|t| t.schemas)
            .ok_or_else(|| no_example(name))?;
        let examples = examples(&schemas).ok_or_else(|| no_example(name))?;
        let at = usize::try_from(index).unwrap_or(usize::MAX);
        examples.get(at).cloned().ok_or_else(|| {
            ApiError::invalid(
                &["body", "exampleIndex"],
                format!(
                    "event type `{name}` has {} examples; {index} is past the last",
                    examples.len()
                ),
            )
        })?
    };
    let raw = RawValue::from_string(example.to_string()).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Payload::from_raw(raw).map_err(|_| {
        ApiError::invalid(
            &["body", "eventType"],
            format!("the example of `{name}` is not a JSON object"),
        )
    })
}

fn no_example(name: &EventTypeName) -> ApiError {
    ApiError::invalid(
        &["body", "eventType"],
        format!("event type `{name}` has no schema example to send"),
    )
}

/// Svix keeps schemas by version (`{"1": {…json schema…}}`); the newest version's `examples` are sent. `None`
/// when it has none.
fn examples(schemas: &Value) -> Option<&Vec<Value>> {
    let versions = schemas.as_object()?;
    let newest = versions
        .keys()
        .filter_map(|k| k.parse::<u32>().ok().map(|n| (n, k)))
        .max()
        .map(|(_, k)| k);
    let schema = newest.and_then(|k| versions.get(k)).unwrap_or(schemas);
    schema
        .get("examples")?
        .as_array()
        .filter(|examples| !examples.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::examples;

    #[test]
    fn picks_the_newest_versions_examples() {
        let cases = [
            (
                json!({"1": {"examples": [{"a": 1}]}, "2": {"examples": [{"b": 2}, {"c": 3}]}}),
                Some(vec![json!({"b": 2}), json!({"c": 3})]),
            ),
            (
                json!({"examples": [{"flat": true}]}),
                Some(vec![json!({"flat": true})]),
            ),
            (json!({"1": {"examples": []}}), None),
            (json!({"1": {"type": "object"}}), None),
            (json!([1, 2]), None),
        ];
        for (schemas, expected) in cases {
            assert_eq!(examples(&schemas), expected.as_ref(), "{schemas}");
        }
    }
}
