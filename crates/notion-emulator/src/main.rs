//! `notion-emulator`: the emulator as a standalone server (flags, logging, Ctrl-C).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use notion_emulator::{AGENT_ACTIVITY_HUB, DEV_TOKEN, Emulator, Options};
use tracing_subscriber::EnvFilter;

/// A stateful stand-in for https://api.notion.com, for development and tests.
///
/// It accepts the token `ntn_emulator_dev_token` and starts with the "Agent Activity Hub" data
/// source (7163aa38-f3d9-444b-9674-bde61868bd2b). Point an SDK's base URL at it, e.g.
/// `Client(auth="ntn_emulator_dev_token", base_url="http://127.0.0.1:3001")`.
///
/// Besides /v1/ it serves a live view of the pages at /, and control routes:
///   POST   /_emulator/faults         [{"method","path","status","code","count","retryAfter","delayMs","commitThenFail"}]
///   DELETE /_emulator/faults
///   POST   /_emulator/rate-limit     {"requestsPerSecond","burst"}   (0 = off)
///   GET    /_emulator/stats
///   POST   /_emulator/reset
///   POST   /_emulator/subscriptions  {"url","eventTypes":[...]}    (signed webhook events)
///   PATCH  /_emulator/pages/{id}     a /v1/pages body, applied as a person
///
/// Logs one JSON line per request on stdout; RUST_LOG filters them (default: info).
#[derive(Parser)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3001", env = "NOTION_EMULATOR_LISTEN")]
    listen: SocketAddr,

    /// JSON file of extra data sources, each shaped like `GET /v1/data_sources/{id}` (one object or
    /// an array). May be given several times.
    #[arg(long, value_name = "FILE")]
    seed: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("notion-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let mut options = Options::default();
    for path in &args.seed {
        options = options.with_seed_file(path)?;
    }
    let emulator = Emulator::start(args.listen, options).await?;
    tracing::info!(
        url = %emulator.url(),
        token = DEV_TOKEN,
        data_source = AGENT_ACTIVITY_HUB,
        "notion-emulator listening; browser view at {}/",
        emulator.url()
    );
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    emulator.shutdown().await
}
