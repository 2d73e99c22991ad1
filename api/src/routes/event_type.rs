//! `/api/v1/event-type`: the organization's event types. Deleting archives; `?expunge=true` removes for good.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use xwebhook_engine::domain::{EventType, EventTypeName, Schemas};
use xwebhook_engine::store::{Order, Page};

use super::labels::Labels;
use crate::auth::Auth;
use crate::dto::event_type::{EventTypeIn, EventTypeOut, EventTypePatch, EventTypeUpdate};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{ListResponse, list_query};
use crate::state::AppState;

fn name(segment: &str) -> ApiResult<EventTypeName> {
    segment
        .parse()
        .map_err(|e| ApiError::invalid(&["path", "event_type_name"], format!("{e}")))
}

async fn load(state: &AppState, auth: &Auth, segment: &str) -> ApiResult<EventType> {
    let found = state
        .stores
        .event_types
        .get_event_type(&auth.org_id, &name(segment)?)
        .await?;
    found.ok_or_else(ApiError::not_found)
}

/// Schemas are kept by version (`{"1": {…}}`, as Svix does); each must be a JSON Schema that compiles.
fn check_schemas(schemas: Option<&Schemas>) -> ApiResult<()> {
    let Some(schemas) = schemas else { return Ok(()) };
    let versions = schemas.as_value().as_object().ok_or_else(|| {
        ApiError::invalid(
            &["body", "schemas"],
            "must be an object of JSON Schemas by version, e.g. {\"1\": {…}}",
        )
    })?;
    for (version, schema) in versions {
        jsonschema::validator_for(schema).map_err(|e| {
            ApiError::invalid(
                &["body", "schemas", version],
                format!("not a valid JSON Schema: {e}"),
            )
        })?;
    }
    Ok(())
}

/// At most this many flags per event type or portal token: Svix documents no bound, and one keeps each
/// event type's document and each token small.
const MAX_FEATURE_FLAGS: usize = 32;

/// An event type's flags, from a newer SDK's `featureFlags` or else the contract's `featureFlag`.
fn feature_flags(single: Option<String>, many: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    match (many, single) {
        (Some(many), _) => check_feature_flags(many, &["body", "featureFlags"]),
        (None, Some(one)) => check_feature_flags(vec![one], &["body", "featureFlag"]),
        (None, None) => Ok(Vec::new()),
    }
}

/// Flags (of an event type or a portal token) are named like event types, at most 32, each kept once.
const FEATURE_FLAGS: Labels = Labels {
    one: "flag",
    many: "feature flags",
    max: MAX_FEATURE_FLAGS,
    rule: "letters, digits, '-', '_' and '.' only, at most 256",
    valid: |flag| flag.parse::<EventTypeName>().is_ok(),
};

pub(crate) fn check_feature_flags(flags: Vec<String>, loc: &[&str]) -> ApiResult<Vec<String>> {
    FEATURE_FLAGS.checked(flags, loc)
}

/// A group name is named like an event type.
fn check_group_name(group: Option<&String>) -> ApiResult<()> {
    match group {
        Some(g) if g.parse::<EventTypeName>().is_err() => Err(ApiError::invalid(
            &["body", "groupName"],
            "may only contain letters, digits, '-', '_' and '.' (at most 256)",
        )),
        _ => Ok(()),
    }
}

#[utoipa::path(get, path = "/api/v1/event-type", tag = "Event Type",
    params(("limit" = Option<u64>, Query, format = "uint64"), ("iterator" = Option<String>, Query), ("order" = Option<String>, Query),
        ("include_archived" = Option<bool>, Query), ("with_content" = Option<bool>, Query)),
    responses((status = 200, body = ListResponse<EventTypeOut>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<ListResponse<EventTypeOut>>> {
    let query = list_query(&q, Order::Ascending)?;
    let include_archived = q.bool("include_archived")?.unwrap_or(false);
    let with_content = q.bool("with_content")?.unwrap_or(false);
    let rows = state
        .stores
        .event_types
        .list_event_types(&auth.org_id, &query, include_archived)
        .await?;
    let mut page = Page::from_walk(rows, &query, |t| t.name.to_string());
    // Event types hidden from the caller leave a page shorter than `limit`; its iterator still goes on after them.
    page.items.retain(|t| auth.can_see_event_type(t));
    Ok(Json(page.map(|t| EventTypeOut::new(t, with_content)).into()))
}

#[utoipa::path(post, path = "/api/v1/event-type", tag = "Event Type", request_body = EventTypeIn,
    responses((status = 201, body = EventTypeOut)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<EventTypeIn>,
) -> ApiResult<(StatusCode, Json<EventTypeOut>)> {
    let feature_flags = feature_flags(body.feature_flag, body.feature_flags)?;
    check_group_name(body.group_name.as_ref())?;
    check_schemas(body.schemas.as_ref())?;
    let now = state.clock.now();
    let event_type = EventType {
        org_id: auth.org_id.clone(),
        name: body.name,
        description: body.description.into(),
        archived: body.archived.unwrap_or(false),
        deprecated: body.deprecated.unwrap_or(false),
        schemas: body.schemas.map(Schemas::into_inner),
        feature_flags,
        group_name: body.group_name,
        created_at: now,
        updated_at: now,
    };
    state.stores.event_types.create_event_type(&event_type).await?;
    Ok((StatusCode::CREATED, Json(EventTypeOut::new(event_type, true))))
}

#[utoipa::path(get, path = "/api/v1/event-type/{event_type_name}", tag = "Event Type",
    params(("event_type_name" = String, Path)), responses((status = 200, body = EventTypeOut)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(segment): Path<String>,
) -> ApiResult<Json<EventTypeOut>> {
    let event_type = load(&state, &auth, &segment).await?;
    if !auth.can_see_event_type(&event_type) {
        return Err(ApiError::not_found());
    }
    Ok(Json(EventTypeOut::new(event_type, true)))
}

#[utoipa::path(put, path = "/api/v1/event-type/{event_type_name}", tag = "Event Type", request_body = EventTypeUpdate,
    params(("event_type_name" = String, Path)),
    responses((status = 200, body = EventTypeOut), (status = 201, body = EventTypeOut)))]
pub async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody<EventTypeUpdate>,
) -> ApiResult<(StatusCode, Json<EventTypeOut>)> {
    let feature_flags = feature_flags(body.feature_flag, body.feature_flags)?;
    check_group_name(body.group_name.as_ref())?;
    check_schemas(body.schemas.as_ref())?;
    match load(&state, &auth, &segment).await {
        Ok(mut t) => {
            t.description = body.description.into();
            t.archived = body.archived.unwrap_or(false);
            t.deprecated = body.deprecated.unwrap_or(false);
            t.schemas = body.schemas.map(Schemas::into_inner);
            t.feature_flags = feature_flags;
            t.group_name = body.group_name;
            t.updated_at = state.clock.now();
            state.stores.event_types.update_event_type(&t).await?;
            Ok((StatusCode::OK, Json(EventTypeOut::new(t, true))))
        }
        Err(ApiError::NotFound(_)) => {
            let body = EventTypeIn {
                name: name(&segment)?,
                description: body.description,
                archived: body.archived,
                deprecated: body.deprecated,
                schemas: body.schemas,
                feature_flag: None,
                feature_flags: Some(feature_flags),
                group_name: body.group_name,
            };
            create(State(state), auth, JsonBody(body)).await
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(patch, path = "/api/v1/event-type/{event_type_name}", tag = "Event Type", request_body = EventTypePatch,
    params(("event_type_name" = String, Path)), responses((status = 200, body = EventTypeOut)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody<EventTypePatch>,
) -> ApiResult<Json<EventTypeOut>> {
    let mut t = load(&state, &auth, &segment).await?;
    // Absent: unchanged; `null`: no flag (no group); a value replaces.
    match (body.feature_flags, body.feature_flag) {
        (Some(many), _) => t.feature_flags = feature_flags(None, many)?,
        (None, Some(one)) => t.feature_flags = feature_flags(one, None)?,
        (None, None) => {}
    }
    if let Some(group) = body.group_name {
        check_group_name(group.as_ref())?;
        t.group_name = group;
    }
    if let Some(description) = body.description {
        t.description = description.into();
    }
    t.archived = body.archived.unwrap_or(t.archived);
    t.deprecated = body.deprecated.unwrap_or(t.deprecated);
    if let Some(schemas) = body.schemas {
        check_schemas(schemas.as_ref())?;
        t.schemas = schemas.map(Schemas::into_inner);
    }
    t.updated_at = state.clock.now();
    state.stores.event_types.update_event_type(&t).await?;
    Ok(Json(EventTypeOut::new(t, true)))
}

#[utoipa::path(delete, path = "/api/v1/event-type/{event_type_name}", tag = "Event Type",
    params(("event_type_name" = String, Path), ("expunge" = Option<bool>, Query)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(segment): Path<String>,
    q: QueryParams,
) -> ApiResult<StatusCode> {
    let mut t = load(&state, &auth, &segment).await?;
    if q.bool("expunge")?.unwrap_or(false) {
        state
            .stores
            .event_types
            .delete_event_type(&auth.org_id, &t.name)
            .await?;
    } else {
        t.archived = true;
        t.updated_at = state.clock.now();
        state.stores.event_types.update_event_type(&t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use xwebhook_engine::domain::Schemas;

    use super::check_schemas;

    fn schemas(v: serde_json::Value) -> Schemas {
        Schemas::try_from(v).expect("small, no NUL")
    }

    #[test]
    fn schemas_must_compile_by_version() {
        let good =
            json!({"1": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}});
        assert!(check_schemas(Some(&schemas(good))).is_ok());
        assert!(check_schemas(None).is_ok());
        for bad in [
            json!([1]),
            json!({"1": {"type": "no-such-type"}}),
            json!({"1": {"minLength": "three"}}),
        ] {
            assert!(check_schemas(Some(&schemas(bad.clone()))).is_err(), "{bad}");
        }
    }
}
