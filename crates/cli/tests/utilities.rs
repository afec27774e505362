//! The seed's webhook utilities against a loopback fake edge and against a dead endpoint.

mod support;

use std::time::{Duration, Instant};

use nexus_core::signature::{Secrets, SignatureHeaders, VerifyPolicy, verify};
use serde_json::Value;
use support::{FakeEdge, SECRET, nexus};

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn secret_generate_makes_distinct_usable_secrets() {
    let dir = support::tempdir();
    let a = nexus(dir.path())
        .args(["secret", "generate"])
        .output()
        .unwrap();
    let b = nexus(dir.path())
        .args(["secret", "generate", "--json"])
        .output()
        .unwrap();
    let a = String::from_utf8(a.stdout).unwrap().trim().to_owned();
    let b = json_of(&b)["secret"].as_str().unwrap().to_owned();
    assert!(a.starts_with("whsec_") && b.starts_with("whsec_"));
    assert_ne!(a, b);
    Secrets::parse(&a).unwrap();
}

#[test]
fn endpoint_test_against_a_live_and_a_dead_edge() {
    let edge = FakeEdge::accepting();
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args(["endpoint", "test", "--json"])
        .env("NEXUS_WEBHOOK_URL", &edge.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    assert_eq!(r["ok"], true);
    assert_eq!(r["reachable"], true);
    assert_eq!(r["healthStatus"], 200);
    assert_eq!(r["routeStatus"], 405);
    assert_eq!(r["tls"], "not used (http)");
    assert!(r["connectMs"].is_u64());
    assert!(edge.posts().is_empty(), "endpoint test sends no event");

    let text = nexus(dir.path())
        .args(["endpoint", "test", "--url", &edge.url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("result           ok"));

    let started = Instant::now();
    let out = nexus(dir.path())
        .args(["endpoint", "test", "--json", "--url", &support::dead_url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    let r = json_of(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["reachable"], false);
}

#[test]
fn endpoint_without_a_url_names_the_setting() {
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args(["endpoint", "test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("NEXUS_WEBHOOK_URL"), "{err}");
}

#[test]
fn send_test_prints_the_page_url_and_signs() {
    let edge = FakeEdge::accepting();
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args(["endpoint", "send-test"])
        .env("NEXUS_WEBHOOK_URL", &edge.url)
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("https://www.notion.so/1f2e3d4c5b6a79880a1b2c3d4e5f6a7b"),
        "{text}"
    );
    let posts = edge.posts();
    let p = &posts[0];
    let h = SignatureHeaders {
        notion_signature: p.header("notion-signature"),
        webhook_id: p.header("webhook-id"),
        webhook_timestamp: p.header("webhook-timestamp"),
        webhook_signature: p.header("webhook-signature"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    verify(
        &h,
        &p.body,
        &Secrets::parse(SECRET).unwrap(),
        now,
        &VerifyPolicy::default(),
    )
    .unwrap();
    nexus_core::Event::parse(&p.body).unwrap();
    // A test event is not queued.
    assert!(
        !dir.path()
            .join(".claude/data/notion-sync-queue.jsonl")
            .exists()
    );

    let out = nexus(dir.path())
        .args([
            "endpoint",
            "send-test",
            "--json",
            "--url",
            &support::dead_url(),
        ])
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["ok"], false);

    let refusing = FakeEdge::start(|_| {
        (
            401,
            r#"{"success":false,"error":"invalid_signature"}"#.into(),
        )
    });
    let out = nexus(dir.path())
        .args(["endpoint", "send-test", "--url", &refusing.url])
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("webhooksecret"));
}

#[test]
fn health_passes_against_a_healthy_edge_and_fails_against_a_dead_one() {
    // The fake edge verifies signatures like the real one: 400 for a bad body once signed.
    let edge = FakeEdge::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", _) => {
            let h = SignatureHeaders {
                notion_signature: r.header("notion-signature"),
                webhook_id: r.header("webhook-id"),
                webhook_timestamp: r.header("webhook-timestamp"),
                webhook_signature: r.header("webhook-signature"),
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            match verify(
                &h,
                &r.body,
                &Secrets::parse(SECRET).unwrap(),
                now,
                &VerifyPolicy::default(),
            ) {
                Ok(_) => (
                    400,
                    r#"{"success":false,"error":"invalid_payload","message":"x","fields":[]}"#
                        .into(),
                ),
                Err(_) => (
                    401,
                    r#"{"success":false,"error":"invalid_signature"}"#.into(),
                ),
            }
        }
        (_, p) if p.starts_with("/api/health") => (
            200,
            r#"{"status":"ok","version":"0.1.0","checks":{"config":"ok","notion":"ok"}}"#.into(),
        ),
        _ => (404, "{}".into()),
    });
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args(["health", "--json"])
        .env("NEXUS_WEBHOOK_URL", &edge.url)
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let r = json_of(&out);
    assert!(out.status.success(), "{r}");
    assert_eq!(r["ok"], true);
    let names: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "endpoint",
            "signature",
            "deep-health",
            "queue-depth",
            "queue-age",
            "dead-letters"
        ]
    );
    assert!(
        edge.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.path == "/api/health?deep=true")
    );

    // A wrong secret fails the signature check.
    let out = nexus(dir.path())
        .args(["health", "--json"])
        .env("NEXUS_WEBHOOK_URL", &edge.url)
        .env(
            "NEXUS_WEBHOOK_SECRET",
            "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0wMTIzNDU2Nzg5",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out);
    assert_eq!(r["checks"][1]["ok"], false);

    // A dead endpoint, with an event left pending by it, fails too (for cron).
    let dead = support::dead_url();
    let mut cmd = nexus(dir.path());
    cmd.args(["hook", "--session-id", "s1", "--agent", "a"])
        .env("NEXUS_WEBHOOK_URL", &dead)
        .env("NEXUS_WEBHOOK_SECRET", SECRET);
    assert!(cmd.output().unwrap().status.success());
    let out = nexus(dir.path())
        .args(["health", "--json", "--max-pending", "0"])
        .env("NEXUS_WEBHOOK_URL", &dead)
        .env("NEXUS_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["checks"][0]["ok"], false);
    let depth = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "queue-depth")
        .unwrap();
    assert_eq!(depth["ok"], false);
    assert!(depth["detail"].as_str().unwrap().starts_with("1 pending"));
}

#[test]
fn hook_install_merges_and_is_idempotent() {
    let dir = support::tempdir();
    let settings = dir.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, r#"{"env":{"FOO":"1"},"hooks":{"Stop":[{"hooks":[{"type":"command","command":"say done"}]}]}}"#).unwrap();
    let out = nexus(dir.path())
        .args(["hook", "install", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["added"].as_array().unwrap().len(), 3);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["env"]["FOO"], "1");
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
    assert_eq!(v["hooks"]["Stop"][1]["hooks"][0]["command"], "nexus hook");
    assert_eq!(v["hooks"]["PostToolUse"][0]["matcher"], "Task|Agent");
    let before = std::fs::read(&settings).unwrap();
    let out = nexus(dir.path())
        .args(["hook", "install", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already installed"));
    assert_eq!(std::fs::read(&settings).unwrap(), before);
}

#[test]
fn queue_views_of_an_empty_project() {
    let dir = support::tempdir();
    let out = nexus(dir.path())
        .args(["queue", "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        json_of(&out),
        serde_json::json!({"pending":0,"synced":0,"dead":0,"oldestPendingSeconds":null})
    );
    let out = nexus(dir.path())
        .args(["queue", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out), serde_json::json!([]));
    let out = nexus(dir.path())
        .args(["queue", "list", "--pending", "--dead"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the filters exclude each other");
    assert!(
        !dir.path().join(".claude").exists(),
        "reading creates nothing"
    );
}

#[test]
fn nexus_toml_supplies_settings_and_bad_toml_is_one_line() {
    let dir = support::tempdir();
    std::fs::write(
        dir.path().join("nexus.toml"),
        "webhook_enabled = false\nqueue = \"q/events.jsonl\"\n",
    )
    .unwrap();
    let out = nexus(dir.path())
        .args(["hook", "--json", "--session-id", "s", "--agent", "a"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json_of(&out)["delivery"], "disabled");
    assert!(dir.path().join("q/events.jsonl").exists());

    std::fs::write(dir.path().join("nexus.toml"), "webhook_ur = 1\n").unwrap();
    let out = nexus(dir.path())
        .args(["queue", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nexus.toml"), "{err}");
}
