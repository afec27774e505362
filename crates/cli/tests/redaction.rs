//! A token, a password assignment and a private key in the hook input never reach the queue
//! files nor the body POSTed to the edge.

mod support;

use support::{FakeEdge, SECRET, nexus, run_with_stdin};

const TOKEN: &str = "ghp_R2d2C3poBb8LukeLeia0123456789abcdEF";
const PASSWORD: &str = "Tr0ub4dor&3-horse";
const KEY_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";

#[test]
fn secrets_never_reach_the_queue_or_the_edge() {
    let edge = FakeEdge::accepting();
    let dir = support::tempdir();
    let message = format!(
        "Deployed. Used token {TOKEN} to push; set DB_PASSWORD={PASSWORD} in .env.\n\
         -----BEGIN PRIVATE KEY-----\n{KEY_BODY}\nQ2hhbmdlIG1lIHBsZWFzZQ==\n-----END PRIVATE KEY-----\nDone."
    );
    let inputs = [
        serde_json::json!({
            "session_id": "s-redact", "hook_event_name": "SubagentStop", "agent_id": "a1",
            "agent_type": "deployer", "last_assistant_message": message, "cwd": "/x",
        }),
        serde_json::json!({
            "session_id": "s-redact", "hook_event_name": "PostToolUse", "tool_name": "Task",
            "tool_use_id": "toolu_1",
            "tool_input": {"description": format!("push with {TOKEN}"), "subagent_type": "deployer"},
            "tool_response": {"content": [{"type": "text", "text": message}]},
        }),
    ];
    for input in &inputs {
        let mut cmd = nexus(dir.path());
        cmd.arg("hook")
            .env("NEXUS_WEBHOOK_URL", &edge.url)
            .env("NEXUS_WEBHOOK_SECRET", SECRET);
        let out = run_with_stdin(cmd, input.to_string().as_bytes());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let posts = edge.posts();
    assert_eq!(posts.len(), 2);
    let mut haystacks: Vec<(String, Vec<u8>)> = posts
        .iter()
        .map(|p| ("POST body".to_owned(), p.body.clone()))
        .collect();
    for entry in std::fs::read_dir(dir.path().join(".claude/data")).unwrap() {
        let path = entry.unwrap().path();
        haystacks.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (name, bytes) in &haystacks {
        let text = String::from_utf8_lossy(bytes);
        for secret in [TOKEN, PASSWORD, KEY_BODY, "Q2hhbmdlIG1lIHBsZWFzZQ"] {
            assert!(!text.contains(secret), "{secret} reached {name}: {text}");
        }
    }
    // The rest of the text is still there.
    let body = String::from_utf8_lossy(&posts[0].body);
    assert!(
        body.contains("Deployed. Used token [REDACTED] to push"),
        "{body}"
    );
    assert!(body.contains("DB_PASSWORD=[REDACTED]"), "{body}");
    assert!(body.contains("[REDACTED PRIVATE KEY]"), "{body}");
}
