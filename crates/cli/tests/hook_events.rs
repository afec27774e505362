//! The captured Claude Code hook inputs become the right events, and the hook's order holds:
//! queued first, then sent signed with both schemes, outcome recorded; exit 0 whatever happens.

mod support;

use std::time::{Duration, Instant};

use nexus_core::signature::{Secrets, SignatureHeaders, Verified, VerifyPolicy, verify};
use serde_json::Value;
use support::{FakeEdge, SECRET, fixture, nexus, queue_lines, run_with_stdin};

fn queued_event(project: &std::path::Path) -> Value {
    let lines = queue_lines(project, "notion-sync-queue.jsonl");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["eventId"], line["event"]["eventId"]);
    assert!(line["enqueuedAt"].as_str().unwrap().ends_with('Z'));
    line["event"].clone()
}

fn hook_queue_only(fixture_name: &str) -> (tempfile::TempDir, Value) {
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.args(["hook", "--json"])
        .env("NEXUS_WEBHOOK_ENABLED", "false");
    let out = run_with_stdin(cmd, &fixture(fixture_name));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["queued"], true);
    assert_eq!(report["delivery"], "disabled");
    let event = queued_event(dir.path());
    assert_eq!(report["eventId"], event["eventId"]);
    // Every queued event is valid for the edge.
    nexus_core::Event::parse(&serde_json::to_vec(&event).unwrap()).unwrap();
    (dir, event)
}

fn is_uuid_v7(id: &str) -> bool {
    id.len() == 36
        && id.as_bytes()[14] == b'7'
        && nexus_core::event_id::timestamp_millis(id).is_some()
}

#[test]
fn subagent_stop_becomes_a_completed_subagent_event() {
    let (_dir, e) = hook_queue_only("subagent-stop.json");
    assert!(is_uuid_v7(e["eventId"].as_str().unwrap()), "{e}");
    assert_eq!(
        e["sessionId"],
        "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f:a7c41e09b2d35f18"
    );
    assert_eq!(e["agentName"], "code-reviewer");
    assert_eq!(e["status"], "Completed");
    assert!(e["endTime"].is_string());
    let d = e["workDescription"].as_str().unwrap();
    assert!(d.contains("discount is applied twice"), "{d}");
    assert!(!d.contains("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), "{d}");
}

#[test]
fn post_tool_use_task_becomes_an_event_with_duration() {
    let (_dir, e) = hook_queue_only("post-tool-use-task.json");
    assert_eq!(
        e["sessionId"],
        "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f:toolu_01Hq8GZbVxk2mW3ZcJr5uYtN"
    );
    assert_eq!(e["agentName"], "code-reviewer");
    assert_eq!(e["status"], "Completed");
    let minutes = e["durationMinutes"].as_f64().unwrap();
    assert!((minutes - 184_250.0 / 60_000.0).abs() < 1e-9, "{minutes}");
    assert!(e["startTime"].is_string() && e["endTime"].is_string());
    let d = e["workDescription"].as_str().unwrap();
    assert!(
        d.starts_with("Review checkout code\n\nFixed the double discount"),
        "{d}"
    );
    assert!(!d.contains("pk_live_51HxYz"), "{d}");
    let metrics: Value = serde_json::from_str(e["performanceMetrics"].as_str().unwrap()).unwrap();
    assert_eq!(metrics["totalToolUseCount"], 17);
    assert_eq!(metrics["totalTokens"], 48211);
}

#[test]
fn post_tool_use_agent_becomes_the_same_kind_of_event() {
    let (_dir, e) = hook_queue_only("post-tool-use-agent.json");
    assert_eq!(
        e["sessionId"],
        "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b:f03b6c2a9d1e4857"
    );
    assert_eq!(e["agentName"], "Explore");
    assert_eq!(e["status"], "Completed");
    assert!(
        e["workDescription"]
            .as_str()
            .unwrap()
            .starts_with("Find flaky tests\n\nTwo flaky tests")
    );
    assert!((e["durationMinutes"].as_f64().unwrap() - 95.0 / 60.0).abs() < 1e-9);
}

#[test]
fn stop_becomes_a_main_agent_event() {
    let (_dir, e) = hook_queue_only("stop.json");
    assert_eq!(e["sessionId"], "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f");
    assert_eq!(e["agentName"], "main");
    assert_eq!(e["status"], "Completed");
}

#[test]
fn other_tools_are_ignored_quietly() {
    let dir = support::tempdir();
    let input = br#"{"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/nowhere"}"#;
    let mut cmd = nexus(dir.path());
    cmd.arg("hook");
    let out = run_with_stdin(cmd, input);
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert!(!dir.path().join(".claude").exists());
}

#[test]
fn bad_input_is_one_line_and_never_exit_2() {
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.arg("hook");
    let out = run_with_stdin(cmd, b"{not json");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not JSON"), "{err}");

    let out = nexus(dir.path())
        .args(["hook", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let out = nexus(dir.path())
        .args(["hook", "--session-id", "s", "--start-time", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--start-time"));
}

#[test]
fn flags_build_an_event() {
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args([
            "hook",
            "--json",
            "--session-id",
            "manual-1",
            "--agent",
            "release-bot",
            "--status",
            "In Progress",
            "--description",
            "Tagging v1.2",
            "--files-created",
            "2",
            "--deliverable",
            "tag v1.2",
            "--deliverable",
            "changelog",
        ])
        .env("NEXUS_WEBHOOK_ENABLED", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = queued_event(dir.path());
    assert_eq!(e["sessionId"], "manual-1");
    assert_eq!(e["agentName"], "release-bot");
    assert_eq!(e["status"], "In Progress");
    assert_eq!(e["filesCreated"], 2);
    assert_eq!(
        e["deliverables"],
        serde_json::json!(["tag v1.2", "changelog"])
    );
}

#[test]
fn endpoint_down_queues_and_exits_0_at_once() {
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.args(["hook", "--json"])
        .env("NEXUS_WEBHOOK_URL", support::dead_url())
        .env("NEXUS_WEBHOOK_SECRET", SECRET);
    let started = Instant::now();
    let out = run_with_stdin(cmd, &fixture("subagent-stop.json"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["delivery"], "pending");
    queued_event(dir.path());
    let receipts = queue_lines(dir.path(), "notion-sync-receipts.jsonl");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["outcome"], "failed");
    let list = nexus(dir.path())
        .args(["queue", "list", "--json", "--pending"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["attempts"], 1);
    assert_eq!(list[0]["webhookSynced"], false);
    assert!(
        list[0]["lastError"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{list}"
    );
}

#[test]
fn unresponsive_endpoint_is_cut_at_the_timeout() {
    // Accepts the connection, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/NotionWebhook",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let _held: Vec<_> = listener.incoming().collect();
    });
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.args(["hook"])
        .env("NEXUS_WEBHOOK_URL", url)
        .env("NEXUS_WEBHOOK_SECRET", SECRET);
    let started = Instant::now();
    let out = run_with_stdin(cmd, &fixture("stop.json"));
    let took = started.elapsed();
    assert!(out.status.success());
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(13),
        "took {took:?}"
    );
    queued_event(dir.path());
}

#[test]
fn missing_secret_is_named_and_the_event_still_queued() {
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.arg("hook")
        .env("NEXUS_WEBHOOK_URL", support::dead_url());
    let out = run_with_stdin(cmd, &fixture("stop.json"));
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("NEXUS_WEBHOOK_SECRET"), "{err}");
    queued_event(dir.path());

    let mut cmd = nexus(dir.path());
    cmd.arg("hook").env("NEXUS_WEBHOOK_SECRET", SECRET);
    let out = run_with_stdin(cmd, &fixture("stop.json"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NEXUS_WEBHOOK_URL"));
}

#[test]
fn delivered_event_is_signed_both_ways_and_recorded_synced() {
    let edge = FakeEdge::accepting();
    let dir = support::tempdir();
    let mut cmd = nexus(dir.path());
    cmd.args(["hook", "--json"])
        .env("NEXUS_WEBHOOK_URL", &edge.url)
        .env("NEXUS_WEBHOOK_SECRET", SECRET);
    let out = run_with_stdin(cmd, &fixture("post-tool-use-agent.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["delivery"], "synced");
    assert_eq!(report["pageId"], "1f2e3d4c5b6a79880a1b2c3d4e5f6a7b");

    let posts = edge.posts();
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    let event = queued_event(dir.path());
    // The body sent is the event queued, byte for byte as JSON.
    assert_eq!(serde_json::from_slice::<Value>(&p.body).unwrap(), event);
    assert_eq!(p.header("content-type"), Some("application/json"));
    assert_eq!(p.header("webhook-id"), event["eventId"].as_str());
    let secrets = Secrets::parse(SECRET).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let both = SignatureHeaders {
        notion_signature: p.header("notion-signature"),
        webhook_id: p.header("webhook-id"),
        webhook_timestamp: p.header("webhook-timestamp"),
        webhook_signature: p.header("webhook-signature"),
    };
    assert!(matches!(
        verify(&both, &p.body, &secrets, now, &VerifyPolicy::default()),
        Ok(Verified::Standard { .. })
    ));
    let seed_only = SignatureHeaders {
        notion_signature: p.header("notion-signature"),
        ..SignatureHeaders::default()
    };
    assert_eq!(
        verify(&seed_only, &p.body, &secrets, now, &VerifyPolicy::default()),
        Ok(Verified::Seed)
    );

    let status = nexus(dir.path())
        .args(["queue", "status", "--json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"pending":0,"synced":1,"dead":0,"oldestPendingSeconds":null})
    );
    let list = nexus(dir.path())
        .args(["queue", "list", "--json", "--synced"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["pageId"], "1f2e3d4c5b6a79880a1b2c3d4e5f6a7b");
    assert_eq!(list[0]["webhookSynced"], true);
}

#[test]
fn refused_event_becomes_a_dead_letter_and_unavailable_stays_pending() {
    let edge = FakeEdge::start(|r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if body["agentName"] == "main" {
            (
                401,
                r#"{"success":false,"error":"invalid_signature"}"#.into(),
            )
        } else {
            (
                503,
                r#"{"success":false,"error":"notion_unavailable","retryAfterSeconds":7}"#.into(),
            )
        }
    });
    let dir = support::tempdir();
    for f in ["stop.json", "subagent-stop.json"] {
        let mut cmd = nexus(dir.path());
        cmd.arg("hook")
            .env("NEXUS_WEBHOOK_URL", &edge.url)
            .env("NEXUS_WEBHOOK_SECRET", SECRET);
        let out = run_with_stdin(cmd, &fixture(f));
        assert!(out.status.success());
    }
    let dead = queue_lines(dir.path(), "notion-sync-dead.jsonl");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["event"]["agentName"], "main");
    assert_eq!(dead[0]["httpStatus"], 401);
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid_signature")
    );
    let status = nexus(dir.path())
        .args(["queue", "status", "--json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pending"], 1);
    assert_eq!(status["dead"], 1);
    assert!(status["oldestPendingSeconds"].as_u64().unwrap() < 60);
    let list = nexus(dir.path())
        .args(["queue", "list", "--json", "--pending"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(
        list[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("503 notion_unavailable"),
        "{list}"
    );
    // Compaction drops the dead entry from the queue file; the dead letter stays.
    assert!(
        nexus(dir.path())
            .args(["queue", "compact"])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(queue_lines(dir.path(), "notion-sync-queue.jsonl").len(), 1);
    let list = nexus(dir.path())
        .args(["queue", "list", "--json", "--dead"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["agentName"], "main");
}
