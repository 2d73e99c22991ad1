//! The error answers of every operation, as Svix's contract documents them: `HttpErrorOut` (`{"code","detail"}`)
//! for 401, 403, 404, 409 and 429, and `HTTPValidationError` for 422. Added to the generated document in one
//! place because they come from one place, the error mapping in `crate::error`; handlers document only their
//! success. Beyond the contract, operations that read a body also document our 400 (an unreadable body or a bad
//! `Idempotency-Key`) and 413 (a body over `XWEBHOOK_MAX_BODY_BYTES`). 5xx answers are never documented: the
//! fuzzing in CI treats any of them as a failure.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{
    ArrayBuilder, ObjectBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Type, content::Content,
};

const HTTP_ERROR: &str = "HttpErrorOut";
const VALIDATION_ERROR: &str = "HTTPValidationError";

/// Every operation's status codes besides its success, with the body each carries.
const CONTRACT: [(&str, &str, &str); 6] = [
    ("401", "Unauthorized", HTTP_ERROR),
    ("403", "Forbidden", HTTP_ERROR),
    ("404", "Not Found", HTTP_ERROR),
    ("409", "Conflict", HTTP_ERROR),
    ("422", "Validation Error", VALIDATION_ERROR),
    ("429", "Too Many Requests", HTTP_ERROR),
];
/// Only operations that read a request body, or that take an `Idempotency-Key` (every POST), answer these.
const BODY: [(&str, &str, &str); 2] = [
    ("400", "Bad Request", HTTP_ERROR),
    ("413", "Payload Too Large", HTTP_ERROR),
];

pub struct ErrorDoc;

impl utoipa::Modify for ErrorDoc {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for (method, op) in operations_mut(item) {
                let reads_body = method == "post" || op.request_body.is_some();
                let extra = if reads_body { &BODY[..] } else { &[] };
                for (status, description, schema) in CONTRACT.iter().chain(extra) {
                    let response = ResponseBuilder::new().description(*description).content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name(*schema))),
                    );
                    // A handler that documents a status itself knows better.
                    op.responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::T(response.build()));
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(HTTP_ERROR.into(), http_error_schema());
        components
            .schemas
            .insert(VALIDATION_ERROR.into(), validation_error_schema());
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

fn http_error_schema() -> RefOr<utoipa::openapi::Schema> {
    ObjectBuilder::new()
        .title(Some("HttpError"))
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("detail", ObjectBuilder::new().schema_type(Type::String))
        .required("code")
        .required("detail")
        .into()
}

fn validation_error_schema() -> RefOr<utoipa::openapi::Schema> {
    ObjectBuilder::new()
        .property(
            "detail",
            ArrayBuilder::new().items(Ref::from_schema_name("ValidationError")),
        )
        .required("detail")
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_documents_the_contracts_errors() {
        let doc = serde_json::to_value(crate::openapi::document()).expect("the document serializes");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let responses = op["responses"].as_object().expect("responses");
                for status in ["401", "403", "404", "409", "422", "429"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                let schema = &responses["422"]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/HTTPValidationError",
                    "{method} {path}"
                );
                assert_eq!(
                    responses.contains_key("413"),
                    method == "post" || op.get("requestBody").is_some()
                );
            }
        }
        for name in ["HttpErrorOut", "HTTPValidationError", "ValidationError"] {
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
