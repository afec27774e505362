//! Whole deliveries of `POST /api/NotionWebhook`, played against the sans-IO core with an
//! in-memory store, a fake Notion and a simulated clock (CONTRACT 3 to 5).

mod support;

use nexus_core::delivery::SCHEMA_TTL_MILLIS;
use nexus_core::idempotency::{lease_key, schema_key, session_key};
use nexus_core::{Secret, Transport};
use serde_json::{Value, json};
use support::{
    Answer, DATA_SOURCE, Fault, Request, Route, StepKind, T0, World, config_for, event, event_id,
};

fn ok(answer: &Answer, action: &str, duplicate: bool) {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["success"], json!(true));
    assert_eq!(answer.action(), action, "{:?}", answer.body);
    assert_eq!(answer.duplicate(), duplicate, "{:?}", answer.body);
}

fn only_page(world: &World) -> support::Page {
    let pages = world.notion.live_pages();
    assert_eq!(pages.len(), 1, "expected exactly one page");
    pages[0].clone()
}

fn assert_holds(page: &support::Page, sent: &Value) {
    assert_eq!(page.text("Session ID"), sent["sessionId"].as_str().unwrap());
    assert_eq!(
        page.select("Agent Name").as_deref(),
        sent["agentName"].as_str()
    );
    assert_eq!(page.select("Status").as_deref(), sent["status"].as_str());
    assert_eq!(
        page.date_start("Start Time").as_deref(),
        sent["startTime"].as_str()
    );
    assert_eq!(
        page.date_start("End Time").as_deref(),
        sent["endTime"].as_str()
    );
    assert_eq!(
        page.text("Work Description"),
        sent["workDescription"].as_str().unwrap()
    );
    assert_eq!(page.number("Files Created / Updated"), Some(5.0));
    assert_eq!(page.number("Lines Generated"), Some(120.0));
    assert_eq!(
        page.text("Deliverables"),
        "crates/core/src/delivery.rs\ncrates/core/tests/delivery.rs"
    );
    assert_eq!(page.text("Next Steps"), "Wire the component");
    let metrics: Value = serde_json::from_str(&page.text("Performance Metrics")).unwrap();
    assert_eq!(metrics, sent["performanceMetrics"]);
    assert_eq!(
        page.relation("Related Notion Items"),
        vec!["01234567-89ab-cdef-0123-456789abcdef"]
    );
    assert_eq!(page.text("Event ID"), sent["eventId"].as_str().unwrap());
}

// 1. A signed POST with either scheme creates one page holding the sent values.

#[test]
fn a_standard_webhooks_post_creates_one_page_with_the_sent_values() {
    let mut world = World::new();
    let sent = event("sess-1", "In Progress", &event_id(T0, 1), 30);
    let answer = world.deliver(&world.standard("msg-1", &sent));
    ok(&answer, "created", false);
    assert_eq!(answer.body["warnings"], json!([]));
    only_page(&world);
    let page = world.notion.page(answer.page_id()).clone();
    assert_eq!(answer.body["pageUrl"], page.0["url"]);
    assert_holds(&page, &sent);
    assert_eq!(page.number("Duration (Minutes)"), Some(30.0));
    assert_eq!(
        world.notion.routes(),
        vec![Route::Schema, Route::Query, Route::Create]
    );
    // Nothing is left locked.
    assert!(!world.kv.contains_key(&lease_key("sess-1")));
}

#[test]
fn a_seed_scheme_post_creates_one_page_with_the_sent_values() {
    let mut world = World::new();
    let sent = event("sess-1", "Completed", &event_id(T0, 1), 45);
    let answer = world.deliver(&world.seed(&sent));
    ok(&answer, "created", false);
    let page = only_page(&world);
    assert_eq!(answer.page_id(), page.id());
    assert_holds(&page, &sent);
    assert!(!world.kv.contains_key(&lease_key("sess-1")));
}

// 2. A second event of the session updates the same page.

#[test]
fn a_second_event_of_the_session_updates_the_same_page() {
    let mut world = World::new();
    let first = world.deliver(&world.standard(
        "msg-1",
        &event("sess-1", "In Progress", &event_id(T0, 1), 10),
    ));
    ok(&first, "created", false);
    world.advance_secs(60);
    let second_event = event("sess-1", "Completed", &event_id(T0 + 60_000, 2), 40);
    let second = world.deliver(&world.standard("msg-2", &second_event));
    ok(&second, "updated", false);
    assert_eq!(second.page_id(), first.page_id());
    let page = only_page(&world);
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    assert_holds(&page, &second_event);
    // The session record sent the update straight to the page: no second query.
    assert_eq!(
        world.notion.routes(),
        vec![Route::Schema, Route::Query, Route::Create, Route::Update]
    );
}

// 3. Duplicates answer the first outcome and touch nothing.

#[test]
fn the_same_request_again_is_a_duplicate_and_calls_nothing() {
    let mut world = World::new();
    let sent = event("sess-1", "In Progress", &event_id(T0, 1), 10);
    let request = world.standard("msg-1", &sent);
    let first = world.deliver(&request);
    ok(&first, "created", false);
    let calls = world.notion.log.len();
    let kv_before = world.kv.clone();

    world.advance_secs(5);
    let again = world.deliver(&request);
    ok(&again, "created", true);
    assert_eq!(again.page_id(), first.page_id());
    assert_eq!(again.body["pageUrl"], first.body["pageUrl"]);

    // The retry of a lost response: same webhook-id, fresh timestamp.
    world.advance_secs(200);
    let retry = world.deliver(&world.standard("msg-1", &sent));
    ok(&retry, "created", true);
    assert_eq!(retry.page_id(), first.page_id());

    assert_eq!(
        world.notion.log.len(),
        calls,
        "a duplicate made a Notion call"
    );
    assert_eq!(world.kv, kv_before, "a duplicate changed the store");
    assert_eq!(world.notion.live_pages().len(), 1);
}

#[test]
fn a_duplicate_reads_its_receipt_and_answers_without_locking() {
    let mut world = World::new();
    let request = world.standard("msg-1", &event("sess-1", "Blocked", "e-1", 10));
    world.deliver(&request);
    let mut run = world.begin(&request);
    world.finish(&mut run);
    assert_eq!(run.trace, vec![StepKind::Read, StepKind::Respond]);
}

#[test]
fn the_seed_scheme_deduplicates_on_the_event_id() {
    let mut world = World::new();
    let id = event_id(T0, 9);
    let sent = event("sess-1", "Completed", &id, 10);
    let first = world.deliver(&world.seed(&sent));
    ok(&first, "created", false);
    let calls = world.notion.log.len();
    world.advance_secs(600);
    let again = world.deliver(&world.seed(&sent));
    ok(&again, "created", true);
    assert_eq!(again.page_id(), first.page_id());
    // The processor's Standard Webhooks retry uses the eventId as webhook-id: same receipt.
    let standard = world.deliver(&world.standard(&id, &sent));
    ok(&standard, "created", true);
    assert_eq!(standard.page_id(), first.page_id());
    assert_eq!(world.notion.log.len(), calls);
    assert_eq!(world.notion.live_pages().len(), 1);
}

// 4. An older event never moves the page back.

#[test]
fn an_older_event_after_a_newer_one_leaves_the_page_alone() {
    let mut world = World::new();
    let newer = world.deliver(&world.standard(
        "msg-new",
        &event("sess-1", "Completed", &event_id(T0, 2), 50),
    ));
    ok(&newer, "created", false);
    let calls = world.notion.log.len();
    world.advance_secs(30);
    let older = world.deliver(&world.standard(
        "msg-old",
        &event("sess-1", "In Progress", &event_id(T0, 1), 20),
    ));
    ok(&older, "unchanged", false);
    assert_eq!(older.page_id(), newer.page_id());
    assert_eq!(older.body["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(world.notion.log.len(), calls);
    let page = only_page(&world);
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    // Its replay is a duplicate of that outcome.
    let replay = world.deliver(&world.standard(
        "msg-old",
        &event("sess-1", "In Progress", &event_id(T0, 1), 20),
    ));
    ok(&replay, "unchanged", true);
    // And a later event still applies.
    let later = world.deliver(&world.standard(
        "msg-later",
        &event("sess-1", "Failed", &event_id(T0, 3), 60),
    ));
    ok(&later, "updated", false);
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Failed")
    );
}

#[test]
fn an_older_event_without_times_is_ordered_by_its_uuidv7() {
    let mut world = World::new();
    let bare = |status: &str, id: &str| json!({"eventId": id, "sessionId": "sess-1", "agentName": "coder", "status": status});
    let newer_id = event_id(T0 + 120_000, 2);
    let older_id = event_id(T0 + 60_000, 1);
    ok(
        &world.deliver(&world.seed(&bare("Completed", &newer_id))),
        "created",
        false,
    );
    world.advance_secs(300);
    ok(
        &world.deliver(&world.seed(&bare("In Progress", &older_id))),
        "unchanged",
        false,
    );
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Completed")
    );
}

// 5. Same values under a new event id: unchanged, without a call.

#[test]
fn an_identical_event_with_a_new_event_id_is_unchanged_without_a_patch() {
    let mut world = World::new();
    let first_event = event("sess-1", "Completed", "evt-a", 30);
    let first = world.deliver(&world.standard("msg-a", &first_event));
    ok(&first, "created", false);
    let calls = world.notion.log.len();
    world.advance_secs(10);
    let mut same = first_event.clone();
    same["eventId"] = json!("evt-b");
    let second = world.deliver(&world.standard("msg-b", &same));
    ok(&second, "unchanged", false);
    assert_eq!(second.page_id(), first.page_id());
    assert_eq!(world.notion.log.len(), calls, "an unchanged event was sent");
    assert_eq!(world.notion.count(Route::Update), 0);
    // A real change is still written, with its own event id.
    let mut changed = same.clone();
    changed["eventId"] = json!("evt-c");
    changed["linesGenerated"] = json!(121);
    ok(
        &world.deliver(&world.standard("msg-c", &changed)),
        "updated",
        false,
    );
    let page = only_page(&world);
    assert_eq!(page.number("Lines Generated"), Some(121.0));
    assert_eq!(page.text("Event ID"), "evt-c");
}

// 6. Concurrent deliveries of one session are serialised by the lease.

#[test]
fn two_identical_deliveries_at_once_leave_one_page() {
    let mut world = World::new();
    let request = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    let mut a = world.begin(&request);
    let mut b = world.begin(&request);
    world.interleave(&mut [&mut a, &mut b]);
    let (a, b) = (a.answer.unwrap(), b.answer.unwrap());
    ok(&a, "created", false);
    ok(&b, "created", true);
    assert_eq!(a.page_id(), b.page_id());
    assert_eq!(world.notion.live_pages().len(), 1);
    assert_eq!(world.notion.count(Route::Create), 1);
    assert!(!world.kv.contains_key(&lease_key("sess-1")));
}

#[test]
fn two_events_of_one_session_at_once_leave_one_page() {
    let mut world = World::new();
    let first = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    let second = world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20));
    let mut a = world.begin(&first);
    let mut b = world.begin(&second);
    world.interleave(&mut [&mut a, &mut b]);
    let (a, b) = (a.answer.unwrap(), b.answer.unwrap());
    ok(&a, "created", false);
    ok(&b, "updated", false);
    assert_eq!(a.page_id(), b.page_id());
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Completed")
    );
}

#[test]
fn a_newer_event_holding_the_lease_wins_over_an_older_one_waiting() {
    let mut world = World::new();
    let newer = world.standard("msg-new", &event("sess-1", "Completed", "e-2", 20));
    let older = world.standard("msg-old", &event("sess-1", "In Progress", "e-1", 10));
    let mut a = world.begin(&newer);
    let mut b = world.begin(&older);
    world.interleave(&mut [&mut a, &mut b]);
    ok(a.answer.as_ref().unwrap(), "created", false);
    ok(b.answer.as_ref().unwrap(), "unchanged", false);
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Completed")
    );
}

#[test]
fn a_lost_create_and_a_waiting_twin_leave_one_page() {
    let mut world = World::new();
    world.notion.fail_next(
        Route::Create,
        Fault::committed(Fault::Transport(Transport::Timeout)),
    );
    let first = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    let second = world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20));
    let mut a = world.begin(&first);
    let mut b = world.begin(&second);
    world.interleave(&mut [&mut a, &mut b]);
    let (a, b) = (a.answer.unwrap(), b.answer.unwrap());
    assert_eq!((a.status, a.error()), (503, "notion_unavailable"));
    ok(&b, "updated", false);
    let page = only_page(&world);
    assert_eq!(page.id(), b.page_id());
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    // The first event's retry is older than what the page holds now.
    world.advance_secs(2);
    let retry = world.deliver(&world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10)));
    ok(&retry, "unchanged", false);
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Completed")
    );
}

#[test]
fn a_delivery_that_cannot_get_the_lease_answers_503_and_its_retry_is_a_duplicate() {
    let mut world = World::new();
    let request = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    let mut a = world.begin(&request);
    let mut b = world.begin(&request);
    b.time_out_locks = true;
    // a takes the lease and stops before Notion; b finds it taken.
    while a.trace.last() != Some(&StepKind::Lock) {
        world.step(&mut a);
    }
    let busy = world.finish(&mut b);
    assert_eq!(busy.status, 503);
    assert_eq!(busy.error(), "storage_unavailable");
    assert_eq!(busy.header("retry-after"), Some("1"));
    // b's refusal must not have released a's lease.
    assert!(world.kv.contains_key(&lease_key("sess-1")));
    ok(&world.finish(&mut a), "created", false);
    world.advance_secs(1);
    let retry = world.deliver(&world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10)));
    ok(&retry, "created", true);
    assert_eq!(world.notion.live_pages().len(), 1);
}

#[test]
fn a_lease_left_by_a_crashed_delivery_expires() {
    let mut world = World::new();
    let request = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    let mut crashed = world.begin(&request);
    while crashed.trace.last() != Some(&StepKind::Lock) {
        world.step(&mut crashed);
    }
    drop(crashed);
    let mut waiting = world.begin(&request);
    waiting.time_out_locks = true;
    assert_eq!(world.finish(&mut waiting).status, 503);
    world.advance_secs(31);
    let request = world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10));
    ok(&world.deliver(&request), "created", false);
    assert!(!world.kv.contains_key(&lease_key("sess-1")));
}

// 7. Refusals and failures, each with its status and body.

#[test]
fn bad_or_missing_signatures_answer_401() {
    let mut world = World::new();
    let sent = event("sess-1", "In Progress", "e-1", 10);
    let body = sent.to_string().into_bytes();
    let other = Secret::parse("whsec_b3RoZXItc2VjcmV0LWtleQ==").unwrap();
    let now = world.now_secs();

    let mut wrong = Request::standard("msg-1", now, &body);
    wrong.webhook_signature = Some(nexus_core::signature::sign_standard(
        &other, "msg-1", now, &body,
    ));
    let mut tampered = Request::standard("msg-1", now, &body);
    tampered.body = event("sess-1", "Completed", "e-1", 10)
        .to_string()
        .into_bytes();
    let mut seed_wrong = Request::seed(&body);
    seed_wrong.notion_signature = Some(nexus_core::signature::sign_seed(&other, &body));
    let mut no_signature = Request::standard("msg-1", now, &body);
    no_signature.webhook_signature = None;
    let cases = [
        (
            "unsigned",
            Request {
                body: body.clone(),
                ..Request::default()
            },
        ),
        ("wrong secret", wrong),
        ("tampered body", tampered),
        ("seed, wrong secret", seed_wrong),
        ("missing webhook-signature", no_signature),
        ("301 s old", Request::standard("msg-1", now - 301, &body)),
        ("301 s ahead", Request::standard("msg-1", now + 301, &body)),
    ];
    for (what, request) in cases {
        let answer = world.deliver(&request);
        assert_eq!(answer.status, 401, "{what}");
        assert_eq!(
            answer.body,
            json!({"success": false, "error": "invalid_signature"}),
            "{what}"
        );
    }
    assert!(world.notion.log.is_empty());
    assert!(world.kv.is_empty());
    // The window's edges are inside it.
    ok(
        &world.deliver(&Request::standard("msg-1", now - 300, &body)),
        "created",
        false,
    );
    ok(
        &world.deliver(&Request::standard("msg-2", now + 300, &body)),
        "unchanged",
        false,
    );
}

#[test]
fn an_invalid_body_answers_400_with_its_fields() {
    let mut world = World::new();
    let not_json = world.deliver(&Request::standard("m", world.now_secs(), b"{oops"));
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.error(), "invalid_payload");
    let bad = json!({"sessionId": "", "agentName": "planner", "status": "Completed",
                     "startTime": "yesterday", "filesCreated": -1});
    let answer = world.deliver(&world.standard("m", &bad));
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["success"], json!(false));
    assert_eq!(answer.error(), "invalid_payload");
    let fields: Vec<&str> = answer.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["sessionId", "startTime", "filesCreated"]);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("3 fields")
    );
    assert!(world.notion.log.is_empty());
    assert!(world.kv.is_empty());
}

#[test]
fn an_unknown_status_answers_400_naming_the_options() {
    let mut world = World::new();
    let answer = world.deliver(&world.standard("m", &event("sess-1", "Exploding", "e-1", 1)));
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), "invalid_payload");
    assert_eq!(answer.body["fields"][0]["field"], "status");
    assert!(
        answer.body["fields"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("Completed")
    );
    assert!(world.notion.live_pages().is_empty());
    assert!(!world.kv.contains_key(&lease_key("sess-1")));
    // A retry with a good status under the same webhook-id is applied (a 400 leaves no receipt).
    ok(
        &world.deliver(&world.standard("m", &event("sess-1", "Completed", "e-1", 1))),
        "created",
        false,
    );
}

#[test]
fn a_validation_error_answers_422_and_forgets_a_cached_schema() {
    let mut world = World::new();
    ok(
        &world.deliver(&world.standard("m-1", &event("sess-1", "In Progress", "e-1", 1))),
        "created",
        false,
    );
    assert!(world.kv.contains_key(&schema_key(DATA_SOURCE)));
    world.notion.fail_next(
        Route::Create,
        Fault::validation("Status is expected to be status."),
    );
    let answer = world.deliver(&world.standard("m-2", &event("sess-2", "In Progress", "e-2", 1)));
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.body,
        json!({"success": false, "error": "notion_rejected", "notionStatus": 400,
               "notionCode": "validation_error", "message": "Status is expected to be status."})
    );
    assert!(!world.kv.contains_key(&schema_key(DATA_SOURCE)));
    assert!(!world.kv.contains_key(&lease_key("sess-2")));
    // The next delivery reads the schema afresh.
    let schema_reads = world.notion.count(Route::Schema);
    ok(
        &world.deliver(&world.standard("m-2", &event("sess-2", "In Progress", "e-2", 1))),
        "created",
        false,
    );
    assert_eq!(world.notion.count(Route::Schema), schema_reads + 1);
}

#[test]
fn a_validation_error_with_a_fresh_schema_answers_422() {
    let mut world = World::new();
    world
        .notion
        .fail_next(Route::Create, Fault::validation("body failed validation"));
    let answer = world.deliver(&world.standard("m-1", &event("sess-1", "Blocked", "e-1", 1)));
    assert_eq!(answer.status, 422);
    assert_eq!(answer.body["notionCode"], "validation_error");
    assert!(world.notion.live_pages().is_empty());
}

#[test]
fn throttling_and_outages_answer_503_with_retry_after() {
    let mut world = World::new();
    let cases = [
        (Route::Schema, Fault::rate_limited("7"), 7),
        (Route::Query, Fault::rate_limited("12"), 12),
        (Route::Create, Fault::rate_limited("3"), 3),
        (Route::Schema, Fault::status(503, "service_unavailable"), 2),
        (Route::Query, Fault::status(500, "internal_server_error"), 2),
        (Route::Create, Fault::status(502, "bad_gateway"), 2),
        (Route::Query, Fault::Transport(Transport::Timeout), 2),
        (Route::Create, Fault::Transport(Transport::Connect), 2),
    ];
    for (i, (route, fault, seconds)) in cases.into_iter().enumerate() {
        world.kv.clear();
        world.notion.fail_next(route, fault.clone());
        let request = world.standard(
            &format!("m-{i}"),
            &event(&format!("sess-{i}"), "Completed", &format!("e-{i}"), 1),
        );
        let answer = world.deliver(&request);
        assert_eq!(answer.status, 503, "{route:?} {fault:?}");
        assert_eq!(
            answer.body,
            json!({"success": false, "error": "notion_unavailable", "retryAfterSeconds": seconds}),
            "{route:?} {fault:?}"
        );
        assert_eq!(
            answer.header("retry-after"),
            Some(seconds.to_string().as_str())
        );
        // No receipt: the retry is applied, not answered as a duplicate.
        world.advance_secs(seconds as i64);
        let retry = world.standard(
            &format!("m-{i}"),
            &event(&format!("sess-{i}"), "Completed", &format!("e-{i}"), 1),
        );
        ok(&world.deliver(&retry), "created", false);
    }
    assert_eq!(world.notion.live_pages().len(), 8);
}

#[test]
fn notion_refusing_the_token_or_the_data_source_answers_500_naming_the_variable() {
    let mut world = World::new();
    world
        .notion
        .fail_next(Route::Schema, Fault::status(401, "unauthorized"));
    let answer = world.deliver(&world.standard("m-1", &event("sess-1", "Completed", "e-1", 1)));
    assert_eq!(answer.status, 500);
    assert_eq!(answer.error(), "misconfigured");
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("notionapikey"), "{message}");
    assert!(!message.contains("ntn_test_token"), "{message}");
    assert!(!world.kv.contains_key(&lease_key("sess-1")));

    // A data source id Notion does not know (the fake answers 404 object_not_found).
    let mut world = World::with_config(config_for("00000000-0000-4000-8000-00000000dead"));
    let answer = world.deliver(&world.standard("m-1", &event("sess-1", "Completed", "e-1", 1)));
    assert_eq!(answer.status, 500);
    assert_eq!(answer.error(), "misconfigured");
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("notiondatasource"), "{message}");
    assert_eq!(world.notion.routes(), vec![Route::Schema]);
}

#[test]
fn a_token_revoked_while_the_schema_is_cached_answers_500_not_422() {
    // The queue retries a 500 and dead-letters a 422: a revoked token must not turn events into
    // dead letters just because the schema happened to be cached.
    let mut world = World::new();
    ok(
        &world.deliver(&world.standard("m-1", &event("sess-1", "In Progress", "e-1", 1))),
        "created",
        false,
    );
    for (route, request) in [
        (
            Route::Update,
            world.standard("m-2", &event("sess-1", "Completed", "e-2", 2)),
        ),
        (
            Route::Query,
            world.standard("m-3", &event("sess-3", "Completed", "e-3", 2)),
        ),
    ] {
        world
            .notion
            .fail_next(route, Fault::status(401, "unauthorized"));
        let answer = world.deliver(&request);
        assert_eq!(answer.status, 500, "{route:?}: {:?}", answer.body);
        assert_eq!(answer.error(), "misconfigured");
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains("notionapikey"), "{message}");
        // No receipt: once the token is fixed, the same delivery is applied.
        let retry = world.deliver(&request);
        assert_eq!(retry.status, 200, "{route:?}: {:?}", retry.body);
        assert!(!retry.duplicate());
    }
}

// 8. A create whose answer is lost: the retry finds the page instead of making another.

#[test]
fn a_create_that_committed_but_answered_504_is_found_by_the_retry() {
    let mut world = World::new();
    let sent = event("sess-1", "In Progress", "e-1", 10);
    world.notion.fail_next(
        Route::Create,
        Fault::committed(Fault::status(504, "gateway_timeout")),
    );
    let lost = world.deliver(&world.standard("msg-1", &sent));
    assert_eq!(lost.status, 503);
    assert_eq!(lost.error(), "notion_unavailable");
    assert_eq!(world.notion.live_pages().len(), 1, "the create did happen");

    world.advance_secs(2);
    let retry = world.deliver(&world.standard("msg-1", &sent));
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert!(!retry.duplicate());
    let page = only_page(&world);
    assert_eq!(retry.page_id(), page.id());
    // The page already holds the values: found by the query, not written again.
    assert_eq!(retry.action(), "unchanged");
    assert_eq!(world.notion.count(Route::Create), 1);
    assert_holds(&page, &sent);
    // From now on the session record points at it.
    ok(
        &world.deliver(&world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20))),
        "updated",
        false,
    );
    assert_eq!(
        only_page(&world).select("Status").as_deref(),
        Some("Completed")
    );
}

#[test]
fn a_create_that_committed_but_timed_out_is_updated_by_the_next_event() {
    let mut world = World::new();
    world.notion.fail_next(
        Route::Create,
        Fault::committed(Fault::Transport(Transport::Timeout)),
    );
    let lost = world.deliver(&world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10)));
    assert_eq!((lost.status, lost.error()), (503, "notion_unavailable"));
    world.advance_secs(5);
    let next = world.deliver(&world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20)));
    ok(&next, "updated", false);
    let page = only_page(&world);
    assert_eq!(next.page_id(), page.id());
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    assert_eq!(world.notion.count(Route::Create), 1);
}

// 9. The remembered page was deleted in Notion.

#[test]
fn a_session_whose_page_was_deleted_gets_a_new_page() {
    let mut world = World::new();
    let first = world.deliver(&world.standard("msg-1", &event("sess-1", "In Progress", "e-1", 10)));
    ok(&first, "created", false);
    world.notion.delete_page(first.page_id());
    world.notion.log.clear();
    world.advance_secs(60);
    let second = world.deliver(&world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20)));
    ok(&second, "created", false);
    assert_ne!(second.page_id(), first.page_id());
    assert_eq!(
        world.notion.routes(),
        vec![Route::Update, Route::Query, Route::Create]
    );
    let page = only_page(&world);
    assert_eq!(page.id(), second.page_id());
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    // The session record now names the new page.
    let record: Value = serde_json::from_slice(&world.kv[&session_key("sess-1")]).unwrap();
    assert_eq!(record["pageId"], json!(second.page_id()));
    world.notion.log.clear();
    ok(
        &world.deliver(&world.standard("msg-3", &event("sess-1", "Failed", "e-3", 30))),
        "updated",
        false,
    );
    assert_eq!(world.notion.routes(), vec![Route::Update]);
}

// 10. The schema is cached for five minutes of the simulated clock.

#[test]
fn the_schema_is_fetched_once_per_five_minutes() {
    let mut world = World::new();
    let deliver = |world: &mut World, n: u32| {
        let request = world.standard(
            &format!("m-{n}"),
            &event(&format!("sess-{n}"), "Completed", &format!("e-{n}"), 1),
        );
        ok(&world.deliver(&request), "created", false);
    };
    deliver(&mut world, 1);
    assert_eq!(world.notion.count(Route::Schema), 1);
    world.now_millis += SCHEMA_TTL_MILLIS - 1;
    deliver(&mut world, 2);
    assert_eq!(
        world.notion.count(Route::Schema),
        1,
        "cached within 5 minutes"
    );
    world.now_millis += 1;
    deliver(&mut world, 3);
    assert_eq!(
        world.notion.count(Route::Schema),
        2,
        "refetched after 5 minutes"
    );
    world.advance_secs(60);
    deliver(&mut world, 4);
    assert_eq!(
        world.notion.count(Route::Schema),
        2,
        "the fresh copy is cached"
    );
}

#[test]
fn a_damaged_or_future_schema_cache_is_refetched() {
    let mut world = World::new();
    world
        .kv
        .insert(schema_key(DATA_SOURCE), b"not a cache entry".to_vec());
    ok(
        &world.deliver(&world.standard("m-1", &event("s-1", "Completed", "e-1", 1))),
        "created",
        false,
    );
    assert_eq!(world.notion.count(Route::Schema), 1);
    let cached = world.kv[&schema_key(DATA_SOURCE)].clone();
    let text = String::from_utf8(cached).unwrap();
    let (_, bytes) = text.split_once('\n').unwrap();
    world.kv.insert(
        schema_key(DATA_SOURCE),
        format!("{}\n{bytes}", world.now_millis + 60_000).into_bytes(),
    );
    ok(
        &world.deliver(&world.standard("m-2", &event("s-2", "Completed", "e-2", 1))),
        "created",
        false,
    );
    assert_eq!(world.notion.count(Route::Schema), 2);
}

// 11. Text arrives whole, whatever its script or length.

#[test]
fn unicode_and_long_text_arrive_whole() {
    let mut world = World::new();
    let pattern = "日本語のテキスト😀🚀 naïve 中文 ";
    let long: String = pattern.chars().cycle().take(5000).collect();
    assert_eq!(long.chars().count(), 5000);
    let sent = json!({
        "eventId": "事件-🎉-1",
        "sessionId": "セッション-🧪-会话",
        "agentName": "エージェント🤖",
        "status": "In Progress",
        "workDescription": long,
        "deliverables": ["報告書📄", "代码 ✅"],
        "nextSteps": "次のステップ ➡️ 下一步",
        "performanceMetrics": "速度 ⚡ 99%",
    });
    let answer = world.deliver(&world.standard("msg-u", &sent));
    ok(&answer, "created", false);
    let page = only_page(&world);
    assert_eq!(page.text("Session ID"), "セッション-🧪-会话");
    assert_eq!(page.select("Agent Name").as_deref(), Some("エージェント🤖"));
    assert_eq!(page.text("Work Description"), long);
    assert!(page.pieces("Work Description") >= 3);
    assert_eq!(page.text("Deliverables"), "報告書📄\n代码 ✅");
    assert_eq!(page.text("Next Steps"), "次のステップ ➡️ 下一步");
    assert_eq!(page.text("Performance Metrics"), "速度 ⚡ 99%");
    assert_eq!(page.text("Event ID"), "事件-🎉-1");

    // The same session found by its title after the record is lost, and updated.
    world.kv.remove(&session_key("セッション-🧪-会话"));
    let mut next = sent.clone();
    next["eventId"] = json!("事件-🎉-2");
    next["status"] = json!("Completed");
    let answer = world.deliver(&world.standard("msg-u2", &next));
    ok(&answer, "updated", false);
    let page = only_page(&world);
    assert_eq!(page.select("Status").as_deref(), Some("Completed"));
    assert_eq!(page.text("Work Description"), long);
}

// 12. A failing key-value store answers 503 at every step, and the retry converges.

#[test]
fn a_store_failure_at_any_step_answers_503_and_the_retry_leaves_one_page() {
    // The steps of a first delivery: read receipt, lock, load, schema, query, create, write.
    let mut probe = World::new();
    let sent = event("sess-1", "In Progress", "e-1", 10);
    let mut run = probe.begin(&probe.standard("msg-1", &sent));
    probe.finish(&mut run);
    let steps = run.trace.len() - 1;
    assert_eq!(
        run.trace,
        vec![
            StepKind::Read,
            StepKind::Lock,
            StepKind::Read,
            StepKind::Notion,
            StepKind::Notion,
            StepKind::Notion,
            StepKind::Write,
            StepKind::Respond
        ]
    );
    for index in 0..steps {
        let mut world = World::new();
        let (answer, run) = world.deliver_failing_at(&world.standard("msg-1", &sent), index);
        assert_eq!(answer.status, 503, "step {index} ({:?})", run.trace[index]);
        assert_eq!(answer.error(), "storage_unavailable", "step {index}");
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert!(
            !world.kv.contains_key(&lease_key("sess-1")),
            "step {index} left the lease taken"
        );
        world.advance_secs(1);
        let retry = world.deliver(&world.standard("msg-1", &sent));
        assert_eq!(retry.status, 200, "step {index}: {:?}", retry.body);
        assert!(!retry.duplicate());
        assert_eq!(world.notion.live_pages().len(), 1, "step {index}");
    }
    // And on the way to an update and to a duplicate.
    let mut world = World::new();
    ok(
        &world.deliver(&world.standard("msg-1", &sent)),
        "created",
        false,
    );
    let update = world.standard("msg-2", &event("sess-1", "Completed", "e-2", 20));
    for index in 0..5 {
        let (answer, _) = world.deliver_failing_at(&update, index);
        assert_eq!(
            (answer.status, answer.error()),
            (503, "storage_unavailable"),
            "update step {index}"
        );
    }
    let (answer, _) = world.deliver_failing_at(&world.standard("msg-1", &sent), 0);
    assert_eq!(
        (answer.status, answer.error()),
        (503, "storage_unavailable")
    );
    assert_eq!(world.notion.live_pages().len(), 1);
}
