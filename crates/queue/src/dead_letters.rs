//! Dead letters: events refused for good (400, 401, 413, 422) or past the attempt limit, kept
//! whole in their own JSON Lines file for a person to inspect and replay. The file only grows:
//! compaction never touches it, and an entry listed here is dead whatever its receipts say.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of the dead-letter file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The entry's event id.
    pub event_id: String,
    /// When the entry was first queued.
    pub enqueued_at: String,
    /// When it was given up.
    pub dead_at: String,
    /// Why: the edge's error, or the attempt limit.
    pub reason: String,
    /// The edge's answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Delivery attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// The event itself.
    pub event: Value,
}
