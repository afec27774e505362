//! An entry: one line of the main file, one accepted event. The line is written once and never
//! changed; what happens to the event later is recorded in the receipts (`receipts.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One accepted event as the main file holds it: `{"eventId","enqueuedAt","event"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The event's id (also its `webhook-id` when delivered): the key of every receipt.
    pub event_id: String,
    /// When the entry was appended, RFC 3339 UTC.
    pub enqueued_at: String,
    /// The event exactly as it will be POSTed (CONTRACT 3, camelCase).
    pub event: Value,
}

impl Entry {
    /// The event's body as sent to the edge.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.event).expect("a JSON value always serialises")
    }

    /// A string field of the event, if present.
    pub fn event_str(&self, field: &str) -> Option<&str> {
        self.event.get(field).and_then(Value::as_str)
    }

    /// Parses a line of the main file. Seed lines without a top-level `eventId` fall back to the
    /// event's own `eventId`; a line with neither is not an entry this crate can track.
    pub(crate) fn parse_line(line: &[u8]) -> Option<Entry> {
        let mut v: Value = serde_json::from_slice(line).ok()?;
        let obj = v.as_object_mut()?;
        if !obj.contains_key("eventId") {
            let id = obj.get("event")?.get("eventId")?.clone();
            obj.insert("eventId".into(), id);
        }
        if !obj.contains_key("enqueuedAt") {
            let at = obj
                .get("timestamp")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            obj.insert("enqueuedAt".into(), at);
        }
        serde_json::from_value(v).ok()
    }

    pub(crate) fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry always serialises")
    }
}
