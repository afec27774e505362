//! Notion's integration webhooks, emulated: a subscription first receives the unsigned
//! `{"verification_token": ...}` request, then one signed event per page change
//! (`X-Notion-Signature: sha256=<hex HMAC-SHA256(token, body)>`) in Notion's envelope, retried
//! with a growing `attempt_number` (up to 8) until the receiver answers 2xx.
//!
//! Deliveries run in a background task per subscription, in order; they never hold up the API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Request, Uri, header};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::pages::{ChangeKind, PageChange};
use crate::timestamps::millis;

pub const WORKSPACE_NAME: &str = "Emulator Workspace";
const WORKSPACE_ID: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const INTEGRATION_ID: &str = "3c2b1a09-8f7e-4d6c-8b5a-49382716a5b4";
const MAX_ATTEMPTS: u64 = 8;
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(10);

/// `sha256=<hex>`: the `X-Notion-Signature` of `body` under a subscription's verification token.
pub fn signature(token: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

struct Subscription {
    id: Uuid,
    url: Uri,
    event_types: Vec<String>,
    token: String,
    queue: mpsc::UnboundedSender<Value>,
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Subscription {
    fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "url": self.url.to_string(),
            "eventTypes": self.event_types,
            "verification_token": self.token,
            "delivered": self.delivered.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
        })
    }
}

/// The subscriptions in force.
#[derive(Default)]
pub struct Webhooks {
    subscriptions: Mutex<Vec<Subscription>>,
}

impl Webhooks {
    /// Registers `url`, sends it the verification request, and starts its delivery task.
    /// Answers the subscription (with its `verification_token`) and how verification went.
    pub async fn subscribe(&self, url: &str, event_types: Vec<String>) -> Result<Value, String> {
        let url: Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err("the emulator delivers webhooks over plain http:// only".into());
        }
        let token = format!(
            "secret_{}{}",
            Uuid::new_v4().simple(),
            Uuid::new_v4().simple()
        );
        let verification = json!({ "verification_token": token }).to_string();
        let verified = post(&url, Bytes::from(verification), None).await;
        let (queue, events) = mpsc::unbounded_channel();
        let subscription = Subscription {
            id: Uuid::new_v4(),
            url: url.clone(),
            event_types,
            token: token.clone(),
            queue,
            delivered: Arc::default(),
            failed: Arc::default(),
        };
        let mut answer = subscription.to_json();
        answer["verificationStatus"] = match verified {
            Ok(status) => json!(status),
            Err(error) => json!(error),
        };
        tokio::spawn(deliver(
            url,
            token,
            events,
            subscription.delivered.clone(),
            subscription.failed.clone(),
        ));
        self.lock().push(subscription);
        Ok(answer)
    }

    pub fn list(&self) -> Value {
        self.lock()
            .iter()
            .map(Subscription::to_json)
            .collect::<Vec<_>>()
            .into()
    }

    /// Drops every subscription; their delivery tasks end once their queues drain.
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn emit(&self, change: &PageChange) {
        let event_type = change.kind.event_type();
        for subscription in self.lock().iter().filter(|s| s.wants(event_type)) {
            let _ = subscription.queue.send(envelope(subscription.id, change));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscription>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Notion's event envelope; events carry property ids, never values.
fn envelope(subscription: Uuid, change: &PageChange) -> Value {
    let mut data = json!({
        "parent": {"id": change.database.to_string(), "type": "database", "data_source_id": change.data_source.to_string()},
    });
    if let ChangeKind::PropertiesUpdated(ids) = &change.kind {
        data["updated_properties"] = json!(ids);
    }
    json!({
        "id": Uuid::new_v4().to_string(),
        "timestamp": millis(change.at),
        "workspace_id": WORKSPACE_ID,
        "workspace_name": WORKSPACE_NAME,
        "subscription_id": subscription.to_string(),
        "integration_id": INTEGRATION_ID,
        "type": change.kind.event_type(),
        "authors": [{"id": change.author.id(), "type": change.author.kind()}],
        "attempt_number": 1,
        "api_version": "2025-09-03",
        "entity": {"id": change.page.to_string(), "type": "page"},
        "data": data,
    })
}

async fn deliver(
    url: Uri,
    token: String,
    mut events: mpsc::UnboundedReceiver<Value>,
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    while let Some(mut event) = events.recv().await {
        let mut wait = FIRST_RETRY;
        for attempt in 1..=MAX_ATTEMPTS {
            event["attempt_number"] = json!(attempt);
            let body = Bytes::from(event.to_string());
            let signed = signature(&token, &body);
            match post(&url, body, Some(&signed)).await {
                Ok(status) if (200..300).contains(&status) => {
                    delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                outcome => tracing::warn!(url = %url, attempt, ?outcome, "webhook delivery failed"),
            }
            if attempt == MAX_ATTEMPTS {
                failed.fetch_add(1, Ordering::Relaxed);
            } else {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LAST_RETRY);
            }
        }
    }
}

/// One HTTP/1.1 POST of JSON; the status, or why there is none.
async fn post(url: &Uri, body: Bytes, signature: Option<&str>) -> Result<u16, String> {
    let exchange = async {
        let host = url.host().ok_or("no host")?;
        let port = url.port_u16().unwrap_or(80);
        let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let path = url.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::post(path)
            .header(header::HOST, url.authority().map_or(host, |a| a.as_str()))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "notion-api");
        if let Some(signature) = signature {
            request = request.header("x-notion-signature", signature);
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<u16, String>(response.status().as_u16())
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| "timed out".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the reference (notion-sdk-js `webhooks.ts`).
    #[test]
    fn signature_matches_notion_test_vector() {
        assert_eq!(
            signature(
                "secret_abc123_verification_token",
                br#"{"id":"evt_1","type":"page.created"}"#
            ),
            "sha256=942ac06e288d4872c2c3944cb92793dabf59e7b005dab9c6f883aff7132c686c"
        );
    }
}
