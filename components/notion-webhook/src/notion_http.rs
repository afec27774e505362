//! Notion requests through the components' shared outbound client (`nexus-guest-http`).
//!
//! Only to `notionapibase` (the manifest's `allowed_outbound_hosts` enforces it too). The token
//! travels in the `authorization` header only; errors carry no request detail.

use std::time::Duration;

use nexus_core::EdgeConfig;
use nexus_core::notion::{NotionRequest, NotionResponse, Transport};
use nexus_guest_http::{HttpError, Timeouts, Url, send as http_send};

/// A hook waits 10 s for the whole answer, and a delivery makes at most three calls (schema,
/// query, write) under a 30 s session lease (`nexus_core::delivery::LEASE_MILLIS`): three calls
/// at these limits end before the lease can pass to a twin delivery.
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(3),
    first_byte: Duration::from_secs(6),
    between_bytes: Duration::from_secs(1),
};

/// Sends `request` to Notion and reads the whole answer.
pub fn send(config: &EdgeConfig, request: &NotionRequest) -> Result<NotionResponse, Transport> {
    let url =
        Url::parse(&format!("{}{}", config.api_base, request.path)).ok_or(Transport::Other)?;
    let headers = config.notion.headers(request);
    let body = request.body.as_deref().unwrap_or_default();
    match http_send(request.method.as_str(), &url, &headers, body, TIMEOUTS) {
        Ok(answer) => Ok(NotionResponse {
            status: answer.status,
            retry_after: answer.retry_after,
            body: answer.body,
        }),
        Err(HttpError::Transport(transport)) => Err(transport),
        // A host that refuses `notionapibase` is misconfigured; the core retries it like any
        // network failure, and the host's log names the refused origin.
        Err(HttpError::Denied) => Err(Transport::Connect),
    }
}
