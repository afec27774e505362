//! The checks Notion applies to page bodies (`POST /v1/pages`, `PATCH /v1/pages/{id}`): allowed
//! top-level keys, property names or ids, value types, lengths, options and relations. It turns a
//! valid body into values in the form Notion answers them; it never writes the store itself.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::ids::parse_id;
use crate::richtext::{self, js_length};
use crate::schema::{DataSource, PROPERTY_TYPES, Property};
use crate::timestamps::DateValue;

const MAX_URL: usize = 2000;
const MAX_EMAIL: usize = 200;
const MAX_PHONE: usize = 200;
const MAX_REFERENCES: usize = 100;
/// Most block elements Notion accepts in one request.
pub const MAX_BLOCKS: usize = 1000;

/// Refuses any top-level key not in `allowed`, in Notion's words.
pub fn allowed_keys(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body
        .iter()
        .find(|(key, _)| !allowed.contains(&key.as_str()))
    {
        Some((key, value)) => Err(ApiError::body(
            &format!("body.{key}"),
            "should be not present",
            value,
        )),
        None => Ok(()),
    }
}

/// Looks up whether a page exists and, if so, which data source holds it.
pub type PageLookup<'a> = &'a dyn Fn(Uuid) -> Option<Uuid>;

/// Validates `body.properties` against `source` (whose select options it may extend) and returns
/// the new values by property id. Unknown names and type mismatches are reported together, as
/// Notion concatenates them.
pub fn properties(
    source: &mut DataSource,
    given: &Value,
    pages: PageLookup,
) -> Result<Vec<(String, Value)>, ApiError> {
    let map = given
        .as_object()
        .ok_or_else(|| ApiError::body("body.properties", "should be an object", given))?;
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (key, value) in map {
        let Some(property) = source.property(key).cloned() else {
            problems.push(format!("{key} is not a property that exists."));
            continue;
        };
        match value_kind(&property, value) {
            Kind::Matches => values.push((
                property.id.clone(),
                property_value(source, &property, key, value, pages)?,
            )),
            Kind::Other => problems.push(format!("{key} is expected to be {}.", property.kind)),
            Kind::Missing => {
                return Err(ApiError::body_missing(&format!(
                    "body.properties.{key}.{}",
                    property.kind
                )));
            }
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::validation(problems.join(" ")))
    }
}

enum Kind {
    Matches,
    /// The value is shaped for another property type.
    Other,
    /// The value names no property type at all.
    Missing,
}

fn value_kind(property: &Property, value: &Value) -> Kind {
    let Some(object) = value.as_object() else {
        return Kind::Missing;
    };
    let named = object.get("type").and_then(Value::as_str);
    if named.is_some_and(|t| t != property.kind) {
        return Kind::Other;
    }
    if object.contains_key(&property.kind) {
        return Kind::Matches;
    }
    if object.keys().any(|k| PROPERTY_TYPES.contains(&k.as_str())) {
        Kind::Other
    } else {
        Kind::Missing
    }
}

fn property_value(
    source: &mut DataSource,
    property: &Property,
    key: &str,
    value: &Value,
    pages: PageLookup,
) -> Result<Value, ApiError> {
    let kind = property.kind.as_str();
    let path = format!("body.properties.{key}.{kind}");
    let inner = &value[kind];
    if property.is_read_only() {
        return Err(ApiError::validation(format!(
            "{key} is a {kind} property, which Notion computes; it cannot be set through the API."
        )));
    }
    match kind {
        "title" | "rich_text" => richtext::normalise_array(&path, inner),
        "number" => number(&path, inner),
        "checkbox" => checkbox(&path, inner),
        "url" => limited_string(&path, inner, MAX_URL),
        "email" => limited_string(&path, inner, MAX_EMAIL),
        "phone_number" => limited_string(&path, inner, MAX_PHONE),
        "select" => select(source, property, &path, inner),
        "multi_select" => multi_select(source, property, &path, inner),
        "status" => status(property, key, &path, inner),
        "date" => date(&path, inner),
        "relation" => relation(property, key, &path, inner, pages),
        "people" => people(&path, inner),
        "files" => files(&path, inner),
        _ => Err(ApiError::validation(format!(
            "{key}: the emulator cannot write {kind} properties."
        ))),
    }
}

fn number(path: &str, value: &Value) -> Result<Value, ApiError> {
    match value {
        Value::Null | Value::Number(_) => Ok(value.clone()),
        _ => Err(ApiError::body(path, "should be a number or `null`", value)),
    }
}

fn checkbox(path: &str, value: &Value) -> Result<Value, ApiError> {
    match value {
        Value::Bool(_) => Ok(value.clone()),
        _ => Err(ApiError::body(path, "should be a boolean", value)),
    }
}

fn limited_string(path: &str, value: &Value, limit: usize) -> Result<Value, ApiError> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::String(text) if js_length(text) <= limit => Ok(value.clone()),
        Value::String(text) => Err(ApiError::validation(format!(
            "body failed validation: {path}.length should be ≤ `{limit}`, instead was `{}`.",
            js_length(text)
        ))),
        _ => Err(ApiError::body(path, "should be a string or `null`", value)),
    }
}

/// Resolves a select option by id or name, adding a new option for an unknown name.
fn select_option(
    source: &mut DataSource,
    property: &Property,
    path: &str,
    value: &Value,
) -> Result<Value, ApiError> {
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::body(path, "should be an object or `null`", value))?;
    let id = object.get("id").and_then(Value::as_str);
    let name = object.get("name").and_then(Value::as_str);
    let schema = source
        .property_mut(&property.id)
        .ok_or_else(|| ApiError::validation("schema changed"))?;
    if let Some(found) = schema.option(id, name) {
        return Ok(found.clone());
    }
    match (id, name) {
        (Some(id), _) => Err(ApiError::validation(format!(
            "Select option with ID {id} does not exist on {}.",
            property.name
        ))),
        (None, Some(name)) if name.contains(',') => Err(ApiError::validation(format!(
            "Invalid select option, commas not allowed: {name}"
        ))),
        (None, Some(name)) if name.trim().is_empty() => Err(ApiError::body(
            &format!("{path}.name"),
            "should be a non-empty string",
            &json!(name),
        )),
        (None, Some(name)) => {
            Ok(schema.add_option(name, object.get("color").and_then(Value::as_str)))
        }
        (None, None) => Err(ApiError::body_missing(&format!("{path}.name"))),
    }
}

fn select(
    source: &mut DataSource,
    property: &Property,
    path: &str,
    value: &Value,
) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    select_option(source, property, path, value)
}

fn multi_select(
    source: &mut DataSource,
    property: &Property,
    path: &str,
    value: &Value,
) -> Result<Value, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body(path, "should be an array", value))?;
    if items.len() > MAX_REFERENCES {
        return Err(too_many(path, items.len()));
    }
    let mut chosen: Vec<Value> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let option = select_option(source, property, &format!("{path}[{i}]"), item)?;
        if !chosen.iter().any(|c| c["id"] == option["id"]) {
            chosen.push(option);
        }
    }
    Ok(Value::Array(chosen))
}

/// Status options must already exist: the API never creates them.
fn status(property: &Property, key: &str, path: &str, value: &Value) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::body(path, "should be an object or `null`", value))?;
    let id = object.get("id").and_then(Value::as_str);
    let name = object.get("name").and_then(Value::as_str);
    if id.is_none() && name.is_none() {
        return Err(ApiError::body_missing(&format!("{path}.name")));
    }
    property.option(id, name).cloned().ok_or_else(|| {
        ApiError::validation(format!(
            "Invalid status option. Status option \"{}\" does not exist for property {key}.",
            name.or(id).unwrap_or_default()
        ))
    })
}

fn date(path: &str, value: &Value) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !value.is_object() {
        return Err(ApiError::body(path, "should be an object or `null`", value));
    }
    let start = match value.get("start") {
        None | Some(Value::Null) => return Err(ApiError::body_missing(&format!("{path}.start"))),
        Some(start) => iso_date(&format!("{path}.start"), start)?,
    };
    let end = match value.get("end") {
        None | Some(Value::Null) => Value::Null,
        Some(end) => iso_date(&format!("{path}.end"), end)?,
    };
    let time_zone = match value.get("time_zone") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(zone)) if is_time_zone(zone) => json!(zone),
        Some(other) => {
            return Err(ApiError::body(
                &format!("{path}.time_zone"),
                "should be a valid IANA time zone",
                other,
            ));
        }
    };
    Ok(json!({"start": start, "end": end, "time_zone": time_zone}))
}

fn iso_date(path: &str, value: &Value) -> Result<Value, ApiError> {
    value
        .as_str()
        .and_then(DateValue::parse)
        .map(|d| json!(d.render()))
        .ok_or_else(|| ApiError::body(path, "should be a valid ISO 8601 date string", value))
}

/// A shape check only: the emulator carries no time zone database.
fn is_time_zone(zone: &str) -> bool {
    let plausible = zone
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    plausible && (zone.contains('/') || zone == "UTC" || zone == "GMT")
}

fn reference_id(path: &str, item: &Value) -> Result<Uuid, ApiError> {
    let id = &item["id"];
    match id.as_str() {
        Some(text) => parse_id(text)
            .ok_or_else(|| ApiError::body(&format!("{path}.id"), "should be a valid uuid", id)),
        None => Err(ApiError::body_missing(&format!("{path}.id"))),
    }
}

fn too_many(path: &str, count: usize) -> ApiError {
    ApiError::validation(format!(
        "body failed validation: {path}.length should be ≤ `{MAX_REFERENCES}`, instead was `{count}`."
    ))
}

fn relation(
    property: &Property,
    key: &str,
    path: &str,
    value: &Value,
    pages: PageLookup,
) -> Result<Value, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body(path, "should be an array", value))?;
    if items.len() > MAX_REFERENCES {
        return Err(too_many(path, items.len()));
    }
    let related = property.related_data_source();
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = reference_id(&format!("{path}[{i}]"), item)?;
        match pages(id) {
            None => {
                return Err(ApiError::validation(format!(
                    "Could not find page with ID: {id} for relation property {key}. Make sure the relevant pages and databases are shared with your integration."
                )));
            }
            Some(source) if related.is_some_and(|r| r != source) => {
                return Err(ApiError::validation(format!(
                    "Page {id} is not in the data source that relation property {key} points to."
                )));
            }
            Some(_) => {}
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids
        .iter()
        .map(|id| json!({"id": id.to_string()}))
        .collect::<Vec<_>>()
        .into())
}

fn people(path: &str, value: &Value) -> Result<Value, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body(path, "should be an array", value))?;
    if items.len() > MAX_REFERENCES {
        return Err(too_many(path, items.len()));
    }
    let users: Result<Vec<Value>, ApiError> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            reference_id(&format!("{path}[{i}]"), item)
                .map(|id| json!({"object": "user", "id": id.to_string()}))
        })
        .collect();
    Ok(Value::Array(users?))
}

/// External files only; uploads are out of the emulator's scope.
fn files(path: &str, value: &Value) -> Result<Value, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body(path, "should be an array", value))?;
    for (i, item) in items.iter().enumerate() {
        let url = &item["external"]["url"];
        match url.as_str() {
            Some(text) if js_length(text) <= MAX_URL => {}
            _ => {
                return Err(ApiError::body(
                    &format!("{path}[{i}].external.url"),
                    "should be a string of at most 2000 characters",
                    url,
                ));
            }
        }
    }
    Ok(value.clone())
}

/// Counts block elements, nested children included, against Notion's 1000 per request.
pub fn count_blocks(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(count_blocks).sum(),
        Value::Object(block) => {
            let nested: usize = block
                .values()
                .map(|v| v.get("children").map_or(0, count_blocks))
                .sum();
            1 + nested + block.get("children").map_or(0, count_blocks)
        }
        _ => 0,
    }
}
