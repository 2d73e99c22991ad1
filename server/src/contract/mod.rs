//! The contract check behind `xwebhook openapi --check-against FILE`: which parts of a reference OpenAPI
//! document (Svix's) our own document lacks or types differently.
//!
//! It is one-directional on purpose: whatever ours has beyond the contract is fine, because clients written
//! against the contract never ask for it. Both documents are plain JSON values, so the check is pure and works
//! on OpenAPI 3.0 (`nullable`) and 3.1 (`type: [.., "null"]`) alike.
//!
//! Layout: this module walks paths, operations, parameters and bodies; `schema` compares two schemas.

mod schema;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

use schema::{Doc, SchemaCheck};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const JSON: &str = "application/json";

/// One thing the contract has that our document lacks or types differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Where: the operation, then the part of it (`request body`, `response 200`, …) and the field path.
    pub at: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    MissingPath,
    MissingOperation,
    MissingParameter,
    MissingRequestBody,
    MissingResponse,
    MissingField,
    /// JSON types (without `null`), `any` when a side gives none.
    Type {
        contract: String,
        ours: String,
    },
    Format {
        contract: String,
        ours: String,
    },
    MissingEnumValue(String),
    /// A `$ref` in our document that points nowhere.
    DanglingRef(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.at;
        match &self.kind {
            Kind::MissingPath => write!(f, "{at}: path missing"),
            Kind::MissingOperation => write!(f, "{at}: operation missing"),
            Kind::MissingParameter => write!(f, "{at}: parameter missing"),
            Kind::MissingRequestBody => write!(f, "{at}: JSON request body missing"),
            Kind::MissingResponse => write!(f, "{at}: JSON response missing"),
            Kind::MissingField => write!(f, "{at}: field missing"),
            Kind::Type { contract, ours } => {
                write!(f, "{at}: type is {contract} in the contract, {ours} in ours")
            }
            Kind::Format { contract, ours } => {
                write!(f, "{at}: format is {contract} in the contract, {ours} in ours")
            }
            Kind::MissingEnumValue(v) => write!(f, "{at}: enum value {v} missing"),
            Kind::DanglingRef(r) => write!(f, "{at}: our $ref {r} points nowhere"),
        }
    }
}

/// Every difference between the `contract` document and `ours`, in the contract's (sorted) path order.
pub fn compare(contract: &Value, ours: &Value) -> Vec<Difference> {
    let check = Check {
        contract: Doc(contract),
        ours: Doc(ours),
    };
    let mut out = Vec::new();
    let our_paths = paths(ours);
    for (path, item) in paths(contract) {
        match our_paths.iter().find(|(p, _)| same_template(p, path)) {
            None => out.push(diff(path.to_string(), Kind::MissingPath)),
            Some((_, our_item)) => check.path_item(path, item, our_item, &mut out),
        }
    }
    out
}

fn diff(at: String, kind: Kind) -> Difference {
    Difference { at, kind }
}

fn paths(doc: &Value) -> Vec<(&str, &Value)> {
    doc.get("paths")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// `/app/{app_id}` and `/app/{id}` are the same route: only the parameter's position matters.
fn same_template(a: &str, b: &str) -> bool {
    let (a, b): (Vec<_>, Vec<_>) = (a.split('/').collect(), b.split('/').collect());
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y || (x.starts_with('{') && x.ends_with('}') && y.starts_with('{') && y.ends_with('}'))
        })
}

struct Check<'a> {
    contract: Doc<'a>,
    ours: Doc<'a>,
}

impl Check<'_> {
    fn path_item(&self, path: &str, item: &Value, ours: &Value, out: &mut Vec<Difference>) {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            match ours.get(method) {
                None => out.push(diff(at, Kind::MissingOperation)),
                Some(our_op) => {
                    let theirs = self.contract.parameters(item, op);
                    let mine = self.ours.parameters(ours, our_op);
                    self.parameters(&at, &theirs, &mine, out);
                    self.request_body(&at, op, our_op, out);
                    self.responses(&at, op, our_op, out);
                }
            }
        }
    }

    fn parameters(&self, at: &str, theirs: &[&Value], mine: &[&Value], out: &mut Vec<Difference>) {
        for param in theirs {
            let key = parameter_key(param);
            let at = format!("{at} parameter {} ({})", key.0, key.1);
            match mine.iter().find(|p| parameter_key(p) == key) {
                None => out.push(diff(at, Kind::MissingParameter)),
                Some(our) => self.schemas(at, param.get("schema"), our.get("schema"), out),
            }
        }
    }

    fn request_body(&self, at: &str, op: &Value, ours: &Value, out: &mut Vec<Difference>) {
        let Some(schema) = self.contract.body_schema(op.get("requestBody")) else {
            return;
        };
        let at = format!("{at} request body");
        match self.ours.body_schema(ours.get("requestBody")) {
            None => out.push(diff(at, Kind::MissingRequestBody)),
            Some(our) => self.schemas(at, Some(schema), Some(our), out),
        }
    }

    /// Only 2xx bodies: errors share one shape that the error mapping owns, not each operation.
    fn responses(&self, at: &str, op: &Value, ours: &Value, out: &mut Vec<Difference>) {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return;
        };
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
            let Some(schema) = self.contract.body_schema(Some(response)) else {
                continue;
            };
            let at = format!("{at} response {status}");
            let our = ours.get("responses").and_then(|r| r.get(status));
            match self.ours.body_schema(our) {
                None => out.push(diff(at, Kind::MissingResponse)),
                Some(our) => self.schemas(at, Some(schema), Some(our), out),
            }
        }
    }

    fn schemas(&self, at: String, theirs: Option<&Value>, ours: Option<&Value>, out: &mut Vec<Difference>) {
        let empty = Value::Object(Default::default());
        let check = SchemaCheck::new(self.contract, self.ours);
        out.extend(check.compare(&at, theirs.unwrap_or(&empty), ours.unwrap_or(&empty)));
    }
}

/// A parameter is its name and location; header names are case-insensitive.
fn parameter_key(param: &Value) -> (String, String) {
    let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
    let name = param.get("name").and_then(Value::as_str).unwrap_or_default();
    let name = if location == "header" {
        name.to_ascii_lowercase()
    } else {
        name.to_string()
    };
    (name, location.to_string())
}

impl<'a> Doc<'a> {
    /// The operation's parameters with the path item's, `$ref`s resolved.
    fn parameters(&self, item: &'a Value, op: &'a Value) -> Vec<&'a Value> {
        [item, op]
            .into_iter()
            .filter_map(|v| v.get("parameters").and_then(Value::as_array))
            .flatten()
            .map(|p| self.resolve(p))
            .collect()
    }

    /// The JSON schema of a request body or response, if it has one.
    fn body_schema(&self, body: Option<&'a Value>) -> Option<&'a Value> {
        self.resolve(body?).get("content")?.get(JSON)?.get("schema")
    }
}
