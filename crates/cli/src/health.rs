//! `nexus health`: the daily check of the seed, for cron. Every check runs (one failure does not
//! hide the next); the exit code is non-zero when any fails.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use nexus_core::signature::{sign_seed, sign_standard};
use serde_json::{Value, json};

use crate::delivery;
use crate::endpoint::PROBE_TIMEOUT;
use crate::settings::{self, Settings};

/// `nexus health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Webhook URL (default: NEXUS_WEBHOOK_URL or webhook_url in nexus.toml).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Fail when more entries than this are pending.
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_pending: u64,
    /// Fail when the oldest pending entry is older than this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    max_pending_age: u64,
    /// Fail when there are more dead letters than this.
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_dead: u64,
    /// Print {"ok", "checks": [{"name","ok","detail"}]} instead of one line per check.
    #[arg(long)]
    json: bool,
}

struct Checks(Vec<Value>);

impl Checks {
    fn add(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.0
            .push(json!({"name": name, "ok": ok, "detail": detail.into()}));
    }
}

/// Runs `nexus health`.
pub fn run(project: Option<&Path>, args: HealthArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(settings::project_dir(project, None))?;
    let mut checks = Checks(Vec::new());
    let url = args.url.clone().or_else(|| settings.webhook_url.clone());
    match &url {
        None => checks.add(
            "endpoint",
            false,
            "NEXUS_WEBHOOK_URL is not set (nor webhook_url in nexus.toml)",
        ),
        Some(url) => check_endpoint(&mut checks, url, &settings),
    }
    check_queue(&mut checks, &settings, &args);

    let ok = checks.0.iter().all(|c| c["ok"] == true);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"ok": ok, "checks": checks.0}))?
        );
    } else {
        for c in &checks.0 {
            let mark = if c["ok"] == true { "ok  " } else { "FAIL" };
            println!(
                "{mark} {:<12} {}",
                c["name"].as_str().unwrap_or(""),
                c["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check_endpoint(checks: &mut Checks, url: &str, settings: &Settings) {
    let agent = delivery::agent(PROBE_TIMEOUT);
    let health = settings::health_url(url);
    // Reachable: any HTTP answer from /api/health.
    match agent.get(&health).call() {
        Ok(resp) => {
            let status = resp.status().as_u16();
            checks.add("endpoint", true, format!("{health} answered {status}"));
        }
        Err(e) => {
            checks.add(
                "endpoint",
                false,
                format!("{health}: {}", delivery::network_error(&e)),
            );
            checks.add("signature", false, "skipped: endpoint unreachable");
            checks.add("deep-health", false, "skipped: endpoint unreachable");
            return;
        }
    }
    check_signature(checks, &agent, url, settings);
    let deep = format!("{health}?deep=true");
    match agent.get(&deep).call() {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            let detail = match serde_json::from_str::<Value>(&body) {
                Ok(v) => failing_checks(&v).unwrap_or_else(|| format!("status {status}")),
                Err(_) => format!("status {status}, body is not JSON"),
            };
            checks.add("deep-health", status == 200, detail);
        }
        Err(e) => checks.add("deep-health", false, delivery::network_error(&e)),
    }
}

/// Names the failing checks of a health answer, if any.
fn failing_checks(v: &Value) -> Option<String> {
    let failing: Vec<String> = v
        .get("checks")?
        .as_object()?
        .iter()
        .filter(|(_, c)| match c {
            Value::Bool(b) => !b,
            Value::String(s) => s != "ok",
            Value::Object(o) => {
                o.get("ok").is_some_and(|ok| ok == false)
                    || o.get("status")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s != "ok")
            }
            _ => false,
        })
        .map(|(k, c)| format!("{k}: {c}"))
        .collect();
    if failing.is_empty() {
        let names: Vec<&String> = v.get("checks")?.as_object()?.keys().collect();
        Some(format!(
            "ok ({})",
            names
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        Some(failing.join("; "))
    }
}

/// Sends a signed body that is not a valid event: a 400 proves the signature was accepted (the
/// edge verifies before it validates) without writing a page; a 401 means the secrets differ.
fn check_signature(checks: &mut Checks, agent: &ureq::Agent, url: &str, settings: &Settings) {
    let secret = match settings.require_secret() {
        Ok(s) => s,
        Err(e) => return checks.add("signature", false, format!("{e:#}")),
    };
    let body = br#"{"nexusHealthCheck":true}"#;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64;
    let id = format!("nexus-health-{now}");
    let result = agent
        .post(url)
        .header("content-type", "application/json")
        .header("Notion-Signature", sign_seed(&secret, body))
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", sign_standard(&secret, &id, now, body))
        .send(&body[..]);
    match result {
        Ok(resp) => match resp.status().as_u16() {
            401 => checks.add(
                "signature",
                false,
                "refused (401): the edge's webhooksecret differs",
            ),
            s @ (200..=299 | 400) => checks.add("signature", true, format!("accepted ({s})")),
            s => checks.add("signature", false, format!("unexpected answer {s}")),
        },
        Err(e) => checks.add("signature", false, delivery::network_error(&e)),
    }
}

fn check_queue(checks: &mut Checks, settings: &Settings, args: &HealthArgs) {
    let status = match settings.queue().status(SystemTime::now()) {
        Ok(s) => s,
        Err(e) => return checks.add("queue", false, e.to_string()),
    };
    checks.add(
        "queue-depth",
        status.pending <= args.max_pending,
        format!("{} pending (limit {})", status.pending, args.max_pending),
    );
    match status.oldest_pending_seconds {
        None => checks.add("queue-age", true, "nothing pending"),
        Some(age) => checks.add(
            "queue-age",
            age <= args.max_pending_age,
            format!(
                "oldest pending is {age} s old (limit {} s)",
                args.max_pending_age
            ),
        ),
    }
    checks.add(
        "dead-letters",
        status.dead <= args.max_dead,
        format!("{} dead letters (limit {})", status.dead, args.max_dead),
    );
}
