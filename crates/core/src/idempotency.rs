//! What the edge remembers between deliveries, and the decisions it takes from it (CONTRACT 4).
//!
//! Three records live in the key-value store: a *receipt* per idempotency key (`webhook-id`, or
//! the seed scheme's `eventId`) holding the first outcome; a *session record* per `sessionId`
//! (its page and the time of the last event applied); and a *lease* per session that serialises
//! concurrent deliveries of one session. This module only encodes, decodes and decides; the
//! shell does the reads and writes.

use serde::{Deserialize, Serialize};

use crate::upsert::Action;

/// The first outcome of an applied event, answered again to every duplicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The page the event created or updated.
    pub page_id: String,
    /// Its URL.
    pub page_url: String,
    /// What the first delivery did.
    pub action: Action,
    /// The first delivery's warnings.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What the edge keeps per session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The session's page.
    pub page_id: String,
    /// Its URL.
    pub page_url: String,
    /// The time (Unix ms) of the newest event applied to the page.
    pub last_event_millis: i64,
    /// Fingerprint of the properties last written, to answer "unchanged" without a call.
    pub fingerprint: String,
}

/// What to do with an event, given what was applied before.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Apply it to Notion.
    Apply,
    /// Already applied under this idempotency key: answer the first outcome, do nothing else.
    Duplicate(Receipt),
    /// Older than the newest event applied to its session: change nothing.
    Older(SessionRecord),
}

/// Decides from the receipt of the event's key and its session's record.
///
/// An event exactly as old as the newest applied one is applied (two events of one instant both
/// count); only a strictly older one is held back, so an old "In Progress" never overwrites a
/// "Completed".
pub fn decide(
    receipt: Option<Receipt>,
    session: Option<&SessionRecord>,
    event_millis: i64,
) -> Decision {
    if let Some(receipt) = receipt {
        return Decision::Duplicate(receipt);
    }
    match session {
        Some(record) if event_millis < record.last_event_millis => Decision::Older(record.clone()),
        _ => Decision::Apply,
    }
}

/// Key of the receipt for an idempotency key.
pub fn receipt_key(idempotency_key: &str) -> String {
    format!("receipt:{idempotency_key}")
}

/// Key of a session's record.
pub fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Key of a session's lease.
pub fn lease_key(session_id: &str) -> String {
    format!("lease:{session_id}")
}

/// Key of a data source's cached schema.
pub fn schema_key(data_source_id: &str) -> String {
    format!("schema:{data_source_id}")
}

/// Encodes a record for the store.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize")
}

/// Decodes a stored record; an unreadable one (written by another version) counts as absent,
/// which at worst costs one Notion query.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: Option<&[u8]>) -> Option<T> {
    bytes.and_then(|b| serde_json::from_slice(b).ok())
}

/// A session lease: who holds it and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// A random id of the holder (one per request).
    pub owner: String,
    /// Unix ms after which another request may take it (a holder that crashed).
    pub expires_millis: i64,
}

/// What to do about a session lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Free or expired: swap this value in (compare-and-swap against what was read).
    Take(Vec<u8>),
    /// Held by another request: try again a little later.
    Wait,
}

/// Decides from the lease's current bytes (None or empty: free).
pub fn lease_decision(
    current: Option<&[u8]>,
    owner: &str,
    now_millis: i64,
    lease_millis: i64,
) -> LeaseDecision {
    let held = current
        .filter(|b| !b.is_empty())
        .and_then(|b| serde_json::from_slice::<Lease>(b).ok())
        .is_some_and(|lease| lease.owner != owner && lease.expires_millis > now_millis);
    if held {
        LeaseDecision::Wait
    } else {
        let lease = Lease {
            owner: owner.to_string(),
            expires_millis: now_millis + lease_millis,
        };
        LeaseDecision::Take(encode(&lease))
    }
}

/// Whether the lease bytes are `owner`'s (so releasing them frees the session for others).
pub fn lease_is_held_by(current: Option<&[u8]>, owner: &str) -> bool {
    current
        .and_then(|b| serde_json::from_slice::<Lease>(b).ok())
        .is_some_and(|lease| lease.owner == owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(last: i64) -> SessionRecord {
        SessionRecord {
            page_id: "p".into(),
            page_url: "u".into(),
            last_event_millis: last,
            fingerprint: "f".into(),
        }
    }

    fn receipt() -> Receipt {
        Receipt {
            page_id: "p".into(),
            page_url: "u".into(),
            action: Action::Created,
            warnings: vec![],
        }
    }

    #[test]
    fn a_known_key_is_a_duplicate_whatever_its_time() {
        assert_eq!(
            decide(Some(receipt()), Some(&record(0)), 10),
            Decision::Duplicate(receipt())
        );
        assert_eq!(
            decide(Some(receipt()), None, 10),
            Decision::Duplicate(receipt())
        );
    }

    #[test]
    fn an_older_event_changes_nothing_and_an_equal_or_newer_one_applies() {
        assert_eq!(
            decide(None, Some(&record(100)), 99),
            Decision::Older(record(100))
        );
        assert_eq!(decide(None, Some(&record(100)), 100), Decision::Apply);
        assert_eq!(decide(None, Some(&record(100)), 101), Decision::Apply);
        assert_eq!(decide(None, None, 0), Decision::Apply);
    }

    #[test]
    fn leases_are_taken_when_free_expired_or_own_and_waited_for_otherwise() {
        let take = |current: Option<&[u8]>, now| lease_decision(current, "me", now, 1000);
        assert!(matches!(take(None, 0), LeaseDecision::Take(_)));
        assert!(matches!(take(Some(b""), 0), LeaseDecision::Take(_)));
        let other = encode(&Lease {
            owner: "other".into(),
            expires_millis: 500,
        });
        assert_eq!(take(Some(&other), 499), LeaseDecision::Wait);
        assert!(matches!(take(Some(&other), 500), LeaseDecision::Take(_)));
        let mine = encode(&Lease {
            owner: "me".into(),
            expires_millis: 500,
        });
        assert!(matches!(take(Some(&mine), 0), LeaseDecision::Take(_)));
        assert!(matches!(take(Some(b"garbage"), 0), LeaseDecision::Take(_)));
        let LeaseDecision::Take(bytes) = take(None, 7) else {
            unreachable!()
        };
        let lease: Lease = decode(Some(&bytes)).unwrap();
        assert_eq!(
            lease,
            Lease {
                owner: "me".into(),
                expires_millis: 1007
            }
        );
        assert!(lease_is_held_by(Some(&bytes), "me"));
        assert!(!lease_is_held_by(Some(&bytes), "other"));
        assert!(!lease_is_held_by(None, "me"));
    }

    #[test]
    fn records_round_trip_and_unreadable_ones_count_as_absent() {
        let bytes = encode(&record(5));
        assert_eq!(decode::<SessionRecord>(Some(&bytes)), Some(record(5)));
        assert_eq!(decode::<SessionRecord>(Some(b"{")), None);
        assert_eq!(decode::<SessionRecord>(None), None);
        assert_eq!(receipt_key("a"), "receipt:a");
        assert_eq!(session_key("s"), "session:s");
        assert_eq!(lease_key("s"), "lease:s");
        assert_eq!(schema_key("d"), "schema:d");
    }
}
