//! What the edge's answer to a hook or processor delivery means for the queued entry
//! (CONTRACT 5), and the headers that sign such a delivery (CONTRACT 4).
//!
//! Shared by every sender (`nexus hook`, the queue processor) so that they retry, give up and
//! sign the same way: retry 503 and network failures, never 400/401/413/422.

use serde_json::Value;

use crate::signature::{Secret, sign_seed, sign_standard};

/// What the edge's answer means for the entry.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeOutcome {
    /// 2xx: the page exists.
    Synced {
        /// HTTP status.
        status: u16,
        /// `pageId` of the answer.
        page_id: Option<String>,
        /// `pageUrl` of the answer.
        page_url: Option<String>,
        /// Whether the edge had already processed this `webhook-id`.
        duplicate: bool,
    },
    /// 400, 401, 413, 422: refused for good; the entry becomes a dead letter.
    Refused {
        /// HTTP status.
        status: u16,
        /// The edge's error code and message.
        reason: String,
    },
    /// Anything else (503, 5xx, network): the entry stays pending.
    Retry {
        /// HTTP status, when an answer came.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// The edge's `retryAfterSeconds` (or `retry-after`), when it gave one.
        retry_after_secs: Option<u64>,
    },
}

/// The four headers of a signed delivery: both schemes, signed now. `event_id` is the
/// `webhook-id`, so a retry after a lost answer is the same delivery to the edge; the timestamp
/// is fresh on every attempt, so a retry hours later still verifies.
pub fn signed_headers(
    secret: &Secret,
    event_id: &str,
    now_secs: i64,
    body: &[u8],
) -> [(&'static str, String); 4] {
    [
        ("notion-signature", sign_seed(secret, body)),
        ("webhook-id", event_id.to_string()),
        ("webhook-timestamp", now_secs.to_string()),
        (
            "webhook-signature",
            sign_standard(secret, event_id, now_secs, body),
        ),
    ]
}

/// Maps an answer (status and body) to an outcome.
pub fn classify_edge_answer(status: u16, body: &[u8]) -> EdgeOutcome {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
    if (200..300).contains(&status) {
        return EdgeOutcome::Synced {
            status,
            page_id: text("pageId"),
            page_url: text("pageUrl"),
            duplicate: json
                .get("duplicate")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
    }
    let reason = reason(status, &json);
    match status {
        400 | 401 | 413 | 422 => EdgeOutcome::Refused { status, reason },
        _ => EdgeOutcome::Retry {
            status: Some(status),
            error: reason,
            retry_after_secs: json.get("retryAfterSeconds").and_then(Value::as_u64),
        },
    }
}

/// "HTTP 400 invalid_payload: 1 field is invalid: status (status is required)".
fn reason(status: u16, json: &Value) -> String {
    let mut reason = format!("HTTP {status}");
    if let Some(code) = json.get("error").and_then(Value::as_str) {
        reason.push_str(&format!(" {code}"));
    }
    if let Some(msg) = json.get("message").and_then(Value::as_str) {
        reason.push_str(&format!(": {msg}"));
    }
    let fields: Vec<String> = json
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            Some(format!(
                "{} {}",
                f.get("field")?.as_str()?,
                f.get("problem")?.as_str()?
            ))
        })
        .collect();
    if !fields.is_empty() {
        reason.push_str(&format!(" ({})", fields.join("; ")));
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{Secrets, SignatureHeaders, Verified, VerifyPolicy, verify};

    #[test]
    fn classification_follows_contract_5() {
        let ok = classify_edge_answer(
            200,
            br#"{"success":true,"pageId":"p","pageUrl":"u","duplicate":true}"#,
        );
        assert_eq!(
            ok,
            EdgeOutcome::Synced {
                status: 200,
                page_id: Some("p".into()),
                page_url: Some("u".into()),
                duplicate: true
            }
        );
        for s in [400, 401, 413, 422] {
            assert!(
                matches!(classify_edge_answer(s, b"{}"), EdgeOutcome::Refused { .. }),
                "{s}"
            );
        }
        for s in [404, 429, 500, 503] {
            assert!(
                matches!(
                    classify_edge_answer(s, b"not json"),
                    EdgeOutcome::Retry { .. }
                ),
                "{s}"
            );
        }
        let refused = classify_edge_answer(
            400,
            br#"{"error":"invalid_payload","message":"1 field","fields":[{"field":"status","problem":"required"}]}"#,
        );
        assert_eq!(
            refused,
            EdgeOutcome::Refused {
                status: 400,
                reason: "HTTP 400 invalid_payload: 1 field (status required)".into()
            }
        );
        let busy = classify_edge_answer(
            503,
            br#"{"success":false,"error":"notion_unavailable","retryAfterSeconds":7}"#,
        );
        assert_eq!(
            busy,
            EdgeOutcome::Retry {
                status: Some(503),
                error: "HTTP 503 notion_unavailable".into(),
                retry_after_secs: Some(7)
            }
        );
    }

    #[test]
    fn signed_headers_verify_with_either_scheme() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let secrets = Secrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let headers = signed_headers(&secret, "evt-1", 1_000, b"{}");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        let policy = VerifyPolicy::default();
        let standard = SignatureHeaders {
            notion_signature: None,
            webhook_id: get("webhook-id"),
            webhook_timestamp: get("webhook-timestamp"),
            webhook_signature: get("webhook-signature"),
        };
        assert_eq!(
            verify(&standard, b"{}", &secrets, 1_000, &policy),
            Ok(Verified::Standard {
                webhook_id: "evt-1".into(),
                timestamp: 1_000
            })
        );
        let seed = SignatureHeaders {
            notion_signature: get("notion-signature"),
            ..Default::default()
        };
        assert_eq!(
            verify(&seed, b"{}", &secrets, 1_000, &policy),
            Ok(Verified::Seed)
        );
    }
}
