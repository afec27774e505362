//! Claude Code hook input (the JSON a command hook reads on stdin) to an agent activity event.
//! Pure: the caller passes the input, the time and the event id; nothing here reads a clock,
//! a file or the network.
//!
//! Handled: `SubagentStop`, `PostToolUse` of the subagent tool under both its names (`Task`, and
//! `Agent` since Claude Code 2.1.63), and `Stop`. Anything else yields no event, so a hook wired to
//! too broad a matcher stays harmless. Unknown fields are ignored: Claude Code adds them often.

use crate::event::{Event, Timestamp};
use serde_json::{Map, Value};

/// The subagent tool's names, old and new.
pub const SUBAGENT_TOOLS: [&str; 2] = ["Task", "Agent"];

/// Longest `workDescription` kept: an event body must stay far below the edge's 1 MiB limit.
pub const MAX_DESCRIPTION_CHARS: usize = 100_000;

/// `agentName` of the main agent (the `Stop` event).
pub const MAIN_AGENT: &str = "main";

/// The input is not a hook event this command can read.
#[derive(Debug, PartialEq, Eq)]
pub struct BadHookInput(pub String);

impl std::fmt::Display for BadHookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The event for one hook input, or `None` for an event or tool this hook does not report.
pub fn event_from_hook(
    input: &Value,
    now_unix_millis: i64,
    event_id: String,
) -> Result<Option<Event>, BadHookInput> {
    let obj = input
        .as_object()
        .ok_or_else(|| BadHookInput("hook input is not a JSON object".into()))?;
    let session = str_field(obj, "session_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| BadHookInput("hook input has no session_id".into()))?;
    let hook = str_field(obj, "hook_event_name")
        .ok_or_else(|| BadHookInput("hook input has no hook_event_name".into()))?;
    let now = Timestamp::from_unix_millis(now_unix_millis);
    let mut event = Event {
        event_id: Some(event_id),
        end_time: Some(now),
        ..Event::new(session, MAIN_AGENT, "Completed")
    };
    match hook {
        "SubagentStop" => {
            // One page per subagent run: the session plus the agent's id.
            if let Some(agent_id) = str_field(obj, "agent_id").filter(|s| !s.is_empty()) {
                event.session_id = subagent_session(session, agent_id);
            }
            event.agent_name = agent_name(str_field(obj, "agent_type"));
            event.work_description = description(&[str_field(obj, "last_assistant_message")]);
        }
        "PostToolUse" => {
            let tool = str_field(obj, "tool_name").unwrap_or_default();
            if !SUBAGENT_TOOLS.contains(&tool) {
                return Ok(None);
            }
            let input = obj.get("tool_input").and_then(Value::as_object);
            let response = obj.get("tool_response");
            let input_str = |k: &str| input.and_then(|i| str_field(i, k));
            let resp_obj = response.and_then(Value::as_object);
            let resp_str = |k: &str| resp_obj.and_then(|r| str_field(r, k));
            let run_id = resp_str("agentId")
                .or_else(|| resp_str("agent_id"))
                .or_else(|| str_field(obj, "tool_use_id"));
            if let Some(id) = run_id.filter(|s| !s.is_empty()) {
                event.session_id = subagent_session(session, id);
            }
            event.agent_name = agent_name(input_str("subagent_type"));
            let background = input
                .and_then(|i| i.get("run_in_background"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            event.status = tool_status(resp_obj, background).to_owned();
            let text = response.map(response_text).unwrap_or_default();
            event.work_description = description(&[input_str("description"), Some(&text)]);
            if let Some(ms) = resp_obj
                .and_then(|r| r.get("totalDurationMs"))
                .and_then(Value::as_u64)
                && !background
            {
                let ms = ms.min(now_unix_millis.max(0) as u64);
                event.start_time = Some(Timestamp::from_unix_millis(now_unix_millis - ms as i64));
                event.duration_minutes = Some(ms as f64 / 60_000.0);
            }
            event.performance_metrics = metrics(resp_obj);
        }
        "Stop" => {
            event.work_description = description(&[str_field(obj, "last_assistant_message")]);
        }
        _ => return Ok(None),
    }
    Ok(Some(event))
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn subagent_session(session: &str, agent: &str) -> String {
    let s = format!("{session}:{agent}");
    // sessionId allows 200 characters; Claude Code's ids are far shorter, but stay valid anyway.
    s.chars().take(200).collect()
}

fn agent_name(t: Option<&str>) -> String {
    let name = t
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("general-purpose");
    name.chars().take(100).collect()
}

/// `In Progress` for a subagent launched in the background (its result comes later), `Failed`
/// when the tool reports an error, else `Completed`.
fn tool_status(resp: Option<&Map<String, Value>>, background: bool) -> &'static str {
    let flag = |k: &str| {
        resp.and_then(|r| r.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let status = resp
        .and_then(|r| str_field(r, "status"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if flag("is_error") || flag("isError") || matches!(status.as_str(), "error" | "failed") {
        "Failed"
    } else if background || matches!(status.as_str(), "async_launched" | "running" | "launched") {
        "In Progress"
    } else {
        "Completed"
    }
}

/// The text the subagent returned: a string, or the text blocks of `content`.
fn response_text(resp: &Value) -> String {
    match resp {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => str_field(o, "result").unwrap_or_default().to_owned(),
        },
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn description(parts: &[Option<&str>]) -> Option<String> {
    let text = parts
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return Some(text);
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS).collect();
    cut.push_str("\n[truncated]");
    Some(cut)
}

fn metrics(resp: Option<&Map<String, Value>>) -> Option<String> {
    let resp = resp?;
    let mut m = Map::new();
    for k in ["totalDurationMs", "totalTokens", "totalToolUseCount"] {
        if let Some(v) = resp.get(k).filter(|v| v.is_number()) {
            m.insert(k.to_owned(), v.clone());
        }
    }
    (!m.is_empty()).then(|| Value::Object(m).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_777_000_000_000;

    #[test]
    fn other_tools_and_events_are_ignored() {
        let bash = json!({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Bash"});
        assert_eq!(event_from_hook(&bash, NOW, "e".into()), Ok(None));
        let start = json!({"session_id":"s","hook_event_name":"SessionStart"});
        assert_eq!(event_from_hook(&start, NOW, "e".into()), Ok(None));
    }

    #[test]
    fn missing_session_is_an_error() {
        let e = event_from_hook(&json!({"hook_event_name":"Stop"}), NOW, "e".into());
        assert!(e.unwrap_err().0.contains("session_id"));
    }

    #[test]
    fn background_agent_is_in_progress() {
        let v = json!({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Agent",
            "tool_input":{"description":"d","prompt":"p","subagent_type":"Explore","run_in_background":true},
            "tool_response":{"status":"async_launched","agentId":"a1"}});
        let e = event_from_hook(&v, NOW, "e".into()).unwrap().unwrap();
        assert_eq!(e.status, "In Progress");
        assert_eq!(e.session_id, "s:a1");
        assert_eq!(e.agent_name, "Explore");
    }
}
