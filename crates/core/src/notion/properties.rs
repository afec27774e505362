//! From an event to Notion page property values, formatted for the data source's real types.
//!
//! The writer never trusts the default map to match the data source: each value is formatted for
//! the type the schema declares, and a property the data source lacks (or a value its type cannot
//! hold) becomes a warning in the answer, never a failure. Only `status` can fail here, because a
//! page with a status the data source does not offer would be refused by Notion anyway.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::schema::{Property, PropertyKind, Schema};
use crate::event::{Event, FieldProblem, InvalidPayload, KNOWN_STATUSES, Timestamp};
use crate::page_id::parse_page_id;

/// Notion's limit on one rich text item's `text.content`.
const PIECE_LIMIT: usize = 2000;
/// Notion's limit on the items of one rich text array.
const MAX_PIECES: usize = 100;
/// Room kept in the last piece for the truncation marker.
const MARKER_ROOM: usize = 64;
/// Longest select option name written (Notion's limit is unpublished; 100 is the figure cited).
const MAX_OPTION_CHARS: usize = 100;
/// Notion's limit on relation and multi_select arrays, and on URL length.
const MAX_RELATIONS: usize = 100;
const MAX_URL_CHARS: usize = 2000;

/// The event fields a [`PropertyMap`] can name, in the order they are written.
pub const MAPPED_FIELDS: [&str; 15] = [
    "sessionId",
    "agentName",
    "status",
    "startTime",
    "endTime",
    "durationMinutes",
    "workDescription",
    "filesCreated",
    "filesUpdated",
    "linesGenerated",
    "deliverables",
    "nextSteps",
    "performanceMetrics",
    "relatedNotionItems",
    "eventId",
];

/// Which property each event field goes to (CONTRACT 3's names by default).
///
/// `filesCreated` and `filesUpdated` share one property that holds their sum, so the map keeps a
/// single entry for both: overriding either moves both, and overriding both with different names
/// is an error. A field mapped to JSON `null` is never written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyMap {
    /// Keyed by field; `filesUpdated` is stored under `filesCreated`.
    names: BTreeMap<&'static str, Option<String>>,
}

impl Default for PropertyMap {
    fn default() -> Self {
        let pairs = [
            ("sessionId", "Session ID"),
            ("agentName", "Agent Name"),
            ("status", "Status"),
            ("startTime", "Start Time"),
            ("endTime", "End Time"),
            ("durationMinutes", "Duration (Minutes)"),
            ("workDescription", "Work Description"),
            ("filesCreated", "Files Created / Updated"),
            ("linesGenerated", "Lines Generated"),
            ("deliverables", "Deliverables"),
            ("nextSteps", "Next Steps"),
            ("performanceMetrics", "Performance Metrics"),
            ("relatedNotionItems", "Related Notion Items"),
            ("eventId", "Event ID"),
        ];
        PropertyMap {
            names: pairs
                .into_iter()
                .map(|(f, n)| (f, Some(n.to_string())))
                .collect(),
        }
    }
}

fn map_key(field: &str) -> Option<&'static str> {
    let field = if field == "filesUpdated" {
        "filesCreated"
    } else {
        field
    };
    MAPPED_FIELDS.iter().copied().find(|f| *f == field)
}

impl PropertyMap {
    /// The default map with the overrides of the `propertymap` variable: a JSON object from
    /// field to property name (or `null` to never write the field). The error names every
    /// unknown field and bad value.
    pub fn with_overrides(json: &str) -> Result<PropertyMap, String> {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(json) else {
            return Err(
                "propertymap must be a JSON object from event field to property name".into(),
            );
        };
        let mut map = PropertyMap::default();
        let mut unknown = Vec::new();
        let mut bad = Vec::new();
        for (field, value) in &o {
            let Some(key) = map_key(field) else {
                unknown.push(field.as_str());
                continue;
            };
            match value {
                Value::Null => {
                    map.names.insert(key, None);
                }
                Value::String(s) if !s.trim().is_empty() => {
                    map.names.insert(key, Some(s.clone()));
                }
                _ => bad.push(field.as_str()),
            }
        }
        unknown.sort_unstable();
        bad.sort_unstable();
        let mut errors = Vec::new();
        if !unknown.is_empty() {
            errors.push(format!(
                "propertymap names unknown fields: {} (known: {})",
                unknown.join(", "),
                MAPPED_FIELDS.join(", ")
            ));
        }
        if !bad.is_empty() {
            errors.push(format!(
                "propertymap values must be property names or null: {}",
                bad.join(", ")
            ));
        }
        if let (Some(c), Some(u)) = (o.get("filesCreated"), o.get("filesUpdated"))
            && c != u
        {
            errors.push(
                "propertymap: filesCreated and filesUpdated share one property (their sum); \
                 give them the same name"
                    .into(),
            );
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors.join("; "))
        }
    }

    /// The property name `field` is written to, if any.
    pub fn property_for(&self, field: &str) -> Option<&str> {
        self.names.get(map_key(field)?)?.as_deref()
    }
}

/// Page property values ready for `POST /v1/pages` or `PATCH /v1/pages/{id}`.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedProperties {
    /// Property name to Notion property value.
    pub properties: Map<String, Value>,
    /// What was skipped and why, for the answer's `warnings`.
    pub warnings: Vec<String>,
}

impl MappedProperties {
    /// SHA-256 (hex) of the properties as canonical JSON (keys sorted at every level): the same
    /// properties give the same fingerprint on every run and platform.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        canonical_json(&Value::Object(self.properties.clone()), &mut text);
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&o[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// An event field's value before it meets a property type.
enum Source<'a> {
    Text(&'a str),
    Items(&'a [String]),
    Date(&'a Timestamp),
    Number(f64),
    Relation(Vec<String>),
}

impl Source<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Source::Text(_) => "text",
            Source::Items(_) => "a list",
            Source::Date(_) => "a date",
            Source::Number(_) => "a number",
            Source::Relation(_) => "page links",
        }
    }

    fn text(&self) -> String {
        match self {
            Source::Text(s) => s.to_string(),
            Source::Items(items) => items.join("\n"),
            Source::Date(t) => t.as_str().to_string(),
            Source::Number(n) => number_text(*n),
            Source::Relation(ids) => ids.join("\n"),
        }
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Whole numbers go out as JSON integers (`5`, not `5.0`), as a person would type them.
fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// Rich text items for `text`: pieces of at most 2,000 characters and 2,000 UTF-16 units (Notion
/// counts JavaScript string length), never splitting a character; at most 100 pieces, the last
/// ending in a visible marker when text had to be dropped.
pub(crate) fn rich_text(text: &str) -> Vec<Value> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut units = 0;
    let mut consumed_chars = 0usize;
    let total_chars = text.chars().count();
    for c in text.chars() {
        if units + c.len_utf16() > PIECE_LIMIT {
            pieces.push(std::mem::take(&mut current));
            units = 0;
            if pieces.len() == MAX_PIECES {
                break;
            }
        }
        current.push(c);
        units += c.len_utf16();
        consumed_chars += 1;
    }
    if pieces.len() < MAX_PIECES {
        if !current.is_empty() {
            pieces.push(current);
        }
    } else {
        // Text remains: cut the last piece to make room for the marker.
        let last = pieces.pop().expect("MAX_PIECES pieces");
        let mut kept = String::new();
        let mut kept_units = 0;
        for c in last.chars() {
            if kept_units + c.len_utf16() > PIECE_LIMIT - MARKER_ROOM {
                break;
            }
            kept.push(c);
            kept_units += c.len_utf16();
        }
        let kept_chars_total = consumed_chars - last.chars().count() + kept.chars().count();
        let dropped = total_chars - kept_chars_total;
        kept.push_str(&format!("… [truncated: {dropped} more characters]"));
        pieces.push(kept);
    }
    pieces
        .into_iter()
        .map(|p| json!({"type": "text", "text": {"content": p}}))
        .collect()
}

/// A select option name: no commas (Notion refuses them; CONTRACT 3 turns them into spaces),
/// trimmed, at most 100 characters.
fn option_name(s: &str) -> String {
    let spaced = s.replace(',', " ");
    let trimmed: String = spaced.trim().chars().take(MAX_OPTION_CHARS).collect();
    trimmed.trim_end().to_string()
}

fn find_option<'o>(options: impl IntoIterator<Item = &'o str>, value: &str) -> Option<&'o str> {
    let value = value.trim();
    options
        .into_iter()
        .find(|o| o.eq_ignore_ascii_case(value) || o.to_lowercase() == value.to_lowercase())
}

/// Formats `src` for `prop`'s type; `Err` is why it cannot be written.
fn format_for(prop: &Property, src: &Source) -> Result<Value, String> {
    let mismatch = || {
        format!(
            "property \"{}\" ({}) cannot hold {}",
            prop.name,
            prop.kind.as_str(),
            src.describe()
        )
    };
    match &prop.kind {
        PropertyKind::Title => Ok(json!({"title": rich_text(&src.text())})),
        PropertyKind::RichText => Ok(json!({"rich_text": rich_text(&src.text())})),
        PropertyKind::Select => match src {
            Source::Items(_) | Source::Relation(_) => Err(mismatch()),
            _ => {
                let name = option_name(&src.text());
                if name.is_empty() {
                    return Err(format!(
                        "property \"{}\" cannot take an empty option",
                        prop.name
                    ));
                }
                Ok(json!({"select": {"name": name}}))
            }
        },
        PropertyKind::Status => match src {
            Source::Items(_) | Source::Relation(_) => Err(mismatch()),
            _ => {
                let text = src.text();
                match find_option(prop.options.iter().map(String::as_str), &text) {
                    Some(name) => Ok(json!({"status": {"name": name}})),
                    None => Err(format!(
                        "\"{}\" is not an option of status property \"{}\"",
                        text, prop.name
                    )),
                }
            }
        },
        PropertyKind::MultiSelect => {
            let names: Vec<String> = match src {
                Source::Items(items) => items.iter().map(|i| option_name(i)).collect(),
                Source::Relation(_) => return Err(mismatch()),
                _ => vec![option_name(&src.text())],
            };
            let mut unique: Vec<String> = Vec::new();
            for n in names {
                if !n.is_empty() && !unique.contains(&n) && unique.len() < MAX_RELATIONS {
                    unique.push(n);
                }
            }
            let options: Vec<Value> = unique.iter().map(|n| json!({"name": n})).collect();
            Ok(json!({"multi_select": options}))
        }
        PropertyKind::Date => match src {
            Source::Date(t) => Ok(json!({"date": {"start": t.as_str()}})),
            Source::Text(s) => match Timestamp::parse(s.trim()) {
                Some(t) => Ok(json!({"date": {"start": t.as_str()}})),
                None => Err(mismatch()),
            },
            _ => Err(mismatch()),
        },
        PropertyKind::Number => match src {
            Source::Number(n) => Ok(json!({"number": number_value(*n)})),
            _ => Err(mismatch()),
        },
        PropertyKind::Relation => match src {
            Source::Relation(ids) => Ok(json!({
                "relation": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()
            })),
            Source::Text(s) => match parse_page_id(s) {
                Some(id) => Ok(json!({"relation": [{"id": id}]})),
                None => Err(mismatch()),
            },
            _ => Err(mismatch()),
        },
        PropertyKind::Url => match src {
            Source::Text(s) if s.chars().count() <= MAX_URL_CHARS => Ok(json!({"url": s})),
            _ => Err(mismatch()),
        },
        PropertyKind::Checkbox => Err(mismatch()),
        PropertyKind::Other(t) => Err(format!(
            "property \"{}\" has type {t}, which nexus does not write",
            prop.name
        )),
    }
}

/// Builds the page properties for `event` (CONTRACT 3).
///
/// The title property always holds `sessionId`, the key pages are found by; other fields go where
/// `map` says, formatted for the property's type. Only fields present in the event are written,
/// so a PATCH keeps the rest. The one error is a `status` the data source does not offer: for a
/// `status` property the value must be one of its options; otherwise one of [`KNOWN_STATUSES`] or
/// an option of the property. Matching ignores case and writes the canonical spelling.
pub fn page_properties(
    event: &Event,
    schema: &Schema,
    map: &PropertyMap,
) -> Result<MappedProperties, InvalidPayload> {
    let mut out = MappedProperties {
        properties: Map::new(),
        warnings: Vec::new(),
    };
    // Which field filled each property, to report two fields aimed at one property.
    let mut filled_by: BTreeMap<String, &str> = BTreeMap::new();

    let title = schema.title_property();
    match title.and_then(|t| schema.property(t)) {
        Some(t) => {
            let value = format_for(t, &Source::Text(&event.session_id)).expect("title takes text");
            out.properties.insert(t.name.clone(), value);
            filled_by.insert(t.name.clone(), "sessionId");
        }
        None => out
            .warnings
            .push("the data source has no title property; sessionId is not written".into()),
    }

    let status = checked_status(event, schema, map)?;
    let files = match (event.files_created, event.files_updated) {
        (None, None) => None,
        (c, u) => Some(c.unwrap_or(0).saturating_add(u.unwrap_or(0)) as f64),
    };
    let related: Vec<String> = {
        let mut ids: Vec<String> = Vec::new();
        for id in event
            .related_notion_items
            .iter()
            .filter_map(|s| parse_page_id(s))
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > MAX_RELATIONS {
            out.warnings.push(format!(
                "relatedNotionItems has {} pages; only the first {MAX_RELATIONS} are linked",
                ids.len()
            ));
            ids.truncate(MAX_RELATIONS);
        }
        ids
    };
    let duration = event.effective_duration_minutes();

    let fields: Vec<(&str, &str, Option<Source>)> = vec![
        (
            "sessionId",
            "sessionId",
            Some(Source::Text(&event.session_id)),
        ),
        (
            "agentName",
            "agentName",
            Some(Source::Text(&event.agent_name)),
        ),
        ("status", "status", Some(Source::Text(&status))),
        (
            "startTime",
            "startTime",
            event.start_time.as_ref().map(Source::Date),
        ),
        (
            "endTime",
            "endTime",
            event.end_time.as_ref().map(Source::Date),
        ),
        (
            "durationMinutes",
            "durationMinutes",
            duration.map(Source::Number),
        ),
        (
            "workDescription",
            "workDescription",
            event.work_description.as_deref().map(Source::Text),
        ),
        (
            "filesCreated",
            "filesCreated/filesUpdated",
            files.map(Source::Number),
        ),
        (
            "linesGenerated",
            "linesGenerated",
            event.lines_generated.map(|n| Source::Number(n as f64)),
        ),
        (
            "deliverables",
            "deliverables",
            Some(&event.deliverables)
                .filter(|d| !d.is_empty())
                .map(|d| Source::Items(d)),
        ),
        (
            "nextSteps",
            "nextSteps",
            Some(&event.next_steps)
                .filter(|d| !d.is_empty())
                .map(|d| Source::Items(d)),
        ),
        (
            "performanceMetrics",
            "performanceMetrics",
            event.performance_metrics.as_deref().map(Source::Text),
        ),
        (
            "relatedNotionItems",
            "relatedNotionItems",
            Some(related)
                .filter(|r| !r.is_empty())
                .map(Source::Relation),
        ),
        (
            "eventId",
            "eventId",
            event.event_id.as_deref().map(Source::Text),
        ),
    ];

    for (field, label, source) in fields {
        let Some(source) = source else { continue };
        let Some(name) = map.property_for(field) else {
            continue;
        };
        let Some(prop) = schema.property(name) else {
            // sessionId already sits in the title; a missing extra copy is not worth a warning.
            if field != "sessionId" {
                out.warnings.push(format!(
                    "property \"{name}\" is not in the data source; field {label} skipped"
                ));
            }
            continue;
        };
        if let Some(previous) = filled_by.get(&prop.name) {
            if !(field == "sessionId" && *previous == "sessionId") {
                out.warnings.push(format!(
                    "property \"{}\" already holds field {previous}; field {label} skipped",
                    prop.name
                ));
            }
            continue;
        }
        match format_for(prop, &source) {
            Ok(value) => {
                out.properties.insert(prop.name.clone(), value);
                filled_by.insert(prop.name.clone(), field);
            }
            Err(why) => out.warnings.push(format!("{why}; field {label} skipped")),
        }
    }
    Ok(out)
}

/// The event's status in the spelling the data source uses, or the 400 naming the options.
fn checked_status(
    event: &Event,
    schema: &Schema,
    map: &PropertyMap,
) -> Result<String, InvalidPayload> {
    let prop = map.property_for("status").and_then(|n| schema.property(n));
    let allowed: Vec<&str> = match prop {
        Some(p) if p.kind == PropertyKind::Status => p.options.iter().map(String::as_str).collect(),
        Some(p) => {
            let mut all: Vec<&str> = KNOWN_STATUSES.to_vec();
            for o in &p.options {
                if !all.iter().any(|a| a.eq_ignore_ascii_case(o)) {
                    all.push(o);
                }
            }
            all
        }
        None => KNOWN_STATUSES.to_vec(),
    };
    // Options of the property win over the built-in spelling.
    let own = prop.map(|p| p.options.iter().map(String::as_str).collect::<Vec<_>>());
    let found = own
        .and_then(|o| find_option(o, &event.status))
        .or_else(|| find_option(allowed.iter().copied(), &event.status));
    match found {
        Some(name) => Ok(name.to_string()),
        None => {
            let whose = match prop {
                Some(p) => format!(" (the options of property \"{}\")", p.name),
                None => String::new(),
            };
            Err(InvalidPayload::from_fields(vec![FieldProblem::new(
                "status",
                format!("must be one of: {}{whose}", allowed.join(", ")),
            )]))
        }
    }
}

/// A property value reduced to what a person sees, so a page read back from Notion and the
/// values about to be written compare equal when a PATCH would change nothing.
#[derive(Debug, PartialEq)]
enum Seen {
    Text(String),
    Name(Option<String>),
    Names(Vec<String>),
    Number(Option<f64>),
    Date(Option<(Instant, Option<Instant>)>),
    Ids(Vec<String>),
    Checkbox(bool),
    Url(Option<String>),
}

/// A date compared as an instant when it has a time, as text when it is a bare date.
#[derive(Debug, PartialEq)]
enum Instant {
    At(i64),
    Day(String),
}

fn instant(v: &Value) -> Option<Instant> {
    let s = v.as_str()?;
    Some(match Timestamp::parse(s) {
        Some(t) => Instant::At(t.unix_millis()),
        None => Instant::Day(s.to_string()),
    })
}

/// Reads a property value, either as written (`{"select": {...}}`) or as Notion returns it
/// (`{"id", "type": "select", "select": {...}}`). `None`: unreadable or incomplete (never equal).
fn seen(v: &Value) -> Option<Seen> {
    let o = v.as_object()?;
    let kind = match o.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None => o.keys().find(|k| k.as_str() != "id")?.as_str(),
    };
    let content = o.get(kind)?;
    Some(match kind {
        "title" | "rich_text" => Seen::Text(
            content
                .as_array()?
                .iter()
                .map(|item| {
                    item.get("plain_text")
                        .or_else(|| item.get("text").and_then(|t| t.get("content")))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                })
                .collect(),
        ),
        "select" | "status" => Seen::Name(
            content
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        "multi_select" => {
            let mut names: Vec<String> = content
                .as_array()?
                .iter()
                .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            names.sort();
            Seen::Names(names)
        }
        "number" => Seen::Number(content.as_f64()),
        "date" if content.is_null() => Seen::Date(None),
        "date" => Seen::Date(Some((
            instant(content.get("start")?)?,
            content.get("end").and_then(instant),
        ))),
        "relation" => {
            // Notion returns at most 25 links; beyond that the page cannot be compared.
            if o.get("has_more").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let mut ids: Vec<String> = content
                .as_array()?
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).and_then(parse_page_id))
                .collect();
            ids.sort();
            Seen::Ids(ids)
        }
        "checkbox" => Seen::Checkbox(content.as_bool()?),
        "url" => Seen::Url(content.as_str().map(str::to_string)),
        _ => return None,
    })
}

/// Whether the page's current `properties` already hold every mapped value.
pub(crate) fn page_has(page_properties: &Value, mapped: &MappedProperties) -> bool {
    mapped.properties.iter().all(|(name, wanted)| {
        let current = page_properties.get(name);
        match (current.and_then(seen), seen(wanted)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::schema::tests::hub;

    fn event(v: Value) -> Event {
        Event::parse(v.to_string().as_bytes()).unwrap()
    }

    fn minimal() -> Value {
        json!({"sessionId": "s-1", "agentName": "planner, v2", "status": "Completed"})
    }

    fn map(v: Value) -> MappedProperties {
        page_properties(&event(v), &hub(), &PropertyMap::default()).unwrap()
    }

    fn schema(props: Value) -> Schema {
        Schema::from_data_source(
            json!({"id": "ds", "properties": props})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    }

    fn text_of(v: &Value) -> String {
        seen(v)
            .map(|s| match s {
                Seen::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .unwrap()
    }

    #[test]
    fn a_minimal_event_fills_title_agent_and_status() {
        let m = map(minimal());
        assert_eq!(
            Value::Object(m.properties.clone()),
            json!({
                "Session ID": {"title": [{"type": "text", "text": {"content": "s-1"}}]},
                "Agent Name": {"select": {"name": "planner  v2"}},
                "Status": {"select": {"name": "Completed"}}
            })
        );
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn a_full_event_fills_every_default_property() {
        let mut v = minimal();
        v["eventId"] = json!("e-1");
        v["startTime"] = json!("2025-10-01T12:00:00+02:00");
        v["endTime"] = json!("2025-10-01T12:30:00+02:00");
        v["workDescription"] = json!("did it");
        v["filesCreated"] = json!(2);
        v["filesUpdated"] = json!(3);
        v["linesGenerated"] = json!(40);
        v["deliverables"] = json!(["a", "b"]);
        v["nextSteps"] = json!("c");
        v["performanceMetrics"] = json!({"tokens": 1});
        v["relatedNotionItems"] = json!([
            "https://www.notion.so/x-598337872cf94fdf8782e53db20768a5",
            "59833787-2cf9-4fdf-8782-e53db20768a5"
        ]);
        let m = map(v);
        let p = &m.properties;
        assert_eq!(
            p["Start Time"],
            json!({"date": {"start": "2025-10-01T12:00:00+02:00"}})
        );
        assert_eq!(p["Duration (Minutes)"], json!({"number": 30}));
        assert_eq!(p["Files Created / Updated"], json!({"number": 5}));
        assert_eq!(p["Lines Generated"], json!({"number": 40}));
        assert_eq!(text_of(&p["Deliverables"]), "a\nb");
        assert_eq!(text_of(&p["Next Steps"]), "c");
        assert_eq!(text_of(&p["Performance Metrics"]), r#"{"tokens":1}"#);
        assert_eq!(text_of(&p["Event ID"]), "e-1");
        assert_eq!(
            p["Related Notion Items"],
            json!({"relation": [{"id": "59833787-2cf9-4fdf-8782-e53db20768a5"}]})
        );
        assert_eq!(p.len(), 14);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn only_one_file_count_still_fills_the_sum() {
        let mut v = minimal();
        v["filesUpdated"] = json!(4);
        assert_eq!(
            map(v).properties["Files Created / Updated"],
            json!({"number": 4})
        );
    }

    #[test]
    fn a_missing_property_is_a_warning_not_an_error() {
        let s = schema(json!({
            "Name": {"id": "title", "type": "title", "title": {}},
            "Status": {"id": "s", "type": "select", "select": {"options": []}}
        }));
        let mut v = minimal();
        v["linesGenerated"] = json!(1);
        let m = page_properties(&event(v), &s, &PropertyMap::default()).unwrap();
        // The title holds sessionId whatever it is called.
        assert_eq!(text_of(&m.properties["Name"]), "s-1");
        assert_eq!(
            m.warnings,
            vec![
                "property \"Agent Name\" is not in the data source; field agentName skipped",
                "property \"Lines Generated\" is not in the data source; field linesGenerated skipped",
            ]
        );
    }

    #[test]
    fn a_data_source_without_title_is_reported() {
        let s = schema(json!({"Status": {"id": "s", "type": "select", "select": {}}}));
        let m = page_properties(&event(minimal()), &s, &PropertyMap::default()).unwrap();
        assert_eq!(
            m.warnings[0],
            "the data source has no title property; sessionId is not written"
        );
    }

    #[test]
    fn values_follow_the_real_property_types() {
        let s = schema(json!({
            "Session ID": {"id": "title", "type": "title", "title": {}},
            "Agent Name": {"id": "a", "type": "rich_text", "rich_text": {}},
            "Status": {"id": "s", "type": "status", "status": {"options": [{"name": "Completed"}]}},
            "Lines Generated": {"id": "l", "type": "rich_text", "rich_text": {}},
            "Work Description": {"id": "w", "type": "number", "number": {}},
            "Deliverables": {"id": "d", "type": "multi_select", "multi_select": {}},
            "Next Steps": {"id": "n", "type": "checkbox", "checkbox": {}},
            "Performance Metrics": {"id": "p", "type": "url", "url": {}},
            "Event ID": {"id": "e", "type": "formula", "formula": {}},
            "Start Time": {"id": "t", "type": "select", "select": {}},
            "End Time": {"id": "t2", "type": "number", "number": {}},
            "Related Notion Items": {"id": "r", "type": "rich_text", "rich_text": {}},
            "Duration (Minutes)": {"id": "du", "type": "date", "date": {}}
        }));
        let mut v = minimal();
        v["linesGenerated"] = json!(12);
        v["workDescription"] = json!("text");
        v["deliverables"] = json!(["x, y", "z", "z", " "]);
        v["nextSteps"] = json!("go");
        v["performanceMetrics"] = json!("https://example.com/m");
        v["eventId"] = json!("e-1");
        v["startTime"] = json!("2025-10-01T12:00:00Z");
        v["endTime"] = json!("2025-10-01T12:10:00Z");
        v["relatedNotionItems"] = json!(["598337872cf94fdf8782e53db20768a5"]);
        let m = page_properties(&event(v), &s, &PropertyMap::default()).unwrap();
        let p = &m.properties;
        assert_eq!(text_of(&p["Agent Name"]), "planner, v2");
        assert_eq!(p["Status"], json!({"status": {"name": "Completed"}}));
        assert_eq!(text_of(&p["Lines Generated"]), "12");
        assert_eq!(
            p["Deliverables"],
            json!({"multi_select": [{"name": "x  y"}, {"name": "z"}]})
        );
        assert_eq!(
            p["Performance Metrics"],
            json!({"url": "https://example.com/m"})
        );
        assert_eq!(
            p["Start Time"],
            json!({"select": {"name": "2025-10-01T12:00:00Z"}})
        );
        assert_eq!(
            text_of(&p["Related Notion Items"]),
            "59833787-2cf9-4fdf-8782-e53db20768a5"
        );
        assert!(!p.contains_key("Work Description"));
        assert!(!p.contains_key("Next Steps"));
        assert!(!p.contains_key("Event ID"));
        assert!(!p.contains_key("End Time"));
        assert!(!p.contains_key("Duration (Minutes)"));
        assert_eq!(
            m.warnings,
            vec![
                "property \"End Time\" (number) cannot hold a date; field endTime skipped",
                "property \"Duration (Minutes)\" (date) cannot hold a number; field durationMinutes skipped",
                "property \"Work Description\" (number) cannot hold text; field workDescription skipped",
                "property \"Next Steps\" (checkbox) cannot hold a list; field nextSteps skipped",
                "property \"Event ID\" has type formula, which nexus does not write; field eventId skipped",
            ]
        );
    }

    #[test]
    fn text_into_date_relation_status_and_long_urls() {
        let s = schema(json!({
            "T": {"id": "title", "type": "title", "title": {}},
            "Status": {"id": "s", "type": "select", "select": {}},
            "D": {"id": "d", "type": "date", "date": {}},
            "R": {"id": "r", "type": "relation", "relation": {}},
            "S": {"id": "st", "type": "status", "status": {"options": [{"name": "Open"}]}},
            "U": {"id": "u", "type": "url", "url": {}},
            "M": {"id": "m", "type": "multi_select", "multi_select": {}},
            "Sel": {"id": "sel", "type": "select", "select": {}}
        }));
        let overrides = json!({
            "workDescription": "D", "performanceMetrics": "R", "agentName": "S",
            "eventId": "U", "nextSteps": "M", "deliverables": "Sel",
            "sessionId": "T", "relatedNotionItems": "Sel", "linesGenerated": "M"
        });
        let pm = PropertyMap::with_overrides(&overrides.to_string()).unwrap();
        let mut v = minimal();
        v["workDescription"] = json!("2025-10-01T12:00:00Z");
        v["performanceMetrics"] = json!("https://www.notion.so/p-598337872cf94fdf8782e53db20768a5");
        v["agentName"] = json!("open");
        v["eventId"] = json!("e".repeat(128));
        v["nextSteps"] = json!("one step");
        v["deliverables"] = json!(["a"]);
        let m = page_properties(&event(v.clone()), &s, &pm).unwrap();
        let p = &m.properties;
        assert_eq!(p["D"], json!({"date": {"start": "2025-10-01T12:00:00Z"}}));
        assert_eq!(
            p["R"],
            json!({"relation": [{"id": "59833787-2cf9-4fdf-8782-e53db20768a5"}]})
        );
        assert_eq!(p["S"], json!({"status": {"name": "Open"}}));
        assert_eq!(p["U"], json!({"url": "e".repeat(128)}));
        assert_eq!(p["M"], json!({"multi_select": [{"name": "one step"}]}));
        assert!(!p.contains_key("Sel"));
        assert_eq!(
            m.warnings,
            vec!["property \"Sel\" (select) cannot hold a list; field deliverables skipped"]
        );

        v["workDescription"] = json!("not a date");
        v["performanceMetrics"] = json!("not a page");
        v["agentName"] = json!("Closed");
        v["linesGenerated"] = json!(3);
        v["nextSteps"] = Value::Null;
        v["deliverables"] = Value::Null;
        v["relatedNotionItems"] = json!(["598337872cf94fdf8782e53db20768a5"]);
        let m = page_properties(&event(v), &s, &pm).unwrap();
        assert_eq!(m.properties["M"], json!({"multi_select": [{"name": "3"}]}));
        assert_eq!(
            m.warnings,
            vec![
                "\"Closed\" is not an option of status property \"S\"; field agentName skipped",
                "property \"D\" (date) cannot hold text; field workDescription skipped",
                "property \"R\" (relation) cannot hold text; field performanceMetrics skipped",
                "property \"Sel\" (select) cannot hold page links; field relatedNotionItems skipped",
            ]
        );
    }

    #[test]
    fn an_empty_select_name_and_two_fields_on_one_property_are_warnings() {
        let pm = PropertyMap::with_overrides(
            r#"{"workDescription": "Agent Name", "eventId": "Session ID"}"#,
        )
        .unwrap();
        let mut v = minimal();
        v["agentName"] = json!(",,,");
        v["workDescription"] = json!("w");
        v["eventId"] = json!("e-1");
        let m = page_properties(&event(v), &hub(), &pm).unwrap();
        assert_eq!(
            m.warnings,
            vec![
                "property \"Agent Name\" cannot take an empty option; field agentName skipped",
                "property \"Session ID\" already holds field sessionId; field eventId skipped",
            ]
        );
        assert_eq!(m.properties["Agent Name"], json!({"select": {"name": "w"}}));
    }

    #[test]
    fn status_must_be_offered_by_the_data_source() {
        // A select Status takes the five known names in any case, and its own options.
        let mut v = minimal();
        v["status"] = json!("in progress");
        assert_eq!(
            map(v.clone()).properties["Status"],
            json!({"select": {"name": "In Progress"}})
        );
        v["status"] = json!("Paused");
        let err = page_properties(&event(v.clone()), &hub(), &PropertyMap::default()).unwrap_err();
        assert_eq!(err.message, "1 field is invalid: status");
        assert_eq!(
            err.fields[0].problem,
            "must be one of: In Progress, Completed, Blocked, Failed, Cancelled (the options of property \"Status\")"
        );
        let with_paused = schema(json!({
            "Session ID": {"id": "title", "type": "title", "title": {}},
            "Status": {"id": "s", "type": "select", "select": {"options": [{"name": "Paused"}, {"name": "completed"}]}}
        }));
        let m = page_properties(&event(v.clone()), &with_paused, &PropertyMap::default()).unwrap();
        assert_eq!(
            m.properties["Status"],
            json!({"select": {"name": "Paused"}})
        );
        // The data source's own spelling wins.
        v["status"] = json!("Completed");
        let m = page_properties(&event(v.clone()), &with_paused, &PropertyMap::default()).unwrap();
        assert_eq!(
            m.properties["Status"],
            json!({"select": {"name": "completed"}})
        );

        // A real status property accepts only its options.
        let real = schema(json!({
            "Session ID": {"id": "title", "type": "title", "title": {}},
            "Status": {"id": "s", "type": "status", "status": {"options": [{"name": "Done"}]}}
        }));
        let err = page_properties(&event(v.clone()), &real, &PropertyMap::default()).unwrap_err();
        assert_eq!(
            err.fields[0].problem,
            "must be one of: Done (the options of property \"Status\")"
        );
        v["status"] = json!("done");
        let m = page_properties(&event(v.clone()), &real, &PropertyMap::default()).unwrap();
        assert_eq!(m.properties["Status"], json!({"status": {"name": "Done"}}));

        // Without a Status property only the five known names pass, and the skip is reported.
        let none = schema(json!({"Session ID": {"id": "title", "type": "title", "title": {}}}));
        let err = page_properties(&event(v.clone()), &none, &PropertyMap::default()).unwrap_err();
        assert_eq!(
            err.fields[0].problem,
            "must be one of: In Progress, Completed, Blocked, Failed, Cancelled"
        );
        v["status"] = json!("Blocked");
        let m = page_properties(&event(v), &none, &PropertyMap::default()).unwrap();
        assert_eq!(
            m.warnings,
            vec![
                "property \"Agent Name\" is not in the data source; field agentName skipped",
                "property \"Status\" is not in the data source; field status skipped",
            ]
        );
    }

    #[test]
    fn long_text_is_cut_into_pieces_without_splitting_characters() {
        let text = "a".repeat(1999) + "😀" + &"b".repeat(10);
        let pieces = rich_text(&text);
        assert_eq!(pieces.len(), 2);
        let first = pieces[0]["text"]["content"].as_str().unwrap();
        assert_eq!(first.chars().count(), 1999);
        assert_eq!(
            pieces[1]["text"]["content"].as_str().unwrap(),
            "😀bbbbbbbbbb"
        );
        let exact = rich_text(&"x".repeat(4000));
        assert_eq!(exact.len(), 2);
        assert!(rich_text("").is_empty());
        // Emoji count two UTF-16 units each: 1,000 per piece.
        let emoji = rich_text(&"😀".repeat(2500));
        assert_eq!(emoji.len(), 3);
        assert_eq!(
            emoji[0]["text"]["content"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            1000
        );
    }

    #[test]
    fn text_beyond_100_pieces_ends_with_a_visible_marker() {
        let text = "y".repeat(200_000 + 500);
        let pieces = rich_text(&text);
        assert_eq!(pieces.len(), 100);
        let last = pieces[99]["text"]["content"].as_str().unwrap();
        assert!(
            last.ends_with("… [truncated: 564 more characters]"),
            "{last}"
        );
        assert!(last.encode_utf16().count() <= 2000);
        let kept: usize = pieces
            .iter()
            .map(|p| {
                p["text"]["content"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches("… [truncated: 564 more characters]")
                    .chars()
                    .count()
            })
            .sum();
        assert_eq!(kept + 564, 200_500);
        // Exactly 100 full pieces need no marker.
        let full = rich_text(&"z".repeat(200_000));
        assert_eq!(full.len(), 100);
        assert!(
            !full[99]["text"]["content"]
                .as_str()
                .unwrap()
                .contains("truncated")
        );
    }

    #[test]
    fn related_items_are_deduplicated_and_capped_at_100() {
        let ids: Vec<String> = (0..105).map(|i| format!("{i:032x}")).collect();
        let mut v = minimal();
        v["relatedNotionItems"] = json!(ids);
        let m = map(v);
        assert_eq!(
            m.properties["Related Notion Items"]["relation"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert_eq!(
            m.warnings,
            vec!["relatedNotionItems has 105 pages; only the first 100 are linked"]
        );
    }

    #[test]
    fn option_names_lose_commas_and_stay_under_100_characters() {
        assert_eq!(option_name(" a,b "), "a b");
        assert_eq!(option_name(&"n".repeat(150)).len(), 100);
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(2.5), "2.5");
    }

    #[test]
    fn the_map_takes_overrides_and_names_unknown_fields() {
        let m = PropertyMap::with_overrides(
            r#"{"sessionId": "Name", "filesUpdated": "Files", "eventId": null}"#,
        )
        .unwrap();
        assert_eq!(m.property_for("sessionId"), Some("Name"));
        assert_eq!(m.property_for("filesCreated"), Some("Files"));
        assert_eq!(m.property_for("filesUpdated"), Some("Files"));
        assert_eq!(m.property_for("eventId"), None);
        assert_eq!(m.property_for("status"), Some("Status"));
        assert_eq!(m.property_for("bogus"), None);
        let err = PropertyMap::with_overrides(r#"{"sesionId": "x", "foo": "y", "status": 3}"#)
            .unwrap_err();
        assert!(
            err.starts_with("propertymap names unknown fields: foo, sesionId (known: sessionId,"),
            "{err}"
        );
        assert!(
            err.ends_with("propertymap values must be property names or null: status"),
            "{err}"
        );
        let err = PropertyMap::with_overrides(r#"{"filesCreated": "A", "filesUpdated": "B"}"#)
            .unwrap_err();
        assert!(err.contains("share one property"), "{err}");
        assert!(
            PropertyMap::with_overrides(r#"{"filesCreated": "A", "filesUpdated": "A"}"#).is_ok()
        );
        assert!(
            PropertyMap::with_overrides("[]")
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(PropertyMap::with_overrides(r#"{"status": " "}"#).is_err());
    }

    #[test]
    fn the_fingerprint_is_stable_and_order_independent() {
        let a = map(minimal());
        let mut reordered = Map::new();
        for (k, v) in a.properties.iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
        let b = MappedProperties {
            properties: reordered,
            warnings: vec!["w".into()],
        };
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        let mut v = minimal();
        v["status"] = json!("Blocked");
        assert_ne!(map(v).fingerprint(), a.fingerprint());
        // Pinned: a change here changes every stored fingerprint.
        let tiny = MappedProperties {
            properties: json!({"b": [1, {"d": null, "c": "é"}], "a": true})
                .as_object()
                .unwrap()
                .clone(),
            warnings: vec![],
        };
        let mut text = String::new();
        canonical_json(&Value::Object(tiny.properties.clone()), &mut text);
        assert_eq!(text, r#"{"a":true,"b":[1,{"c":"é","d":null}]}"#);
    }

    #[test]
    fn a_page_read_back_matches_what_was_written() {
        let mut v = minimal();
        v["startTime"] = json!("2025-10-01T14:00:00+02:00");
        v["linesGenerated"] = json!(7);
        v["relatedNotionItems"] = json!(["598337872cf94fdf8782e53db20768a5"]);
        v["workDescription"] = json!("w");
        let m = map(v);
        let page = json!({
            "Session ID": {"id": "title", "type": "title", "title": [{"type": "text", "text": {"content": "s-1"}, "plain_text": "s-1"}]},
            "Agent Name": {"id": "a1", "type": "select", "select": {"id": "x", "name": "planner  v2", "color": "red"}},
            "Status": {"id": "s1", "type": "select", "select": {"name": "Completed"}},
            "Start Time": {"id": "t1", "type": "date", "date": {"start": "2025-10-01T12:00:00.000+00:00", "end": null, "time_zone": null}},
            "Lines Generated": {"id": "l1", "type": "number", "number": 7},
            "Work Description": {"id": "w1", "type": "rich_text", "rich_text": [{"plain_text": "w"}]},
            "Related Notion Items": {"id": "ri", "type": "relation", "relation": [{"id": "59833787-2cf9-4fdf-8782-e53db20768a5"}], "has_more": false},
            "Other": {"id": "o", "type": "checkbox", "checkbox": true}
        });
        assert!(page_has(&page, &m));
        let mut changed = page.clone();
        changed["Status"]["select"]["name"] = json!("Blocked");
        assert!(!page_has(&changed, &m));
        let mut missing = page.clone();
        missing.as_object_mut().unwrap().remove("Lines Generated");
        assert!(!page_has(&missing, &m));
        let mut more = page.clone();
        more["Related Notion Items"]["has_more"] = json!(true);
        assert!(!page_has(&more, &m));
        let mut later = page;
        later["Start Time"]["date"]["start"] = json!("2025-10-01T12:01:00.000+00:00");
        assert!(!page_has(&later, &m));
    }

    #[test]
    fn every_kind_is_read_for_comparison() {
        let same = |a: Value, b: Value| seen(&a).is_some() && seen(&a) == seen(&b);
        assert!(same(
            json!({"multi_select": [{"name": "b"}, {"name": "a"}]}),
            json!({"type": "multi_select", "multi_select": [{"name": "a"}, {"name": "b"}]})
        ));
        assert!(same(
            json!({"checkbox": true}),
            json!({"type": "checkbox", "checkbox": true})
        ));
        assert!(same(
            json!({"url": "u"}),
            json!({"type": "url", "url": "u"})
        ));
        assert!(same(
            json!({"status": {"name": "Done"}}),
            json!({"type": "status", "status": {"name": "Done"}})
        ));
        assert!(same(
            json!({"date": {"start": "2025-10-01"}}),
            json!({"type": "date", "date": {"start": "2025-10-01", "end": null}})
        ));
        assert!(same(
            json!({"date": null}),
            json!({"type": "date", "date": null})
        ));
        assert!(!same(
            json!({"date": {"start": "2025-10-01"}}),
            json!({"type": "date", "date": {"start": "2025-10-02"}})
        ));
        assert!(!same(
            json!({"select": {"name": "a"}}),
            json!({"type": "select", "select": null})
        ));
        assert_eq!(seen(&json!({"type": "formula", "formula": {}})), None);
        assert_eq!(seen(&json!("text")), None);
        assert_eq!(seen(&json!({"type": "checkbox", "checkbox": "yes"})), None);
    }
}
