//! The agent activity event of CONTRACT 3: what the hook sends and the edge validates.
//!
//! Validation reports every problem at once, each naming its camelCase field, so a hook author
//! fixes a payload in one round. Whether `status` is an allowed option depends on the data
//! source's schema and is decided in the Notion mapping, not here.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event_id;
use crate::page_id::parse_page_id;
pub use crate::timestamp::Timestamp;

/// The statuses every data source accepts (its Status property may define more).
pub const KNOWN_STATUSES: [&str; 5] =
    ["In Progress", "Completed", "Blocked", "Failed", "Cancelled"];

/// One agent activity event, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event's own id (the hook sets a UUIDv7 or ULID); 1..128 characters.
    pub event_id: Option<String>,
    /// The agent session; one Notion page per session. 1..200 characters.
    pub session_id: String,
    /// The agent's name; 1..100 characters.
    pub agent_name: String,
    /// The status as sent; checked against the schema when mapped.
    pub status: String,
    /// When the work started.
    pub start_time: Option<Timestamp>,
    /// When the work ended; never before `start_time`.
    pub end_time: Option<Timestamp>,
    /// Minutes spent, >= 0.
    pub duration_minutes: Option<f64>,
    /// Free text of any length.
    pub work_description: Option<String>,
    /// Files created.
    pub files_created: Option<u64>,
    /// Files updated.
    pub files_updated: Option<u64>,
    /// Lines of code or text generated.
    pub lines_generated: Option<u64>,
    /// Deliverables, one item each (empty: absent).
    pub deliverables: Vec<String>,
    /// Next steps, one item each (empty: absent).
    pub next_steps: Vec<String>,
    /// Metrics as text; a JSON object arrives as its compact JSON text.
    pub performance_metrics: Option<String>,
    /// Related pages as sent (ids or Notion URLs), each checked to name a page.
    pub related_notion_items: Vec<String>,
}

/// Why a request body is not a valid event: a summary and one entry per bad field.
///
/// Serializes as `{"message": ..., "fields": [{"field": ..., "problem": ...}]}`, the part of the
/// 400 answer of CONTRACT 5 after `success` and `error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidPayload {
    /// E.g. "2 fields are invalid: sessionId, status".
    pub message: String,
    /// Every problem found, in field order.
    pub fields: Vec<FieldProblem>,
}

/// One field's problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The camelCase field, with an index for an array item (`relatedNotionItems[2]`).
    pub field: String,
    /// What is wrong, e.g. "must be a string".
    pub problem: String,
}

impl InvalidPayload {
    /// A payload error summarising `fields` ("1 field is invalid: status").
    pub fn from_fields(fields: Vec<FieldProblem>) -> InvalidPayload {
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        let message = match names.len() {
            1 => format!("1 field is invalid: {}", names[0]),
            n => format!("{n} fields are invalid: {}", names.join(", ")),
        };
        InvalidPayload { message, fields }
    }

    fn not_an_object() -> InvalidPayload {
        InvalidPayload {
            message: "body is not a JSON object".to_string(),
            fields: Vec::new(),
        }
    }
}

impl fmt::Display for InvalidPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidPayload {}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Collects problems while the fields are read one by one.
struct Reader<'a> {
    object: &'a Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl<'a> Reader<'a> {
    /// The field's value; JSON `null` counts as absent, as PowerShell's `ConvertTo-Json` writes
    /// nulls for unset optional fields.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, problem));
    }

    fn string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        let value = self.get(field)?;
        let Some(s) = value.as_str() else {
            self.problem(field, "must be a string");
            return None;
        };
        let len = s.chars().count();
        if len < min {
            self.problem(field, "must not be empty");
            None
        } else if len > max {
            self.problem(field, format!("must be at most {max} characters"));
            None
        } else {
            Some(s.to_string())
        }
    }

    fn required_string(&mut self, field: &str, max: usize) -> Option<String> {
        if self.get(field).is_none() {
            self.problem(field, "is required");
            return None;
        }
        self.string(field, 1, max)
    }

    fn time(&mut self, field: &str) -> Option<Timestamp> {
        let value = self.get(field)?;
        let Some(s) = value.as_str() else {
            self.problem(field, "must be a string");
            return None;
        };
        let parsed = Timestamp::parse(s);
        if parsed.is_none() {
            self.problem(
                field,
                "must be an RFC 3339 date-time, e.g. 2025-10-01T12:00:00Z",
            );
        }
        parsed
    }

    fn count(&mut self, field: &str) -> Option<u64> {
        let value = self.get(field)?;
        // 3.0 is accepted: some JSON writers emit every number with a fraction.
        let count = value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= 9_007_199_254_740_992.0)
                .map(|f| f as u64)
        });
        if count.is_none() {
            if value.is_number() {
                self.problem(field, "must be a whole number >= 0");
            } else {
                self.problem(field, "must be a number");
            }
        }
        count
    }

    fn list(&mut self, field: &str) -> Vec<String> {
        let Some(value) = self.get(field) else {
            return Vec::new();
        };
        match value {
            // A blank string is no item rather than one empty item.
            Value::String(s) if s.is_empty() => Vec::new(),
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => self.problem(&format!("{field}[{i}]"), "must be a string"),
                    }
                }
                out
            }
            _ => {
                self.problem(field, "must be a string or an array of strings");
                Vec::new()
            }
        }
    }
}

impl Event {
    /// An event with its three required fields and nothing else; set the others with struct
    /// update syntax (`Event { end_time, ..Event::new(..) }`).
    pub fn new(
        session_id: impl Into<String>,
        agent_name: impl Into<String>,
        status: impl Into<String>,
    ) -> Event {
        Event {
            event_id: None,
            session_id: session_id.into(),
            agent_name: agent_name.into(),
            status: status.into(),
            start_time: None,
            end_time: None,
            duration_minutes: None,
            work_description: None,
            files_created: None,
            files_updated: None,
            lines_generated: None,
            deliverables: Vec::new(),
            next_steps: Vec::new(),
            performance_metrics: None,
            related_notion_items: Vec::new(),
        }
    }

    /// Parses and validates a request body, reporting every problem at once.
    pub fn parse(body: &[u8]) -> Result<Event, InvalidPayload> {
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
            return Err(InvalidPayload::not_an_object());
        };
        let mut r = Reader {
            object: &object,
            problems: Vec::new(),
        };

        let event_id = r.string("eventId", 1, 128);
        let session_id = r.required_string("sessionId", 200);
        let agent_name = r.required_string("agentName", 100);
        let status = r.required_string("status", usize::MAX);
        let start_time = r.time("startTime");
        let end_time = r.time("endTime");
        if let (Some(start), Some(end)) = (&start_time, &end_time)
            && end.unix_millis() < start.unix_millis()
        {
            r.problem("endTime", "must not be before startTime");
        }
        let duration_minutes = match r.get("durationMinutes") {
            None => None,
            Some(v) => match v.as_f64() {
                Some(d) if d >= 0.0 => Some(d),
                Some(_) => {
                    r.problem("durationMinutes", "must be >= 0");
                    None
                }
                None => {
                    r.problem("durationMinutes", "must be a number");
                    None
                }
            },
        };
        let work_description = r.string("workDescription", 0, usize::MAX);
        let files_created = r.count("filesCreated");
        let files_updated = r.count("filesUpdated");
        let lines_generated = r.count("linesGenerated");
        let deliverables = r.list("deliverables");
        let next_steps = r.list("nextSteps");
        let performance_metrics = match r.get("performanceMetrics") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            Some(_) => {
                r.problem("performanceMetrics", "must be a string or a JSON object");
                None
            }
        };
        let related_notion_items = match r.get("relatedNotionItems") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let field = format!("relatedNotionItems[{i}]");
                    match item.as_str() {
                        Some(s) if parse_page_id(s).is_some() => out.push(s.to_string()),
                        Some(_) => r.problem(
                            &field,
                            "must be a Notion page id (32 hex digits) or a notion.so / \
                             notion.site URL ending in one",
                        ),
                        None => r.problem(&field, "must be a string"),
                    }
                }
                out
            }
            Some(_) => {
                r.problem(
                    "relatedNotionItems",
                    "must be an array of Notion page ids or URLs",
                );
                Vec::new()
            }
        };

        if !r.problems.is_empty() {
            return Err(InvalidPayload::from_fields(r.problems));
        }
        Ok(Event {
            event_id,
            session_id: session_id.expect("checked above"),
            agent_name: agent_name.expect("checked above"),
            status: status.expect("checked above"),
            start_time,
            end_time,
            duration_minutes,
            work_description,
            files_created,
            files_updated,
            lines_generated,
            deliverables,
            next_steps,
            performance_metrics,
            related_notion_items,
        })
    }

    /// The event as CONTRACT 3's camelCase JSON, absent fields left out; `parse` reads it back
    /// to an equal event. `performanceMetrics` is written as the text it is held as.
    pub fn to_json(&self) -> Vec<u8> {
        let mut o = Map::new();
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_string(), v);
        };
        if let Some(v) = &self.event_id {
            put("eventId", v.as_str().into());
        }
        put("sessionId", self.session_id.as_str().into());
        put("agentName", self.agent_name.as_str().into());
        put("status", self.status.as_str().into());
        if let Some(t) = &self.start_time {
            put("startTime", t.as_str().into());
        }
        if let Some(t) = &self.end_time {
            put("endTime", t.as_str().into());
        }
        if let Some(d) = self.duration_minutes {
            put("durationMinutes", d.into());
        }
        if let Some(v) = &self.work_description {
            put("workDescription", v.as_str().into());
        }
        if let Some(n) = self.files_created {
            put("filesCreated", n.into());
        }
        if let Some(n) = self.files_updated {
            put("filesUpdated", n.into());
        }
        if let Some(n) = self.lines_generated {
            put("linesGenerated", n.into());
        }
        if !self.deliverables.is_empty() {
            put("deliverables", self.deliverables.clone().into());
        }
        if !self.next_steps.is_empty() {
            put("nextSteps", self.next_steps.clone().into());
        }
        if let Some(v) = &self.performance_metrics {
            put("performanceMetrics", v.as_str().into());
        }
        if !self.related_notion_items.is_empty() {
            put(
                "relatedNotionItems",
                self.related_notion_items.clone().into(),
            );
        }
        Value::Object(o).to_string().into_bytes()
    }

    /// The event's time (CONTRACT 4): `endTime`, else `startTime`, else the time inside a UUIDv7
    /// or ULID `eventId`; `None` means the caller uses the arrival time.
    pub fn event_time_millis(&self) -> Option<i64> {
        self.end_time
            .as_ref()
            .or(self.start_time.as_ref())
            .map(Timestamp::unix_millis)
            .or_else(|| {
                self.event_id
                    .as_deref()
                    .and_then(event_id::timestamp_millis)
            })
    }

    /// `durationMinutes`, else the minutes from `startTime` to `endTime` rounded to 2 decimals,
    /// else `None`.
    pub fn effective_duration_minutes(&self) -> Option<f64> {
        if let Some(d) = self.duration_minutes {
            return Some(d);
        }
        let (start, end) = (self.start_time.as_ref()?, self.end_time.as_ref()?);
        let ms = end.unix_millis().saturating_sub(start.unix_millis());
        Some((ms as f64 / 600.0).round() / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Event, InvalidPayload> {
        Event::parse(v.to_string().as_bytes())
    }

    fn minimal() -> Value {
        json!({"sessionId": "s-1", "agentName": "planner", "status": "Completed"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = minimal();
        v[field] = value;
        v
    }

    fn problems(v: Value) -> Vec<(String, String)> {
        parse(v)
            .unwrap_err()
            .fields
            .into_iter()
            .map(|p| (p.field, p.problem))
            .collect()
    }

    fn one_problem(v: Value) -> (String, String) {
        let p = problems(v);
        assert_eq!(p.len(), 1, "{p:?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn a_minimal_event_parses() {
        let e = parse(minimal()).unwrap();
        assert_eq!(e.session_id, "s-1");
        assert_eq!(e.agent_name, "planner");
        assert_eq!(e.status, "Completed");
        assert_eq!(e.event_id, None);
        assert!(e.deliverables.is_empty());
    }

    #[test]
    fn a_full_event_parses() {
        let e = parse(json!({
            "eventId": "01989a6e-2b40-7abc-8def-0123456789ab",
            "sessionId": "s-1", "agentName": "planner", "status": "In Progress",
            "startTime": "2025-10-01T12:00:00Z", "endTime": "2025-10-01T12:30:00Z",
            "durationMinutes": 30.5, "workDescription": "did things",
            "filesCreated": 2, "filesUpdated": 3.0, "linesGenerated": 400,
            "deliverables": ["a", "b"], "nextSteps": "one\ntwo",
            "performanceMetrics": {"tokens": 5},
            "relatedNotionItems": ["598337872cf94fdf8782e53db20768a5"],
            "somethingElse": true
        }))
        .unwrap();
        assert_eq!(e.files_updated, Some(3));
        assert_eq!(e.deliverables, vec!["a", "b"]);
        assert_eq!(e.next_steps, vec!["one\ntwo"]);
        assert_eq!(e.performance_metrics.as_deref(), Some(r#"{"tokens":5}"#));
        assert_eq!(e.duration_minutes, Some(30.5));
        assert_eq!(e.related_notion_items.len(), 1);
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_refused_as_such() {
        for body in [&b"not json"[..], b"[1,2]", b"\"text\"", b"", b"\xff\xfe"] {
            let err = Event::parse(body).unwrap_err();
            assert_eq!(err.message, "body is not a JSON object");
            assert!(err.fields.is_empty());
        }
    }

    #[test]
    fn every_problem_is_reported_at_once_with_a_summary() {
        let err = parse(json!({"agentName": "a", "status": 5})).unwrap_err();
        assert_eq!(err.message, "2 fields are invalid: sessionId, status");
        assert_eq!(
            err.fields,
            vec![
                FieldProblem::new("sessionId", "is required"),
                FieldProblem::new("status", "must be a string"),
            ]
        );
        let one = parse(with("status", json!(""))).unwrap_err();
        assert_eq!(one.message, "1 field is invalid: status");
        assert_eq!(one.to_string(), one.message);
    }

    #[test]
    fn required_fields_missing_or_null() {
        let p = problems(json!({"sessionId": null}));
        assert_eq!(
            p,
            vec![
                ("sessionId".into(), "is required".into()),
                ("agentName".into(), "is required".into()),
                ("status".into(), "is required".into()),
            ]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // 200 two-byte characters are 400 bytes but within the limit.
        assert!(parse(with("sessionId", json!("é".repeat(200)))).is_ok());
        assert_eq!(
            one_problem(with("sessionId", json!("é".repeat(201)))),
            ("sessionId".into(), "must be at most 200 characters".into())
        );
        assert_eq!(
            one_problem(with("agentName", json!("a".repeat(101)))),
            ("agentName".into(), "must be at most 100 characters".into())
        );
        assert!(parse(with("eventId", json!("x".repeat(128)))).is_ok());
        assert_eq!(
            one_problem(with("eventId", json!("x".repeat(129)))),
            ("eventId".into(), "must be at most 128 characters".into())
        );
        assert_eq!(
            one_problem(with("eventId", json!(""))),
            ("eventId".into(), "must not be empty".into())
        );
    }

    #[test]
    fn wrong_types_say_what_is_expected() {
        assert_eq!(
            one_problem(with("agentName", json!(1))).1,
            "must be a string"
        );
        assert_eq!(
            one_problem(with("workDescription", json!([]))).1,
            "must be a string"
        );
        assert_eq!(
            one_problem(with("startTime", json!(17))).1,
            "must be a string"
        );
        assert_eq!(
            one_problem(with("durationMinutes", json!("5"))).1,
            "must be a number"
        );
        assert_eq!(
            one_problem(with("filesCreated", json!("5"))).1,
            "must be a number"
        );
    }

    #[test]
    fn times_must_be_rfc_3339_and_in_order() {
        assert_eq!(
            one_problem(with("startTime", json!("yesterday"))),
            (
                "startTime".into(),
                "must be an RFC 3339 date-time, e.g. 2025-10-01T12:00:00Z".into()
            )
        );
        let mut v = minimal();
        v["startTime"] = json!("2025-10-01T12:00:00Z");
        v["endTime"] = json!("2025-10-01T13:59:00+02:00");
        assert_eq!(
            one_problem(v.clone()),
            ("endTime".into(), "must not be before startTime".into())
        );
        v["endTime"] = json!("2025-10-01T12:00:00Z");
        assert!(parse(v).is_ok());
    }

    #[test]
    fn numbers_must_not_be_negative_and_counts_must_be_whole() {
        assert_eq!(
            one_problem(with("durationMinutes", json!(-1))),
            ("durationMinutes".into(), "must be >= 0".into())
        );
        assert_eq!(
            parse(with("durationMinutes", json!(0)))
                .unwrap()
                .duration_minutes,
            Some(0.0)
        );
        for bad in [json!(-1), json!(1.5), json!(-0.5)] {
            assert_eq!(
                one_problem(with("linesGenerated", bad)),
                (
                    "linesGenerated".into(),
                    "must be a whole number >= 0".into()
                )
            );
        }
    }

    #[test]
    fn lists_take_a_string_or_an_array_of_strings() {
        assert!(
            parse(with("deliverables", json!("")))
                .unwrap()
                .deliverables
                .is_empty()
        );
        assert_eq!(
            one_problem(with("nextSteps", json!({"a": 1}))),
            (
                "nextSteps".into(),
                "must be a string or an array of strings".into()
            )
        );
        assert_eq!(
            one_problem(with("deliverables", json!(["a", 2]))),
            ("deliverables[1]".into(), "must be a string".into())
        );
    }

    #[test]
    fn performance_metrics_take_a_string_or_an_object() {
        assert_eq!(
            parse(with("performanceMetrics", json!("fast")))
                .unwrap()
                .performance_metrics
                .as_deref(),
            Some("fast")
        );
        assert_eq!(
            one_problem(with("performanceMetrics", json!([1]))),
            (
                "performanceMetrics".into(),
                "must be a string or a JSON object".into()
            )
        );
    }

    #[test]
    fn related_items_name_the_bad_index() {
        let p = problems(with(
            "relatedNotionItems",
            json!([
                "598337872cf94fdf8782e53db20768a5",
                "https://www.notion.so/x-598337872cf94fdf8782e53db20768a5",
                "https://example.com/598337872cf94fdf8782e53db20768a5",
                7
            ]),
        ));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, "relatedNotionItems[2]");
        assert!(p[0].1.starts_with("must be a Notion page id"));
        assert_eq!(
            p[1],
            ("relatedNotionItems[3]".into(), "must be a string".into())
        );
        assert_eq!(
            one_problem(with(
                "relatedNotionItems",
                json!("598337872cf94fdf8782e53db20768a5")
            )),
            (
                "relatedNotionItems".into(),
                "must be an array of Notion page ids or URLs".into()
            )
        );
    }

    #[test]
    fn null_optional_fields_are_absent() {
        let e = parse(with("endTime", Value::Null)).unwrap();
        assert_eq!(e.end_time, None);
    }

    #[test]
    fn to_json_round_trips() {
        let full = parse(json!({
            "eventId": "e-1", "sessionId": "s-1", "agentName": "planner", "status": "Blocked",
            "startTime": "2025-10-01T12:00:00+02:00", "endTime": "2025-10-01T12:30:00+02:00",
            "durationMinutes": 30, "workDescription": "x\ny", "filesCreated": 1, "filesUpdated": 2,
            "linesGenerated": 3, "deliverables": "one", "nextSteps": ["a", "b"],
            "performanceMetrics": {"b": 1, "a": [2]},
            "relatedNotionItems": ["https://acme.notion.site/P-598337872cf94fdf8782e53db20768a5"]
        }))
        .unwrap();
        assert_eq!(Event::parse(&full.to_json()).unwrap(), full);
        let min = parse(minimal()).unwrap();
        assert_eq!(Event::parse(&min.to_json()).unwrap(), min);
        let json: Value = serde_json::from_slice(&min.to_json()).unwrap();
        assert_eq!(json, minimal());
    }

    #[test]
    fn event_time_prefers_end_then_start_then_the_id() {
        let mut e = parse(minimal()).unwrap();
        assert_eq!(e.event_time_millis(), None);
        e.event_id = Some("01ARZ3NDEKTSV4RRFFQ69G5FAV".into());
        assert_eq!(e.event_time_millis(), Some(1_469_922_850_259));
        e.start_time = Timestamp::parse("2025-10-01T12:00:00Z");
        assert_eq!(e.event_time_millis(), Some(1_759_320_000_000));
        e.end_time = Timestamp::parse("2025-10-01T12:01:00Z");
        assert_eq!(e.event_time_millis(), Some(1_759_320_060_000));
        e.start_time = None;
        e.event_id = Some("not-a-time-id".into());
        assert_eq!(e.event_time_millis(), Some(1_759_320_060_000));
    }

    #[test]
    fn duration_is_given_or_derived_to_two_decimals() {
        let mut e = parse(minimal()).unwrap();
        assert_eq!(e.effective_duration_minutes(), None);
        e.start_time = Timestamp::parse("2025-10-01T12:00:00Z");
        assert_eq!(e.effective_duration_minutes(), None);
        e.end_time = Timestamp::parse("2025-10-01T12:01:20Z");
        assert_eq!(e.effective_duration_minutes(), Some(1.33));
        e.duration_minutes = Some(7.0);
        assert_eq!(e.effective_duration_minutes(), Some(7.0));
    }

    #[test]
    fn invalid_payload_serializes_for_the_400_answer() {
        let err = parse(json!({})).unwrap_err();
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(
            v["message"],
            "3 fields are invalid: sessionId, agentName, status"
        );
        assert_eq!(
            v["fields"][0],
            json!({"field": "sessionId", "problem": "is required"})
        );
    }
}
