//! The local side against the real edge (issue 3): `nexus hook` with the captured Claude Code
//! inputs makes pages in the emulator while the queue keeps a copy marked synced with the page
//! id; `nexus endpoint send-test` prints the page URL; `nexus health` passes against the stack
//! and fails against a dead endpoint; secrets in the hook input never reach Notion.
//!
//! The `nexus` binary: `$NEXUS_BIN` if set, else the one `cargo test --workspace` built in this
//! test's own target folder, else one `cargo build -p nexus-cli` builds there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use nexus_tests::{SECRET, Stack, select_of, text_of};
use serde_json::Value;

fn nexus_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("NEXUS_BIN") {
            return PathBuf::from(bin);
        }
        // <target>/<profile>/deps/hook_to_edge-<hash>
        let exe = std::env::current_exe().expect("the test's path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>/deps");
        let target_dir = profile_dir.parent().expect("<target>");
        let bin = profile_dir.join(format!("nexus{}", std::env::consts::EXE_SUFFIX));
        if bin.exists() {
            // `cargo test --workspace` (what `cargo xtask test` runs) builds it beside this test.
            // Building it again with `-p nexus-cli` alone would resolve other dependency features
            // and rebuild half the workspace.
            return bin;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "nexus-cli", "--bin", "nexus"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(nexus_tests::root())
            .stdin(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!(
                "cannot build `nexus` ({other:?}) into {}: run `cargo build -p nexus-cli` or set NEXUS_BIN",
                target_dir.display()
            ),
        }
        assert!(bin.exists(), "{} is missing after `cargo build -p nexus-cli`", bin.display());
        bin
    })
}

/// `nexus` in `project`, pointed at `url` with the stack's secret, its settings environment
/// otherwise clean.
fn nexus(project: &Path, url: &str) -> Command {
    let mut c = Command::new(nexus_bin());
    c.env("CLAUDE_PROJECT_DIR", project)
        .env("NEXUS_WEBHOOK_URL", url)
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .env_remove("NEXUS_WEBHOOK_ENABLED")
        .env_remove("NEXUS_QUEUE")
        .stdin(Stdio::null());
    c
}

/// Runs a command off the async runtime (the stack serves on it meanwhile).
async fn run(mut cmd: Command, stdin: Option<Vec<u8>>) -> Output {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning nexus");
        if let Some(bytes) = stdin {
            child.stdin.take().unwrap().write_all(&bytes).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = nexus_tests::root()
        .join("tests/fixtures/claude-code")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} / stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout {}\nstderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A loopback port nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api/NotionWebhook")
}

/// What the fixtures report: (file, sessionId, agentName, status).
const FIXTURES: [(&str, &str, &str, &str); 4] = [
    (
        "subagent-stop.json",
        "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f:a7c41e09b2d35f18",
        "code-reviewer",
        "Completed",
    ),
    (
        "post-tool-use-task.json",
        "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f:toolu_01Hq8GZbVxk2mW3ZcJr5uYtN",
        "code-reviewer",
        "Completed",
    ),
    (
        "post-tool-use-agent.json",
        "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b:f03b6c2a9d1e4857",
        "Explore",
        "Completed",
    ),
    (
        "stop.json",
        "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
        "main",
        "Completed",
    ),
];

/// Secrets planted in the fixtures and in [`planted_input`]: none may reach Notion.
const PLANTED: [&str; 9] = [
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_live_51HxYzAbCdEfGhIjKlMnOpQr",
    "s3cr3t-Pa55",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "ghp_R2d2C3poBb8LukeLeia0123456789abcdEF",
    "Tr0ub4dor&3-horse",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "Q2hhbmdlIG1lIHBsZWFzZQ",
    "xoxb-2046-8271-Zq9RtVbNm3Lk7PwXyA1sDfGh",
];

#[tokio::test(flavor = "multi_thread")]
async fn hooks_make_pages_while_the_queue_keeps_a_synced_copy() {
    let stack = Stack::start().await;
    let project = tempfile::tempdir().unwrap();
    let url = stack.url("/api/NotionWebhook");
    let mut reports = Vec::new();
    for (file, ..) in FIXTURES {
        let mut cmd = nexus(project.path(), &url);
        cmd.args(["hook", "--json"]);
        let out = run(cmd, Some(fixture(file))).await;
        assert_success(&out, file);
        let report = stdout_json(&out);
        assert_eq!(report["queued"], true, "{file}: {report}");
        assert_eq!(report["delivery"], "synced", "{file}: {report}");
        assert_eq!(report["httpStatus"], 200, "{file}: {report}");
        reports.push(report);
    }

    let pages = stack.pages().await;
    assert_eq!(pages.len(), FIXTURES.len());
    for ((file, session, agent, status), report) in FIXTURES.iter().zip(&reports) {
        let page = pages
            .iter()
            .find(|p| text_of(p, "Session ID") == *session)
            .unwrap_or_else(|| panic!("{file}: no page for {session}"));
        assert_eq!(page["id"], report["pageId"], "{file}");
        assert_eq!(page["url"], report["pageUrl"], "{file}");
        assert_eq!(
            select_of(page, "Agent Name").as_deref(),
            Some(*agent),
            "{file}"
        );
        assert_eq!(
            select_of(page, "Status").as_deref(),
            Some(*status),
            "{file}"
        );
        assert_eq!(
            text_of(page, "Event ID"),
            report["eventId"].as_str().unwrap(),
            "{file}"
        );
        assert!(!text_of(page, "Work Description").is_empty(), "{file}");
        assert!(
            page["properties"]["End Time"]["date"]["start"].is_string(),
            "{file}"
        );
    }
    let task = pages
        .iter()
        .find(|p| text_of(p, "Session ID") == FIXTURES[1].1)
        .unwrap();
    assert!(text_of(task, "Work Description").starts_with("Review checkout code"));
    let minutes = task["properties"]["Duration (Minutes)"]["number"]
        .as_f64()
        .unwrap();
    assert!((minutes - 184_250.0 / 60_000.0).abs() < 0.01, "{minutes}");

    // The queue holds each event once, marked synced with its page.
    let queue_file = project.path().join(".claude/data/notion-sync-queue.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&queue_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every queue line parses"))
        .collect();
    assert_eq!(lines.len(), FIXTURES.len());
    let mut cmd = nexus(project.path(), &url);
    cmd.args(["queue", "list", "--json", "--synced"]);
    let out = run(cmd, None).await;
    assert_success(&out, "queue list");
    let synced = stdout_json(&out);
    let synced = synced.as_array().unwrap();
    assert_eq!(synced.len(), FIXTURES.len(), "{synced:?}");
    for report in &reports {
        let entry = synced
            .iter()
            .find(|e| e["eventId"] == report["eventId"])
            .expect("listed");
        assert_eq!(entry["webhookSynced"], true);
        assert_eq!(entry["pageId"], report["pageId"], "{entry}");
        let line = lines
            .iter()
            .find(|l| l["eventId"] == report["eventId"])
            .expect("in the queue file");
        assert_eq!(line["event"]["eventId"], report["eventId"]);
        assert!(line["enqueuedAt"].is_string());
    }
    let mut cmd = nexus(project.path(), &url);
    cmd.args(["queue", "status", "--json"]);
    let status = stdout_json(&run(cmd, None).await);
    assert_eq!(status["pending"], 0, "{status}");
    assert_eq!(status["dead"], 0, "{status}");

    // A second run of one fixture is a new event of the same session: the same page, updated.
    let mut cmd = nexus(project.path(), &url);
    cmd.args(["hook", "--json"]);
    let out = run(cmd, Some(fixture("stop.json"))).await;
    assert_success(&out, "stop.json again");
    let again = stdout_json(&out);
    assert_eq!(again["pageId"], reports[3]["pageId"]);
    assert_eq!(stack.pages().await.len(), FIXTURES.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_whose_edge_cannot_reach_notion_keeps_the_event_pending_and_exits_0() {
    let stack = Stack::start().await;
    stack
        .faults(serde_json::json!({"status": 503, "count": 10}))
        .await;
    let project = tempfile::tempdir().unwrap();
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.args(["hook", "--json"]);
    let out = run(cmd, Some(fixture("subagent-stop.json"))).await;
    assert_success(&out, "hook with Notion down");
    let report = stdout_json(&out);
    assert_eq!(report["queued"], true);
    assert_eq!(report["delivery"], "pending", "{report}");
    assert_eq!(report["httpStatus"], 503, "{report}");
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.args(["queue", "status", "--json"]);
    let status = stdout_json(&run(cmd, None).await);
    assert_eq!(status["pending"], 1, "{status}");
    stack
        .control("DELETE", "/_emulator/faults", Value::Null)
        .await;
    assert!(stack.pages().await.is_empty());
}

/// A hook input holding a token, a password assignment and a private key.
fn planted_input() -> Vec<u8> {
    let message = format!(
        "Deployed with {} and the Slack bot {}; set DB_PASSWORD={} in .env.\n\
         -----BEGIN PRIVATE KEY-----\n{}\n{}==\n-----END PRIVATE KEY-----\nDone.",
        PLANTED[4], PLANTED[8], PLANTED[5], PLANTED[6], PLANTED[7]
    );
    serde_json::to_vec(&serde_json::json!({
        "session_id": "s-redact", "hook_event_name": "PostToolUse", "tool_name": "Agent",
        "tool_use_id": "toolu_redact", "cwd": "/x",
        "tool_input": {"description": format!("push with {}", PLANTED[4]), "subagent_type": "deployer"},
        "tool_response": {"status": "completed", "content": [{"type": "text", "text": message}]},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_in_the_hook_input_never_reach_notion() {
    let stack = Stack::start().await;
    let project = tempfile::tempdir().unwrap();
    let url = stack.url("/api/NotionWebhook");
    let mut inputs: Vec<Vec<u8>> = FIXTURES.iter().map(|(file, ..)| fixture(file)).collect();
    inputs.push(planted_input());
    for input in inputs {
        let mut cmd = nexus(project.path(), &url);
        cmd.args(["hook", "--json"]);
        let out = run(cmd, Some(input)).await;
        assert_success(&out, "hook");
        assert_eq!(stdout_json(&out)["delivery"], "synced");
    }
    let pages = stack.pages().await;
    assert_eq!(pages.len(), FIXTURES.len() + 1);
    // Everything Notion holds, as it would show it.
    let everything = serde_json::to_string(&pages).unwrap();
    for secret in PLANTED {
        assert!(!everything.contains(secret), "{secret} reached Notion");
    }
    assert!(!everything.contains("BEGIN OPENSSH PRIVATE KEY"));
    // The rest of the text did arrive.
    let page = pages
        .iter()
        .find(|p| text_of(p, "Session ID") == "s-redact:toolu_redact")
        .expect("the planted page");
    let description = text_of(page, "Work Description");
    assert!(description.starts_with("push with "), "{description}");
    assert!(description.contains("DB_PASSWORD="), "{description}");
    assert!(description.contains("Done."), "{description}");
    let stop = pages
        .iter()
        .find(|p| text_of(p, "Session ID") == FIXTURES[3].1)
        .unwrap();
    assert!(
        text_of(stop, "Work Description").contains("rotate it"),
        "{}",
        text_of(stop, "Work Description")
    );
    // Nor the queue on disk.
    for entry in std::fs::read_dir(project.path().join(".claude/data")).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in PLANTED {
            assert!(
                !text.contains(secret),
                "{secret} reached {}",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_send_test_prints_the_page_url() {
    let stack = Stack::start().await;
    let project = tempfile::tempdir().unwrap();
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.args(["endpoint", "send-test"]);
    let out = run(cmd, None).await;
    assert_success(&out, "endpoint send-test");
    let pages = stack.pages().await;
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(text_of(page, "Session ID"), "nexus-send-test");
    let url = page["url"].as_str().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(url), "{url} not in {stdout}");

    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.args(["endpoint", "send-test", "--json"]);
    let report = stdout_json(&run(cmd, None).await);
    assert_eq!(report["ok"], true);
    assert_eq!(report["pageUrl"], url, "one page for the send-test session");
    assert_eq!(stack.pages().await.len(), 1);

    // A secret the edge does not know: not delivered, non-zero, and it says so.
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.env("NEXUS_WEBHOOK_SECRET", "whsec_dW5rbm93bg==")
        .args(["endpoint", "send-test"]);
    let out = run(cmd, None).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_passes_against_the_stack_and_fails_against_a_dead_endpoint() {
    let stack = Stack::start().await;
    let project = tempfile::tempdir().unwrap();
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.args(["health", "--json"]);
    let out = run(cmd, None).await;
    assert_success(&out, "health against the stack");
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true, "{report}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for needed in ["endpoint", "signature", "deep-health"] {
        assert!(names.contains(&needed), "{names:?}");
    }
    assert!(
        stack.pages().await.is_empty(),
        "the health check writes no page"
    );

    let mut cmd = nexus(project.path(), &dead_url());
    cmd.args(["health", "--json"]);
    let started = std::time::Instant::now();
    let out = run(cmd, None).await;
    assert!(
        !out.status.success(),
        "health against a dead endpoint must fail"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let report = stdout_json(&out);
    assert_eq!(report["ok"], false);
    let endpoint = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "endpoint")
        .unwrap();
    assert_eq!(endpoint["ok"], false, "{endpoint}");

    // Reachable, but the secrets differ: the signature check fails.
    let mut cmd = nexus(project.path(), &stack.url("/api/NotionWebhook"));
    cmd.env("NEXUS_WEBHOOK_SECRET", "whsec_dW5rbm93bg==")
        .args(["health", "--json"]);
    let out = run(cmd, None).await;
    assert!(!out.status.success());
    let report = stdout_json(&out);
    let signature = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "signature")
        .unwrap();
    assert_eq!(signature["ok"], false, "{signature}");

    // The edge is up but Notion refuses its token: the deep check fails, and so does `health`.
    let broken = Stack::start_with(|vars| {
        vars.insert("notionapikey".into(), "ntn_not_the_emulators_token".into());
    })
    .await;
    let mut cmd = nexus(project.path(), &broken.url("/api/NotionWebhook"));
    cmd.args(["health", "--json"]);
    let out = run(cmd, None).await;
    assert!(!out.status.success());
    let report = stdout_json(&out);
    let deep = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "deep-health")
        .unwrap();
    assert_eq!(deep["ok"], false, "{deep}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_built_from_flags_writes_every_value() {
    let stack = Stack::start().await;
    let project = tempfile::tempdir().unwrap();
    let url = stack.url("/api/NotionWebhook");
    // A page to relate to.
    let mut cmd = nexus(project.path(), &url);
    cmd.args([
        "hook",
        "--json",
        "--session-id",
        "s-flags-target",
        "--agent",
        "planner",
    ]);
    let target = stdout_json(&run(cmd, None).await);
    assert_eq!(target["delivery"], "synced", "{target}");
    let target_id = target["pageId"].as_str().unwrap().to_string();

    let mut cmd = nexus(project.path(), &url);
    cmd.args([
        "hook",
        "--json",
        "--session-id",
        "s-flags",
        "--agent",
        "tester, senior",
        "--status",
        "Blocked",
        "--description",
        "Waiting on review 🚦",
        "--start-time",
        "2026-12-04T10:00:00Z",
        "--end-time",
        "2026-12-04T10:45:00Z",
        "--files-created",
        "1",
        "--files-updated",
        "4",
        "--lines-generated",
        "88",
        "--deliverable",
        "report.md",
        "--deliverable",
        "fix.patch",
        "--next-step",
        "ping reviewer",
        "--metrics",
        r#"{"tokens":42}"#,
        "--related",
        target["pageUrl"].as_str().unwrap(),
    ]);
    let out = run(cmd, None).await;
    assert_success(&out, "hook with flags");
    let report = stdout_json(&out);
    assert_eq!(report["delivery"], "synced", "{report}");
    let page = stack.page(report["pageId"].as_str().unwrap()).await;
    assert_eq!(text_of(&page, "Session ID"), "s-flags");
    assert_eq!(
        select_of(&page, "Agent Name").as_deref(),
        Some("tester  senior")
    );
    assert_eq!(select_of(&page, "Status").as_deref(), Some("Blocked"));
    assert_eq!(text_of(&page, "Work Description"), "Waiting on review 🚦");
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
            .starts_with("2026-12-04T10:45")
    );
    assert_eq!(props["Duration (Minutes)"]["number"], 45);
    assert_eq!(props["Files Created / Updated"]["number"], 5);
    assert_eq!(props["Lines Generated"]["number"], 88);
    assert_eq!(text_of(&page, "Deliverables"), "report.md\nfix.patch");
    assert_eq!(text_of(&page, "Next Steps"), "ping reviewer");
    assert_eq!(text_of(&page, "Performance Metrics"), r#"{"tokens":42}"#);
    assert_eq!(
        text_of(&page, "Event ID"),
        report["eventId"].as_str().unwrap()
    );
    assert_eq!(
        props["Related Notion Items"]["relation"],
        serde_json::json!([{"id": target_id}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_notion_refuses_for_good_becomes_a_dead_letter_and_health_says_so() {
    let stack = Stack::start().await;
    stack
        .faults(serde_json::json!([{"method": "POST", "path": "/v1/pages", "status": 400, "code": "validation_error"}]))
        .await;
    let project = tempfile::tempdir().unwrap();
    let url = stack.url("/api/NotionWebhook");
    let mut cmd = nexus(project.path(), &url);
    cmd.args(["hook", "--json"]);
    let out = run(cmd, Some(fixture("post-tool-use-agent.json"))).await;
    assert_success(&out, "hook refused for good");
    let report = stdout_json(&out);
    assert_eq!(report["delivery"], "dead", "{report}");
    assert_eq!(report["httpStatus"], 422, "{report}");
    let mut cmd = nexus(project.path(), &url);
    cmd.args(["queue", "status", "--json"]);
    let status = stdout_json(&run(cmd, None).await);
    assert_eq!(
        (status["pending"].clone(), status["dead"].clone()),
        (0.into(), 1.into()),
        "{status}"
    );
    let dead = std::fs::read_to_string(project.path().join(".claude/data/notion-sync-dead.jsonl"))
        .unwrap();
    assert!(dead.contains(report["eventId"].as_str().unwrap()), "{dead}");

    let mut cmd = nexus(project.path(), &url);
    cmd.args(["health", "--json"]);
    let out = run(cmd, None).await;
    assert!(!out.status.success(), "a dead letter fails the daily check");
    let report = stdout_json(&out);
    let dead = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dead-letters")
        .unwrap();
    assert_eq!(dead["ok"], false, "{dead}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_secret_works_end_to_end_and_endpoint_test_reaches_the_edge() {
    let scratch = tempfile::tempdir().unwrap();
    let mut cmd = nexus(scratch.path(), "http://127.0.0.1:9/unused");
    cmd.args(["secret", "generate", "--json"]);
    let out = run(cmd, None).await;
    assert_success(&out, "secret generate");
    let secret = stdout_json(&out)["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let edge_secret = secret.clone();
    let stack = Stack::start_with(move |vars| {
        vars.insert("webhooksecret".into(), edge_secret);
    })
    .await;
    let url = stack.url("/api/NotionWebhook");

    let mut cmd = nexus(scratch.path(), &url);
    cmd.env("NEXUS_WEBHOOK_SECRET", &secret)
        .args(["endpoint", "send-test", "--json"]);
    let out = run(cmd, None).await;
    assert_success(&out, "send-test with a generated secret");
    assert_eq!(stdout_json(&out)["pageUrl"], stack.pages().await[0]["url"]);

    let mut cmd = nexus(scratch.path(), &url);
    cmd.args(["endpoint", "test", "--json"]);
    let out = run(cmd, None).await;
    assert_success(&out, "endpoint test");
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["healthStatus"], 200, "{report}");
    assert_eq!(
        report["routeStatus"], 405,
        "GET on the webhook route: {report}"
    );

    let mut cmd = nexus(scratch.path(), &dead_url());
    cmd.args(["endpoint", "test", "--json"]);
    let out = run(cmd, None).await;
    assert!(!out.status.success());
    assert_eq!(stdout_json(&out)["reachable"], false);
}
