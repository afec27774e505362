//! `nexus queue process`: runs the queue-processor component under the embedded wasmtime host
//! with least authority (the queue's folder, the edge's origin and, with a token, Notion's; only
//! the settings it needs in its environment), holding the processor lock so one runs at a time,
//! then compacts the queue under the writers' lock. A progress bar on a terminal, one JSON log
//! line per entry to `.claude/logs/notion-queue-processor.log`, and a summary line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nexus_host::{CommandOptions, CommandRunner, Output};
use nexus_queue::ProcessorLock;
use serde_json::Value;

use crate::settings::Settings;

/// The log file, relative to the project directory (CONTRACT 7).
pub const LOG_FILE: &str = ".claude/logs/notion-queue-processor.log";
/// Where the queue folder appears inside the component.
const GUEST_DIR: &str = "/queue";

/// `nexus queue process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// One run, then exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Run again every INTERVAL (e.g. 300, 90s, 5m, 1h) until stopped.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    watch: Option<Duration>,
    /// Exit 3 when entries remain pending after the run.
    #[arg(long)]
    fail_on_pending: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Requests per second to Notion on the direct route (default 3; NEXUS_NOTION_RPS).
    #[arg(long, value_name = "N")]
    notion_rps: Option<f64>,
    /// Attempts before an entry becomes a dead letter (default 10; NEXUS_MAX_ATTEMPTS).
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// The component (default: NEXUS_QUEUE_PROCESSOR, else the workspace's build).
    #[arg(long, value_name = "WASM")]
    component: Option<PathBuf>,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = n.parse().map_err(|_| format!("not an interval: {s:?}"))?;
    let secs = match unit {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit in {s:?} (use s, m or h)")),
    };
    if secs == 0 {
        return Err("the interval must be at least 1 s".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Settings the component reads, passed through from the environment when set.
const PASSED_THROUGH: &[&str] = &[
    "NEXUS_NOTION_TOKEN",
    "NEXUS_NOTION_DATA_SOURCE",
    "NEXUS_NOTION_API_BASE",
    "NEXUS_NOTION_VERSION",
    "NEXUS_PROPERTY_MAP",
    "NEXUS_NOTION_RPS",
    "NEXUS_MAX_ATTEMPTS",
    "NEXUS_BACKOFF_BASE_MS",
    "NEXUS_BACKOFF_MAX_MS",
    "NEXUS_EDGE_TIMEOUT_MS",
    "NEXUS_NOTION_TIMEOUT_MS",
    "NEXUS_MAX_ENTRIES",
];

/// Finds the built component: `--component`, `NEXUS_QUEUE_PROCESSOR`, then
/// `target/wasm32-wasip2/release/queue_processor.wasm` of the workspace the `nexus` binary was
/// built in (next to it, or the source tree it was compiled from).
pub fn component_path(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("NEXUS_QUEUE_PROCESSOR").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    const REL: &str = "wasm32-wasip2/release/queue_processor.wasm";
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            candidates.push(dir.join(REL));
            candidates.push(dir.join("target").join(REL));
        }
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join(REL),
    );
    candidates.into_iter().find(|p| p.is_file()).context(
        "the queue-processor component is not built: run `cargo xtask build` (or set \
             NEXUS_QUEUE_PROCESSOR to its .wasm)",
    )
}

/// Runs `nexus queue process`.
pub fn run(project_dir: &Path, settings: &Settings, args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let _ = args.once;
    let component = component_path(args.component.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cache = project_dir.join(".claude/cache/wasmtime");
    let runner = CommandRunner::load(&component, Some(&cache))?;
    loop {
        let code = runtime.block_on(once(project_dir, settings, &args, &runner))?;
        match args.watch {
            None => return Ok(ExitCode::from(code)),
            Some(every) => std::thread::sleep(every),
        }
    }
}

async fn once(
    project_dir: &Path,
    settings: &Settings,
    args: &ProcessArgs,
    runner: &CommandRunner,
) -> anyhow::Result<u8> {
    let queue = settings.queue();
    let paths = queue.paths().clone();
    let dir = paths.dir().to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let Some(_lock) = ProcessorLock::try_acquire(&paths)? else {
        bail!(
            "another queue processor is running on {} (it holds {})",
            paths.queue.display(),
            paths.processor_lock().display()
        );
    };
    let mut options = CommandOptions {
        args: vec!["queue-processor".into()],
        preopens: vec![(dir.clone(), GUEST_DIR.into())],
        stderr: Output::Inherit,
        ..CommandOptions::default()
    };
    let mut env = vec![
        ("NEXUS_QUEUE_DIR".to_string(), GUEST_DIR.to_string()),
        (
            "NEXUS_QUEUE_FILE".to_string(),
            paths
                .queue
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        ),
        ("NEXUS_LOCK_HELD".to_string(), "1".to_string()),
    ];
    if settings.webhook_enabled
        && let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret)
    {
        options.allowed_outbound_hosts.push(origin(url)?);
        env.push(("NEXUS_WEBHOOK_URL".into(), url.clone()));
        env.push(("NEXUS_WEBHOOK_SECRET".into(), secret.clone()));
    }
    for name in PASSED_THROUGH {
        if let Some(v) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            env.push((name.to_string(), v));
        }
    }
    if let Some(rps) = args.notion_rps {
        env.push(("NEXUS_NOTION_RPS".into(), rps.to_string()));
    }
    if let Some(n) = args.max_attempts {
        env.push(("NEXUS_MAX_ATTEMPTS".into(), n.to_string()));
    }
    if args.fail_on_pending {
        env.push(("NEXUS_FAIL_ON_PENDING".into(), "true".into()));
    }
    if env.iter().any(|(k, _)| k == "NEXUS_NOTION_TOKEN") {
        let base = std::env::var("NEXUS_NOTION_API_BASE")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "https://api.notion.com".into());
        options.allowed_outbound_hosts.push(origin(&base)?);
    }
    options.env = env;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    options.stdout = Output::Channel(tx);

    let log_path = project_dir.join(LOG_FILE);
    if let Some(parent) = log_path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let bar = if !args.json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {bar:40} {pos}/{len} entries  {msg}  [{elapsed_precise}, eta {eta}]",
            )
            .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let run = runner.run(options);
    tokio::pin!(run);
    let mut pending = Vec::new();
    let mut summary: Option<Value> = None;
    let mut exit_line: Option<i32> = None;
    let (mut delivered, mut retried, mut dead) = (0u64, 0u64, 0u64);
    let outcome = loop {
        tokio::select! {
            out = &mut run => break out?,
            Some(chunk) = rx.recv() => {
                pending.extend_from_slice(&chunk);
                handle_lines(&mut pending, &mut log, &bar, &mut summary, &mut exit_line, &mut (&mut delivered, &mut retried, &mut dead))?;
            }
        }
    };
    while let Ok(chunk) = rx.try_recv() {
        pending.extend_from_slice(&chunk);
    }
    pending.push(b'\n');
    handle_lines(
        &mut pending,
        &mut log,
        &bar,
        &mut summary,
        &mut exit_line,
        &mut (&mut delivered, &mut retried, &mut dead),
    )?;
    bar.finish_and_clear();
    log.sync_data().ok();
    let exit_code = match outcome.exit_code {
        0 => 0,
        _ => exit_line.unwrap_or(outcome.exit_code),
    };

    // Compaction needs the writers' lock, which the component cannot take.
    let compacted = if matches!(exit_code, 0 | 3) {
        Some(queue.compact()?)
    } else {
        None
    };
    let status = queue.status(std::time::SystemTime::now())?;
    let mut summary = summary.unwrap_or_else(|| serde_json::json!({}));
    if let Some(o) = summary.as_object_mut() {
        o.remove("type");
        o.insert("exitCode".into(), exit_code.into());
        o.insert("pendingAfter".into(), status.pending.into());
        o.insert("deadTotal".into(), status.dead.into());
        if let Some(c) = &compacted {
            o.insert(
                "compactedAway".into(),
                (c.dropped_synced.len() + c.dropped_dead.len()).into(),
            );
        }
    }
    if args.json {
        println!("{summary}");
    } else if exit_code == 0 || exit_code == 3 {
        let secs = summary["elapsedMs"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let mut line = format!(
            "delivered {}, retried later {}, dead-lettered {}, in {secs:.1} s; {} pending",
            summary["delivered"].as_u64().unwrap_or(delivered),
            summary["retriedLater"].as_u64().unwrap_or(retried),
            summary["deadLettered"].as_u64().unwrap_or(dead),
            status.pending,
        );
        if let Some(p) = summary["routeProblem"].as_str() {
            line.push_str(&format!(" ({p}"));
            if summary["notion"].is_null() {
                line.push_str("; no Notion token configured for the direct route");
            }
            line.push(')');
        }
        println!("{line}");
    }
    Ok(match exit_code {
        0 => 0,
        3 => 3,
        2 => 2,
        _ => 1,
    })
}

type Tally<'a> = (&'a mut u64, &'a mut u64, &'a mut u64);

fn handle_lines(
    pending: &mut Vec<u8>,
    log: &mut std::fs::File,
    bar: &ProgressBar,
    summary: &mut Option<Value>,
    exit_code: &mut Option<i32>,
    tally: &mut Tally<'_>,
) -> anyhow::Result<()> {
    while let Some(i) = pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = pending.drain(..=i).collect();
        let line = &line[..line.len() - 1];
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        match v["type"].as_str() {
            Some("start") => bar.set_length(v["entries"].as_u64().unwrap_or(0)),
            Some("progress") => bar.set_position(v["seen"].as_u64().unwrap_or(0)),
            Some("entry") => {
                bar.set_position(v["seen"].as_u64().unwrap_or(0));
                match v["outcome"].as_str() {
                    Some("delivered") => *tally.0 += 1,
                    Some("retry") => *tally.1 += 1,
                    Some("dead") => *tally.2 += 1,
                    _ => {}
                }
                bar.set_message(format!(
                    "delivered {} retried {} dead {}",
                    tally.0, tally.1, tally.2
                ));
                log.write_all(line)?;
                log.write_all(b"\n")?;
            }
            Some("summary") => *summary = Some(v),
            Some("exit") => *exit_code = v["code"].as_i64().map(|c| c as i32),
            _ => {}
        }
    }
    Ok(())
}

fn origin(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("not a URL: {url}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        bail!("not a URL: {url}");
    }
    Ok(format!("{scheme}://{authority}"))
}
