//! One tiny contract, and for each kind of difference a variant of "ours" that has it.

use serde_json::{Value, json};

use super::compare;

/// A one-operation document: `POST /app/{app_id}` with `params`, a request body and a 200 response.
fn doc(params: Value, body: Value, response: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.0.2",
        "paths": {
            "/app/{app_id}": {
                "post": {
                    "parameters": params,
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {
                        "200": {"content": {"application/json": {"schema": response}}},
                        "422": {"content": {"application/json": {"schema": {"type": "integer"}}}}
                    }
                }
            }
        },
        "components": {"schemas": schemas}
    })
}

fn params() -> Value {
    json!([
        {"name": "app_id", "in": "path", "schema": {"type": "string"}},
        {"name": "idempotency-key", "in": "header", "schema": {"type": "string"}}
    ])
}

fn contract() -> Value {
    doc(
        params(),
        json!({"$ref": "#/components/schemas/In"}),
        json!({"$ref": "#/components/schemas/Out"}),
        json!({
            "In": {"type": "object", "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "nullable": true, "items": {"type": "string"}},
                "meta": {"$ref": "#/components/schemas/Meta", "nullable": true},
                "payload": {"type": "object"}
            }},
            "Meta": {"type": "object", "properties": {"size": {"type": "integer", "format": "int64"}}},
            "Out": {"type": "object", "properties": {
                "data": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "status": {"type": "integer", "enum": [0, 1, 2]}
                }}},
                "key": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            }}
        }),
    )
}

/// The contract with `edit` applied to it.
fn ours(edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = contract();
    edit(&mut doc);
    doc
}

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("the test document has no {pointer}"))
}

const OP: &str = "/paths/~1app~1{app_id}/post";
const SCHEMAS: &str = "/components/schemas";

fn lines(contract: &Value, ours: &Value) -> Vec<String> {
    compare(contract, ours).iter().map(ToString::to_string).collect()
}

#[test]
fn equal_documents_and_extras_in_ours_pass() {
    let cases: Vec<(&str, Value)> = vec![
        ("identical", contract()),
        (
            "another path parameter name",
            ours(|d| {
                let paths = at(d, "/paths")
                    .as_object_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let item = paths.get("/app/{app_id}").cloned().unwrap_or_default();
                *at(d, "/paths") = json!({"/app/{id}": item, "/extra": {"get": {}}});
            }),
        ),
        (
            "header names differ in case only",
            ours(|d| {
                *at(d, &format!("{OP}/parameters/1/name")) = json!("Idempotency-Key");
            }),
        ),
        (
            "a parameter at path level",
            ours(|d| {
                let p = at(d, &format!("{OP}/parameters")).take();
                at(d, "/paths/~1app~1{app_id}")
                    .as_object_mut()
                    .map(|item| item.insert("parameters".into(), p));
            }),
        ),
        (
            "3.1 nullability: a type list and a oneOf with null",
            ours(|d| {
                *at(d, &format!("{SCHEMAS}/In/properties/tags/type")) = json!(["array", "null"]);
                *at(d, &format!("{SCHEMAS}/In/properties/meta")) =
                    json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Meta"}]});
            }),
        ),
        (
            "fields merged from allOf, extra fields and enum values",
            ours(|d| {
                *at(d, &format!("{SCHEMAS}/In")) = json!({"allOf": [
                    {"type": "object", "properties": {"name": {"type": "string"}, "extra": {"type": "boolean"}}},
                    {"properties": {
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "meta": {"$ref": "#/components/schemas/Meta"},
                        "payload": {"type": "object", "additionalProperties": true}
                    }}
                ]});
                let status = format!("{SCHEMAS}/Out/properties/data/items/properties/status/enum");
                *at(d, &status) = json!([0, 1, 2, 4]);
            }),
        ),
        (
            "a format only the contract gives",
            ours(|d| {
                at(d, &format!("{SCHEMAS}/Meta/properties/size"))
                    .as_object_mut()
                    .map(|s| s.remove("format"));
            }),
        ),
        (
            "variants in another order",
            ours(|d| {
                *at(d, &format!("{SCHEMAS}/Out/properties/key")) =
                    json!({"anyOf": [{"type": "integer"}, {"type": "string"}]});
            }),
        ),
        (
            "another error response",
            ours(|d| {
                *at(d, &format!("{OP}/responses/422")) = json!({"description": "none"});
            }),
        ),
    ];
    for (name, ours) in cases {
        assert_eq!(lines(&contract(), &ours), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn each_kind_of_difference_is_reported_on_one_line() {
    let body = "POST /app/{app_id} request body";
    let response = "POST /app/{app_id} response 200";
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            ours(|d| *at(d, "/paths") = json!({"/other": {}})),
            vec!["/app/{app_id}: path missing".into()],
        ),
        (
            ours(|d| *at(d, "/paths/~1app~1{app_id}") = json!({"get": {}})),
            vec!["POST /app/{app_id}: operation missing".into()],
        ),
        (
            ours(|d| *at(d, &format!("{OP}/parameters/1/in")) = json!("query")),
            vec!["POST /app/{app_id} parameter idempotency-key (header): parameter missing".into()],
        ),
        (
            ours(|d| *at(d, &format!("{OP}/parameters/0/schema/type")) = json!("integer")),
            vec![
                "POST /app/{app_id} parameter app_id (path): type is string in the contract, integer in ours"
                    .into(),
            ],
        ),
        (
            ours(|d| *at(d, &format!("{OP}/requestBody")) = json!({"content": {"text/plain": {}}})),
            vec![format!("{body}: JSON request body missing")],
        ),
        (
            ours(|d| *at(d, &format!("{OP}/responses/200")) = json!({"description": "empty"})),
            vec![format!("{response}: JSON response missing")],
        ),
        (
            ours(|d| {
                at(d, &format!("{SCHEMAS}/In/properties"))
                    .as_object_mut()
                    .map(|p| p.remove("name"));
            }),
            vec![format!("{body} .name: field missing")],
        ),
        (
            ours(|d| *at(d, &format!("{SCHEMAS}/In/properties/tags/items")) = json!({"type": "integer"})),
            vec![format!(
                "{body} .tags[]: type is string in the contract, integer in ours"
            )],
        ),
        (
            ours(|d| *at(d, &format!("{SCHEMAS}/Meta/properties/size/format")) = json!("int32")),
            vec![format!(
                "{body} .meta.size: format is int64 in the contract, int32 in ours"
            )],
        ),
        (
            ours(|d| *at(d, &format!("{SCHEMAS}/In/properties/payload")) = json!({})),
            vec![format!(
                "{body} .payload: type is object in the contract, any in ours"
            )],
        ),
        (
            ours(|d| {
                at(d, &format!("{SCHEMAS}/Out/properties/data/items/properties"))
                    .as_object_mut()
                    .map(|p| p.remove("id"));
            }),
            vec![format!("{response} .data[].id: field missing")],
        ),
        (
            ours(|d| {
                *at(
                    d,
                    &format!("{SCHEMAS}/Out/properties/data/items/properties/at/format"),
                ) = json!("date")
            }),
            vec![format!(
                "{response} .data[].at: format is date-time in the contract, date in ours"
            )],
        ),
        (
            ours(|d| {
                *at(
                    d,
                    &format!("{SCHEMAS}/Out/properties/data/items/properties/status/enum"),
                ) = json!([0, 2]);
            }),
            vec![format!("{response} .data[].status: enum value 1 missing")],
        ),
        (
            ours(|d| *at(d, &format!("{SCHEMAS}/Out/properties/key")) = json!({"type": "string"})),
            vec![format!(
                "{response} .key: type is integer in the contract, string in ours"
            )],
        ),
        (
            ours(|d| {
                *at(d, &format!("{SCHEMAS}/In/properties/meta")) =
                    json!({"$ref": "#/components/schemas/Gone"})
            }),
            vec![format!(
                "{body} .meta: our $ref #/components/schemas/Gone points nowhere"
            )],
        ),
    ];
    for (ours, expected) in cases {
        assert_eq!(lines(&contract(), &ours), expected);
    }
}

#[test]
fn fields_merged_from_the_contracts_all_of_are_each_required() {
    let mut contract = contract();
    *at(&mut contract, &format!("{SCHEMAS}/Meta")) = json!({"allOf": [
        {"$ref": "#/components/schemas/Meta2"},
        {"properties": {"size": {"type": "integer"}}}
    ]});
    at(&mut contract, SCHEMAS).as_object_mut().map(|s| {
        s.insert(
            "Meta2".into(),
            json!({"properties": {"kind": {"type": "string"}}}),
        )
    });
    assert_eq!(
        lines(&contract, &self::contract()),
        vec!["POST /app/{app_id} request body .meta.kind: field missing".to_string()]
    );
}
