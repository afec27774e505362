//! Shared by the queue's integration tests: child processes started by re-running this test
//! binary with an environment variable naming the child's role.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nexus_queue::Queue;

pub const ROLE: &str = "NEXUS_QUEUE_TEST_ROLE";
pub const PATH: &str = "NEXUS_QUEUE_TEST_PATH";
pub const COUNT: &str = "NEXUS_QUEUE_TEST_COUNT";

/// Starts `test_name` of this binary as a child with `role`.
pub fn spawn_child(test_name: &str, role: &str, queue: &Path, count: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            test_name,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ROLE, role)
        .env(PATH, queue)
        .env(COUNT, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// The child side: does nothing unless started by `spawn_child`.
pub fn run_child_if_asked() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let queue = Queue::open(std::env::var(PATH).unwrap());
    let count: usize = std::env::var(COUNT).unwrap().parse().unwrap();
    let pid = std::process::id();
    let nonce: u32 = rand::random();
    match role.as_str() {
        "writer" => {
            let mut out = std::io::stdout().lock();
            for i in 0..count {
                let id = format!("{pid}-{nonce:08x}-{i}");
                let event = serde_json::json!({
                    "eventId": id, "sessionId": format!("s-{pid}"), "agentName": "writer",
                    "status": "Completed", "workDescription": "x".repeat(i % 300),
                });
                queue.append(&id, &event).expect("append");
                // Acknowledged only now that append returned: the line is on stable storage.
                writeln!(out, "ACK {id}").unwrap();
                out.flush().unwrap();
            }
        }
        "compactor" => {
            for _ in 0..count {
                queue.compact().expect("compact");
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// The ids a child acknowledged on stdout.
pub fn acked_ids(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ACK "))
        .map(str::to_owned)
        .collect()
}

/// Every complete line of the main file must parse; returns their event ids in order.
pub fn main_file_ids(queue: &Queue) -> Vec<String> {
    let bytes = std::fs::read(&queue.paths().queue).unwrap_or_default();
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &[][..],
    };
    complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap_or_else(|e| {
                panic!("unparseable line {:?}: {e}", String::from_utf8_lossy(l))
            });
            assert!(
                v["enqueuedAt"].is_string() && v["event"].is_object(),
                "bad entry {v}"
            );
            v["eventId"].as_str().expect("eventId").to_owned()
        })
        .collect()
}
