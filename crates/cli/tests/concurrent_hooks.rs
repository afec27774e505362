//! 32 `nexus hook` processes at once, 100 events each, while the queue is compacted again and
//! again: 3,200 entries, each exactly once, every line parseable.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use support::nexus;

const WORKERS: usize = 32;
const EACH: usize = 100;

#[test]
fn thirty_two_hooks_times_one_hundred_while_compacting() {
    let dir = support::tempdir();
    let project = dir.path().to_path_buf();
    let queue = nexus_queue::Queue::open(project.join(".claude/data/notion-sync-queue.jsonl"));

    let done = Arc::new(AtomicBool::new(false));
    let compactor = {
        let done = done.clone();
        let queue = queue.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                queue.compact().expect("compact");
                n += 1;
                // A processor compacts now and then, not back to back: leave the writers room.
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            n
        })
    };

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let project = project.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::with_capacity(EACH);
                for i in 0..EACH {
                    let input = serde_json::json!({
                        "session_id": format!("session-{w}"), "hook_event_name": "SubagentStop",
                        "agent_id": format!("agent-{i}"), "agent_type": "general-purpose",
                        "last_assistant_message": format!("worker {w} event {i}"),
                    });
                    let mut child = nexus(&project)
                        .args(["hook", "--json"])
                        .env("NEXUS_WEBHOOK_ENABLED", "false")
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .spawn()
                        .unwrap();
                    child
                        .stdin
                        .take()
                        .unwrap()
                        .write_all(input.to_string().as_bytes())
                        .unwrap();
                    let out = child.wait_with_output().unwrap();
                    assert!(out.status.success());
                    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
                    ids.push(report["eventId"].as_str().unwrap().to_owned());
                }
                ids
            })
        })
        .collect();
    let acked: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    done.store(true, Ordering::Relaxed);
    let compactions = compactor.join().unwrap();
    assert!(compactions > 10, "only {compactions} compactions ran");

    let text =
        std::fs::read_to_string(project.join(".claude/data/notion-sync-queue.jsonl")).unwrap();
    let mut seen = HashSet::new();
    let mut lines = 0;
    for line in text.lines() {
        lines += 1;
        let v: Value = serde_json::from_str(line).expect("every line parses");
        let id = v["eventId"].as_str().unwrap().to_owned();
        assert_eq!(v["event"]["eventId"], v["eventId"]);
        assert!(seen.insert(id), "duplicate entry");
    }
    assert_eq!(lines, WORKERS * EACH);
    assert_eq!(acked.len(), WORKERS * EACH);
    for id in &acked {
        assert!(seen.contains(id), "{id} lost");
    }
    let status = queue.status(std::time::SystemTime::now()).unwrap();
    assert_eq!(status.pending, (WORKERS * EACH) as u64);
}
