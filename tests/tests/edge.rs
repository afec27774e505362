//! `POST /api/NotionWebhook` end to end: the component under the embedded wasmtime host,
//! against the Notion emulator.

use nexus_tests::{Stack, full_event, now_secs, select_of, text_of};
use serde_json::json;

fn event(session: &str, status: &str) -> Vec<u8> {
    serde_json::to_vec(&full_event(session, status)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_webhooks_post_creates_a_page_holding_every_value() {
    let stack = Stack::start().await;
    let answer = stack
        .post_standard(&event("s-1", "Completed"), "msg-1", now_secs())
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
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
    assert!(
        page["properties"]["Start Time"]["date"]["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-04T10:00")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_signed_post_creates_a_page_holding_every_value_and_its_relations() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start().await;
    // A first page, for the second one to relate to.
    let first = stack
        .post_standard(
            &bytes_of(&full_event("s-rel", "Completed")),
            "msg-rel",
            now_secs(),
        )
        .await;
    assert_eq!(first.status, 200, "{}", text(&first));
    let related = first.json();
    let related_id = related["pageId"].as_str().unwrap().to_string();

    let mut sent = full_event("s-seed", "Blocked");
    sent["agentName"] = json!("front,end");
    sent["durationMinutes"] = json!(12.5);
    sent["performanceMetrics"] = json!("p50 12 ms");
    sent["relatedNotionItems"] = json!([related["pageUrl"], related_id.replace('-', "")]);
    let answer = stack.post_seed(&bytes_of(&sent)).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let body = answer.json();
    assert_eq!(
        (
            body["success"].clone(),
            body["action"].clone(),
            body["duplicate"].clone()
        ),
        (json!(true), json!("created"), json!(false))
    );
    assert_eq!(body["warnings"], json!([]));
    let page = stack.page(body["pageId"].as_str().unwrap()).await;
    assert_eq!(page["url"], body["pageUrl"]);
    assert_eq!(
        page["parent"]["data_source_id"],
        notion_emulator::AGENT_ACTIVITY_HUB
    );
    assert_eq!(text_of(&page, "Session ID"), "s-seed");
    // Select names cannot hold commas: they become spaces.
    assert_eq!(select_of(&page, "Agent Name").as_deref(), Some("front end"));
    assert_eq!(select_of(&page, "Status").as_deref(), Some("Blocked"));
    let props = &page["properties"];
    assert!(
        props["Start Time"]["date"]["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-04T10:00")
    );
    assert!(
        props["End Time"]["date"]["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-04T10:30")
    );
    // A given duration wins over the one the times imply.
    assert_eq!(props["Duration (Minutes)"]["number"], 12.5);
    assert_eq!(props["Files Created / Updated"]["number"], 5);
    assert_eq!(props["Lines Generated"]["number"], 120);
    assert_eq!(text_of(&page, "Work Description"), "Wrote the parser");
    assert_eq!(text_of(&page, "Deliverables"), "parser.rs\ntests.rs");
    assert_eq!(text_of(&page, "Next Steps"), "review");
    assert_eq!(text_of(&page, "Performance Metrics"), "p50 12 ms");
    assert_eq!(text_of(&page, "Event ID"), "evt-s-seed-Blocked");
    // The URL and the bare id name the same page: one relation.
    assert_eq!(
        props["Related Notion Items"]["relation"],
        json!([{"id": related_id}])
    );
    assert_eq!(stack.pages().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_event_of_a_session_updates_its_one_page() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start().await;
    let first = stack
        .post_standard(
            &bytes_of(&full_event("s-2", "In Progress")),
            "msg-a",
            now_secs(),
        )
        .await;
    assert_eq!(first.status, 200, "{}", text(&first));
    let first = first.json();
    assert_eq!(first["action"], "created");

    let mut next = full_event("s-2", "Completed");
    next["endTime"] = json!("2026-12-04T11:00:00Z");
    next["workDescription"] = json!("Wrote the parser and its tests");
    next["linesGenerated"] = json!(300);
    let second = stack
        .post_standard(&bytes_of(&next), "msg-b", now_secs())
        .await;
    assert_eq!(second.status, 200, "{}", text(&second));
    let second = second.json();
    assert_eq!(second["action"], "updated");
    assert_eq!(second["duplicate"], false);
    assert_eq!(second["pageId"], first["pageId"]);
    assert_eq!(second["pageUrl"], first["pageUrl"]);

    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1, "one page per session");
    let page = &pages[0];
    assert_eq!(select_of(page, "Status").as_deref(), Some("Completed"));
    assert_eq!(
        text_of(page, "Work Description"),
        "Wrote the parser and its tests"
    );
    assert_eq!(page["properties"]["Lines Generated"]["number"], 300);
    assert_eq!(page["properties"]["Duration (Minutes)"]["number"], 60);
    assert_eq!(text_of(page, "Event ID"), "evt-s-2-Completed");

    // A third event with the values the page already holds: 200 "unchanged", nothing written.
    let mut same = next.clone();
    same["eventId"] = json!("evt-s-2-again");
    same["endTime"] = json!("2026-12-04T11:00:00Z");
    let before = stack.stats().await;
    let third = stack
        .post_standard(&bytes_of(&same), "msg-c", now_secs())
        .await;
    assert_eq!(third.status, 200, "{}", text(&third));
    assert_eq!(third.json()["action"], "unchanged");
    assert_eq!(third.json()["pageId"], first["pageId"]);
    assert_eq!(
        stack.stats().await["requests"],
        before["requests"],
        "no Notion call for unchanged values"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_twice_at_once_leaves_one_page() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-twice", "Completed"));
    let ts = now_secs();
    // Standard Webhooks: the same webhook-id twice at once.
    let (a, b) = tokio::join!(
        stack.post_standard(&body, "msg-twice", ts),
        stack.post_standard(&body, "msg-twice", ts)
    );
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{} / {}",
        text(&a),
        text(&b)
    );
    let (a, b) = (a.json(), b.json());
    assert_eq!(a["pageId"], b["pageId"]);
    let mut duplicates = [
        a["duplicate"].as_bool().unwrap(),
        b["duplicate"].as_bool().unwrap(),
    ];
    duplicates.sort();
    assert_eq!(
        duplicates,
        [false, true],
        "one of them is answered as the duplicate"
    );
    assert_eq!(stack.pages().await.len(), 1);

    // The seed scheme: the same body (same eventId) twice at once, on a fresh session.
    let body = bytes_of(&full_event("s-twice-seed", "Completed"));
    let (a, b) = tokio::join!(stack.post_seed(&body), stack.post_seed(&body));
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{} / {}",
        text(&a),
        text(&b)
    );
    assert_eq!(a.json()["pageId"], b.json()["pageId"]);
    assert_eq!(stack.pages().await.len(), 2);

    // Different events of one new session at once (the webhook and the queue processor racing
    // with distinct ids): still one page for the session.
    let x = bytes_of(&full_event("s-race", "In Progress"));
    let mut later = full_event("s-race", "Completed");
    later["endTime"] = json!("2026-12-04T10:45:00Z");
    let y = bytes_of(&later);
    let (a, b) = tokio::join!(
        stack.post_standard(&x, "msg-race-1", ts),
        stack.post_standard(&y, "msg-race-2", ts)
    );
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{} / {}",
        text(&a),
        text(&b)
    );
    assert_eq!(a.json()["pageId"], b.json()["pageId"]);
    let pages = stack.pages().await;
    let race: Vec<_> = pages
        .iter()
        .filter(|p| text_of(p, "Session ID") == "s-race")
        .collect();
    assert_eq!(race.len(), 1);
    assert_eq!(
        select_of(race[0], "Status").as_deref(),
        Some("Completed"),
        "the newer event wins"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_property_the_data_source_lacks_is_a_warning_not_a_failure() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start_with(|vars| {
        vars.insert(
            "propertymap".into(),
            r#"{"nextSteps": "Follow-ups", "linesGenerated": "Session ID"}"#.into(),
        );
    })
    .await;
    let answer = stack
        .post_standard(
            &bytes_of(&full_event("s-warn", "Completed")),
            "msg-warn",
            now_secs(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let body = answer.json();
    let warnings: Vec<String> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Follow-ups") && w.contains("nextSteps")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("linesGenerated")),
        "{warnings:?}"
    );
    let page = &stack.pages().await[0];
    assert_eq!(text_of(page, "Session ID"), "s-warn");
    assert_eq!(
        text_of(page, "Next Steps"),
        "",
        "the overridden map no longer writes Next Steps"
    );
    assert_eq!(select_of(page, "Status").as_deref(), Some("Completed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn many_deliveries_of_one_new_session_at_once_make_one_page_with_the_newest_values() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start().await;
    let ts = now_secs();
    let bodies: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let mut e = full_event("s-herd", if i == 7 { "Completed" } else { "In Progress" });
            e["eventId"] = json!(format!("evt-herd-{i}"));
            e["endTime"] = json!(format!("2026-12-04T10:3{i}:00Z"));
            e["linesGenerated"] = json!(i);
            bytes_of(&e)
        })
        .collect();
    let mut tasks = Vec::new();
    let stack = std::sync::Arc::new(stack);
    for (i, body) in bodies.into_iter().enumerate() {
        let stack = stack.clone();
        tasks.push(tokio::spawn(async move {
            stack
                .post_standard(&body, &format!("msg-herd-{i}"), ts)
                .await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let a = task.await.unwrap();
        assert_eq!(a.status, 200, "{}", text(&a));
        ids.push(a.json()["pageId"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every delivery names the same page");
    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1);
    assert_eq!(select_of(&pages[0], "Status").as_deref(), Some("Completed"));
    assert_eq!(
        pages[0]["properties"]["Lines Generated"]["number"], 7,
        "the newest event's values"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_in_another_case_takes_the_options_spelling_and_an_event_without_id_is_fine() {
    use nexus_tests::{bytes_of, text};
    let stack = Stack::start().await;
    let event = json!({"sessionId": "s-case", "agentName": "a", "status": "in progress"});
    let first = stack.post_seed(&bytes_of(&event)).await;
    assert_eq!(first.status, 200, "{}", text(&first));
    assert_eq!(
        select_of(&stack.pages().await[0], "Status").as_deref(),
        Some("In Progress")
    );
    // No eventId, no time: the arrival orders it; the same values again change nothing.
    let again = stack.post_seed(&bytes_of(&event)).await;
    assert_eq!(again.status, 200, "{}", text(&again));
    assert_eq!(again.json()["pageId"], first.json()["pageId"]);
    assert_eq!(again.json()["action"], "unchanged");
    assert_eq!(stack.pages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_a_person_trashed_is_replaced_by_the_next_event() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start().await;
    let first = stack
        .post_standard(
            &bytes_of(&full_event("s-trash", "In Progress")),
            "msg-t1",
            now_secs(),
        )
        .await;
    assert_eq!(first.status, 200, "{}", text(&first));
    let old_id = first.json()["pageId"].as_str().unwrap().to_string();
    let trashed = stack
        .control(
            "PATCH",
            &format!("/_emulator/pages/{old_id}"),
            json!({"in_trash": true}),
        )
        .await;
    assert_eq!(trashed.status, 200, "{}", text(&trashed));

    let mut next = full_event("s-trash", "Completed");
    next["endTime"] = json!("2026-12-04T11:00:00Z");
    let second = stack
        .post_standard(&bytes_of(&next), "msg-t2", now_secs())
        .await;
    assert_eq!(second.status, 200, "{}", text(&second));
    let second = second.json();
    assert_eq!(second["action"], "created", "{second}");
    assert_ne!(second["pageId"], old_id.as_str());
    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1, "the trashed page is not listed");
    assert_eq!(select_of(&pages[0], "Status").as_deref(), Some("Completed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn times_with_offsets_and_relations_by_notion_url_are_understood() {
    use nexus_tests::{bytes_of, text};
    let stack = Stack::start().await;
    let target = stack
        .post_seed(&bytes_of(&json!({"eventId": "e-target", "sessionId": "s-target", "agentName": "a", "status": "Completed"})))
        .await;
    let target_id = target.json()["pageId"].as_str().unwrap().to_string();
    let compact = target_id.replace('-', "");
    let event = json!({
        "eventId": "e-offset",
        "sessionId": "s-offset",
        "agentName": "a",
        "status": "Completed",
        "startTime": "2026-12-04T10:00:00Z",
        "endTime": "2026-12-04T12:30:00+02:00",
        "filesUpdated": 3,
        "deliverables": "one.md",
        "relatedNotionItems": [format!("https://www.notion.so/acme/Release-plan-{compact}?pvs=4")],
    });
    let answer = stack.post_seed(&bytes_of(&event)).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let page = stack.page(answer.json()["pageId"].as_str().unwrap()).await;
    let props = &page["properties"];
    assert_eq!(
        props["Duration (Minutes)"]["number"], 30,
        "{}",
        props["Duration (Minutes)"]
    );
    assert_eq!(props["Files Created / Updated"]["number"], 3);
    assert_eq!(text_of(&page, "Deliverables"), "one.md");
    assert_eq!(
        props["Related Notion Items"]["relation"],
        json!([{"id": target_id}])
    );
    let end = props["End Time"]["date"]["start"].as_str().unwrap();
    assert!(
        end.starts_with("2026-12-04T12:30:00") || end.starts_with("2026-12-04T10:30:00"),
        "{end}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_aimed_at_a_property_of_another_type_is_a_warning() {
    use nexus_tests::{bytes_of, full_event, text};
    let stack = Stack::start_with(|vars| {
        vars.insert(
            "propertymap".into(),
            r#"{"workDescription": "Lines Generated", "linesGenerated": "Start Time"}"#.into(),
        );
    })
    .await;
    let answer = stack
        .post_standard(
            &bytes_of(&full_event("s-types", "Completed")),
            "msg-types",
            now_secs(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let warnings = answer.json()["warnings"].to_string();
    assert!(
        warnings.contains("workDescription") && warnings.contains("Lines Generated"),
        "{warnings}"
    );
    let page = &stack.pages().await[0];
    assert_eq!(select_of(page, "Status").as_deref(), Some("Completed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_logs_each_request_once_without_secrets_or_bodies() {
    use nexus_tests::{SECRET, bytes_of, full_event};
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-log", "Completed"));
    assert_eq!(
        stack
            .post_standard(&body, "msg-log", now_secs())
            .await
            .status,
        200
    );
    assert_eq!(stack.post_seed(&b"{}"[..]).await.status, 400);
    assert_eq!(
        stack
            .request("GET", "/api/health?deep=true", &[], Vec::new())
            .await
            .status,
        200
    );
    // A line is written once the component has finished, which may be just after the client
    // has its answer: wait for the three, in whatever order they came.
    let mut log = Vec::new();
    for _ in 0..100 {
        log = stack.log.lock().unwrap().clone();
        if log.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(log.len(), 3, "{log:?}");
    log.sort_by_key(|r| (r.path.clone(), std::cmp::Reverse(r.status)));
    let seen: Vec<(&str, Option<&str>, u16)> = log
        .iter()
        .map(|r| (r.path.as_str(), r.route.as_deref(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("/api/NotionWebhook", Some("/api/NotionWebhook"), 400),
            ("/api/NotionWebhook", Some("/api/NotionWebhook"), 200),
            ("/api/health", Some("/api/health"), 200)
        ]
    );
    assert!(
        log.iter()
            .all(|r| r.component.as_deref() == Some("notion-webhook"))
    );
    // Only the first request the component served was cold.
    let cold: Vec<u16> = log.iter().filter(|r| r.cold).map(|r| r.status).collect();
    assert_eq!(cold, [200], "{log:?}");
    for record in &log {
        assert!(record.duration_ms >= record.instantiate_ms && record.instantiate_ms >= 0.0);
        let line = serde_json::to_string(record).unwrap();
        for leak in [
            SECRET,
            "Wrote the parser",
            "deep=true",
            notion_emulator::DEV_TOKEN,
        ] {
            assert!(!line.contains(leak), "{leak} in {line}");
        }
    }
}
