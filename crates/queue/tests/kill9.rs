//! `kill -9` at random instants of writers and of the compaction, hundreds of rounds on one queue:
//! no acknowledged entry is ever lost or duplicated, every complete line parses, and a delivered
//! entry never comes back as pending.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use nexus_queue::{Queue, State};
use rand::Rng;

#[test]
fn child() {
    support::run_child_if_asked();
}

#[test]
fn kill_nine_at_random_points() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".claude/data/notion-sync-queue.jsonl");
    let queue = Queue::open(&path);
    let mut rng = rand::rng();
    let mut acked: HashSet<String> = HashSet::new();
    let mut delivered: HashSet<String> = HashSet::new();
    let started = Instant::now();
    let mut rounds = 0;
    let mut kills = 0;
    while rounds < 300 && started.elapsed() < Duration::from_secs(25) {
        rounds += 1;
        // Mark a few acknowledged entries delivered before the children start (a
        // compaction killed mid-way must not lose the mark).
        for id in acked
            .iter()
            .filter(|id| !delivered.contains(*id))
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
        {
            queue.record_synced(&id, 200, None).unwrap();
            delivered.insert(id);
        }
        let mut children: Vec<_> = (0..3)
            .map(|_| support::spawn_child("child", "writer", &path, 1_000_000))
            .collect();
        children.push(support::spawn_child("child", "compactor", &path, 1_000_000));
        for child in &mut children {
            std::thread::sleep(Duration::from_micros(rng.random_range(0..8_000)));
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
        }
        for mut child in children {
            child.wait().unwrap();
            let mut out = Vec::new();
            child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
            acked.extend(support::acked_ids(&out));
        }

        // Check the invariants after every round, on the files as the killed processes left them.
        let ids = support::main_file_ids(&queue);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for id in &ids {
            *count.entry(id.as_str()).or_default() += 1;
        }
        for id in &acked {
            let n = count.get(id.as_str()).copied().unwrap_or(0);
            if delivered.contains(id) {
                assert!(n <= 1, "round {rounds}: {id} appears {n} times");
            } else {
                assert_eq!(n, 1, "round {rounds}: acknowledged {id} appears {n} times");
            }
        }
        for q in queue.entries().unwrap() {
            if delivered.contains(&q.entry.event_id) {
                assert_eq!(
                    q.state,
                    State::Synced,
                    "round {rounds}: delivered entry came back"
                );
            }
        }
    }
    assert!(rounds >= 100, "only {rounds} rounds");
    assert!(
        acked.len() > 100,
        "only {} entries acknowledged",
        acked.len()
    );
    eprintln!(
        "{rounds} rounds, {kills} kills, {} acknowledged",
        acked.len()
    );
}
