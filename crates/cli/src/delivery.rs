//! Sending one event to the edge: a signed `POST /api/NotionWebhook` and what its answer means
//! for the queue (CONTRACT 5: retry 503 and network failures, never 400/401/413/422).
//!
//! Both signature schemes go on every request (CONTRACT 4), signed at send time: the Standard
//! Webhooks timestamp is fresh on each attempt, and `webhook-id` is the event's id, so a retry
//! after a lost answer is recognised by the edge as the same delivery.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nexus_core::signature::{Secret, sign_seed, sign_standard};
use serde_json::Value;

/// The hook's budget for one POST, connection included (CONTRACT 7).
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the edge's answer means for the entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
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
    },
}

/// An agent whose every request (connect, send, answer) ends within `timeout`, and that hands
/// 4xx/5xx answers back instead of turning them into errors.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("nexus/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Signs and POSTs `body` once. `event_id` becomes `webhook-id`.
pub fn post_event(
    agent: &ureq::Agent,
    url: &str,
    secret: &Secret,
    event_id: &str,
    body: &[u8],
) -> (Outcome, Duration) {
    let started = Instant::now();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let result = agent
        .post(url)
        .header("content-type", "application/json")
        .header("Notion-Signature", sign_seed(secret, body))
        .header("webhook-id", event_id)
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            sign_standard(secret, event_id, now, body),
        )
        .send(body);
    let outcome = match result {
        Err(e) => Outcome::Retry {
            status: None,
            error: network_error(&e),
        },
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_string()
                .unwrap_or_default();
            classify(status, &text)
        }
    };
    (outcome, started.elapsed())
}

/// Maps an answer to an outcome.
pub fn classify(status: u16, body: &str) -> Outcome {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
    if (200..300).contains(&status) {
        return Outcome::Synced {
            status,
            page_id: s("pageId"),
            page_url: s("pageUrl"),
            duplicate: json
                .get("duplicate")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
    }
    let mut reason = format!("HTTP {status}");
    if let Some(code) = s("error") {
        reason.push_str(&format!(" {code}"));
    }
    if let Some(msg) = s("message") {
        reason.push_str(&format!(": {msg}"));
    }
    if let Some(fields) = json.get("fields").and_then(Value::as_array) {
        let list: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                Some(format!(
                    "{} {}",
                    f.get("field")?.as_str()?,
                    f.get("problem")?.as_str()?
                ))
            })
            .collect();
        if !list.is_empty() {
            reason.push_str(&format!(" ({})", list.join("; ")));
        }
    }
    match status {
        400 | 401 | 413 | 422 => Outcome::Refused { status, reason },
        _ => Outcome::Retry {
            status: Some(status),
            error: reason,
        },
    }
}

/// A one-line description of a transport failure.
pub fn network_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::Io(io) => format!("network error: {io}"),
        other => format!("network error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_contract_5() {
        assert!(matches!(
            classify(200, r#"{"success":true,"pageId":"p","pageUrl":"u"}"#),
            Outcome::Synced {
                page_id: Some(_),
                ..
            }
        ));
        for s in [400, 401, 413, 422] {
            assert!(matches!(classify(s, "{}"), Outcome::Refused { .. }), "{s}");
        }
        for s in [404, 429, 500, 503] {
            assert!(
                matches!(classify(s, "not json"), Outcome::Retry { .. }),
                "{s}"
            );
        }
        let Outcome::Refused { reason, .. } = classify(
            400,
            r#"{"error":"invalid_payload","message":"1 field","fields":[{"field":"status","problem":"required"}]}"#,
        ) else {
            panic!()
        };
        assert_eq!(
            reason,
            "HTTP 400 invalid_payload: 1 field (status required)"
        );
    }
}
