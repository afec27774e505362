//! `nexus queue status`, `nexus queue list` and `nexus queue compact`: the stable views of the
//! local queue (CONTRACT 7) and its housekeeping; `process` (delivery, `queue/process.rs`),
//! `verify` (`queue/verify.rs`) and `retry-dead`.

mod process;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use nexus_queue::{ListFilter, State};

use crate::settings::{self, Settings};

/// `nexus queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Counts: pending, synced (not yet compacted), dead letters, age of the oldest pending entry,
    /// and pending entries by last error.
    Status {
        /// Print {"pending","synced","dead","oldestPendingSeconds"}.
        #[arg(long)]
        json: bool,
    },
    /// Every entry with its delivery state, oldest first.
    List(ListArgs),
    /// Drop synced and dead entries from the queue file (safe while hooks are writing).
    Compact {
        /// Print {"kept","droppedSynced","droppedDead"}.
        #[arg(long)]
        json: bool,
    },
    /// Deliver every pending entry: runs the queue-processor component under the embedded
    /// wasmtime with only the queue folder and the edge's (and, with NEXUS_NOTION_TOKEN,
    /// Notion's) origin granted. The edge first; Notion directly when the edge is down and
    /// NEXUS_NOTION_TOKEN and NEXUS_NOTION_DATA_SOURCE are set.
    Process(process::ProcessArgs),
    /// Check delivered entries against Notion (needs NEXUS_NOTION_TOKEN and
    /// NEXUS_NOTION_DATA_SOURCE): each has its page, titled with its Session ID, and no session
    /// has two pages. Non-zero exit when anything is missing or duplicated.
    Verify {
        /// Print {"checked","ok","missing","mismatched","duplicated"}.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to pending (after fixing what refused them).
    RetryDead {
        /// Only these event ids (default: every dead letter).
        #[arg(value_name = "EVENT_ID")]
        ids: Vec<String>,
        /// Print {"moved":[ids]}.
        #[arg(long)]
        json: bool,
    },
}

/// `nexus queue list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print an array of {"eventId","sessionId","agentName","status","enqueuedAt",
    /// "webhookSynced","attempts","lastError","pageId"}.
    #[arg(long)]
    json: bool,
    /// Only entries not delivered yet.
    #[arg(long, group = "state")]
    pending: bool,
    /// Only delivered entries (until compaction drops them).
    #[arg(long, group = "state")]
    synced: bool,
    /// Only dead letters.
    #[arg(long, group = "state")]
    dead: bool,
}

/// Runs `nexus queue ...`.
pub fn run(project: Option<&Path>, cmd: QueueCommand) -> anyhow::Result<ExitCode> {
    let project_dir = settings::project_dir(project, None);
    let settings = Settings::load(project_dir.clone())?;
    let queue = settings.queue();
    match cmd {
        QueueCommand::Process(args) => return process::run(&project_dir, &settings, args),
        QueueCommand::Verify { json } => return verify::run(&settings, json),
        QueueCommand::RetryDead { ids, json } => {
            let moved = queue.retry_dead((!ids.is_empty()).then_some(ids.as_slice()))?;
            if json {
                println!("{}", serde_json::json!({ "moved": moved }));
            } else {
                println!("moved {} dead letters back to pending", moved.len());
            }
        }
        QueueCommand::Status { json } => {
            let status = queue.status(SystemTime::now())?;
            if json {
                println!("{}", serde_json::to_string(&status)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("queue         {}", settings.queue_file.display());
            println!("pending       {}", status.pending);
            println!("synced        {}", status.synced);
            println!("dead letters  {}", status.dead);
            match status.oldest_pending_seconds {
                Some(s) => println!("oldest        {}", age(s)),
                None => println!("oldest        -"),
            }
            let mut by_error: BTreeMap<String, u64> = BTreeMap::new();
            for q in queue
                .entries()?
                .iter()
                .filter(|q| q.state == State::Pending)
            {
                let e = q
                    .delivery
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "not tried yet".into());
                *by_error.entry(e).or_default() += 1;
            }
            for (error, n) in by_error {
                println!("  {n:>6}  {error}");
            }
        }
        QueueCommand::List(a) => {
            let filter = if a.pending {
                ListFilter::Pending
            } else if a.synced {
                ListFilter::Synced
            } else if a.dead {
                ListFilter::Dead
            } else {
                ListFilter::All
            };
            let entries = queue.list(filter)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<36}  {:<24}  {:<8}  {:>3}  {:<20}  SESSION / LAST ERROR",
                "EVENT ID", "ENQUEUED", "SYNCED", "TRY", "AGENT"
            );
            for e in entries {
                let detail = e
                    .last_error
                    .clone()
                    .unwrap_or_else(|| e.session_id.clone().unwrap_or_default());
                println!(
                    "{:<36}  {:<24}  {:<8}  {:>3}  {:<20}  {}",
                    e.event_id,
                    e.enqueued_at,
                    if e.webhook_synced { "yes" } else { "no" },
                    e.attempts,
                    e.agent_name.unwrap_or_default(),
                    detail
                );
            }
        }
        QueueCommand::Compact { json } => {
            let r = queue.compact()?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"kept": r.kept, "droppedSynced": r.dropped_synced.len(),
                        "droppedDead": r.dropped_dead.len()})
                );
            } else {
                println!(
                    "kept {} pending, dropped {} synced and {} dead",
                    r.kept,
                    r.dropped_synced.len(),
                    r.dropped_dead.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}
