//! `nexus-queue`: the durable local queue of nexus-sync, the files under `.claude/data/` that hold
//! every event `nexus hook` accepted until the edge has it.
//!
//! It is an append-only log (the main JSON Lines file, one line per accepted event, never edited)
//! plus an append-only receipts log (delivery outcomes) and a dead-letter file, all guarded by one
//! `flock` on a lock file that is never renamed. Appends are `O_APPEND` writes followed by `fsync`
//! (and a folder `fsync` when a file is new); a torn last line is ignored by readers and cut by the
//! next writer; compaction rewrites to a temporary file and renames it under the writers' lock.
//! The on-disk format is described in this crate's README.
//!
//! It is not a network client and knows nothing of the event's meaning: events are opaque JSON
//! (the `nexus-core` crate validates them). It does not decide when to retry or give up; the
//! caller records each outcome and asks for what is pending.
//!
//! ```no_run
//! let queue = nexus_queue::Queue::open(".claude/data/notion-sync-queue.jsonl");
//! let entry = queue.append("0196a1b2-...", &serde_json::json!({"sessionId": "s"}))?;
//! queue.record_failure(&entry.event_id, None, "connection refused")?;
//! for q in queue.pending()? { /* POST q.entry.body(), then record_synced / record_failure */ }
//! queue.compact()?;
//! # Ok::<(), nexus_queue::QueueError>(())
//! ```

#![warn(missing_docs)]

mod compaction;
mod dead_letters;
mod entry;
mod error;
mod fsync;
mod lock;
mod log;
mod paths;
mod receipts;
pub mod scan;
mod snapshot;
pub mod timestamp;

use std::path::PathBuf;
use std::time::SystemTime;

pub use compaction::CompactReport;
pub use dead_letters::DeadLetter;
pub use entry::Entry;
pub use error::{QueueError, Result};
pub use paths::{DEFAULT_QUEUE_FILE, QueuePaths};
pub use receipts::{Delivery, Outcome, Receipt};
pub use snapshot::{EntryView, ListFilter, QueuedEntry, State, StatusCounts};

pub use lock::ProcessorLock;
use lock::QueueLock;
use snapshot::Snapshot;

/// The attempt limit the processor applies before it gives an entry up (issue 4; the seed used 5).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// A queue, named by its main file. Opening touches nothing on disk: files and folders are
/// created by the first write, and reading a queue that does not exist yet shows it empty.
/// Every method is safe to call from many processes at once.
#[derive(Debug, Clone)]
pub struct Queue {
    paths: QueuePaths,
}

impl Queue {
    /// The queue whose main file is `queue_file` (see [`QueuePaths::for_queue`] for its siblings).
    pub fn open(queue_file: impl Into<PathBuf>) -> Queue {
        Queue {
            paths: QueuePaths::for_queue(queue_file),
        }
    }

    /// The queue's files.
    pub fn paths(&self) -> &QueuePaths {
        &self.paths
    }

    /// Appends an event and returns once it is on stable storage: only then may the caller
    /// acknowledge it. `enqueuedAt` is now.
    pub fn append(&self, event_id: &str, event: &serde_json::Value) -> Result<Entry> {
        let entry = Entry {
            event_id: event_id.to_owned(),
            enqueued_at: timestamp::format(SystemTime::now()),
            event: event.clone(),
        };
        self.append_entry(&entry)?;
        Ok(entry)
    }

    /// Appends a ready entry durably (see [`Queue::append`]).
    pub fn append_entry(&self, entry: &Entry) -> Result<()> {
        self.append_to(&self.paths.queue, &entry.to_line())
    }

    /// Records an unsuccessful attempt: the entry stays pending.
    pub fn record_failure(
        &self,
        event_id: &str,
        http_status: Option<u16>,
        error: &str,
    ) -> Result<()> {
        self.append_receipt(&Receipt {
            event_id: event_id.to_owned(),
            at: timestamp::format(SystemTime::now()),
            outcome: Outcome::Failed,
            attempts: 1,
            http_status,
            error: Some(error.to_owned()),
            page_id: None,
            next_attempt_at: None,
        })
    }

    /// Records a delivery (2xx) with the page the edge wrote: the entry is synced, and the next
    /// compaction drops it.
    pub fn record_synced(
        &self,
        event_id: &str,
        http_status: u16,
        page_id: Option<&str>,
    ) -> Result<()> {
        self.append_receipt(&Receipt {
            event_id: event_id.to_owned(),
            at: timestamp::format(SystemTime::now()),
            outcome: Outcome::Synced,
            attempts: 1,
            http_status: Some(http_status),
            error: None,
            page_id: page_id.map(str::to_owned),
            next_attempt_at: None,
        })
    }

    /// Gives an entry up: copies it to the dead-letter file, then records the decision.
    /// `attempted` says whether this call reports a request (a 400/401/413/422 answer) or only a
    /// decision (the attempt limit). The dead-letter line is written first: it alone makes the
    /// entry dead, so a crash in between leaves it dead, not pending-without-a-copy.
    pub fn record_dead(
        &self,
        entry: &Entry,
        http_status: Option<u16>,
        reason: &str,
        attempted: bool,
    ) -> Result<()> {
        let now = timestamp::format(SystemTime::now());
        let _lock = QueueLock::exclusive(&self.paths.lock)?;
        let prior = receipts::fold(&log::read_lines(&self.paths.receipts)?)
            .remove(&entry.event_id)
            .map_or(0, |d| d.attempts);
        let dead = DeadLetter {
            event_id: entry.event_id.clone(),
            enqueued_at: entry.enqueued_at.clone(),
            dead_at: now.clone(),
            reason: reason.to_owned(),
            http_status,
            attempts: prior + u32::from(attempted),
            event: entry.event.clone(),
        };
        let line = serde_json::to_vec(&dead).expect("a dead letter serialises");
        log::append_line(&self.paths.dead, &line)?.sync()?;
        let receipt = Receipt {
            event_id: entry.event_id.clone(),
            at: now,
            outcome: Outcome::Dead,
            attempts: u32::from(attempted),
            http_status,
            error: Some(reason.to_owned()),
            page_id: None,
            next_attempt_at: None,
        };
        let line = serde_json::to_vec(&receipt).expect("a receipt serialises");
        log::append_line(&self.paths.receipts, &line)?.sync()
    }

    /// Entries still to deliver, oldest first, with their attempts so far.
    pub fn pending(&self) -> Result<Vec<QueuedEntry>> {
        Ok(self
            .read()?
            .queued()
            .into_iter()
            .filter(|q| q.state == State::Pending)
            .collect())
    }

    /// Every entry (main file, then dead letters compacted away) with its state.
    pub fn entries(&self) -> Result<Vec<QueuedEntry>> {
        Ok(self.read()?.queued())
    }

    /// The entries of `nexus queue list --json`.
    pub fn list(&self, filter: ListFilter) -> Result<Vec<EntryView>> {
        Ok(self
            .entries()?
            .iter()
            .filter(|q| filter.admits(q.state))
            .map(EntryView::of)
            .collect())
    }

    /// The counts of `nexus queue status --json`, ages measured from `now`.
    pub fn status(&self, now: SystemTime) -> Result<StatusCounts> {
        Ok(self.read()?.status(now))
    }

    /// Moves dead letters back to pending (after a fix): `ids`, or every dead letter when `None`.
    /// Returns the ids moved. Under the writers' lock: the entry goes back into the main file if
    /// compaction dropped it, a `requeued` receipt restarts its attempts, and only then is it cut
    /// from the dead-letter file (the file that makes it dead), so a crash at any point leaves it
    /// dead or pending, never lost.
    pub fn retry_dead(&self, ids: Option<&[String]>) -> Result<Vec<String>> {
        if !self.paths.dead.exists() {
            return Ok(Vec::new());
        }
        let _lock = QueueLock::exclusive(&self.paths.lock)?;
        let snap = Snapshot::read(&self.paths)?;
        let in_main: std::collections::HashSet<&str> =
            snap.entries.iter().map(|e| e.event_id.as_str()).collect();
        let chosen: Vec<&DeadLetter> = snap
            .dead
            .iter()
            .filter(|d| ids.is_none_or(|ids| ids.contains(&d.event_id)))
            .collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let now = timestamp::format(SystemTime::now());
        for d in &chosen {
            if !in_main.contains(d.event_id.as_str()) {
                let entry = Entry {
                    event_id: d.event_id.clone(),
                    enqueued_at: d.enqueued_at.clone(),
                    event: d.event.clone(),
                };
                log::append_line(&self.paths.queue, &entry.to_line())?.sync()?;
            }
            let receipt = Receipt {
                event_id: d.event_id.clone(),
                at: now.clone(),
                outcome: Outcome::Requeued,
                attempts: 0,
                http_status: None,
                error: None,
                page_id: None,
                next_attempt_at: None,
            };
            log::append_line(&self.paths.receipts, &scan::receipt_line(&receipt))?.sync()?;
        }
        let moved: std::collections::HashSet<&str> =
            chosen.iter().map(|d| d.event_id.as_str()).collect();
        let kept: Vec<Vec<u8>> = log::read_lines(&self.paths.dead)?
            .into_iter()
            .filter(|l| scan::event_id_of(l).is_none_or(|id| !moved.contains(id.as_str())))
            .collect();
        log::rewrite(&self.paths.dead, &kept)?;
        Ok(chosen.iter().map(|d| d.event_id.clone()).collect())
    }

    /// Drops synced and dead entries from the main file and folds the receipts of the rest.
    /// Safe while writers append and readers read.
    pub fn compact(&self) -> Result<CompactReport> {
        compaction::compact(&self.paths)
    }

    fn append_receipt(&self, receipt: &Receipt) -> Result<()> {
        let line = serde_json::to_vec(receipt).expect("a receipt serialises");
        self.append_to(&self.paths.receipts, &line)
    }

    fn append_to(&self, path: &std::path::Path, line: &[u8]) -> Result<()> {
        let written = {
            let _lock = QueueLock::exclusive(&self.paths.lock)?;
            log::append_line(path, line)?
        };
        // `fsync` after the lock is released: see `log::Written`.
        written.sync()
    }

    fn read(&self) -> Result<Snapshot> {
        if !self.paths.queue.exists() && !self.paths.dead.exists() {
            // Nothing queued yet: do not create folders just to read.
            return Ok(Snapshot::default());
        }
        let _lock = QueueLock::shared(&self.paths.lock)?;
        Snapshot::read(&self.paths)
    }
}
