//! CONTRACT 4's idempotency and order, end to end: a replay or a retry after a lost response is
//! answered with the first outcome and changes nothing; an older event never moves a page back;
//! a create whose answer was lost does not make a second page.

use nexus_tests::{
    SECRET, Stack, bytes_of, full_event, now_secs, select_of, standard_headers, text, text_of,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_and_a_retry_with_a_fresh_timestamp_are_duplicates_that_change_nothing() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-dup", "Completed"));
    let ts = now_secs();
    let first = stack.post_standard(&body, "msg-dup", ts).await;
    assert_eq!(first.status, 200, "{}", text(&first));
    let first = first.json();
    assert_eq!(
        (first["action"].clone(), first["duplicate"].clone()),
        (json!("created"), json!(false))
    );
    let page_before = stack.page(first["pageId"].as_str().unwrap()).await;
    let stats_before = stack.stats().await;

    // The same request again (a replay inside the window), then a retry after a lost response:
    // same webhook-id, fresh timestamp.
    for (case, ts) in [("replay", ts), ("retry", ts + 7)] {
        let again = stack.post_standard(&body, "msg-dup", ts).await;
        assert_eq!(again.status, 200, "{case}: {}", text(&again));
        let again = again.json();
        assert_eq!(again["duplicate"], true, "{case}");
        assert_eq!(again["pageId"], first["pageId"], "{case}");
        assert_eq!(again["pageUrl"], first["pageUrl"], "{case}");
        assert_eq!(again["action"], "created", "{case}: the first outcome");
    }
    // Even a different body under a used webhook-id is the first delivery's duplicate.
    let other = bytes_of(&full_event("s-dup", "Failed"));
    let again = stack.post_standard(&other, "msg-dup", ts + 9).await;
    assert_eq!(again.status, 200, "{}", text(&again));
    assert_eq!(again.json()["duplicate"], true);

    assert_eq!(
        stack.stats().await["requests"],
        stats_before["requests"],
        "no Notion request at all"
    );
    let page_after = stack.page(first["pageId"].as_str().unwrap()).await;
    assert_eq!(page_after, page_before, "the page is untouched");
    assert_eq!(
        select_of(&page_after, "Status").as_deref(),
        Some("Completed")
    );
    assert_eq!(stack.pages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_event_already_applied_is_a_duplicate_by_event_id() {
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-seed-dup", "Completed"));
    let first = stack.post_seed(&body).await;
    assert_eq!(first.status, 200, "{}", text(&first));
    let first = first.json();
    let before = stack.stats().await;
    let again = stack.post_seed(&body).await;
    assert_eq!(again.status, 200, "{}", text(&again));
    let again = again.json();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["pageId"], first["pageId"]);
    // The same eventId through the other scheme (the hook sends the eventId as webhook-id).
    let id = "evt-s-seed-dup-Completed";
    let via_standard = stack.post_standard(&body, id, now_secs()).await;
    assert_eq!(via_standard.status, 200, "{}", text(&via_standard));
    assert_eq!(via_standard.json()["duplicate"], true);
    assert_eq!(via_standard.json()["pageId"], first["pageId"]);
    assert_eq!(stack.stats().await["requests"], before["requests"]);
    assert_eq!(stack.pages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_event_after_a_newer_one_leaves_the_newer_status() {
    let stack = Stack::start().await;
    let mut newer = full_event("s-order", "Completed");
    newer["endTime"] = json!("2026-12-04T11:00:00Z");
    newer["workDescription"] = json!("done");
    let older = full_event("s-order", "In Progress");

    let a = stack
        .post_standard(&bytes_of(&newer), "msg-newer", now_secs())
        .await;
    assert_eq!(a.status, 200, "{}", text(&a));
    let page_id = a.json()["pageId"].as_str().unwrap().to_string();
    let page_before = stack.page(&page_id).await;

    let b = stack
        .post_standard(&bytes_of(&older), "msg-older", now_secs())
        .await;
    assert_eq!(b.status, 200, "{}", text(&b));
    let b = b.json();
    assert_eq!(b["pageId"], page_id.as_str());
    assert_eq!(b["action"], "unchanged");
    assert_eq!(b["duplicate"], false);
    assert!(
        !b["warnings"].as_array().unwrap().is_empty(),
        "the answer says why: {b}"
    );

    // The same through the seed scheme, with a time carried only by a UUIDv7 eventId (2020).
    let mut ancient = json!({
        "eventId": "01700000-0000-7000-8000-000000000000",
        "sessionId": "s-order", "agentName": "planner", "status": "Failed",
    });
    let c = stack.post_seed(&bytes_of(&ancient)).await;
    assert_eq!(c.status, 200, "{}", text(&c));
    assert_eq!(c.json()["action"], "unchanged");

    // And with a ULID eventId (2016).
    let ulid = json!({
        "eventId": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "sessionId": "s-order", "agentName": "planner", "status": "Cancelled",
    });
    let c = stack
        .post_standard(&bytes_of(&ulid), "msg-ulid", now_secs())
        .await;
    assert_eq!(c.status, 200, "{}", text(&c));
    assert_eq!(c.json()["action"], "unchanged");

    let page = stack.page(&page_id).await;
    assert_eq!(page, page_before, "the page keeps the newer values");
    assert_eq!(select_of(&page, "Status").as_deref(), Some("Completed"));
    assert_eq!(text_of(&page, "Work Description"), "done");
    assert_eq!(stack.pages().await.len(), 1);

    // A later event still moves it on.
    ancient["eventId"] = json!("evt-later");
    ancient["endTime"] = json!("2026-12-04T12:00:00Z");
    let d = stack.post_seed(&bytes_of(&ancient)).await;
    assert_eq!(d.status, 200, "{}", text(&d));
    assert_eq!(d.json()["action"], "updated");
    assert_eq!(
        select_of(&stack.page(&page_id).await, "Status").as_deref(),
        Some("Failed")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_answer_was_lost_is_not_made_twice() {
    let stack = Stack::start().await;
    // Notion writes the page, then answers 503: the edge cannot know the page exists.
    stack
        .faults(
            json!([{"method": "POST", "path": "/v1/pages", "status": 503, "commitThenFail": true}]),
        )
        .await;
    let body = bytes_of(&full_event("s-lost", "Completed"));
    let first = stack.post_standard(&body, "msg-lost", now_secs()).await;
    assert_eq!(first.status, 503, "{}", text(&first));
    assert!(first.header("retry-after").is_some());
    assert_eq!(
        stack.pages().await.len(),
        1,
        "the emulator committed the page"
    );

    // The client retries the same webhook-id later: the edge finds the page instead of creating.
    let retry = stack.post_standard(&body, "msg-lost", now_secs()).await;
    assert_eq!(retry.status, 200, "{}", text(&retry));
    let retry = retry.json();
    assert_eq!(
        retry["duplicate"], false,
        "the first attempt had no outcome to repeat"
    );
    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1, "still one page");
    assert_eq!(retry["pageId"], pages[0]["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_is_not_remembered_as_applied() {
    // A 401 or a 503 must not burn the webhook-id: the corrected retry goes through.
    let stack = Stack::start().await;
    let body = bytes_of(&full_event("s-burn", "Completed"));
    let ts = now_secs();
    let mut bad = standard_headers(SECRET, "msg-burn", ts, &body);
    bad[2].1 = standard_headers("whsec_dW5rbm93bg==", "msg-burn", ts, &body)[2]
        .1
        .clone();
    assert_eq!(stack.post_with(&bad, &body).await.status, 401);
    stack.faults(json!({"status": 429, "retryAfter": 2})).await;
    assert_eq!(stack.post_standard(&body, "msg-burn", ts).await.status, 503);
    let ok = stack.post_standard(&body, "msg-burn", ts).await;
    assert_eq!(ok.status, 200, "{}", text(&ok));
    assert_eq!(ok.json()["duplicate"], false);
    assert_eq!(ok.json()["action"], "created");
}
