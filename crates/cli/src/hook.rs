//! `nexus hook`: report one agent completion, and `nexus hook install`: wire it into a project.
//!
//! The order of `nexus hook` is the contract's: build the event, redact it, append it to the
//! queue durably, and only then try the network once (10 s budget) and record the outcome. It
//! exits 0 whatever the network did, and never 2, which would block the agent.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indexmap::IndexMap;
use nexus_core::event::{Event, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::delivery::{self, Outcome};
use crate::settings::{self, Settings};
use nexus_core::claude_hook;
use nexus_core::redact;

/// `nexus hook`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HookArgs {
    #[command(subcommand)]
    command: Option<HookCommand>,
    #[command(flatten)]
    event: EventFlags,
    /// Print the outcome as JSON on stdout (by default `nexus hook` prints nothing there, since
    /// Claude Code reads a hook's stdout).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum HookCommand {
    /// Add the nexus hooks to <project>/.claude/settings.json (SubagentStop, PostToolUse for
    /// Task|Agent, Stop), keeping everything already there. Running it twice changes nothing.
    Install(InstallArgs),
}

#[derive(Debug, Args)]
struct InstallArgs {
    /// The command Claude Code runs.
    #[arg(long, default_value = "nexus hook", value_name = "CMD")]
    command: String,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

/// Build an event from flags instead of reading hook JSON from stdin.
#[derive(Debug, Args)]
struct EventFlags {
    /// Session the event belongs to (one Notion page per session). Without it, stdin is read.
    #[arg(long, value_name = "ID")]
    session_id: Option<String>,
    /// Agent name.
    #[arg(long, value_name = "NAME", requires = "session_id")]
    agent: Option<String>,
    /// Status: In Progress, Completed, Blocked, Failed, Cancelled, or another option of the
    /// data source.
    #[arg(long, default_value = "Completed", requires = "session_id")]
    status: String,
    /// What was done (secrets are redacted before anything is stored or sent).
    #[arg(long, value_name = "TEXT", requires = "session_id")]
    description: Option<String>,
    /// Start time, RFC 3339.
    #[arg(long, value_name = "RFC3339", requires = "session_id")]
    start_time: Option<String>,
    /// End time, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339", requires = "session_id")]
    end_time: Option<String>,
    /// Minutes spent (default: derived from the times).
    #[arg(long, value_name = "N", requires = "session_id")]
    duration_minutes: Option<f64>,
    /// Files created.
    #[arg(long, value_name = "N", requires = "session_id")]
    files_created: Option<u64>,
    /// Files updated.
    #[arg(long, value_name = "N", requires = "session_id")]
    files_updated: Option<u64>,
    /// Lines generated.
    #[arg(long, value_name = "N", requires = "session_id")]
    lines_generated: Option<u64>,
    /// A deliverable (repeat for several).
    #[arg(long, value_name = "TEXT", requires = "session_id")]
    deliverable: Vec<String>,
    /// A next step (repeat for several).
    #[arg(long, value_name = "TEXT", requires = "session_id")]
    next_step: Vec<String>,
    /// Performance metrics (text or a JSON object).
    #[arg(long, value_name = "TEXT", requires = "session_id")]
    metrics: Option<String>,
    /// A related Notion page id or URL (repeat for several).
    #[arg(long, value_name = "ID|URL", requires = "session_id")]
    related: Vec<String>,
}

/// Runs `nexus hook` or `nexus hook install`.
pub fn run(project: Option<&Path>, args: HookArgs) -> anyhow::Result<ExitCode> {
    if let Some(HookCommand::Install(install)) = args.command {
        return run_install(project, install);
    }
    let now = SystemTime::now();
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let event_id = nexus_core::event_id::new_uuid_v7(now_ms, rand::random());

    let (event, hook_cwd) = match &args.event.session_id {
        Some(_) => (
            Some(event_from_flags(&args.event, now_ms as i64, event_id)?),
            None,
        ),
        None => {
            let input = read_stdin_json()?;
            let cwd = input.get("cwd").and_then(Value::as_str).map(str::to_owned);
            let event = claude_hook::event_from_hook(&input, now_ms as i64, event_id)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            (event, cwd)
        }
    };
    let Some(event) = event else {
        // An event or tool this hook does not report: nothing to do, and nothing to complain of.
        if args.json {
            print_json(&json!({"skipped": true}));
        }
        return Ok(ExitCode::SUCCESS);
    };

    let project_dir = settings::project_dir(project, hook_cwd.as_deref());
    let mut exit = ExitCode::SUCCESS;
    let settings = Settings::load(project_dir.clone()).unwrap_or_else(|e| {
        // A broken nexus.toml must not cost the event: queue it where the environment says,
        // send nothing, and say why.
        eprintln!("nexus hook: {e:#}; the event is queued but not sent");
        exit = ExitCode::FAILURE;
        let mut s = Settings::load_env_only(project_dir);
        s.webhook_enabled = false;
        s
    });

    let mut body_json: Value = serde_json::from_slice(&event.to_json()).expect("to_json is JSON");
    redact::redact_json(&mut body_json);
    let event_id = event.event_id.clone().unwrap_or_default();
    let body = serde_json::to_vec(&body_json).expect("JSON serialises");

    let queue = settings.queue();
    let entry = match queue.append(&event_id, &body_json) {
        Ok(entry) => Some(entry),
        Err(e) => {
            eprintln!("nexus hook: cannot queue event {event_id}: {e}");
            exit = ExitCode::FAILURE;
            None
        }
    };

    let mut report = json!({"eventId": event_id, "queued": entry.is_some()});
    if !settings.webhook_enabled {
        report["delivery"] = "disabled".into();
    } else {
        match (settings.require_url(), settings.require_secret()) {
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("nexus hook: {e:#}; event {event_id} is queued");
                report["delivery"] = "not-configured".into();
                report["error"] = format!("{e:#}").into();
            }
            (Ok(url), Ok(secret)) => {
                let agent = delivery::agent(delivery::POST_TIMEOUT);
                let (outcome, _) = delivery::post_event(&agent, url, &secret, &event_id, &body);
                if let Err(e) = record(&queue, entry.as_ref(), &outcome) {
                    eprintln!("nexus hook: cannot record the outcome of {event_id}: {e}");
                }
                describe(&outcome, &event_id, &mut report);
            }
        }
    }
    if args.json {
        print_json(&report);
    }
    Ok(exit)
}

/// Writes the outcome to the receipts (and dead letters).
fn record(
    queue: &nexus_queue::Queue,
    entry: Option<&nexus_queue::Entry>,
    outcome: &Outcome,
) -> nexus_queue::Result<()> {
    let Some(entry) = entry else { return Ok(()) };
    match outcome {
        Outcome::Synced {
            status, page_id, ..
        } => queue.record_synced(&entry.event_id, *status, page_id.as_deref()),
        Outcome::Refused { status, reason } => {
            queue.record_dead(entry, Some(*status), reason, true)
        }
        Outcome::Retry { status, error, .. } => {
            queue.record_failure(&entry.event_id, *status, error)
        }
    }
}

fn describe(outcome: &Outcome, event_id: &str, report: &mut Value) {
    match outcome {
        Outcome::Synced {
            status,
            page_id,
            page_url,
            duplicate,
        } => {
            report["delivery"] = "synced".into();
            report["httpStatus"] = (*status).into();
            report["pageId"] = json!(page_id);
            report["pageUrl"] = json!(page_url);
            report["duplicate"] = (*duplicate).into();
        }
        Outcome::Refused { status, reason } => {
            eprintln!(
                "nexus hook: the edge refused event {event_id} for good ({reason}); \
                 it is kept as a dead letter"
            );
            report["delivery"] = "dead".into();
            report["httpStatus"] = (*status).into();
            report["error"] = reason.as_str().into();
        }
        Outcome::Retry { status, error, .. } => {
            eprintln!(
                "nexus hook: event {event_id} is queued; delivery failed ({error}), \
                 the queue processor will retry"
            );
            report["delivery"] = "pending".into();
            report["httpStatus"] = json!(status);
            report["error"] = error.as_str().into();
        }
    }
}

fn read_stdin_json() -> anyhow::Result<Value> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!(
            "no hook JSON on stdin: Claude Code pipes it in; to report by hand, pass \
             --session-id and --agent (see `nexus hook --help`)"
        );
    }
    let mut buf = Vec::new();
    stdin
        .read_to_end(&mut buf)
        .context("cannot read the hook JSON on stdin")?;
    serde_json::from_slice(&buf)
        .map_err(|e| anyhow::anyhow!("the hook input on stdin is not JSON: {e}"))
}

fn event_from_flags(f: &EventFlags, now_ms: i64, event_id: String) -> anyhow::Result<Event> {
    let time = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Timestamp>> {
        match v {
            None => Ok(None),
            Some(s) => Timestamp::parse(s)
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("--{flag} {s:?} is not an RFC 3339 time")),
        }
    };
    let event = Event {
        event_id: Some(event_id),
        session_id: f.session_id.clone().unwrap_or_default(),
        agent_name: f.agent.clone().unwrap_or_else(|| "main".to_owned()),
        status: f.status.clone(),
        start_time: time("start-time", &f.start_time)?,
        end_time: Some(
            time("end-time", &f.end_time)?.unwrap_or_else(|| Timestamp::from_unix_millis(now_ms)),
        ),
        duration_minutes: f.duration_minutes,
        work_description: f.description.clone(),
        files_created: f.files_created,
        files_updated: f.files_updated,
        lines_generated: f.lines_generated,
        deliverables: f.deliverable.clone(),
        next_steps: f.next_step.clone(),
        performance_metrics: f.metrics.clone(),
        related_notion_items: f.related.clone(),
    };
    // The edge would refuse an invalid event for good: say so now, to the person typing.
    Event::parse(&event.to_json()).map_err(|e| anyhow::anyhow!("invalid event: {e}"))?;
    Ok(event)
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON serialises")
    );
}

// ---- nexus hook install ----

/// JSON that keeps the order of object keys, so a merged settings file reads as its author left it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Ordered {
    Object(IndexMap<String, Ordered>),
    Array(Vec<Ordered>),
    Other(Value),
}

fn run_install(project: Option<&Path>, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let project_dir = settings::project_dir(project, None);
    let path = project_dir.join(".claude").join("settings.json");
    let (added, present) = install(&path, &args.command)?;
    if args.json {
        print_json(&json!({"settingsFile": path, "added": added, "alreadyPresent": present}));
    } else if added.is_empty() {
        println!("{}: the nexus hooks are already installed", path.display());
    } else {
        println!("{}: added {}", path.display(), added.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The hooks the snippet installs: event, matcher.
const HOOKS: [(&str, Option<&str>); 3] = [
    ("SubagentStop", None),
    ("PostToolUse", Some("Task|Agent")),
    ("Stop", None),
];

/// Merges the hooks into the settings file at `path`; returns (added, already present).
pub fn install(path: &Path, command: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut root = match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ordered::Object(IndexMap::new()),
        Ok(bytes) => serde_json::from_slice::<Ordered>(&bytes).with_context(|| {
            format!(
                "{} is not valid JSON; fix it first, nothing was changed",
                path.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ordered::Object(IndexMap::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let Ordered::Object(top) = &mut root else {
        bail!(
            "{} is not a JSON object; nothing was changed",
            path.display()
        );
    };
    let hooks = top
        .entry("hooks".to_owned())
        .or_insert_with(|| Ordered::Object(IndexMap::new()));
    let Ordered::Object(hooks) = hooks else {
        bail!(
            "\"hooks\" in {} is not an object; nothing was changed",
            path.display()
        );
    };
    let (mut added, mut present) = (Vec::new(), Vec::new());
    for (event, matcher) in HOOKS {
        let label = match matcher {
            Some(m) => format!("{event}({m})"),
            None => event.to_owned(),
        };
        let groups = hooks
            .entry(event.to_owned())
            .or_insert_with(|| Ordered::Array(Vec::new()));
        let Ordered::Array(groups) = groups else {
            bail!(
                "\"hooks.{event}\" in {} is not an array; nothing was changed",
                path.display()
            );
        };
        match mark_existing(groups, command, matcher) {
            Existing::Absent => {}
            Existing::Present => {
                present.push(label);
                continue;
            }
            Existing::Widened => {
                added.push(format!("{label} (matcher widened)"));
                continue;
            }
        }
        let mut group = json!({"hooks": [{"type": "command", "command": command, "timeout": 30}]});
        if let Some(m) = matcher {
            group = json!({"matcher": m, "hooks": group["hooks"].clone()});
        }
        groups.push(serde_json::from_value(group).expect("valid"));
        added.push(label);
    }
    if !added.is_empty() {
        write_atomically(path, &root)?;
    }
    Ok((added, present))
}

enum Existing {
    Absent,
    Present,
    Widened,
}

/// Whether a group already runs our command; widens an old `Task`-only matcher to `Task|Agent`
/// (Claude Code 2.1.63 renamed the tool, and a `Task`-only matcher silently stopped firing).
fn mark_existing(groups: &mut [Ordered], command: &str, matcher: Option<&str>) -> Existing {
    for group in groups {
        let Ordered::Object(g) = group else { continue };
        let ours = match g.get("hooks") {
            Some(Ordered::Array(hs)) => hs.iter().any(|h| match h {
                Ordered::Object(h) => matches!(h.get("command"),
                    Some(Ordered::Other(Value::String(c))) if c == command || c.trim_end().ends_with("nexus hook")),
                _ => false,
            }),
            _ => false,
        };
        if !ours {
            continue;
        }
        if let (Some(want), Some(Ordered::Other(Value::String(m)))) = (matcher, g.get("matcher"))
            && !want.split('|').all(|t| m.split('|').any(|x| x.trim() == t))
        {
            g.insert(
                "matcher".into(),
                Ordered::Other(Value::String(want.to_owned())),
            );
            return Existing::Widened;
        }
        return Existing::Present;
    }
    Existing::Absent
}

fn write_atomically(path: &Path, root: &Ordered) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(root).expect("JSON serialises");
    text.push('\n');
    let tmp: PathBuf = path.with_extension("json.nexus-tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_keeps_content_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let before = r#"{"permissions":{"allow":["Bash(ls)"]},"hooks":{"PostToolUse":[{"matcher":"Write","hooks":[{"type":"command","command":"fmt.sh"}]}]},"model":"x"}"#;
        std::fs::write(&path, before).unwrap();
        let (added, present) = install(&path, "nexus hook").unwrap();
        assert_eq!(added.len(), 3);
        assert!(present.is_empty());
        let after = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(v["model"], "x");
        assert_eq!(
            v["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
            "fmt.sh"
        );
        assert_eq!(v["hooks"]["PostToolUse"][1]["matcher"], "Task|Agent");
        // Key order is the author's.
        assert!(after.find("permissions").unwrap() < after.find("\"model\"").unwrap());
        assert!(after.find("\"hooks\"").unwrap() < after.find("\"model\"").unwrap());
        let (added, present) = install(&path, "nexus hook").unwrap();
        assert!(added.is_empty());
        assert_eq!(present.len(), 3);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
    }

    #[test]
    fn invalid_settings_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(install(&path, "nexus hook").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }
}
