//! `cargo xtask bench` section `queue-processor` (issue 4): the queue processor's drain rate
//! (10,000 entries into an unthrottled emulator, through the edge and directly), and its peak
//! memory for queues of 10,000 and 1,000,000 entries, which must not grow with the queue.
//!
//! The component runs under the embedded host exactly as `nexus queue process` runs it (only the
//! queue folder, only the granted origins). Peak memory is the component's largest linear
//! memory, measured by the host; the large queues are scanned with the edge down and no token,
//! so the run reads and decides on every entry without sending them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use nexus_host::{CommandOptions, CommandRunner, Output};
use serde_json::{Value, json};

use crate::bench::{Context, Goal, Row};

/// The hook secret of the bench's stacks (`bench::Stack`'s).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const SECTION: &str = "queue-processor";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    ctx.components()?;
    let wasm = build_component(&ctx.root)?;
    let runner = CommandRunner::load(&wasm, Some(&ctx.root.join("target/nexus-host-cache")))?;
    let n = ctx.pick(10_000, 1_000);

    // Drain rate through the edge (emulator + host + edge on loopback).
    let stack = ctx.stack("qp-drain")?;
    let dir = ctx.scratch("qp-edge")?;
    write_queue(&dir, n, "edge")?;
    let env = vec![
        ("NEXUS_WEBHOOK_URL".to_string(), stack.webhook_url()),
        ("NEXUS_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
    ];
    let (summary, secs, _) =
        ctx.servers
            .block_on(process(&runner, &dir, env, &[origin(&stack.webhook_url())]))?;
    let delivered = summary["delivered"].as_u64().unwrap_or(0);
    ctx.row(Row::info(
        SECTION,
        format!("drain via the edge, {n} entries: entries/s"),
        format!(
            "{:.0} ({delivered} delivered in {secs:.1} s)",
            delivered as f64 / secs
        ),
    ));

    // Drain rate straight into the emulator (edge down, token set, no client-side rate limit),
    // from an empty data source again: the emulator filters pages by title in a linear scan, so
    // both drains are bounded by its growing page count as much as by the processor.
    ctx.servers.block_on(stack.reset_emulator())?;
    let dir = ctx.scratch("qp-direct")?;
    write_queue(&dir, n, "direct")?;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let env = vec![
        (
            "NEXUS_WEBHOOK_URL".to_string(),
            format!("http://{closed}/api/NotionWebhook"),
        ),
        ("NEXUS_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
        (
            "NEXUS_NOTION_TOKEN".to_string(),
            notion_emulator::DEV_TOKEN.to_string(),
        ),
        (
            "NEXUS_NOTION_DATA_SOURCE".to_string(),
            notion_emulator::AGENT_ACTIVITY_HUB.to_string(),
        ),
        ("NEXUS_NOTION_API_BASE".to_string(), stack.emulator.url()),
        ("NEXUS_NOTION_RPS".to_string(), "0".to_string()),
    ];
    let allowed = [format!("http://{closed}"), stack.emulator.url()];
    let (summary, secs, _) = ctx
        .servers
        .block_on(process(&runner, &dir, env, &allowed))?;
    let delivered = summary["delivered"].as_u64().unwrap_or(0);
    ctx.row(Row::info(
        SECTION,
        format!("drain to Notion directly, {n} entries: entries/s"),
        format!(
            "{:.0} ({delivered} delivered in {secs:.1} s)",
            delivered as f64 / secs
        ),
    ));
    drop(stack);

    // Peak memory against queue length.
    let mut peaks = Vec::new();
    for size in [10_000usize, ctx.pick(1_000_000, 100_000)] {
        let dir = ctx.scratch(&format!("qp-mem-{size}"))?;
        write_queue(&dir, size, "mem")?;
        let env = vec![
            (
                "NEXUS_WEBHOOK_URL".to_string(),
                format!("http://{closed}/api/NotionWebhook"),
            ),
            ("NEXUS_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
        ];
        let (summary, secs, peak) =
            ctx.servers
                .block_on(process(&runner, &dir, env, &[format!("http://{closed}")]))?;
        if summary["entries"].as_u64() != Some(size as u64) {
            bail!("the processor saw {} of {size} entries", summary["entries"]);
        }
        peaks.push(peak as f64);
        ctx.row(Row::info(
            SECTION,
            format!("peak memory, queue of {size} entries"),
            format!(
                "{:.1} MiB (scanned in {secs:.1} s)",
                peak as f64 / 1048576.0
            ),
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
    ctx.row(Row::ratio(
        SECTION,
        "peak memory, largest queue / 10,000 entries",
        peaks[1] / peaks[0],
        Goal::AtMost(1.5),
    ));
    Ok(())
}

/// Builds the component (wasm32-wasip2, release) into the workspace's `target/`.
fn build_component(root: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
        .args(["-p", "queue-processor"])
        .env("CARGO_TARGET_DIR", root.join("target"))
        .current_dir(root)
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("building the queue processor failed ({status})");
    }
    Ok(root.join("target/wasm32-wasip2/release/queue_processor.wasm"))
}

/// A queue of `n` entries, one session each, written in one go.
fn write_queue(dir: &Path, n: usize, prefix: &str) -> anyhow::Result<()> {
    let file = std::fs::File::create(dir.join("notion-sync-queue.jsonl"))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    for i in 0..n {
        let line = json!({
            "eventId": format!("bench-{prefix}-{i:08}"),
            "enqueuedAt": "2026-12-04T10:00:00.000Z",
            "event": {
                "eventId": format!("bench-{prefix}-{i:08}"),
                "sessionId": format!("bench-{prefix}-session-{i:08}"),
                "agentName": "bench",
                "status": "Completed",
                "endTime": "2026-12-04T10:30:00Z",
                "workDescription": "queue processor benchmark",
            },
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    format!("http://{}", rest.split('/').next().unwrap_or_default())
}

/// One run; returns its summary line, the seconds it took and its peak linear memory.
async fn process(
    runner: &CommandRunner,
    dir: &Path,
    mut env: Vec<(String, String)>,
    allowed: &[String],
) -> anyhow::Result<(Value, f64, u64)> {
    env.push(("NEXUS_QUEUE_DIR".into(), "/queue".into()));
    env.push(("NEXUS_LOCK_HELD".into(), "1".into()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let collect = tokio::spawn(async move {
        let mut last = Vec::new();
        let mut tail = Vec::new();
        while let Some(chunk) = rx.recv().await {
            tail.extend(chunk);
            while let Some(i) = tail.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = tail.drain(..=i).collect();
                const SUMMARY: &[u8] = b"\"type\":\"summary\"";
                if line.windows(SUMMARY.len()).any(|w| w == SUMMARY) {
                    last = line;
                }
            }
        }
        last
    });
    let started = Instant::now();
    let outcome = runner
        .run(CommandOptions {
            args: vec!["queue-processor".into()],
            env,
            preopens: vec![(dir.to_path_buf(), "/queue".into())],
            allowed_outbound_hosts: allowed.to_vec(),
            stdout: Output::Channel(tx),
            stderr: Output::Inherit,
        })
        .await?;
    let secs = started.elapsed().as_secs_f64();
    let summary = collect.await?;
    if outcome.exit_code != 0 {
        bail!("the queue processor exited {}", outcome.exit_code);
    }
    let summary: Value = serde_json::from_slice(&summary).context("no summary line")?;
    Ok((summary, secs, outcome.peak_memory_bytes))
}
