//! Receipts: the append-only log of delivery outcomes beside the main file.
//!
//! Each delivery attempt (by `nexus hook` or the queue processor) appends one line; the state of an
//! entry is the fold of its lines. Appending instead of rewriting the main file keeps every write
//! an append, so writers never race a rewrite; compaction folds the lines of the entries it keeps
//! into one line each.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What a delivery attempt (or a decision) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not delivered; retry later (network error, 503, 5xx...).
    Failed,
    /// Delivered: the edge answered 2xx.
    Synced,
    /// Given up: refused for good, or past the attempt limit. The dead-letter file holds the event.
    Dead,
    /// Moved back from the dead letters (`nexus queue retry-dead`): attempts start again at 0.
    Requeued,
}

/// One line of the receipts file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The entry this receipt is about.
    pub event_id: String,
    /// When it was recorded, RFC 3339 UTC.
    pub at: String,
    /// The outcome.
    pub outcome: Outcome,
    /// How many delivery attempts this line accounts for: 1 for an attempt, 0 for a decision
    /// without a request, N for a line folded by compaction.
    #[serde(default)]
    pub attempts: u32,
    /// HTTP status of the answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Why it failed (network error, or the edge's error code and message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The Notion page the edge wrote, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    /// After a failure: the earliest time the processor tries again (backoff), RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}

/// The folded delivery state of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The edge answered 2xx at least once. Sticky: a later failure (say, the processor retrying
    /// at the same time) does not undo a delivery.
    pub synced: bool,
    /// A receipt marked it dead (the dead-letter file is the authority; see `snapshot.rs`).
    pub dead: bool,
    /// The error of the latest unsuccessful attempt.
    pub last_error: Option<String>,
    /// HTTP status of the latest answer.
    pub last_http_status: Option<u16>,
    /// The page written, once synced.
    pub page_id: Option<String>,
    /// When the latest receipt was recorded.
    pub last_at: Option<String>,
    /// The earliest time of the next attempt, from the latest failure's backoff.
    pub next_attempt_at: Option<String>,
}

impl Delivery {
    /// Adds one receipt, in file order.
    pub fn apply(&mut self, r: &Receipt) {
        if r.outcome == Outcome::Requeued {
            // A fresh start: the history before it no longer counts against the limit.
            *self = Delivery {
                synced: self.synced,
                page_id: self.page_id.take(),
                ..Delivery::default()
            };
            self.last_at = Some(r.at.clone());
            return;
        }
        self.attempts = self.attempts.saturating_add(r.attempts);
        self.last_at = Some(r.at.clone());
        self.next_attempt_at = r.next_attempt_at.clone();
        if r.http_status.is_some() {
            self.last_http_status = r.http_status;
        }
        match r.outcome {
            Outcome::Requeued => {}
            Outcome::Synced => {
                self.synced = true;
                if r.page_id.is_some() {
                    self.page_id = r.page_id.clone();
                }
            }
            Outcome::Failed | Outcome::Dead => {
                if r.outcome == Outcome::Dead {
                    self.dead = true;
                }
                if r.error.is_some() {
                    self.last_error = r.error.clone();
                }
            }
        }
    }

    /// The single line that stands for this state after compaction (`None`: nothing to keep).
    pub(crate) fn folded(&self, event_id: &str) -> Option<Receipt> {
        if *self == Delivery::default() {
            return None;
        }
        let outcome = if self.synced {
            Outcome::Synced
        } else if self.dead {
            Outcome::Dead
        } else {
            Outcome::Failed
        };
        Some(Receipt {
            event_id: event_id.to_owned(),
            at: self.last_at.clone().unwrap_or_default(),
            outcome,
            attempts: self.attempts,
            http_status: self.last_http_status,
            error: self.last_error.clone(),
            page_id: self.page_id.clone(),
            next_attempt_at: self.next_attempt_at.clone(),
        })
    }
}

/// Folds receipt lines into one state per event id. Unparseable lines are skipped: a receipt is
/// advisory (losing one means at worst a redelivery the edge deduplicates), an entry is not.
pub(crate) fn fold(lines: &[Vec<u8>]) -> HashMap<String, Delivery> {
    let mut map: HashMap<String, Delivery> = HashMap::new();
    for line in lines {
        if let Ok(r) = serde_json::from_slice::<Receipt>(line) {
            map.entry(r.event_id.clone()).or_default().apply(&r);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(outcome: Outcome, attempts: u32, error: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&Receipt {
            event_id: "e".into(),
            at: "t".into(),
            outcome,
            attempts,
            http_status: None,
            error: error.map(str::to_owned),
            page_id: None,
            next_attempt_at: None,
        })
        .unwrap()
    }

    #[test]
    fn synced_is_sticky_and_attempts_add_up() {
        let m = fold(&[
            r(Outcome::Failed, 1, Some("down")),
            r(Outcome::Synced, 1, None),
            r(Outcome::Failed, 1, Some("late")),
        ]);
        let d = &m["e"];
        assert!(d.synced);
        assert_eq!(d.attempts, 3);
        assert_eq!(d.last_error.as_deref(), Some("late"));
    }
}
