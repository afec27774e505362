//! `cargo xtask bench`: the speed figures of issues 2 and 3, each beside a baseline measured in
//! the same run, printed as a table with the goal each one has and whether it is met.
//!
//! Benchmarks print figures; they never fail on a number (speed is not asserted in tests).
//! Every load targets loopback, and every loop is bounded by a count and a deadline.
//!
//! The bench is a list of [`Section`]s ([`SECTIONS`]), each a function that measures one thing
//! and adds rows to the [`Context`]'s report. A section that cannot run (a tool missing, a build
//! failing) says why in its rows and the others go on. To add one, e.g. the queue processor's
//! figures in `xtask/src/bench_queue.rs`:
//!
//! ```text
//! // xtask/src/bench_queue.rs
//! pub fn run(ctx: &mut crate::bench::Context) -> anyhow::Result<()> {
//!     let nexus = ctx.nexus_binary()?;        // built once, in release
//!     let stack = ctx.stack()?;               // emulator + host + edge on loopback
//!     ctx.row(Row::info("queue-processor", "entries/s", format!("{rate:.0}")));
//!     Ok(())
//! }
//! ```
//!
//! then `mod bench_queue;` in `main.rs` and one line in [`SECTIONS`].

mod core_event;
mod hello;
mod hook;
mod load;
mod queue;
mod stack;
mod webhook;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::{build, root};

pub use stack::Stack;

/// Flags of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// A short run (fewer requests and runs, shorter durations): figures are noisier.
    #[arg(long)]
    quick: bool,
    /// Run only these sections (comma-separated), e.g. `--only webhook,hook`.
    #[arg(long, value_delimiter = ',', value_name = "SECTION")]
    only: Vec<String>,
    /// Measure a release build of the host (rebuilds xtask in release first: long on 2 cores).
    /// Without it the host runs in the dev profile, whose dependencies (wasmtime, hyper) are
    /// built at opt-level 1.
    #[arg(long)]
    release: bool,
    /// Use this `nexus` binary instead of building the workspace's in release.
    #[arg(long, value_name = "PATH")]
    nexus_bin: Option<PathBuf>,
    /// Print the sections and exit.
    #[arg(long)]
    list: bool,
}

/// One part of the bench.
pub struct Section {
    /// Its name, for `--only` and the table.
    pub name: &'static str,
    /// What it measures.
    pub about: &'static str,
    /// Measures and adds rows to the report.
    pub run: fn(&mut Context) -> anyhow::Result<()>,
}

/// Every section, in the order they run.
pub const SECTIONS: &[Section] = &[
    Section {
        name: "webhook",
        about: "webhook requests through the host vs the same Notion calls made directly; cold vs warm; instantiation share",
        run: webhook::run,
    },
    Section {
        name: "core",
        about: "verify + validate + map per event: natively (criterion) and inside a component",
        run: core_event::run,
    },
    Section {
        name: "hello",
        about: "a hello component: the embedded host vs `wasmtime serve`",
        run: hello::run,
    },
    Section {
        name: "hook",
        about: "`nexus hook` wall time (queue only; with a POST to the local edge) vs a bare curl POST",
        run: hook::run,
    },
    Section {
        name: "queue",
        about: "queue append throughput with 1, 8 and 32 writers",
        run: queue::run,
    },
    // Issue 4's figures, in their own module (`xtask/src/bench_queue.rs`).
    Section {
        name: "queue-processor",
        about: "the queue processor's drain rate and peak memory",
        run: crate::bench_queue::run,
    },
];

/// How a figure compares with its goal.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// No goal: a figure to read.
    None,
    /// The value must be at most this.
    AtMost(f64),
    /// The value must be at least this.
    AtLeast(f64),
}

/// One line of the final table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The section it belongs to.
    pub section: String,
    /// What it is.
    pub figure: String,
    /// The measured value, formatted.
    pub value: String,
    /// The value the goal applies to, if any.
    pub ratio: Option<f64>,
    /// The goal.
    pub goal: Goal,
    /// Set when the figure could not be measured: why.
    pub skipped: Option<String>,
}

impl Row {
    /// A figure without a goal.
    pub fn info(section: &str, figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            section: section.into(),
            figure: figure.into(),
            value: value.into(),
            ratio: None,
            goal: Goal::None,
            skipped: None,
        }
    }

    /// A ratio with a goal.
    pub fn ratio(section: &str, figure: impl Into<String>, ratio: f64, goal: Goal) -> Row {
        // Two decimals, or three when two would round onto the goal and hide which side it is.
        let mut value = format!("{ratio:.2}");
        if let Goal::AtMost(g) | Goal::AtLeast(g) = goal
            && value == format!("{g:.2}")
        {
            value = format!("{ratio:.3}");
        }
        Row {
            section: section.into(),
            figure: figure.into(),
            value,
            ratio: Some(ratio),
            goal,
            skipped: None,
        }
    }

    /// A figure (or a whole section) that could not be measured.
    pub fn skipped(section: &str, figure: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            section: section.into(),
            figure: figure.into(),
            value: "-".into(),
            ratio: None,
            goal: Goal::None,
            skipped: Some(why.into()),
        }
    }

    /// Attaches a goal to a row whose value is a figure other than the ratio.
    pub fn with_goal(mut self, value: f64, goal: Goal) -> Row {
        self.ratio = Some(value);
        self.goal = goal;
        self
    }

    fn goal_text(&self) -> String {
        match self.goal {
            Goal::None => String::new(),
            Goal::AtMost(v) => format!("<= {}", trim_float(v)),
            Goal::AtLeast(v) => format!(">= {}", trim_float(v)),
        }
    }

    fn status(&self) -> &'static str {
        if self.skipped.is_some() {
            return "skipped";
        }
        match (self.goal, self.ratio) {
            (Goal::None, _) | (_, None) => "",
            (Goal::AtMost(g), Some(v)) if v <= g => "met",
            (Goal::AtLeast(g), Some(v)) if v >= g => "met",
            _ => "NOT met",
        }
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v < 0.1 {
        format!("{:.0}%", v * 100.0)
    } else {
        format!("{v}")
    }
}

/// What the sections share: settings, the built artefacts, the runtimes, the report.
pub struct Context {
    /// A short run.
    pub quick: bool,
    /// The workspace root.
    pub root: PathBuf,
    /// A scratch folder for this run (`target/bench/run`), emptied at the start.
    pub work: PathBuf,
    /// Runs the servers (emulator, host): a multi-thread runtime on its own worker threads.
    pub servers: tokio::runtime::Runtime,
    /// Runs the load generators: a single-thread runtime driven by the bench's main thread, so
    /// the clients never take the servers' worker threads.
    pub clients: tokio::runtime::Runtime,
    rows: Vec<Row>,
    components_built: Option<Result<(), String>>,
    nexus: Option<Result<PathBuf, String>>,
}

impl Context {
    /// Adds a row to the report (and prints it, so a long run shows progress).
    pub fn row(&mut self, row: Row) {
        match &row.skipped {
            Some(why) => eprintln!("  {:<48} skipped: {why}", row.figure),
            None => eprintln!("  {:<48} {}", row.figure, row.value),
        }
        self.rows.push(row);
    }

    /// Builds the WebAssembly components (the edge and the bench's own) once, in release, to
    /// `target/wasm32-wasip2/release` of the workspace, where the manifests name them.
    pub fn components(&mut self) -> anyhow::Result<()> {
        if self.components_built.is_none() {
            let built = build_components(&self.root).map_err(|e| format!("{e:#}"));
            self.components_built = Some(built);
        }
        match self.components_built.as_ref().expect("set above") {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e}"),
        }
    }

    /// The `nexus` CLI, built once in release.
    pub fn nexus_binary(&mut self) -> anyhow::Result<PathBuf> {
        if self.nexus.is_none() {
            let built = build_release_binary(&self.root, "nexus-cli", "nexus")
                .map_err(|e| format!("{e:#}"));
            self.nexus = Some(built);
        }
        match self.nexus.as_ref().expect("set above") {
            Ok(path) => Ok(path.clone()),
            Err(e) => bail!("{e}"),
        }
    }

    /// Emulator + host + edge on loopback (see [`Stack`]); the components are built first.
    pub fn stack(&mut self, name: &str) -> anyhow::Result<Stack> {
        self.components()?;
        let kv_dir = self.work.join(name).join("kv");
        std::fs::create_dir_all(&kv_dir)?;
        let root = self.root.clone();
        self.servers.block_on(Stack::start(&root, &kv_dir))
    }

    /// A fresh folder under the run's scratch folder.
    pub fn scratch(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Picks a size for a full run or a quick one.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Runs `cargo xtask bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.list {
        for s in SECTIONS {
            println!("{:<16} {}", s.name, s.about);
        }
        return Ok(());
    }
    if args.release && cfg!(debug_assertions) {
        return rerun_in_release(&args);
    }
    for name in &args.only {
        if !SECTIONS.iter().any(|s| s.name == name) {
            let names: Vec<&str> = SECTIONS.iter().map(|s| s.name).collect();
            bail!("no bench section `{name}` (sections: {})", names.join(", "));
        }
    }
    let root = root();
    let work = root.join("target").join("bench").join("run");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let servers = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-server")
        .build()?;
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut ctx = Context {
        quick: args.quick,
        root,
        work,
        servers,
        clients,
        rows: Vec::new(),
        components_built: None,
        nexus: args.nexus_bin.clone().map(Ok),
    };
    let started = Instant::now();
    let load_before = load_average();
    eprintln!(
        "cargo xtask bench{}: host profile {}; {} CPUs; load average {load_before}",
        if args.quick { " --quick" } else { "" },
        profile(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    for section in SECTIONS {
        if !args.only.is_empty() && !args.only.iter().any(|n| n == section.name) {
            continue;
        }
        eprintln!("\n== {}: {}", section.name, section.about);
        let section_started = Instant::now();
        if let Err(e) = (section.run)(&mut ctx) {
            ctx.row(Row::skipped(
                section.name,
                "(section stopped)",
                format!("{e:#}"),
            ));
        }
        eprintln!(
            "   ({} took {:.0} s)",
            section.name,
            section_started.elapsed().as_secs_f64()
        );
    }
    print_table(&ctx.rows);
    println!(
        "\nHost profile: {}. Wall time {:.0} s. Load average before {load_before}, after {}.",
        profile(),
        started.elapsed().as_secs_f64(),
        load_average()
    );
    println!("Everything ran on loopback on this machine; other processes share its CPUs.");
    Ok(())
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev (xtask and the host at opt-level 0, dependencies such as wasmtime and hyper at opt-level 1)"
    } else {
        "release"
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn print_table(rows: &[Row]) {
    let headers = ["section", "figure", "value", "goal", "status"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.section.clone(),
                r.figure.clone(),
                match &r.skipped {
                    Some(why) => format!("skipped: {why}"),
                    None => r.value.clone(),
                },
                r.goal_text(),
                r.status().to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count()).min(72);
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(pad));
                out.push_str(" | ");
            }
        }
        out
    };
    println!("\n{}", line(headers));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for row in &cells {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    let goals = rows
        .iter()
        .filter(|r| !matches!(r.goal, Goal::None))
        .count();
    let met = rows.iter().filter(|r| r.status() == "met").count();
    let skipped = rows.iter().filter(|r| r.skipped.is_some()).count();
    println!("\nGoals met: {met} of {goals}; skipped figures: {skipped}.");
}

/// Builds the xtask in release and runs the same bench with it.
fn rerun_in_release(args: &BenchArgs) -> anyhow::Result<()> {
    eprintln!("xtask: building xtask in release to measure a release host (long on 2 cores)");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "bench",
        ])
        .current_dir(root());
    if args.quick {
        cargo.arg("--quick");
    }
    if !args.only.is_empty() {
        cargo.arg("--only").arg(args.only.join(","));
    }
    if let Some(nexus) = &args.nexus_bin {
        cargo.arg("--nexus-bin").arg(nexus);
    }
    let status = cargo.status().context("starting cargo")?;
    if !status.success() {
        bail!("the release bench failed ({status})");
    }
    Ok(())
}

/// The edge and the bench components, for `wasm32-wasip2`, into the workspace's own `target/`
/// (the manifests name them there, whatever `CARGO_TARGET_DIR` says).
fn build_components(root: &Path) -> anyhow::Result<()> {
    build::ensure_target()?;
    eprintln!("xtask: building the components (wasm32-wasip2, release)");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
        .args([
            "-p",
            "notion-webhook",
            "-p",
            "bench-hello",
            "-p",
            "bench-core-wasm",
        ])
        .env("CARGO_TARGET_DIR", root.join("target"))
        .current_dir(root)
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("building the components failed ({status})");
    }
    Ok(())
}

/// Builds `package` in release and returns the path of its binary `bin` (from cargo's own
/// messages, so any `CARGO_TARGET_DIR` is honoured).
fn build_release_binary(root: &Path, package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    eprintln!("xtask: building {package} in release");
    let output = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package, "--bin", bin])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("starting cargo")?;
    if !output.status.success() {
        bail!("building {package} failed ({})", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo did not report the {bin} binary"))
}
