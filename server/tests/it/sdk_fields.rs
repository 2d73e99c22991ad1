//! No field of the official SDK is ignored in silence. `tests/sdk/requests.json` lists every request the pinned
//! Python SDK can send (made by `scripts/sdk-requests`; the e2e suite checks it is up to date). For each of
//! those operations that our OpenAPI document serves:
//! - every query parameter and every body field, nested models included, is in our document: implemented, or
//!   refused by name, which the document says (its description starts with `DOC_PREFIX`);
//! - every `NotSupported` field, sent with a value, is answered 422 with its location.
//!
//! Operations we do not serve answer 404 as a whole, so their fields cannot be mistaken for working.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use xwebhook_api::dto::not_supported::{DOC_PREFIX, NOT_SUPPORTED};

use crate::helpers::{TestApp, spawn_app};

const REQUESTS: &str = include_str!("../../../tests/sdk/requests.json");

fn sdk_requests() -> Value {
    serde_json::from_str(REQUESTS).expect("tests/sdk/requests.json is JSON")
}

async fn our_document(app: &TestApp) -> Value {
    let url = format!("{}/api/v1/openapi.json", app.base);
    let (status, document) = app.http.send("GET", &url, &[], None).await;
    assert_eq!(status, 200);
    document
}

/// A path with its parameters' names erased, so that `{app_id}` and `{appId}` compare equal.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Our operation for the SDK's method and path, with our path (its own parameter names).
fn served<'a>(ours: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let paths = ours["paths"].as_object().expect("paths");
    paths
        .iter()
        .find(|(p, _)| shape(p) == shape(path))
        .and_then(|(p, item)| Some((p.as_str(), item.get(method.to_ascii_lowercase())?)))
}

/// Follows `$ref`s within our document.
fn resolve<'a>(ours: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        schema = ours.pointer(pointer).expect("the reference resolves");
    }
    schema
}

/// The object schema a property holds: itself, its array's items, its map's values, or the object among its
/// `oneOf`/`anyOf`/`allOf` variants (an optional nested model is `oneOf: [null, {$ref}]`).
fn object_in<'a>(ours: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let schema = resolve(ours, schema);
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get(key).filter(|v| v.is_object()) {
            return object_in(ours, inner);
        }
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|key| schema.get(key).and_then(Value::as_array))
        .flatten()
        .find_map(|variant| object_in(ours, variant))
}

fn request_schema<'a>(ours: &'a Value, operation: &'a Value) -> Option<&'a Value> {
    let schema = operation.pointer("/requestBody/content/application~1json/schema")?;
    object_in(ours, schema)
}

/// Fields whose model the SDK chooses by another field, so that the walk (which follows a union's first model)
/// cannot compare them: a destination's `config`, whose shape its `type` decides. Ours reads it as the type
/// named: a served type refuses what its config does not know by name (the `destinations` crate's tests, the
/// e2e suite), and every other type is refused by `type` (422).
const CHOSEN_BY_TYPE: &[(&str, &str)] = &[("DestinationIn", "config"), ("DestinationPatch", "config")];

/// Every field of the SDK's `model` (and of the models nested in it) missing from our `schema`, as
/// `Model.field` under `at`.
fn missing_fields(sdk: &Value, ours: &Value, model: &str, schema: &Value, at: &str, into: &mut Vec<String>) {
    let fields = sdk["models"][model].as_object().expect("the model is listed");
    for (field, nested) in fields {
        let Some(property) = schema["properties"].get(field) else {
            into.push(format!("{at}: body field {model}.{field}"));
            continue;
        };
        if CHOSEN_BY_TYPE.contains(&(model, field.as_str())) {
            continue;
        }
        if let Some(nested) = nested.as_str() {
            match object_in(ours, property) {
                Some(inner) => missing_fields(sdk, ours, nested, inner, at, into),
                None if is_not_supported(ours, property) => {}
                None => into.push(format!("{at}: {model}.{field} is not the object {nested}")),
            }
        }
    }
}

/// Whether our document says the field is refused: on the property itself, on the schema it refers to, or
/// on one of its variants (a described or optional `$ref` is wrapped in `allOf`/`oneOf`).
fn is_not_supported(ours: &Value, property: &Value) -> bool {
    let says_so = |schema: &Value| {
        schema["description"]
            .as_str()
            .is_some_and(|d| d.starts_with(DOC_PREFIX))
    };
    let resolved = resolve(ours, property);
    let variants = ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|key| resolved.get(key).and_then(Value::as_array))
        .flatten()
        .map(|variant| resolve(ours, variant));
    says_so(property) || says_so(resolved) || variants.into_iter().any(says_so)
}

#[tokio::test]
async fn every_sdk_field_of_a_served_operation_is_implemented_or_refused() {
    let app = spawn_app().await;
    let (sdk, ours) = (sdk_requests(), our_document(&app).await);
    let mut missing = Vec::new();
    let mut served_count = 0;
    for op in sdk["operations"].as_array().expect("operations") {
        let (method, path) = (
            op["method"].as_str().expect("method"),
            op["path"].as_str().expect("path"),
        );
        let Some((_, operation)) = served(&ours, method, path) else {
            continue;
        };
        served_count += 1;
        let at = format!("{method} {path} ({})", op["sdk"].as_str().expect("sdk name"));
        let ours_query: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in op["query"]
            .as_array()
            .expect("query")
            .iter()
            .filter_map(Value::as_str)
        {
            if !ours_query.contains(name) {
                missing.push(format!("{at}: query parameter {name}"));
            }
        }
        if let Some(model) = op["body"].as_str() {
            match request_schema(&ours, operation) {
                Some(schema) => missing_fields(&sdk, &ours, model, schema, &at, &mut missing),
                None => missing.push(format!("{at}: no JSON object body for {model}")),
            }
        }
    }
    assert!(
        served_count >= 42,
        "only {served_count} of the SDK's operations matched ours"
    );
    assert!(
        missing.is_empty(),
        "SDK fields neither implemented nor refused by name:\n{}",
        missing.join("\n")
    );
}

/// Each operation of our document as (method, a path to call it at, the operation). Path parameters are
/// placeholders: bodies and query strings are checked before anything is looked up.
fn operations(ours: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in ours["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let concrete = path.replace('{', "x").replace('}', "");
            all.push((method.to_ascii_uppercase(), concrete, operation));
        }
    }
    all
}

/// Each top-level `NotSupported` field of every operation's body: (method, path, field).
fn refused_fields(ours: &Value) -> Vec<(String, String, String)> {
    let mut refused = Vec::new();
    for (method, path, operation) in operations(ours) {
        let Some(schema) = request_schema(ours, operation) else {
            continue;
        };
        for (field, property) in schema["properties"].as_object().expect("properties") {
            if is_not_supported(ours, property) {
                refused.push((method.clone(), path.clone(), field.clone()));
            }
        }
    }
    refused
}

#[tokio::test]
async fn every_refused_field_is_answered_422_naming_it() {
    let app = spawn_app().await;
    let ours = our_document(&app).await;
    let refused = refused_fields(&ours);
    // Guards the walk itself: fields are still refused (`transformationsParams`, at least).
    assert!(!refused.is_empty(), "no refused field found");
    let auth = format!("Bearer {}", app.token);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    for (method, path, field) in refused {
        // The field alone: serde reports the first bad field it meets, before any missing required one.
        let body = json!({ &field: true }).to_string();
        let url = format!("{}{path}", app.base);
        let (status, answer) = app.http.send(&method, &url, &headers, Some(body.into())).await;
        assert_eq!(status, 422, "{method} {path} with {field}: {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", field]),
            "{method} {path}: {answer}"
        );
        assert_eq!(
            answer["detail"][0]["msg"], NOT_SUPPORTED,
            "{method} {path}: {answer}"
        );
    }
}
