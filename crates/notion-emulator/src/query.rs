//! `POST /v1/data_sources/{id}/query`: filters (property, timestamp, `and`/`or`), sorts and
//! cursor pagination, checked the way Notion checks them before any page is read.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::ids::parse_id;
use crate::richtext::plain_text;
use crate::schema::{DataSource, Property};
use crate::store::Page;
use crate::timestamps::DateValue;

const BODY_KEYS: [&str; 7] = [
    "filter",
    "sorts",
    "start_cursor",
    "page_size",
    "archived",
    "in_trash",
    "result_type",
];
const MAX_PAGE_SIZE: u64 = 100;
/// Notion nests compound filters at most two levels deep.
const MAX_DEPTH: usize = 2;

/// A checked query, ready to run.
pub struct Query {
    filter: Option<Filter>,
    sorts: Vec<Sort>,
    start: Option<Uuid>,
    page_size: usize,
    in_trash: bool,
    pages_wanted: bool,
}

enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Property {
        id: String,
        kind: String,
        condition: Condition,
    },
    Created(Condition),
    Edited(Condition),
}

enum Condition {
    Text(String, Option<String>),
    Number(String, Option<f64>),
    Checkbox(bool),
    Select(String, Vec<String>),
    Contains(String, Option<String>),
    Date(String, Option<DateValue>),
}

struct Sort {
    key: SortKey,
    descending: bool,
}

enum SortKey {
    Property(Property),
    Created,
    Edited,
}

/// Checks a query body against the data source's schema.
pub fn parse(source: &DataSource, body: &Map<String, Value>) -> Result<Query, ApiError> {
    crate::validate::allowed_keys(body, &BODY_KEYS)?;
    let page_size = page_size(body.get("page_size"))?;
    let start = match body.get("start_cursor") {
        None | Some(Value::Null) => None,
        Some(cursor) => Some(cursor.as_str().and_then(parse_id).ok_or_else(|| {
            ApiError::body("body.start_cursor", "should be a valid uuid", cursor)
        })?),
    };
    let in_trash = flag(body, "in_trash")? || flag(body, "archived")?;
    let pages_wanted = match body.get("result_type") {
        None | Some(Value::Null) => true,
        Some(Value::String(t)) if t == "page" => true,
        Some(Value::String(t)) if t == "data_source" => false,
        Some(other) => {
            return Err(ApiError::body(
                "body.result_type",
                "should be `\"page\"` or `\"data_source\"`",
                other,
            ));
        }
    };
    let filter = match body.get("filter") {
        None | Some(Value::Null) => None,
        Some(filter) => Some(parse_filter(source, "body.filter", filter, 0)?),
    };
    let sorts = match body.get("sorts") {
        None | Some(Value::Null) => Vec::new(),
        Some(sorts) => parse_sorts(source, sorts)?,
    };
    Ok(Query {
        filter,
        sorts,
        start,
        page_size,
        in_trash,
        pages_wanted,
    })
}

fn flag(body: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::body(
            &format!("body.{key}"),
            "should be a boolean",
            other,
        )),
    }
}

fn page_size(value: Option<&Value>) -> Result<usize, ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(MAX_PAGE_SIZE as usize);
    };
    let size = value.as_u64().ok_or_else(|| match value.as_i64() {
        Some(n) if n < 1 => ApiError::validation(format!(
            "body failed validation: body.page_size should be ≥ `1`, instead was `{n}`."
        )),
        _ => ApiError::body("body.page_size", "should be an integer", value),
    })?;
    match size {
        0 => Err(ApiError::validation(
            "body failed validation: body.page_size should be ≥ `1`, instead was `0`.",
        )),
        n if n > MAX_PAGE_SIZE => Err(ApiError::validation(format!(
            "body failed validation: body.page_size should be ≤ `{MAX_PAGE_SIZE}`, instead was `{n}`."
        ))),
        n => Ok(n as usize),
    }
}

fn parse_filter(
    source: &DataSource,
    path: &str,
    value: &Value,
    depth: usize,
) -> Result<Filter, ApiError> {
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::body(path, "should be an object", value))?;
    for (word, make) in [
        ("and", Filter::And as fn(Vec<Filter>) -> Filter),
        ("or", Filter::Or),
    ] {
        if let Some(list) = object.get(word) {
            if depth >= MAX_DEPTH {
                return Err(ApiError::validation(format!(
                    "body failed validation: {path}.{word} nests filters more than {MAX_DEPTH} levels deep."
                )));
            }
            let items = list.as_array().ok_or_else(|| {
                ApiError::body(&format!("{path}.{word}"), "should be an array", list)
            })?;
            let parsed: Result<Vec<Filter>, ApiError> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    parse_filter(source, &format!("{path}.{word}[{i}]"), item, depth + 1)
                })
                .collect();
            return Ok(make(parsed?));
        }
    }
    if let Some(stamp) = object.get("timestamp") {
        return timestamp_filter(path, object, stamp);
    }
    let key = match object.get("property") {
        Some(Value::String(key)) => key,
        Some(other) => {
            return Err(ApiError::body(
                &format!("{path}.property"),
                "should be a string",
                other,
            ));
        }
        None => return Err(ApiError::body_missing(&format!("{path}.property"))),
    };
    let property = source.property(key).ok_or_else(|| {
        ApiError::validation(format!("Could not find property with name or id: {key}"))
    })?;
    let kind = property.kind.as_str();
    // Notion lets a text filter name `rich_text` for a title (its older spelling).
    let given = object
        .get(kind)
        .or_else(|| (kind == "title").then(|| object.get("rich_text")).flatten());
    let Some(given) = given else {
        return Err(ApiError::body_missing(&format!("{path}.{kind}")));
    };
    let condition = condition(kind, &format!("{path}.{kind}"), given)?;
    Ok(Filter::Property {
        id: property.id.clone(),
        kind: kind.to_owned(),
        condition,
    })
}

fn timestamp_filter(
    path: &str,
    object: &Map<String, Value>,
    stamp: &Value,
) -> Result<Filter, ApiError> {
    let which = stamp.as_str().unwrap_or_default();
    let given = object
        .get(which)
        .ok_or_else(|| ApiError::body_missing(&format!("{path}.{which}")))?;
    let condition = date_condition(&format!("{path}.{which}"), given)?;
    match which {
        "created_time" => Ok(Filter::Created(condition)),
        "last_edited_time" => Ok(Filter::Edited(condition)),
        _ => Err(ApiError::body(
            &format!("{path}.timestamp"),
            "should be `\"created_time\"` or `\"last_edited_time\"`",
            stamp,
        )),
    }
}

/// The one `operator: operand` pair of a condition object.
fn operator<'a>(path: &str, value: &'a Value) -> Result<(&'a str, &'a Value), ApiError> {
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::body(path, "should be an object", value))?;
    match object.iter().next() {
        Some((op, operand)) if object.len() == 1 => Ok((op.as_str(), operand)),
        _ => Err(ApiError::body(
            path,
            "should have exactly one condition",
            value,
        )),
    }
}

fn unsupported(path: &str, op: &str) -> ApiError {
    ApiError::validation(format!(
        "body failed validation: {path}.{op} should be not present: it is not a condition for this property type."
    ))
}

fn emptiness(path: &str, op: &str, operand: &Value) -> Result<(), ApiError> {
    match operand {
        Value::Bool(true) => Ok(()),
        other => Err(ApiError::body(
            &format!("{path}.{op}"),
            "should be `true`",
            other,
        )),
    }
}

fn condition(kind: &str, path: &str, value: &Value) -> Result<Condition, ApiError> {
    match kind {
        "title" | "rich_text" | "url" | "email" | "phone_number" => text_condition(path, value),
        "number" => number_condition(path, value),
        "checkbox" => checkbox_condition(path, value),
        "select" | "status" => select_condition(path, value),
        "multi_select" | "relation" | "people" | "created_by" | "last_edited_by" => {
            contains_condition(path, value)
        }
        "date" | "created_time" | "last_edited_time" => date_condition(path, value),
        _ => Err(ApiError::validation(format!(
            "body failed validation: {path}: the emulator cannot filter on {kind} properties."
        ))),
    }
}

fn text_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    match op {
        "is_empty" | "is_not_empty" => {
            emptiness(path, op, operand).map(|()| Condition::Text(op.into(), None))
        }
        "equals" | "does_not_equal" | "contains" | "does_not_contain" | "starts_with"
        | "ends_with" => {
            let text = operand.as_str().ok_or_else(|| {
                ApiError::body(&format!("{path}.{op}"), "should be a string", operand)
            })?;
            Ok(Condition::Text(op.into(), Some(text.to_owned())))
        }
        _ => Err(unsupported(path, op)),
    }
}

fn number_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    match op {
        "is_empty" | "is_not_empty" => {
            emptiness(path, op, operand).map(|()| Condition::Number(op.into(), None))
        }
        "equals"
        | "does_not_equal"
        | "greater_than"
        | "less_than"
        | "greater_than_or_equal_to"
        | "less_than_or_equal_to" => {
            let n = operand.as_f64().ok_or_else(|| {
                ApiError::body(&format!("{path}.{op}"), "should be a number", operand)
            })?;
            Ok(Condition::Number(op.into(), Some(n)))
        }
        _ => Err(unsupported(path, op)),
    }
}

fn checkbox_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    let wanted = operand
        .as_bool()
        .ok_or_else(|| ApiError::body(&format!("{path}.{op}"), "should be a boolean", operand))?;
    match op {
        "equals" => Ok(Condition::Checkbox(wanted)),
        "does_not_equal" => Ok(Condition::Checkbox(!wanted)),
        _ => Err(unsupported(path, op)),
    }
}

fn select_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    match op {
        "is_empty" | "is_not_empty" => {
            emptiness(path, op, operand).map(|()| Condition::Select(op.into(), Vec::new()))
        }
        "equals" | "does_not_equal" => {
            let names: Option<Vec<String>> = match operand {
                Value::String(name) => Some(vec![name.clone()]),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => None,
            };
            let names = names.ok_or_else(|| {
                ApiError::body(&format!("{path}.{op}"), "should be a string", operand)
            })?;
            Ok(Condition::Select(op.into(), names))
        }
        _ => Err(unsupported(path, op)),
    }
}

fn contains_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    match op {
        "is_empty" | "is_not_empty" => {
            emptiness(path, op, operand).map(|()| Condition::Contains(op.into(), None))
        }
        "contains" | "does_not_contain" => {
            let text = operand.as_str().ok_or_else(|| {
                ApiError::body(&format!("{path}.{op}"), "should be a string", operand)
            })?;
            // Relation and people conditions name ids, which may come with or without dashes.
            let text = parse_id(text).map_or_else(|| text.to_owned(), |id| id.to_string());
            Ok(Condition::Contains(op.into(), Some(text)))
        }
        _ => Err(unsupported(path, op)),
    }
}

fn date_condition(path: &str, value: &Value) -> Result<Condition, ApiError> {
    let (op, operand) = operator(path, value)?;
    match op {
        "is_empty" | "is_not_empty" => {
            emptiness(path, op, operand).map(|()| Condition::Date(op.into(), None))
        }
        "equals" | "before" | "after" | "on_or_before" | "on_or_after" => {
            let date = operand.as_str().and_then(DateValue::parse).ok_or_else(|| {
                ApiError::body(
                    &format!("{path}.{op}"),
                    "should be a valid ISO 8601 date string",
                    operand,
                )
            })?;
            Ok(Condition::Date(op.into(), Some(date)))
        }
        _ => Err(unsupported(path, op)),
    }
}

fn parse_sorts(source: &DataSource, value: &Value) -> Result<Vec<Sort>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::body("body.sorts", "should be an array", value))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_sort(source, &format!("body.sorts[{i}]"), item))
        .collect()
}

fn parse_sort(source: &DataSource, path: &str, item: &Value) -> Result<Sort, ApiError> {
    let descending = match item.get("direction").and_then(Value::as_str) {
        Some("ascending") => false,
        Some("descending") => true,
        _ => {
            return Err(ApiError::body(
                &format!("{path}.direction"),
                "should be `\"ascending\"` or `\"descending\"`",
                &item["direction"],
            ));
        }
    };
    let key = match (
        item.get("property").and_then(Value::as_str),
        item.get("timestamp").and_then(Value::as_str),
    ) {
        (Some(key), _) => SortKey::Property(source.property(key).cloned().ok_or_else(|| {
            ApiError::validation(format!(
                "Could not find sort property with name or id: {key}"
            ))
        })?),
        (None, Some("created_time")) => SortKey::Created,
        (None, Some("last_edited_time")) => SortKey::Edited,
        _ => return Err(ApiError::body_missing(&format!("{path}.property"))),
    };
    Ok(Sort { key, descending })
}

impl Query {
    /// Runs the query; `render` turns a page into its JSON.
    pub fn run(
        &self,
        source: &DataSource,
        pages: &[Page],
        render: impl Fn(&Page) -> Value,
    ) -> Result<Value, ApiError> {
        let mut matching: Vec<&Page> = pages
            .iter()
            .filter(|p| {
                p.data_source == source.id && p.in_trash == self.in_trash && self.pages_wanted
            })
            .filter(|p| self.filter.as_ref().is_none_or(|f| f.matches(p)))
            .collect();
        // Without sorts Notion lists newest first; the sequence breaks ties within a minute.
        matching.sort_by(|a, b| self.compare(source, a, b).then(b.seq.cmp(&a.seq)));
        let from = match self.start {
            None => 0,
            Some(cursor) => matching.iter().position(|p| p.id == cursor).ok_or_else(|| {
                ApiError::validation(format!("body failed validation: body.start_cursor `{cursor}` is not a cursor of this query."))
            })?,
        };
        let end = (from + self.page_size).min(matching.len());
        let next = matching.get(end).map(|p| p.id.to_string());
        Ok(json!({
            "object": "list",
            "results": matching[from..end].iter().map(|p| render(p)).collect::<Vec<_>>(),
            "next_cursor": next,
            "has_more": next.is_some(),
            "type": "page_or_data_source",
            "page_or_data_source": {},
            "request_status": {"type": "complete"},
        }))
    }

    fn compare(&self, source: &DataSource, a: &Page, b: &Page) -> Ordering {
        for sort in &self.sorts {
            let order = match &sort.key {
                SortKey::Created => a.seq.cmp(&b.seq),
                SortKey::Edited => a.edited.cmp(&b.edited),
                SortKey::Property(p) => sort_key(source, p, a).cmp(&sort_key(source, p, b)),
            };
            let order = if sort.descending {
                order.reverse()
            } else {
                order
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

/// A comparable form of a value; `None` (empty) sorts last when ascending.
enum SortValue {
    Text(String),
    Number(f64),
    Time(OffsetDateTime),
}

fn sort_key(source: &DataSource, property: &Property, page: &Page) -> (bool, Option<SortValue>) {
    let value = page.property_json(property)[&property.kind].clone();
    let key = match property.kind.as_str() {
        "number" => value.as_f64().map(SortValue::Number),
        "checkbox" => Some(SortValue::Number(if value == json!(true) {
            1.0
        } else {
            0.0
        })),
        "date" => value["start"]
            .as_str()
            .and_then(DateValue::parse)
            .map(|d| SortValue::Time(d.instant())),
        "created_time" => Some(SortValue::Time(page.created)),
        "last_edited_time" => Some(SortValue::Time(page.edited)),
        // Notion orders selects by their options' order in the schema, not alphabetically.
        "select" | "status" => value["id"].as_str().and_then(|id| {
            let schema = source.property(&property.id)?;
            schema
                .options()
                .iter()
                .position(|o| o["id"].as_str() == Some(id))
                .map(|i| SortValue::Number(i as f64))
        }),
        _ => Some(text_of(&value))
            .filter(|t| !t.is_empty())
            .map(SortValue::Text),
    };
    (key.is_none(), key)
}

/// A total order (`total_cmp` for numbers) so sorting never panics; mixed kinds compare equal.
impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Time(a), Self::Time(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortValue {}

/// The text a text condition compares: plain text of rich text, or the string itself.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(_) => plain_text(value),
        _ => String::new(),
    }
}

impl Filter {
    fn matches(&self, page: &Page) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.matches(page)),
            Self::Or(any) => any.iter().any(|f| f.matches(page)),
            Self::Created(condition) => {
                condition.date_matches(Some(DateValue::Instant(page.created)))
            }
            Self::Edited(condition) => {
                condition.date_matches(Some(DateValue::Instant(page.edited)))
            }
            Self::Property {
                id,
                kind,
                condition,
            } => condition.matches(kind, &property_value(page, id, kind)),
        }
    }
}

fn property_value(page: &Page, id: &str, kind: &str) -> Value {
    match kind {
        "created_time" => json!(crate::timestamps::minute(page.created)),
        "last_edited_time" => json!(crate::timestamps::minute(page.edited)),
        "created_by" => json!([page.created_by.user()]),
        "last_edited_by" => json!([page.edited_by.user()]),
        _ => page.values.get(id).cloned().unwrap_or(Value::Null),
    }
}

impl Condition {
    fn matches(&self, kind: &str, value: &Value) -> bool {
        match self {
            Self::Text(op, operand) => text_matches(op, operand.as_deref(), &text_of(value)),
            Self::Number(op, operand) => number_matches(op, *operand, value.as_f64()),
            Self::Checkbox(wanted) => value.as_bool().unwrap_or(false) == *wanted,
            Self::Select(op, names) => select_matches(op, names, value["name"].as_str()),
            Self::Contains(op, operand) => {
                contains_matches(op, operand.as_deref(), &members(kind, value))
            }
            Self::Date(..) => {
                let start = match kind {
                    "date" => value["start"].as_str(),
                    _ => value.as_str(),
                };
                self.date_matches(start.and_then(DateValue::parse))
            }
        }
    }

    fn date_matches(&self, value: Option<DateValue>) -> bool {
        let Self::Date(op, operand) = self else {
            return false;
        };
        let (Some(value), Some(operand)) = (value, operand) else {
            return match op.as_str() {
                "is_empty" => value.is_none(),
                "is_not_empty" => value.is_some(),
                _ => false,
            };
        };
        // A day in the filter compares days; a time compares instants.
        let order = match operand {
            DateValue::Day(day) => value.day().cmp(day),
            _ => value.instant().cmp(&operand.instant()),
        };
        match op.as_str() {
            "equals" => order == Ordering::Equal,
            "before" => order == Ordering::Less,
            "after" => order == Ordering::Greater,
            "on_or_before" => order != Ordering::Greater,
            "on_or_after" => order != Ordering::Less,
            _ => false,
        }
    }
}

fn text_matches(op: &str, operand: Option<&str>, text: &str) -> bool {
    let operand = operand.unwrap_or_default();
    match op {
        "equals" => text == operand,
        "does_not_equal" => text != operand,
        "contains" => text.contains(operand),
        "does_not_contain" => !text.contains(operand),
        "starts_with" => text.starts_with(operand),
        "ends_with" => text.ends_with(operand),
        "is_empty" => text.is_empty(),
        "is_not_empty" => !text.is_empty(),
        _ => false,
    }
}

fn number_matches(op: &str, operand: Option<f64>, value: Option<f64>) -> bool {
    match (op, value, operand) {
        ("is_empty", value, _) => value.is_none(),
        ("is_not_empty", value, _) => value.is_some(),
        ("equals", Some(v), Some(o)) => v == o,
        ("does_not_equal", v, Some(o)) => v != Some(o),
        ("greater_than", Some(v), Some(o)) => v > o,
        ("less_than", Some(v), Some(o)) => v < o,
        ("greater_than_or_equal_to", Some(v), Some(o)) => v >= o,
        ("less_than_or_equal_to", Some(v), Some(o)) => v <= o,
        _ => false,
    }
}

fn select_matches(op: &str, names: &[String], value: Option<&str>) -> bool {
    match op {
        "equals" => value.is_some_and(|v| names.iter().any(|n| n == v)),
        "does_not_equal" => value.is_none_or(|v| names.iter().all(|n| n != v)),
        "is_empty" => value.is_none(),
        "is_not_empty" => value.is_some(),
        _ => false,
    }
}

/// The names or ids a list-valued property holds.
fn members(kind: &str, value: &Value) -> Vec<String> {
    let field = if kind == "multi_select" { "name" } else { "id" };
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i[field].as_str().map(str::to_owned))
        .collect()
}

fn contains_matches(op: &str, operand: Option<&str>, members: &[String]) -> bool {
    let has = |o: &str| members.iter().any(|m| m == o);
    match (op, operand) {
        ("contains", Some(o)) => has(o),
        ("does_not_contain", Some(o)) => !has(o),
        ("is_empty", _) => members.is_empty(),
        ("is_not_empty", _) => !members.is_empty(),
        _ => false,
    }
}
