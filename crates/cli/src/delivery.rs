//! Sending one event to the edge: a signed `POST /api/NotionWebhook` and what its answer means
//! for the queue (CONTRACT 5: retry 503 and network failures, never 400/401/413/422).
//!
//! Both signature schemes go on every request (CONTRACT 4), signed at send time: the Standard
//! Webhooks timestamp is fresh on each attempt, and `webhook-id` is the event's id, so a retry
//! after a lost answer is recognised by the edge as the same delivery.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nexus_core::edge_answer::{classify_edge_answer, signed_headers};
use nexus_core::signature::Secret;

pub use nexus_core::edge_answer::EdgeOutcome as Outcome;

/// The hook's budget for one POST, connection included (CONTRACT 7).
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

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
    let result = agent.post(url).header("content-type", "application/json");
    let result = signed_headers(secret, event_id, now, body)
        .into_iter()
        .fold(result, |request, (name, value)| request.header(name, value))
        .send(body);
    let outcome = match result {
        Err(e) => Outcome::Retry {
            status: None,
            error: network_error(&e),
            retry_after_secs: None,
        },
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .unwrap_or_default();
            classify_edge_answer(status, &text)
        }
    };
    (outcome, started.elapsed())
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
