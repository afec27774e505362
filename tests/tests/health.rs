//! `GET /api/health` (CONTRACT 5): shallow checks without Notion, `?deep=true` with it, and a 503
//! naming the failing check, never a secret.

use nexus_tests::{SECRET, Stack, text};
use serde_json::{Value, json};

async fn health(stack: &Stack, query: &str) -> (u16, Value) {
    let answer = stack
        .request("GET", &format!("/api/health{query}"), &[], Vec::new())
        .await;
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    (answer.status, body)
}

fn assert_no_secret(body: &Value, extra: &str) {
    let text = body.to_string();
    for secret in [SECRET, notion_emulator::DEV_TOKEN, extra] {
        assert!(
            !text.contains(secret),
            "a secret in the health answer: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_200_with_its_checks_and_asks_notion_only_when_deep() {
    let stack = Stack::start().await;
    let (status, body) = health(&stack, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["checks"], json!({"config": "ok", "keyvalue": "ok"}));
    assert_eq!(
        stack.stats().await["requests"],
        0,
        "the shallow check never calls Notion"
    );

    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(
        body["checks"],
        json!({"config": "ok", "keyvalue": "ok", "notion": "ok", "schema": "ok"})
    );
    assert_eq!(
        stack.stats().await["byStatus"]["200"],
        1,
        "the deep check asked Notion once"
    );
    assert_no_secret(&body, SECRET);

    // Only GET.
    let answer = stack.request("POST", "/api/health", &[], Vec::new()).await;
    assert_eq!(answer.status, 405, "{}", text(&answer));
    assert_eq!(answer.header("allow"), Some("GET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_notion_refuses_fails_the_deep_check_by_name() {
    const WRONG: &str = "ntn_wrong_token_for_the_health_check_123";
    let stack = Stack::start_with(|vars| {
        vars.insert("notionapikey".into(), WRONG.into());
    })
    .await;
    // The shallow check cannot know.
    let (status, _) = health(&stack, "").await;
    assert_eq!(status, 200);
    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "failing");
    assert_eq!(body["failing"], json!(["notion", "schema"]));
    let notion = body["checks"]["notion"].as_str().unwrap();
    assert!(
        notion.contains("notionapikey") && notion.contains("401"),
        "{notion}"
    );
    assert_eq!(body["checks"]["config"], "ok");
    assert_no_secret(&body, WRONG);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_source_notion_cannot_find_or_a_missing_status_property_fail_the_deep_check() {
    let stack = Stack::start_with(|vars| {
        vars.insert(
            "notiondatasource".into(),
            "00000000-0000-4000-8000-000000000000".into(),
        );
    })
    .await;
    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["notion"]
            .as_str()
            .unwrap()
            .contains("notiondatasource"),
        "{body}"
    );

    let stack = Stack::start_with(|vars| {
        vars.insert("propertymap".into(), r#"{"status": "State"}"#.into());
    })
    .await;
    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["schema"]));
    assert!(
        body["checks"]["schema"]
            .as_str()
            .unwrap()
            .contains("`State`"),
        "{body}"
    );

    // Notion down: the deep check says so.
    let stack = Stack::start().await;
    stack.faults(json!({"status": 503})).await;
    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["notion"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_variable_fails_the_config_check_by_name() {
    let stack = Stack::start_with(|vars| {
        vars.insert("webhooksecret".into(), "".into());
    })
    .await;
    let (status, body) = health(&stack, "").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["config"]));
    assert!(
        body["checks"]["config"]
            .as_str()
            .unwrap()
            .contains("`webhooksecret`"),
        "{body}"
    );
    let stack = Stack::start_with(|vars| {
        vars.insert("signaturetolerance".into(), "soon".into());
    })
    .await;
    let (status, body) = health(&stack, "?deep=true").await;
    assert_eq!(status, 503, "{body}");
    let config = body["checks"]["config"].as_str().unwrap();
    assert!(
        config.contains("`signaturetolerance`") && !config.contains("soon"),
        "{config}"
    );
    assert_no_secret(&body, SECRET);
}
