//! Compaction: drop delivered and dead entries from the main file, and fold the receipts of the
//! entries that remain.
//!
//! It runs entirely under the exclusive lock that every writer takes to append, so no append can
//! land between the read and the rename and vanish with the old file. The main file is replaced
//! first, then the receipts: a crash between the two leaves receipts for entries no longer in the
//! main file (ignored), never an entry whose receipts were folded away (which would resend it).

use crate::QueuePaths;
use crate::error::Result;
use crate::lock::QueueLock;
use crate::log;
use crate::snapshot::{Snapshot, State};

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Entries left in the main file (pending ones).
    pub kept: usize,
    /// Ids of delivered entries removed.
    pub dropped_synced: Vec<String>,
    /// Ids of dead entries removed (their copy stays in the dead-letter file).
    pub dropped_dead: Vec<String>,
    /// Lines of the main file that are not entries, kept as they were.
    pub foreign_lines: usize,
}

pub(crate) fn compact(paths: &QueuePaths) -> Result<CompactReport> {
    let _lock = QueueLock::exclusive(&paths.lock)?;
    let snap = Snapshot::read(paths)?;
    let dead_ids = snap.dead_ids();
    let mut report = CompactReport {
        foreign_lines: snap.foreign_lines.len(),
        ..CompactReport::default()
    };
    let mut lines: Vec<Vec<u8>> = snap.foreign_lines.clone();
    let mut receipts: Vec<Vec<u8>> = Vec::new();
    for e in &snap.entries {
        match snap.state_of(&e.event_id, &dead_ids) {
            State::Synced => report.dropped_synced.push(e.event_id.clone()),
            State::Dead => report.dropped_dead.push(e.event_id.clone()),
            State::Pending => {
                lines.push(e.to_line());
                if let Some(r) = snap
                    .deliveries
                    .get(&e.event_id)
                    .and_then(|d| d.folded(&e.event_id))
                {
                    receipts.push(serde_json::to_vec(&r).expect("a receipt serialises"));
                }
            }
        }
    }
    report.kept = lines.len() - report.foreign_lines;
    // Proof of delivery outlives the entry: appended (and synced) before the entries go.
    let mut delivered = Vec::new();
    for e in &snap.entries {
        if let Some(d) = snap.deliveries.get(&e.event_id).filter(|d| d.synced) {
            let line = serde_json::json!({
                "eventId": e.event_id,
                "sessionId": e.event_str("sessionId"),
                "pageId": d.page_id,
                "at": d.last_at,
            });
            delivered.push(serde_json::to_vec(&line).expect("JSON serialises"));
        }
    }
    if !delivered.is_empty() {
        log::append_lines(&paths.delivered(), &delivered)?.sync()?;
    }
    // Rewriting even when nothing is dropped also cuts a torn last line and duplicate ids.
    if paths.queue.exists() || !lines.is_empty() {
        log::rewrite(&paths.queue, &lines)?;
    }
    if paths.receipts.exists() || !receipts.is_empty() {
        log::rewrite(&paths.receipts, &receipts)?;
    }
    Ok(report)
}
