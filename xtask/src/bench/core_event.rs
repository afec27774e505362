//! The core's per-event work (verify the signature, validate the event, map it onto the data
//! source's properties), natively and inside a WebAssembly component.
//!
//! Natively: the criterion bench `crates/core/benches/event.rs` (release profile). Inside a
//! component: `xtask/bench/core-wasm`, the same fixture compiled to `wasm32-wasip2`, served by
//! the embedded host (so the same engine settings as the edge), looping N times and timing the
//! loop with its own monotonic clock; each request is a fresh instance, and the figure excludes
//! instantiation and HTTP. Both run the identical code on identical inputs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::load::{self, Conn};
use super::stack;
use super::{Context, Row};

const SECTION: &str = "core";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    let native = match criterion_bench(ctx) {
        Ok(ns) => {
            ctx.row(Row::info(
                SECTION,
                "verify+validate+map, native (criterion, release)",
                per_event(ns),
            ));
            Some(ns)
        }
        Err(e) => {
            ctx.row(Row::skipped(
                SECTION,
                "verify+validate+map, native (criterion, release)",
                format!("{e:#}"),
            ));
            None
        }
    };
    let wasm = match in_component(ctx) {
        Ok((ns, first)) => {
            ctx.row(Row::info(
                SECTION,
                "verify+validate+map, in the component (host)",
                format!(
                    "{} (first event in a fresh instance {})",
                    per_event(ns),
                    per_event(first)
                ),
            ));
            Some(ns)
        }
        Err(e) => {
            ctx.row(Row::skipped(
                SECTION,
                "verify+validate+map, in the component (host)",
                format!("{e:#}"),
            ));
            None
        }
    };
    if let (Some(native), Some(wasm)) = (native, wasm) {
        ctx.row(Row::info(
            SECTION,
            "component / native",
            format!("{:.2}", wasm / native.max(1e-9)),
        ));
    }
    Ok(())
}

fn per_event(ns: f64) -> String {
    format!("{} per event", load::ms(Duration::from_secs_f64(ns / 1e9)))
}

/// Runs the criterion bench and returns its mean, in nanoseconds.
fn criterion_bench(ctx: &Context) -> anyhow::Result<f64> {
    let home = ctx.work.join("criterion");
    let (warm_up, measure) = if ctx.quick { ("0.5", "1") } else { ("1", "4") };
    eprintln!("xtask: cargo bench -p nexus-core --bench event (release)");
    let status = Command::new(env!("CARGO"))
        .args([
            "bench",
            "--quiet",
            "-p",
            "nexus-core",
            "--bench",
            "event",
            "--",
        ])
        .args([
            "--noplot",
            "--warm-up-time",
            warm_up,
            "--measurement-time",
            measure,
        ])
        .env("CRITERION_HOME", &home)
        // Criterion's report goes with the progress lines; stdout keeps the final table.
        .stdout(std::io::stderr())
        .current_dir(&ctx.root)
        .status()
        .context("starting cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    read_estimate(&home.join("verify_validate_map/new/estimates.json"))
}

fn read_estimate(path: &Path) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading criterion's {}", path.display()))?;
    let estimates: serde_json::Value = serde_json::from_str(&text)?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .context("criterion's estimates hold no mean")
}

/// Median over a few requests of the component's own per-event time, and of its first event
/// in a fresh instance; nanoseconds.
fn in_component(ctx: &mut Context) -> anyhow::Result<(f64, f64)> {
    ctx.components()?;
    let root = ctx.root.clone();
    let (server, _log) = ctx.servers.block_on(stack::serve_bench_components(&root))?;
    let iterations = ctx.pick(20_000, 4_000);
    let requests = ctx.pick(7, 3);
    let addr = server.addr();
    let result = ctx.clients.block_on(async {
        let mut per_event = Vec::new();
        let mut first = Vec::new();
        // One request to warm up, then the measured ones.
        for i in 0..=requests {
            let mut conn = Conn::open(addr).await?;
            let path = format!("/core?iterations={iterations}");
            let (status, body) = conn.send("GET", &path, &[], Vec::new()).await?;
            if status != 200 {
                bail!(
                    "/core answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let answer: serde_json::Value = serde_json::from_slice(&body)?;
            if i > 0 {
                per_event.push(answer["nanosPerEvent"].as_f64().context("nanosPerEvent")?);
                first.push(answer["firstNanos"].as_f64().context("firstNanos")?);
            }
        }
        Ok((median(per_event), median(first)))
    });
    ctx.servers.block_on(server.shutdown());
    result
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
