//! Many writer processes appending while the queue is read, marked and compacted: every
//! acknowledged entry ends up either in the main file exactly once or dropped as delivered.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use nexus_queue::{ListFilter, Queue};

#[test]
fn child() {
    support::run_child_if_asked();
}

#[test]
fn sixteen_writers_while_compacting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".claude/data/notion-sync-queue.jsonl");
    let queue = Queue::open(&path);
    let writers: Vec<_> = (0..16)
        .map(|_| support::spawn_child("child", "writer", &path, 100))
        .collect();

    // Meanwhile: mark some pending entries delivered and compact, like a processor would.
    let mut dropped = Vec::new();
    let mut rounds = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut outputs = Vec::new();
    let mut writers = writers;
    while !writers.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "writers took too long"
        );
        for q in queue.pending().unwrap().iter().step_by(3) {
            queue
                .record_synced(&q.entry.event_id, 200, Some("page"))
                .unwrap();
        }
        let report = queue.compact().unwrap();
        dropped.extend(report.dropped_synced);
        rounds += 1;
        let mut still = Vec::new();
        for mut w in writers {
            if w.try_wait().unwrap().is_some() {
                outputs.push(w.wait_with_output().unwrap());
            } else {
                still.push(w);
            }
        }
        writers = still;
    }
    assert!(rounds > 1, "compaction should have run while writers wrote");
    let mut acked = HashSet::new();
    for o in &outputs {
        assert!(o.status.success());
        for id in support::acked_ids(&o.stdout) {
            assert!(acked.insert(id));
        }
    }
    assert_eq!(acked.len(), 1600);

    let in_file = support::main_file_ids(&queue);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in in_file.iter().chain(dropped.iter()) {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    for id in &acked {
        assert_eq!(
            seen.get(id.as_str()),
            Some(&1),
            "{id} must be kept or dropped exactly once"
        );
    }
    assert_eq!(seen.len(), 1600);

    let status = queue.status(SystemTime::now()).unwrap();
    assert_eq!(status.pending + status.synced, in_file.len() as u64);
    let listed = queue.list(ListFilter::All).unwrap();
    assert_eq!(listed.len(), in_file.len());
}
