//! `kill -9` at random instants of `nexus hook` processes and of `nexus queue compact`, over many
//! rounds on one project: every event whose hook exited 0 and printed its id is in the queue file
//! exactly once, and every line of it parses.

mod support;

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use support::nexus;

#[test]
fn killed_hooks_and_compactions_lose_no_accepted_event() {
    let dir = support::tempdir();
    let project = dir.path();
    let mut rng = rand::rng();
    let mut accepted: Vec<String> = Vec::new();
    let (mut rounds, mut killed) = (0, 0);
    let started = Instant::now();
    while rounds < 200 && started.elapsed() < Duration::from_secs(15) {
        rounds += 1;
        let mut children: Vec<(bool, Child)> = (0..6)
            .map(|i| {
                let c = nexus(project)
                    .args(["hook", "--json", "--session-id", &format!("r{rounds}-{i}")])
                    .args(["--agent", "killer", "--description", &"x".repeat(i * 500)])
                    .env("NEXUS_WEBHOOK_ENABLED", "false")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                (true, c)
            })
            .collect();
        children.push((
            false,
            nexus(project)
                .args(["queue", "compact"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
        for (_, c) in children.iter_mut() {
            std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
            if c.try_wait().unwrap().is_none() {
                let _ = c.kill();
                killed += 1;
            }
        }
        for (is_hook, c) in children {
            let out = c.wait_with_output().unwrap();
            if is_hook && out.status.success() {
                let report: Value =
                    serde_json::from_slice(&out.stdout).expect("a finished hook printed JSON");
                accepted.push(report["eventId"].as_str().unwrap().to_owned());
            }
        }
        let text =
            std::fs::read(project.join(".claude/data/notion-sync-queue.jsonl")).unwrap_or_default();
        let complete = match text.iter().rposition(|&b| b == b'\n') {
            Some(i) => &text[..=i],
            None => &[][..],
        };
        let mut count: HashMap<String, usize> = HashMap::new();
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_slice(line).expect("every complete line parses");
            *count
                .entry(v["eventId"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        for id in &accepted {
            assert_eq!(
                count.get(id),
                Some(&1),
                "round {rounds}: accepted {id} lost or duplicated"
            );
        }
    }
    eprintln!(
        "{rounds} rounds, {killed} kills, {} accepted events",
        accepted.len()
    );
    assert!(rounds >= 30, "only {rounds} rounds");
    assert!(killed > rounds, "too few kills ({killed}) to mean anything");
    assert!(!accepted.is_empty());
}
