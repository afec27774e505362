//! `cargo xtask`: the project's commands, so a fresh machine needs only the Rust toolchain.
//!
//! - `cargo xtask up`: build the components and serve `spin.toml` on 127.0.0.1:3000 through the
//!   embedded wasmtime host, with the Notion emulator on 127.0.0.1:3001 (or real Notion).
//! - `cargo xtask test`: build the components and run every test.
//! - `cargo xtask build`: build the components only.
//! - `cargo xtask bench`: the benchmarks.

mod bench;
mod bench_queue;
mod build;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "nexus-sync's project commands", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the components and serve every HTTP route of spin.toml, with the Notion emulator as
    /// the backend unless SPIN_VARIABLE_NOTIONAPIKEY and SPIN_VARIABLE_NOTIONDATASOURCE are set.
    Up(up::UpArgs),
    /// Install what is missing (the wasm32-wasip2 target, the Python SDK the emulator's tests
    /// use), build the components and run every test.
    Test {
        /// Extra arguments for `cargo test` (after `--`), e.g. a test name filter.
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Build the WebAssembly components (what `spin build` runs).
    Build,
    /// Measure: webhook throughput and latency against direct Notion calls, cold and warm
    /// starts, the core natively and in a component, the host beside `wasmtime serve`,
    /// `nexus hook` beside curl, queue appends. Prints figures, ratios and goals.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Test { cargo_args } => build::test(&cargo_args),
        Command::Build => build::components(),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (where `spin.toml` is).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}
