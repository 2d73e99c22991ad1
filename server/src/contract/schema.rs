//! Comparing one schema of the contract with ours: `$ref`s resolved, `allOf` merged, `oneOf`/`anyOf` matched
//! variant by variant, then types, formats, enum values, object fields, `items` and map values recursively.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Difference, Kind};

/// Deeper than any real payload shape; it only stops self-referencing schemas from recursing forever.
const MAX_DEPTH: usize = 24;

/// What a dangling or missing schema resolves to: no constraints at all.
static NOTHING: Value = Value::Null;

/// A document whose `#/…` references can be resolved.
#[derive(Clone, Copy)]
pub(super) struct Doc<'a>(pub &'a Value);

impl<'a> Doc<'a> {
    /// Follows `$ref`s; a dangling one yields the unconstrained schema (see [`Doc::dangling`]).
    pub(super) fn resolve(&self, value: &'a Value) -> &'a Value {
        self.try_resolve(value).unwrap_or(&NOTHING)
    }

    /// The first `$ref` on the way that points nowhere.
    fn dangling(&self, value: &'a Value) -> Option<&'a str> {
        self.try_resolve(value).err()
    }

    fn try_resolve(&self, mut value: &'a Value) -> Result<&'a Value, &'a str> {
        // A bound rather than a visited set: a chain this long can only be a cycle.
        for _ in 0..MAX_DEPTH {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            value = reference
                .strip_prefix('#')
                .and_then(|pointer| self.0.pointer(pointer))
                .ok_or(reference)?;
        }
        Ok(&NOTHING)
    }
}

pub(super) struct SchemaCheck<'a> {
    contract: Doc<'a>,
    ours: Doc<'a>,
}

impl<'a> SchemaCheck<'a> {
    pub(super) fn new(contract: Doc<'a>, ours: Doc<'a>) -> Self {
        Self { contract, ours }
    }

    /// Every difference between `theirs` and `ours`, located under `at`.
    pub(super) fn compare(&self, at: &str, theirs: &'a Value, ours: &'a Value) -> Vec<Difference> {
        let mut out = Vec::new();
        let place = Place {
            at,
            field: String::new(),
        };
        self.walk(&place, theirs, ours, 0, &mut out);
        out
    }

    fn walk(
        &self,
        place: &Place,
        theirs: &'a Value,
        ours: &'a Value,
        depth: usize,
        out: &mut Vec<Difference>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(reference) = self.ours.dangling(ours) {
            out.push(place.diff(Kind::DanglingRef(reference.to_string())));
            return;
        }
        let t = View::of(self.contract, theirs);
        let o = View::of(self.ours, ours);
        if t.variants.len() > 1 || o.variants.len() > 1 {
            self.variants(place, (&t, theirs), (&o, ours), depth, out);
        } else {
            self.shape(place, &t, &o, depth, out);
        }
    }

    /// Each of the contract's variants must match one of ours exactly; when none does, the closest one's
    /// differences are reported. A side without variants counts as its own single variant.
    fn variants(
        &self,
        place: &Place,
        (t, theirs): (&View<'a>, &'a Value),
        (o, ours): (&View<'a>, &'a Value),
        depth: usize,
        out: &mut Vec<Difference>,
    ) {
        let theirs = if t.variants.len() > 1 {
            t.variants.clone()
        } else {
            vec![theirs]
        };
        let ours = if o.variants.len() > 1 {
            o.variants.clone()
        } else {
            vec![ours]
        };
        for variant in theirs {
            let closest = ours
                .iter()
                .map(|candidate| {
                    let mut found = Vec::new();
                    self.walk(place, variant, candidate, depth + 1, &mut found);
                    found
                })
                .min_by_key(Vec::len);
            out.extend(closest.unwrap_or_default());
        }
    }

    fn shape(&self, place: &Place, t: &View<'a>, o: &View<'a>, depth: usize, out: &mut Vec<Difference>) {
        if !t.types.is_empty() && t.types != o.types {
            let (contract, ours) = (names(&t.types), names(&o.types));
            // The rest would only repeat this difference field by field.
            return out.push(place.diff(Kind::Type { contract, ours }));
        }
        if let (Some(contract), Some(ours)) = (t.format, o.format)
            && contract != ours
        {
            let (contract, ours) = (contract.to_string(), ours.to_string());
            out.push(place.diff(Kind::Format { contract, ours }));
        }
        if let (Some(theirs), Some(ours)) = (&t.enumeration, &o.enumeration) {
            for value in theirs.iter().filter(|v| !ours.contains(v)) {
                out.push(place.diff(Kind::MissingEnumValue(value.to_string())));
            }
        }
        for (name, schema) in &t.properties {
            let inner = place.field(&format!(".{name}"));
            match o.properties.get(name) {
                None => out.push(inner.diff(Kind::MissingField)),
                Some(our) => self.walk(&inner, schema, our, depth + 1, out),
            }
        }
        if let Some(items) = t.items {
            let our_items = o.items.unwrap_or(&NOTHING);
            self.walk(&place.field("[]"), items, our_items, depth + 1, out);
        }
        if let (Some(theirs), Some(ours)) = (t.additional, o.additional) {
            self.walk(&place.field("{}"), theirs, ours, depth + 1, out);
        }
    }
}

fn names(types: &BTreeSet<&str>) -> String {
    if types.is_empty() {
        return "any".to_string();
    }
    types.iter().copied().collect::<Vec<_>>().join(" or ")
}

/// Where a schema sits: the operation part (`POST /x request body`) and the field path in it (`.a[].b`).
struct Place<'p> {
    at: &'p str,
    field: String,
}

impl<'p> Place<'p> {
    fn field(&self, step: &str) -> Place<'p> {
        Place {
            at: self.at,
            field: format!("{}{step}", self.field),
        }
    }

    fn diff(&self, kind: Kind) -> Difference {
        let at = if self.field.is_empty() {
            self.at.to_string()
        } else {
            format!("{} {}", self.at, self.field)
        };
        Difference { at, kind }
    }
}

/// One schema flattened: `allOf` members merged in, `null` dropped from types, enums and variants (nullability
/// is not compared: 3.0 and 3.1 spell it too differently, and a missing `null` never breaks a client).
#[derive(Default)]
struct View<'a> {
    types: BTreeSet<&'a str>,
    format: Option<&'a str>,
    enumeration: Option<Vec<&'a Value>>,
    properties: BTreeMap<&'a str, &'a Value>,
    items: Option<&'a Value>,
    additional: Option<&'a Value>,
    variants: Vec<&'a Value>,
}

impl<'a> View<'a> {
    fn of(doc: Doc<'a>, schema: &'a Value) -> Self {
        let mut view = View::default();
        view.absorb(doc, schema, 0);
        // `Option<T>` in 3.1 is `oneOf: [{type: null}, T]`: that is just `T`.
        if view.variants.len() == 1 && view.is_bare() {
            return View::of(doc, view.variants[0]);
        }
        if view.types.is_empty() && !view.properties.is_empty() {
            view.types.insert("object");
        }
        if view.types.is_empty() && view.items.is_some() {
            view.types.insert("array");
        }
        view
    }

    fn is_bare(&self) -> bool {
        self.types.is_empty()
            && self.properties.is_empty()
            && self.items.is_none()
            && self.additional.is_none()
    }

    fn absorb(&mut self, doc: Doc<'a>, schema: &'a Value, depth: usize) {
        let s = doc.resolve(schema);
        if depth > MAX_DEPTH || !s.is_object() {
            return;
        }
        self.types
            .extend(types_of(s).into_iter().filter(|t| *t != "null"));
        self.format = self.format.or_else(|| s.get("format").and_then(Value::as_str));
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            let values = values.iter().filter(|v| !v.is_null());
            self.enumeration.get_or_insert_with(Vec::new).extend(values);
        }
        if let Some(properties) = s.get("properties").and_then(Value::as_object) {
            for (name, schema) in properties {
                self.properties.entry(name.as_str()).or_insert(schema);
            }
        }
        self.items = self.items.or_else(|| s.get("items"));
        self.additional = self
            .additional
            .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()));
        for key in ["oneOf", "anyOf"] {
            let members = s.get(key).and_then(Value::as_array).into_iter().flatten();
            self.variants
                .extend(members.filter(|m| !is_null_only(doc.resolve(m))));
        }
        for member in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.absorb(doc, member, depth + 1);
        }
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_null_only(schema: &Value) -> bool {
    let types = types_of(schema);
    (!types.is_empty() && types.iter().all(|t| *t == "null"))
        || schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| values.iter().all(Value::is_null))
}
