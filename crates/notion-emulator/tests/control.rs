//! The control routes of CONTRACT 8: faults, rate limit, stats, reset, person edits, webhooks
//! and the browser view.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn create_body(session: &str) -> Value {
    json!({"parent": {"data_source_id": HUB}, "properties": {"Session ID": title(session)}})
}

#[tokio::test]
async fn fault_rules_apply_in_order_then_are_spent() {
    let emulator = start().await;
    let base = emulator.url();
    let rules = json!([
        {"method": "POST", "path": "/v1/pages", "status": 503, "count": 2},
        {"path": "/v1/pages", "status": 529, "retryAfter": 7},
    ]);
    assert_eq!(
        control(&base, "POST", "/_emulator/faults", Some(rules))
            .await
            .status,
        200
    );
    let get = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None).await;
    assert_eq!(get.status, 200, "the GET is not a /v1/pages request");
    for _ in 0..2 {
        api(&base, "POST", "/v1/pages", Some(create_body("f")))
            .await
            .assert_error(503, "service_unavailable", "");
    }
    let overloaded = api(&base, "POST", "/v1/pages", Some(create_body("f"))).await;
    overloaded.assert_error(529, "service_overload", "");
    assert_eq!(overloaded.header("retry-after"), "7");
    assert_eq!(
        api(&base, "POST", "/v1/pages", Some(create_body("f")))
            .await
            .status,
        200,
        "every rule is spent"
    );
    assert_eq!(
        emulator.state().page_count(),
        1,
        "faulted writes wrote nothing"
    );
}

#[tokio::test]
async fn fault_codes_and_clearing() {
    let emulator = start().await;
    let base = emulator.url();
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"status": 409, "count": 5}])),
    )
    .await;
    api(&base, "POST", "/v1/pages", Some(create_body("c")))
        .await
        .assert_error(409, "conflict_error", "Conflict occurred while saving.");
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"status": 503, "code": "database_connection_unavailable"}])),
    )
    .await;
    api(&base, "POST", "/v1/pages", Some(create_body("c")))
        .await
        .assert_error(503, "database_connection_unavailable", "");
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"status": 500, "count": 5}])),
    )
    .await;
    assert_eq!(
        control(&base, "DELETE", "/_emulator/faults", None)
            .await
            .status,
        200
    );
    assert_eq!(
        api(&base, "POST", "/v1/pages", Some(create_body("c")))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn html_fault_looks_like_cloudflare() {
    let emulator = start().await;
    let base = emulator.url();
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"status": 502}])),
    )
    .await;
    let answer = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None).await;
    assert_eq!(answer.status, 502);
    assert!(answer.header("content-type").starts_with("text/html"));
    assert!(!answer.header("cf-ray").is_empty());
    assert!(answer.headers.get("x-notion-request-id").is_none());
    assert!(answer.text.contains("Cloudflare"));
}

#[tokio::test]
async fn commit_then_fail_writes_and_answers_the_fault() {
    let emulator = start().await;
    let base = emulator.url();
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(
            json!([{"method": "POST", "path": "/v1/pages", "status": 504, "commitThenFail": true}]),
        ),
    )
    .await;
    api(&base, "POST", "/v1/pages", Some(create_body("committed")))
        .await
        .assert_error(504, "gateway_timeout", "");
    let found = api(
        &base,
        "POST",
        &format!("/v1/data_sources/{HUB}/query"),
        Some(json!({"filter": {"property": "Session ID", "title": {"equals": "committed"}}})),
    )
    .await;
    assert_eq!(
        found.json["results"].as_array().unwrap().len(),
        1,
        "the page exists despite the 504"
    );
}

#[tokio::test]
async fn delays_with_and_without_commit() {
    let emulator = start().await;
    let base = emulator.url();
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"path": "/v1/pages", "delayMs": 300, "commitThenFail": true}])),
    )
    .await;
    let started = Instant::now();
    let answer = api(&base, "POST", "/v1/pages", Some(create_body("slow"))).await;
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"delayMs": 200, "status": 500}])),
    )
    .await;
    let started = Instant::now();
    api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None)
        .await
        .assert_error(500, "internal_server_error", "");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn rate_limit_answers_429_with_integer_retry_after() {
    let emulator = start().await;
    let base = emulator.url();
    control(
        &base,
        "POST",
        "/_emulator/rate-limit",
        Some(json!({"requestsPerSecond": 0.5, "burst": 2})),
    )
    .await;
    let path = format!("/v1/data_sources/{HUB}");
    assert_eq!(api(&base, "GET", &path, None).await.status, 200);
    assert_eq!(api(&base, "GET", &path, None).await.status, 200);
    let limited = api(&base, "GET", &path, None).await;
    limited.assert_error(429, "rate_limited", "rate limited");
    assert_eq!(
        limited.json["additional_data"]["rate_limit_reason"],
        "public_api_request_rate_limit"
    );
    let retry: u64 = limited
        .header("retry-after")
        .parse()
        .expect("integer Retry-After");
    assert!((1..=2).contains(&retry), "{retry}");
    control(
        &base,
        "POST",
        "/_emulator/rate-limit",
        Some(json!({"requestsPerSecond": 0})),
    )
    .await;
    assert_eq!(api(&base, "GET", &path, None).await.status, 200);
}

#[tokio::test]
async fn stats_count_v1_requests_and_reset_restores_the_start() {
    let emulator = start().await;
    let base = emulator.url();
    api(&base, "POST", "/v1/pages", Some(create_body("s"))).await;
    api(&base, "GET", "/v1/nowhere", None).await;
    api(&base, "POST", "/v1/pages", Some(json!({"parent": {"data_source_id": HUB}, "properties": {"Agent Name": {"select": {"name": "new"}}}}))).await;
    control(&base, "GET", "/", None).await;
    let stats = control(&base, "GET", "/_emulator/stats", None).await.json;
    assert_eq!(
        stats,
        json!({"requests": 3, "byStatus": {"200": 2, "400": 1}, "pages": 2})
    );
    control(
        &base,
        "POST",
        "/_emulator/faults",
        Some(json!([{"status": 500, "count": 9}])),
    )
    .await;
    assert_eq!(
        control(&base, "POST", "/_emulator/reset", None)
            .await
            .status,
        200
    );
    let stats = control(&base, "GET", "/_emulator/stats", None).await.json;
    assert_eq!(stats, json!({"requests": 0, "byStatus": {}, "pages": 0}));
    let schema = api(&base, "GET", &format!("/v1/data_sources/{HUB}"), None).await;
    assert_eq!(schema.status, 200, "faults are cleared by reset");
    assert_eq!(
        schema.json["properties"]["Agent Name"]["select"]["options"],
        json!([]),
        "schema back to the start"
    );
    assert_eq!(
        api(&base, "GET", &format!("/v1/data_sources/{TASKS}"), None)
            .await
            .status,
        200,
        "seeds survive reset"
    );
}

#[tokio::test]
async fn seeds_load_from_a_file() {
    let dir = std::env::temp_dir().join(format!("notion-emulator-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seed.json");
    std::fs::write(&file, json!([tasks_seed()]).to_string()).unwrap();
    let options = notion_emulator::Options::default()
        .with_seed_file(&file)
        .unwrap();
    let emulator = notion_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let base = emulator.url();
    let source = api(&base, "GET", &format!("/v1/data_sources/{TASKS}"), None)
        .await
        .json;
    assert_eq!(source["properties"]["State"]["type"], "status");
    assert_eq!(source["parent"]["database_id"], TASKS_DATABASE);
    let bad = notion_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        notion_emulator::Options {
            seed: vec![json!({"id": "x"})],
        },
    )
    .await;
    assert!(bad.is_err());
    emulator.shutdown().await.unwrap();
}

/// A webhook receiver that records what arrives and fails the first `failures` signed deliveries.
async fn receiver(failures: u32) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let left = Arc::new(AtomicU32::new(failures));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (tx, left) = (tx.clone(), left.clone());
            async move {
                let signed = headers.contains_key("x-notion-signature");
                let _ = tx.send((headers, body));
                if signed
                    && left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
) -> (HeaderMap, Bytes, Value) {
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event in time")
        .unwrap();
    let json = serde_json::from_slice(&body).unwrap();
    (headers, body, json)
}

#[tokio::test]
async fn subscriptions_verify_then_deliver_signed_events() {
    let emulator = start().await;
    let base = emulator.url();
    let (url, mut rx) = receiver(1).await;
    let subscription = control(
        &base,
        "POST",
        "/_emulator/subscriptions",
        Some(json!({"url": url, "eventTypes": ["page.created", "page.properties_updated"]})),
    )
    .await;
    assert_eq!(subscription.status, 200, "{}", subscription.text);
    let token = subscription.json["verification_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("secret_"));

    let (headers, _, verification) = next_event(&mut rx).await;
    assert_eq!(verification, json!({ "verification_token": token }));
    assert!(
        headers.get("x-notion-signature").is_none(),
        "the verification request is unsigned"
    );

    let page = create_hub_page(&base, "hooked", json!({})).await;
    let page_id = page["id"].as_str().unwrap();
    // The receiver fails the first delivery: the retry carries attempt_number 2.
    let (_, _, first) = next_event(&mut rx).await;
    let (headers, body, created) = next_event(&mut rx).await;
    assert_eq!(first["id"], created["id"], "a retry is the same event");
    assert_eq!(created["attempt_number"], 2);
    let signature = headers.get("x-notion-signature").unwrap().to_str().unwrap();
    assert_eq!(signature, notion_emulator::signature(&token, &body));
    assert_eq!(created["type"], "page.created");
    assert_eq!(created["entity"], json!({"id": page_id, "type": "page"}));
    assert_eq!(
        created["authors"],
        json!([{"id": notion_emulator::BOT_USER, "type": "bot"}])
    );
    assert_eq!(created["data"]["parent"]["data_source_id"], HUB);
    assert_eq!(created["api_version"], "2025-09-03");

    // A person changes Status in the UI: the event names the person and the property id.
    let edit = control(
        &base,
        "PATCH",
        &format!("/_emulator/pages/{page_id}"),
        Some(json!({"properties": {"Status": {"select": {"name": "Blocked"}}}})),
    )
    .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    assert_eq!(
        edit.json["last_edited_by"]["id"],
        notion_emulator::PERSON_USER
    );
    let (_, _, updated) = next_event(&mut rx).await;
    assert_eq!(updated["type"], "page.properties_updated");
    assert_eq!(updated["data"]["updated_properties"], json!(["s%5Ct%3F"]));
    assert_eq!(updated["authors"][0]["type"], "person");

    // An update through /v1/ is the bot's; an unchanged value raises no event.
    api(
        &base,
        "PATCH",
        &format!("/v1/pages/{page_id}"),
        Some(json!({"properties": {"Status": {"select": {"name": "Blocked"}}}})),
    )
    .await;
    api(&base, "PATCH", &format!("/v1/pages/{page_id}"), Some(json!({"properties": {"Lines Generated": {"number": 3}, "Session ID": title("renamed")}}))).await;
    let (_, _, by_bot) = next_event(&mut rx).await;
    assert_eq!(by_bot["authors"][0]["type"], "bot");
    let mut ids: Vec<String> =
        serde_json::from_value(by_bot["data"]["updated_properties"].clone()).unwrap();
    ids.sort();
    assert_eq!(ids, ["%7DnIa", "title"]);
    let listed = control(&base, "GET", "/_emulator/subscriptions", None)
        .await
        .json;
    assert_eq!(listed[0]["delivered"], 3);
}

#[tokio::test]
async fn person_edits_are_validated_like_api_edits() {
    let emulator = start().await;
    let base = emulator.url();
    let page = create_hub_page(&base, "ui", json!({})).await;
    let id = page["id"].as_str().unwrap();
    control(
        &base,
        "PATCH",
        &format!("/_emulator/pages/{id}"),
        Some(json!({"properties": {"Nope": {"select": null}}})),
    )
    .await
    .assert_error(
        400,
        "validation_error",
        "Nope is not a property that exists.",
    );
    control(
        &base,
        "PATCH",
        "/_emulator/pages/00000000-0000-4000-8000-000000000001",
        Some(json!({})),
    )
    .await
    .assert_error(404, "object_not_found", "Could not find page");
}

#[tokio::test]
async fn browser_view_and_its_snapshot() {
    let emulator = start().await;
    let base = emulator.url();
    create_hub_page(
        &base,
        "older",
        json!({"Status": {"select": {"name": "Blocked"}}}),
    )
    .await;
    create_hub_page(&base, "newer", json!({})).await;
    let index = control(&base, "GET", "/", None).await;
    assert_eq!(index.status, 200);
    assert!(index.header("content-type").starts_with("text/html"));
    assert!(index.text.contains("/_emulator/snapshot") && index.text.contains("/_emulator/pages/"));
    assert!(
        !index.text.contains("<script src") && !index.text.contains("<link"),
        "no external assets"
    );
    let snapshot = control(&base, "GET", "/_emulator/snapshot", None)
        .await
        .json;
    let hub = snapshot["dataSources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == HUB)
        .unwrap();
    let titles: Vec<&str> = hub["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["newer", "older"]);
    assert_eq!(hub["pages"][1]["values"]["Status"], "Blocked");
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let emulator = start().await;
    let addr = emulator.addr();
    emulator.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
