//! `POST /api/NotionWebhook` end to end: the component under the embedded wasmtime host,
//! against the Notion emulator.

use nexus_tests::{Stack, now_secs, select_of, text_of};
use serde_json::json;

fn event(session: &str, status: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "eventId": format!("evt-{session}-{status}"),
        "sessionId": session,
        "agentName": "planner",
        "status": status,
        "startTime": "2026-12-04T10:00:00Z",
        "endTime": "2026-12-04T10:30:00Z",
        "workDescription": "Wrote the parser",
        "filesCreated": 2,
        "filesUpdated": 3,
        "linesGenerated": 120,
        "deliverables": ["parser.rs", "tests.rs"],
        "nextSteps": "review",
        "performanceMetrics": {"tokens": 1200},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_webhooks_post_creates_a_page_holding_every_value() {
    let stack = Stack::start().await;
    let answer = stack.post_standard(&event("s-1", "Completed"), "msg-1", now_secs()).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let body = answer.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["action"], "created");
    assert_eq!(body["duplicate"], false);
    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(page["id"], body["pageId"]);
    assert_eq!(page["url"], body["pageUrl"]);
    assert_eq!(text_of(page, "Session ID"), "s-1");
    assert_eq!(select_of(page, "Agent Name").as_deref(), Some("planner"));
    assert_eq!(select_of(page, "Status").as_deref(), Some("Completed"));
    assert_eq!(page["properties"]["Duration (Minutes)"]["number"], 30);
    assert_eq!(page["properties"]["Files Created / Updated"]["number"], 5);
    assert_eq!(page["properties"]["Lines Generated"]["number"], 120);
    assert_eq!(text_of(page, "Work Description"), "Wrote the parser");
    assert_eq!(text_of(page, "Deliverables"), "parser.rs\ntests.rs");
    assert_eq!(text_of(page, "Next Steps"), "review");
    assert_eq!(text_of(page, "Performance Metrics"), r#"{"tokens":1200}"#);
    assert_eq!(text_of(page, "Event ID"), "evt-s-1-Completed");
    assert!(page["properties"]["Start Time"]["date"]["start"].as_str().unwrap().starts_with("2026-12-04T10:00"));
}
