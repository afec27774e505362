//! The control routes outside `/v1/` (CONTRACT 8): faults, rate limit, counters, reset, webhook
//! subscriptions and edits made "by a person". They need no token: they stand for the test
//! harness and the Notion UI, not for an integration.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::object_body;
use crate::error::{ApiError, json_response};
use crate::faults::FaultRule;
use crate::ids::parse_id;
use crate::pages;
use crate::server::EmulatorState;
use crate::store::Author;

fn ok(body: &Value) -> Response {
    json_response(200, body, &Uuid::new_v4().to_string())
}

fn refuse(error: ApiError) -> Response {
    error.to_response(&Uuid::new_v4().to_string())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::validation(format!("invalid control request: {e}")))
}

/// `POST /_emulator/faults`: replaces the rules with this list (or one rule).
pub async fn set_faults(State(state): State<EmulatorState>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Rules {
        Many(Vec<FaultRule>),
        One(FaultRule),
    }
    let rules = match parse::<Rules>(&body) {
        Ok(Rules::Many(rules)) => rules,
        Ok(Rules::One(rule)) => vec![rule],
        Err(error) => return refuse(error),
    };
    let count = rules.len();
    state.set_faults(rules);
    ok(&json!({ "rules": count }))
}

/// `DELETE /_emulator/faults`.
pub async fn clear_faults(State(state): State<EmulatorState>) -> Response {
    state.clear_faults();
    ok(&json!({ "rules": 0 }))
}

/// `POST /_emulator/rate-limit {"requestsPerSecond", "burst"}`; 0 turns it off.
pub async fn rate_limit(State(state): State<EmulatorState>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Limit {
        requests_per_second: f64,
        burst: Option<f64>,
    }
    match parse::<Limit>(&body) {
        Ok(limit) => {
            state.set_rate_limit(limit.requests_per_second, limit.burst);
            ok(&json!({"requestsPerSecond": limit.requests_per_second, "burst": limit.burst}))
        }
        Err(error) => refuse(error),
    }
}

/// `GET /_emulator/stats`: `/v1/` requests, by final status, and the number of pages.
pub async fn stats(State(state): State<EmulatorState>) -> Response {
    let pages = state.page_count();
    let stats = state.stats();
    let by_status: serde_json::Map<String, Value> = stats
        .by_status
        .iter()
        .map(|(status, n)| (status.to_string(), json!(n)))
        .collect();
    ok(&json!({"requests": stats.requests, "byStatus": by_status, "pages": pages}))
}

/// `POST /_emulator/reset`.
pub async fn reset(State(state): State<EmulatorState>) -> Response {
    state.reset();
    ok(&json!({ "reset": true }))
}

/// `POST /_emulator/subscriptions {"url", "eventTypes"}`.
pub async fn subscribe(State(state): State<EmulatorState>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Subscribe {
        url: String,
        #[serde(default)]
        event_types: Vec<String>,
    }
    let request = match parse::<Subscribe>(&body) {
        Ok(request) => request,
        Err(error) => return refuse(error),
    };
    match state
        .webhooks()
        .subscribe(&request.url, request.event_types)
        .await
    {
        Ok(subscription) => ok(&subscription),
        Err(message) => refuse(ApiError::validation(message)),
    }
}

/// `GET /_emulator/subscriptions`: the subscriptions and their delivery counters.
pub async fn subscriptions(State(state): State<EmulatorState>) -> Response {
    ok(&state.webhooks().list())
}

/// `PATCH /_emulator/pages/{id}`: a `/v1/pages` update body, applied as a person in the UI.
pub async fn edit_page(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let written = parse_id(&id)
        .ok_or_else(|| ApiError::validation(format!("path failed validation: path.page_id should be a valid uuid, instead was `\"{id}\"`.")))
        .and_then(|id| {
            let body = object_body(&body)?;
            pages::update(&mut state.store(), id, &body, Author::Person, "2025-09-03")
        });
    match written {
        Ok((page, changes)) => {
            state.emit(changes);
            json_response(200, &page, &request_id)
        }
        Err(error) => error.to_response(&request_id),
    }
}
