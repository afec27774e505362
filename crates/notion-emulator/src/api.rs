//! The `/v1/` routes: transport checks (auth, `Notion-Version`, size, JSON), routing by hand so
//! that every refusal is Notion's (`invalid_request_url` rather than a framework 404/405), faults
//! and rate limits around each request, and the handlers.

use std::time::{Duration, Instant};

use axum::body::{Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, request::Parts};
use axum::response::Response;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{ApiError, json_response};
use crate::ids::parse_id;
use crate::pages::{self, Written};
use crate::server::EmulatorState;
use crate::store::{Author, Store};
use crate::{DEV_TOKEN, SUPPORTED_VERSIONS, query};

/// Notion refuses request bodies over 500 KB with a 413.
pub const MAX_BODY: usize = 500 * 1000;

/// Every request that no control route takes.
pub async fn handle(State(state): State<EmulatorState>, request: Request) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let path = request.uri().path();
    if path != "/v1" && !path.starts_with("/v1/") {
        return ApiError::invalid_request_url().to_response(&request_id);
    }
    let response = serve(&state, request, &request_id).await;
    state.record(response.status().as_u16());
    response
}

/// Faults and the rate limit first, as a proxy in front of Notion would apply them.
async fn serve(state: &EmulatorState, request: Request, request_id: &str) -> Response {
    let fault = state.take_fault(request.method().as_str(), request.uri().path());
    if let Some(rule) = fault.as_ref().filter(|r| !r.commit_then_fail) {
        delay(rule.delay_ms).await;
        if let Some(response) = rule.response(request_id) {
            return response;
        }
    }
    if let Err(seconds) = state.take_token(Instant::now()) {
        return ApiError::rate_limited(seconds).to_response(request_id);
    }
    let (parts, body) = request.into_parts();
    let response = match read_body(body).await {
        Ok(bytes) => respond(state, &parts, &bytes, request_id),
        Err(error) => error.to_response(request_id),
    };
    if let Some(rule) = fault.filter(|r| r.commit_then_fail) {
        delay(rule.delay_ms).await;
        if let Some(failure) = rule.response(request_id) {
            return failure;
        }
    }
    response
}

async fn delay(ms: Option<u64>) {
    if let Some(ms) = ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    // Read one byte past the limit to tell "at the limit" from "over it".
    to_bytes(body, MAX_BODY + 1)
        .await
        .map_err(|_| ApiError::too_large(MAX_BODY + 1))
        .and_then(|bytes| {
            if bytes.len() > MAX_BODY {
                Err(ApiError::too_large(bytes.len()))
            } else {
                Ok(bytes)
            }
        })
}

fn respond(state: &EmulatorState, parts: &Parts, body: &Bytes, request_id: &str) -> Response {
    match answer(state, parts, body) {
        Ok((value, changes)) => {
            state.emit(changes);
            json_response(200, &value, request_id)
        }
        Err(error) => error.to_response(request_id),
    }
}

fn answer(state: &EmulatorState, parts: &Parts, body: &Bytes) -> Result<Written, ApiError> {
    authenticate(&parts.headers)?;
    let version = version(&parts.headers)?;
    let route = route(&parts.method, parts.uri.path(), version)?;
    let only = filter_properties(parts.uri.query());
    let mut store = state.store();
    let read = |value| Ok((value, Vec::new()));
    match route {
        Route::Me => read(bot_user()),
        Route::Database(id) => read(database(&store, id, version)?),
        Route::DataSource(id) => read(data_source(&store, id)?),
        Route::Query(id) => read(query(
            &store,
            id,
            &object_body(body)?,
            version,
            only.as_deref(),
        )?),
        Route::DatabaseQuery(id) => {
            let source = store
                .database(id)
                .and_then(|d| d.data_sources.first().copied());
            let source = source.ok_or_else(|| ApiError::not_found("database", &id.to_string()))?;
            read(query(
                &store,
                source,
                &object_body(body)?,
                version,
                only.as_deref(),
            )?)
        }
        Route::Page(id) => read(page(&store, id, version, only.as_deref())?),
        Route::CreatePage => pages::create(&mut store, &object_body(body)?, Author::Bot, version),
        Route::UpdatePage(id) => {
            pages::update(&mut store, id, &object_body(body)?, Author::Bot, version)
        }
    }
}

fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if token == Some(DEV_TOKEN) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

fn version(headers: &HeaderMap) -> Result<&'static str, ApiError> {
    let Some(given) = headers.get("notion-version") else {
        return Err(ApiError::missing_version());
    };
    let given = given.to_str().unwrap_or_default();
    SUPPORTED_VERSIONS.into_iter().find(|v| *v == given).ok_or_else(|| {
        ApiError::validation(format!(
            "Notion-Version header failed validation: Notion-Version header should be one of {}, instead was `\"{given}\"`.",
            SUPPORTED_VERSIONS.map(|v| format!("`\"{v}\"`")).join(", ")
        ))
    })
}

enum Route {
    Me,
    Database(Uuid),
    DatabaseQuery(Uuid),
    DataSource(Uuid),
    Query(Uuid),
    CreatePage,
    Page(Uuid),
    UpdatePage(Uuid),
}

/// Matches method and path; data sources exist only from 2025-09-03, database queries only before.
fn route(method: &Method, path: &str, version: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path
        .trim_start_matches("/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let legacy = version == "2022-06-28";
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["users", "me"]) => Ok(Route::Me),
        ("GET", ["databases", id]) => Ok(Route::Database(path_id("database_id", id)?)),
        ("POST", ["databases", id, "query"]) if legacy => {
            Ok(Route::DatabaseQuery(path_id("database_id", id)?))
        }
        ("GET", ["data_sources", id]) if !legacy => {
            Ok(Route::DataSource(path_id("data_source_id", id)?))
        }
        ("POST", ["data_sources", id, "query"]) if !legacy => {
            Ok(Route::Query(path_id("data_source_id", id)?))
        }
        ("POST", ["pages"]) => Ok(Route::CreatePage),
        ("GET", ["pages", id]) => Ok(Route::Page(path_id("page_id", id)?)),
        ("PATCH", ["pages", id]) => Ok(Route::UpdatePage(path_id("page_id", id)?)),
        _ => Err(ApiError::invalid_request_url()),
    }
}

fn path_id(name: &str, text: &str) -> Result<Uuid, ApiError> {
    parse_id(text).ok_or_else(|| {
        ApiError::validation(format!(
            "path failed validation: path.{name} should be a valid uuid, instead was `\"{text}\"`."
        ))
    })
}

/// `filter_properties` (repeated, or `filter_properties[]`), names or ids.
fn filter_properties(query: Option<&str>) -> Option<Vec<String>> {
    let wanted: Vec<String> = query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| {
            matches!(
                *key,
                "filter_properties" | "filter_properties%5B%5D" | "filter_properties[]"
            )
        })
        .map(|(_, value)| crate::ids::percent_decode(&value.replace('+', " ")))
        .collect();
    (!wanted.is_empty()).then_some(wanted)
}

/// The request body as a JSON object; an empty body counts as `{}`.
pub fn object_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body).map_err(|_| ApiError::invalid_json())? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::body("body", "should be an object", &other)),
    }
}

fn bot_user() -> Value {
    json!({
        "object": "user",
        "id": crate::BOT_USER,
        "name": "nexus-sync (emulator)",
        "avatar_url": null,
        "type": "bot",
        "bot": {"owner": {"type": "workspace", "workspace": true}, "workspace_name": crate::webhooks::WORKSPACE_NAME},
    })
}

fn database(store: &Store, id: Uuid, version: &str) -> Result<Value, ApiError> {
    let database = store
        .database(id)
        .ok_or_else(|| ApiError::not_found("database", &id.to_string()))?;
    Ok(database.to_json(&store.sources_of(database), &Author::Bot.user(), version))
}

fn data_source(store: &Store, id: Uuid) -> Result<Value, ApiError> {
    let source = store
        .data_source(id)
        .ok_or_else(|| ApiError::not_found("data source", &id.to_string()))?;
    Ok(source.to_json(&Author::Bot.user()))
}

/// Resolves `filter_properties` names or ids to property ids.
fn resolve_only(
    source: &crate::schema::DataSource,
    only: Option<&[String]>,
) -> Option<Vec<String>> {
    only.map(|keys| {
        keys.iter()
            .filter_map(|k| source.property(k))
            .map(|p| p.id.clone())
            .collect()
    })
}

fn query(
    store: &Store,
    id: Uuid,
    body: &Map<String, Value>,
    version: &str,
    only: Option<&[String]>,
) -> Result<Value, ApiError> {
    let source = store
        .data_source(id)
        .ok_or_else(|| ApiError::not_found("data source", &id.to_string()))?;
    let checked = query::parse(source, body)?;
    let only = resolve_only(source, only);
    let mut answer = checked.run(source, &store.pages, |p| {
        p.to_json(source, version, only.as_deref())
    })?;
    if version == "2022-06-28" {
        answer["type"] = json!("page");
        answer["page"] = json!({});
        if let Some(map) = answer.as_object_mut() {
            map.remove("page_or_data_source");
        }
    }
    Ok(answer)
}

fn page(
    store: &Store,
    id: Uuid,
    version: &str,
    only: Option<&[String]>,
) -> Result<Value, ApiError> {
    let page = store
        .page(id)
        .ok_or_else(|| ApiError::not_found("page", &id.to_string()))?;
    let source = store
        .data_source(page.data_source)
        .ok_or_else(|| ApiError::not_found("page", &id.to_string()))?;
    Ok(page.to_json(source, version, resolve_only(source, only).as_deref()))
}
