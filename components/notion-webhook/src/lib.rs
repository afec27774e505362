//! `notion-webhook`: the edge. `POST /api/NotionWebhook` turns a signed agent-activity event
//! into a Notion page; `GET /api/health` reports whether it can.
//!
//! A thin shell over `nexus-core`: it reads the variables (`wasi:config`), the request's bytes
//! and the clock, then carries out what [`nexus_core::Delivery`] asks (key-value reads and
//! writes, the session lease, Notion calls) until the machine answers. No decision is taken
//! here.

mod key_value;
mod notion_http;
mod variables;

use futures::StreamExt;
use nexus_core::delivery::{Incoming, Input, LEASE_MILLIS, MAX_BODY_BYTES, Step};
use nexus_core::health::{config_check, data_source_checks, health_response, keyvalue_check};
use nexus_core::notion::retrieve_data_source;
use nexus_core::{Delivery, EdgeConfig, EdgeResponse, SignatureHeaders};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

/// Reported by `GET /api/health`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// How long a delivery waits for another delivery of the same session before answering 503.
const LEASE_WAIT_MILLIS: i64 = 8_000;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let path = req.path_with_query().unwrap_or_default();
    let (path, query) = path.split_once('?').unwrap_or((&path, ""));
    let response = match path.trim_end_matches('/') {
        "/api/NotionWebhook" => webhook(req).await,
        "/api/health" if req.method() == Method::Get => {
            health(query.split('&').any(|p| p == "deep=true"))
        }
        "/api/health" => json_error(405, "method_not_allowed", Some(("allow", "GET"))),
        _ => json_error(404, "not_found", None),
    };
    to_response(response)
}

async fn webhook(req: IncomingRequest) -> EdgeResponse {
    if req.method() != Method::Post {
        return EdgeResponse::method_not_allowed();
    }
    let headers = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .into_iter()
            .next()
            .and_then(|v| String::from_utf8(v).ok())
    };
    let declared_len = header("content-length").and_then(|v| v.parse::<usize>().ok());
    if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
        return EdgeResponse::payload_too_large();
    }
    let (notion_signature, webhook_id, webhook_timestamp, webhook_signature) = (
        header("notion-signature"),
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let Some(body) = read_body(req).await else {
        return EdgeResponse::payload_too_large();
    };
    let config = match EdgeConfig::from_variables(variables::get) {
        Ok(config) => config,
        Err(problem) => return EdgeResponse::misconfigured(&problem),
    };
    let incoming = Incoming {
        headers: SignatureHeaders {
            notion_signature: notion_signature.as_deref(),
            webhook_id: webhook_id.as_deref(),
            webhook_timestamp: webhook_timestamp.as_deref(),
            webhook_signature: webhook_signature.as_deref(),
        },
        body: &body,
        now_millis: now_millis(),
    };
    match Delivery::start(&config, incoming) {
        Ok((delivery, step)) => drive(&config, delivery, step),
        Err(answer) => answer,
    }
}

/// Carries out the delivery's steps until it answers; the session lease is released before.
fn drive(config: &EdgeConfig, mut delivery: Delivery<'_>, mut step: Step) -> EdgeResponse {
    let store = match key_value::Store::open() {
        Ok(store) => store,
        Err(()) => {
            return EdgeResponse::storage_unavailable(1, "the edge's key-value store failed");
        }
    };
    let mut lease: Option<key_value::Lease> = None;
    let response = loop {
        let input = match step {
            Step::Respond(response) => break response,
            Step::Read(keys) => store
                .get_many(&keys)
                .map_or(Input::StoreFailed, Input::Values),
            Step::Write { set, delete } => store
                .write(&set, &delete)
                .map_or(Input::StoreFailed, |()| Input::Written),
            Step::Lock(key) => {
                match store.acquire(&key, now_millis, LEASE_MILLIS, LEASE_WAIT_MILLIS) {
                    Ok(Some(taken)) => {
                        lease = Some(taken);
                        Input::Locked
                    }
                    Ok(None) => Input::LockTimedOut,
                    Err(()) => Input::StoreFailed,
                }
            }
            Step::Notion(request) => Input::Notion(notion_http::send(config, &request)),
        };
        step = delivery.next(input);
    };
    if let Some(lease) = lease {
        store.release(lease);
    }
    response
}

fn health(deep: bool) -> EdgeResponse {
    let config = EdgeConfig::from_variables(variables::get);
    let kv_ok =
        key_value::Store::open().and_then(|s| s.get_many(&["health:probe".to_string()]).map(drop));
    let mut checks = vec![config_check(&config), keyvalue_check(kv_ok)];
    if let (true, Ok(config)) = (deep, &config) {
        let response = notion_http::send(config, &retrieve_data_source(&config.data_source_id));
        checks.extend(data_source_checks(response, &config.property_map));
    }
    health_response(VERSION, &checks)
}

/// The whole body, or None once it passes [`MAX_BODY_BYTES`] (the rest is never read).
async fn read_body(req: IncomingRequest) -> Option<Vec<u8>> {
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        // A broken stream ends the body; what arrived is judged like any other body.
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return None;
        }
    }
    Some(body)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn json_error(status: u16, error: &str, header: Option<(&'static str, &str)>) -> EdgeResponse {
    EdgeResponse {
        status,
        headers: header
            .map(|(k, v)| (k, v.to_string()))
            .into_iter()
            .collect(),
        body: format!(r#"{{"success":false,"error":"{error}"}}"#).into_bytes(),
    }
}

fn to_response(response: EdgeResponse) -> Response {
    let mut builder = Response::builder();
    builder
        .status(response.status)
        .header("content-type", "application/json");
    for (name, value) in response.headers {
        builder.header(name, value);
    }
    builder.body(response.body).build()
}
