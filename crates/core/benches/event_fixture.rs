//! The one event the core benchmarks time, shared by the native criterion bench
//! (`benches/event.rs`) and the bench-only component (`xtask/bench/core-wasm`), which includes
//! this file with `#[path]`: both measure exactly the same inputs and the same work.
//!
//! The work per event is what the edge does before it touches Notion: verify the Standard
//! Webhooks signature, parse and validate the body, and map the event onto the data source's
//! properties (the schema is already parsed, as the edge's cache holds it).

use nexus_core::signature::{SignatureHeaders, sign_standard, verify};
use nexus_core::{EdgeConfig, Event, Schema, Secret, notion::page_properties};

/// The hook secret (Standard Webhooks form).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The Agent Activity Hub data source id (the emulator's).
pub const DATA_SOURCE: &str = "7163aa38-f3d9-444b-9674-bde61868bd2b";
/// "Now" for the signature's timestamp window: 2025-10-01T12:00:00Z.
pub const NOW_SECS: i64 = 1_759_320_000;
const WEBHOOK_ID: &str = "0199a0c2-6c00-7000-8000-000000000001";

/// The Agent Activity Hub as `GET /v1/data_sources/{id}` answers it (CONTRACT 8).
const SCHEMA_JSON: &str = r#"{
  "object": "data_source",
  "id": "7163aa38-f3d9-444b-9674-bde61868bd2b",
  "title": [{"type": "text", "text": {"content": "Agent Activity Hub", "link": null}, "plain_text": "Agent Activity Hub"}],
  "properties": {
    "Session ID": {"id": "title", "name": "Session ID", "type": "title", "title": {}},
    "Agent Name": {"id": "a%3Bn", "name": "Agent Name", "type": "select", "select": {"options": [
      {"id": "o1", "name": "planner", "color": "default"}, {"id": "o2", "name": "coder", "color": "default"}]}},
    "Status": {"id": "s%3Bt", "name": "Status", "type": "select", "select": {"options": [
      {"id": "s1", "name": "In Progress", "color": "blue"}, {"id": "s2", "name": "Completed", "color": "green"},
      {"id": "s3", "name": "Blocked", "color": "red"}, {"id": "s4", "name": "Failed", "color": "red"},
      {"id": "s5", "name": "Cancelled", "color": "gray"}]}},
    "Start Time": {"id": "t%3B1", "name": "Start Time", "type": "date", "date": {}},
    "End Time": {"id": "t%3B2", "name": "End Time", "type": "date", "date": {}},
    "Duration (Minutes)": {"id": "d%3Bm", "name": "Duration (Minutes)", "type": "number", "number": {"format": "number"}},
    "Work Description": {"id": "w%3Bd", "name": "Work Description", "type": "rich_text", "rich_text": {}},
    "Files Created / Updated": {"id": "f%3Bc", "name": "Files Created / Updated", "type": "number", "number": {"format": "number"}},
    "Lines Generated": {"id": "l%3Bg", "name": "Lines Generated", "type": "number", "number": {"format": "number"}},
    "Deliverables": {"id": "d%3Bl", "name": "Deliverables", "type": "rich_text", "rich_text": {}},
    "Next Steps": {"id": "n%3Bs", "name": "Next Steps", "type": "rich_text", "rich_text": {}},
    "Performance Metrics": {"id": "p%3Bm", "name": "Performance Metrics", "type": "rich_text", "rich_text": {}},
    "Related Notion Items": {"id": "r%3Bn", "name": "Related Notion Items", "type": "relation", "relation": {
      "data_source_id": "7163aa38-f3d9-444b-9674-bde61868bd2b", "type": "single_property", "single_property": {}}},
    "Event ID": {"id": "e%3Bi", "name": "Event ID", "type": "rich_text", "rich_text": {}}
  }
}"#;

/// A typical `SubagentStop` event: every field set, a description of about 1,300 characters
/// with some non-ASCII text.
pub fn event_body() -> Vec<u8> {
    let description = "Refactored the signature module so both schemes share one constant-time \
        comparison; added tests for the timestamp window, rotated secrets and malformed headers. \
        Ünïcödé and 日本語 and emoji 🚀 are kept whole. "
        .repeat(6);
    format!(
        r#"{{"eventId":"{WEBHOOK_ID}","sessionId":"bench-session-0001","agentName":"coder",
"status":"Completed","startTime":"2025-10-01T11:20:00Z","endTime":"2025-10-01T11:58:30Z",
"workDescription":{description:?},"filesCreated":3,"filesUpdated":7,"linesGenerated":412,
"deliverables":["crates/core/src/signature.rs","crates/core/tests/signature.rs"],
"nextSteps":["Review the rotation docs","Ship it"],
"performanceMetrics":{{"tokens":18234,"toolCalls":41}},
"relatedNotionItems":["https://www.notion.so/acme/Spec-1c2f5e7c9b3d4c8ea6f01d2e3f4a5b6c"]}}"#
    )
    .into_bytes()
}

/// Everything one verify + validate + map needs, prepared once.
pub struct Fixture {
    config: EdgeConfig,
    schema: Schema,
    body: Vec<u8>,
    timestamp: String,
    signature: String,
}

impl Fixture {
    /// The fixture: edge configuration, parsed schema, signed body.
    pub fn new() -> Fixture {
        let config = EdgeConfig::from_variables(|name| match name {
            "webhooksecret" => Some(SECRET.to_string()),
            "notionapikey" => Some("ntn_bench_token".to_string()),
            "notiondatasource" => Some(DATA_SOURCE.to_string()),
            _ => None,
        })
        .expect("the fixture's variables are valid");
        let schema = Schema::from_data_source(SCHEMA_JSON.as_bytes()).expect("the schema parses");
        let body = event_body();
        let secret = Secret::parse(SECRET).expect("the secret parses");
        let signature = sign_standard(&secret, WEBHOOK_ID, NOW_SECS, &body);
        Fixture {
            config,
            schema,
            body,
            timestamp: NOW_SECS.to_string(),
            signature,
        }
    }
}

/// Verify, validate, map: returns the number of properties written (so nothing is optimised
/// away). Panics if the fixture stops verifying or mapping, so a broken bench cannot look fast.
pub fn verify_validate_map(f: &Fixture) -> usize {
    let headers = SignatureHeaders {
        notion_signature: None,
        webhook_id: Some(WEBHOOK_ID),
        webhook_timestamp: Some(&f.timestamp),
        webhook_signature: Some(&f.signature),
    };
    verify(
        &headers,
        &f.body,
        &f.config.secrets,
        NOW_SECS,
        &f.config.policy,
    )
    .expect("the fixture's signature verifies");
    let event = Event::parse(&f.body).expect("the fixture's event is valid");
    let mapped = page_properties(&event, &f.schema, &f.config.property_map)
        .expect("the fixture's event maps");
    mapped.properties.len()
}
