//! `nexus`: the local side of nexus-sync. It reports Claude Code agent activity to the edge
//! (`nexus hook`), keeps every event in a durable local queue first (the `nexus-queue` crate), and
//! carries the seed's webhook utilities. A thin binary: event rules and signatures live in
//! `nexus-core`, the queue in `nexus-queue`; this crate parses flags and wires them together.
//!
//! It does not deliver the queue's backlog (`nexus queue process`, a later piece) and never
//! talks to Notion directly: only to the edge.

mod delivery;
mod endpoint;
mod health;
mod hook;
mod queue;
mod secret;
mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

const AFTER_HELP: &str = "\
Settings (environment first, then nexus.toml in the project directory):
  NEXUS_WEBHOOK_URL      full URL of POST /api/NotionWebhook, e.g. http://127.0.0.1:3000/api/NotionWebhook
  NEXUS_WEBHOOK_SECRET   the hook secret (`nexus secret generate`); the edge's webhooksecret
  NEXUS_WEBHOOK_ENABLED  false = queue only, never POST
  NEXUS_QUEUE            queue file, default .claude/data/notion-sync-queue.jsonl
The project directory is --project, else $CLAUDE_PROJECT_DIR, else the hook input's cwd, else the
current directory.

Start: `nexus secret generate`, give the secret to the edge and the hook, `nexus hook install`,
then `nexus endpoint send-test` and `nexus health`.";

/// Report Claude Code agent activity to Notion through the nexus-sync edge, with a local queue
/// that never loses an event.
#[derive(Debug, Parser)]
#[command(name = "nexus", version, after_help = AFTER_HELP)]
struct Cli {
    /// Project directory (holds .claude/ and nexus.toml).
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report one agent event: reads Claude Code hook JSON on stdin (SubagentStop, PostToolUse
    /// for Task|Agent, Stop) or takes --session-id/--agent/--status flags. Queues the event
    /// durably, then POSTs it signed (10 s budget). Exits 0 whatever the network does.
    Hook(Box<hook::HookArgs>),
    /// Hook secrets.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Check the edge endpoint.
    #[command(subcommand)]
    Endpoint(endpoint::EndpointCommand),
    /// Daily health check for cron: endpoint reachable, signature accepted, deep health, queue
    /// depth and age, dead letters. Non-zero exit when any check fails.
    Health(health::HealthArgs),
    /// Inspect the local queue.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = Cli::command().print_help();
                return ExitCode::FAILURE;
            }
            // One line, and never clap's exit code 2: to Claude Code, 2 means "block the agent".
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("nexus: {first} (see `nexus --help`)");
            return ExitCode::FAILURE;
        }
    };
    let project = cli.project.as_deref();
    let (name, result) = match cli.command {
        Command::Hook(a) => ("nexus hook", hook::run(project, *a)),
        Command::Secret(c) => ("nexus secret", secret::run(c)),
        Command::Endpoint(c) => ("nexus endpoint", endpoint::run(project, c)),
        Command::Health(a) => ("nexus health", health::run(project, a)),
        Command::Queue(c) => ("nexus queue", queue::run(project, c)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
