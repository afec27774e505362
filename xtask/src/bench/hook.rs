//! `nexus hook` wall time, queue only and with its POST to the local edge, beside a bare `curl`
//! POST of the same body to the same edge: what a Claude Code hook costs the agent.
//!
//! The three are interleaved run by run (hook queue-only, hook + POST, curl), so a change in the
//! machine's load touches all three alike. Each run is a new session (the edge queries and
//! creates a page), and curl's body is the event `nexus hook` queued, with fresh ids, signed
//! with both schemes as `nexus hook` signs it; the signing happens before curl starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::load::{Latencies, ms, ratio};
use super::stack::{self, Stack};
use super::{Context, Row};

const SECTION: &str = "hook";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    let nexus = ctx.nexus_binary()?;
    let stack = ctx.stack(SECTION)?;
    let result = measure(ctx, &nexus, &stack);
    ctx.servers.block_on(stack.shutdown());
    result
}

fn measure(ctx: &mut Context, nexus: &Path, stack: &Stack) -> anyhow::Result<()> {
    let project = ctx.scratch("hook-project")?;
    let queue_only = project.join("queue-only.jsonl");
    let with_post = project.join("with-post.jsonl");
    let url = stack.webhook_url();
    let hook = |queue: &Path, post: bool, session: &str, json: bool| {
        let mut command = Command::new(nexus);
        command
            .arg("--project")
            .arg(&project)
            .args(["hook", "--session-id", session, "--agent", "coder"])
            .args([
                "--status",
                "Completed",
                "--files-created",
                "3",
                "--lines-generated",
                "412",
            ])
            .args(["--start-time", "2025-10-01T11:20:00Z"])
            .args(["--description", DESCRIPTION])
            .current_dir(&project)
            .env_remove("CLAUDE_PROJECT_DIR")
            .env("NEXUS_QUEUE", queue)
            .env("NEXUS_WEBHOOK_ENABLED", if post { "true" } else { "false" })
            .env("NEXUS_WEBHOOK_URL", &url)
            .env("NEXUS_WEBHOOK_SECRET", stack::SECRET)
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        if json {
            command.arg("--json");
        }
        command
    };

    // One of each first: they must succeed, and the queued event is curl's body.
    let check = hook(&with_post, true, "bench-hook-check", true)
        .output()
        .context("running nexus hook")?;
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap_or_default();
    if !check.status.success() || report["delivery"] != "synced" || report["httpStatus"] != 200 {
        bail!(
            "nexus hook did not deliver to the local edge: {} {}",
            String::from_utf8_lossy(&check.stdout).trim(),
            String::from_utf8_lossy(&check.stderr).trim()
        );
    }
    let template = nexus_queue::Queue::open(&with_post)
        .entries()?
        .first()
        .map(|q| q.entry.event.clone())
        .context("the queue holds the checked event")?;
    let curl = which_curl();

    let runs = ctx.pick(200, 30);
    let deadline = Instant::now() + Duration::from_secs(ctx.pick(180, 60));
    let mut queue_times = Vec::new();
    let mut post_times = Vec::new();
    let mut curl_times = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for i in 0..runs {
        if Instant::now() >= deadline {
            break;
        }
        let run_id = stack::now_millis();
        let session = format!("bench-hook-q-{run_id}-{i}");
        match time(&mut hook(&queue_only, false, &session, false)) {
            Ok(took) => queue_times.push(took),
            Err(e) => failures.push(format!("queue-only: {e:#}")),
        }
        let session = format!("bench-hook-p-{run_id}-{i}");
        match time(&mut hook(&with_post, true, &session, false)) {
            Ok(took) => post_times.push(took),
            Err(e) => failures.push(format!("with POST: {e:#}")),
        }
        if let Some(curl) = &curl {
            let session = format!("bench-hook-c-{run_id}-{i}");
            match curl_post(curl, &ctx.work, &url, &template, &session) {
                Ok(took) => curl_times.push(took),
                Err(e) => failures.push(format!("curl: {e:#}")),
            }
        }
    }
    if let Some(first) = failures.first() {
        eprintln!("  {} failed runs; first: {first}", failures.len());
    }
    let (queue_times, post_times) = (Latencies::new(queue_times), Latencies::new(post_times));
    let summary = |l: &Latencies| {
        format!(
            "median {}, p99 {} ({} runs)",
            ms(l.percentile(0.5)),
            ms(l.percentile(0.99)),
            l.len()
        )
    };
    ctx.row(Row::info(
        SECTION,
        "nexus hook, queue only",
        summary(&queue_times),
    ));
    ctx.row(Row::info(
        SECTION,
        "nexus hook, queue + POST to the edge",
        summary(&post_times),
    ));
    match curl {
        Some(_) if !curl_times.is_empty() => {
            let curl_times = Latencies::new(curl_times);
            ctx.row(Row::info(
                SECTION,
                "curl POST of the same body",
                summary(&curl_times),
            ));
            ctx.row(Row::info(
                SECTION,
                "hook + POST / curl (medians)",
                format!(
                    "{:.2}",
                    ratio(post_times.percentile(0.5), curl_times.percentile(0.5))
                ),
            ));
        }
        Some(_) => ctx.row(Row::skipped(
            SECTION,
            "curl POST of the same body",
            "every curl run failed",
        )),
        None => ctx.row(Row::skipped(
            SECTION,
            "curl POST of the same body",
            "curl is not installed",
        )),
    }
    if !failures.is_empty() {
        ctx.row(Row::info(
            SECTION,
            "failed runs (not counted)",
            format!("{}: {}", failures.len(), failures[0]),
        ));
    }
    Ok(())
}

const DESCRIPTION: &str = "Refactored the signature module so both schemes share one \
    constant-time comparison; added tests for the timestamp window, rotated secrets and malformed \
    headers.";

/// Runs `command` and returns its wall time; a failure is an error.
fn time(command: &mut Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = command.stdout(Stdio::null()).output()?;
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "exit {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if !output.stderr.is_empty() {
        // nexus hook says on stderr when the POST failed (it still exits 0).
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(took)
}

fn which_curl() -> Option<PathBuf> {
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then(|| PathBuf::from("curl"))
}

/// One curl POST of `template` as a new session with a fresh event id, signed as `nexus hook`
/// signs; returns curl's wall time.
fn curl_post(
    curl: &Path,
    work: &Path,
    url: &str,
    template: &serde_json::Value,
    session: &str,
) -> anyhow::Result<Duration> {
    let id = stack::event_id();
    let mut event = template.clone();
    event["sessionId"] = session.into();
    event["eventId"] = id.clone().into();
    let body = serde_json::to_vec(&event)?;
    let file = work.join("curl-body.json");
    std::fs::write(&file, &body)?;
    let mut command = Command::new(curl);
    command.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"]);
    for (name, value) in stack::signed_headers(&id, &body) {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    command
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(url);
    let started = Instant::now();
    let output = command.output()?;
    let took = started.elapsed();
    let code = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || code.trim() != "200" {
        bail!(
            "curl: status {} {}",
            code.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}
