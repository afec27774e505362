//! A consistent read of the whole queue (main file, receipts, dead letters), taken under the
//! shared lock so that it never mixes the two sides of a compaction, and the views built from it:
//! the status counts and entry list of CONTRACT 7.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use serde::Serialize;

use crate::dead_letters::DeadLetter;
use crate::entry::Entry;
use crate::receipts::Delivery;
use crate::timestamp;

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not delivered yet: the processor should (re)try it.
    Pending,
    /// Delivered (2xx); compaction will drop it from the main file.
    Synced,
    /// Given up; its copy lives in the dead-letter file.
    Dead,
}

/// An entry with its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEntry {
    /// The line of the main file (or, for a dead letter already compacted away, rebuilt from it).
    pub entry: Entry,
    /// The folded receipts.
    pub delivery: Delivery,
    /// Where it stands.
    pub state: State,
}

/// `nexus queue status --json` (CONTRACT 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    /// Entries not delivered yet.
    pub pending: u64,
    /// Delivered entries still in the main file (compaction drops them).
    pub synced: u64,
    /// Dead letters.
    pub dead: u64,
    /// Age in whole seconds of the oldest pending entry; `null` when none is pending.
    pub oldest_pending_seconds: Option<u64>,
}

/// One element of `nexus queue list --json` (CONTRACT 7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    /// The event id.
    pub event_id: String,
    /// The event's `sessionId`.
    pub session_id: Option<String>,
    /// The event's `agentName`.
    pub agent_name: Option<String>,
    /// The event's `status` (the agent's, not the delivery's).
    pub status: Option<String>,
    /// When it was queued.
    pub enqueued_at: String,
    /// Whether the edge accepted it.
    pub webhook_synced: bool,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The latest error (or the dead-letter reason).
    pub last_error: Option<String>,
    /// The Notion page, once synced.
    pub page_id: Option<String>,
}

/// Which entries `list` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListFilter {
    /// Every entry: the main file's, then dead letters already compacted away.
    #[default]
    All,
    /// Only pending entries.
    Pending,
    /// Only synced entries (still in the main file).
    Synced,
    /// Only dead letters.
    Dead,
}

/// Everything read at one instant.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Main-file entries, first occurrence of each id, in file order.
    pub entries: Vec<Entry>,
    /// Main-file lines that are not entries (kept verbatim by compaction).
    pub foreign_lines: Vec<Vec<u8>>,
    /// Folded receipts by id.
    pub deliveries: HashMap<String, Delivery>,
    /// Dead letters, first occurrence of each id.
    pub dead: Vec<DeadLetter>,
}

impl Snapshot {
    pub(crate) fn dead_ids(&self) -> HashSet<&str> {
        self.dead.iter().map(|d| d.event_id.as_str()).collect()
    }

    pub(crate) fn state_of(&self, id: &str, dead_ids: &HashSet<&str>) -> State {
        let d = self.deliveries.get(id);
        if d.is_some_and(|d| d.synced) {
            State::Synced
        } else if dead_ids.contains(id) {
            State::Dead
        } else {
            State::Pending
        }
    }

    /// Every entry with its state: the main file's, then dead letters no longer in it.
    pub(crate) fn queued(&self) -> Vec<QueuedEntry> {
        let dead_ids = self.dead_ids();
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            seen.insert(e.event_id.as_str());
            out.push(QueuedEntry {
                state: self.state_of(&e.event_id, &dead_ids),
                delivery: self
                    .deliveries
                    .get(&e.event_id)
                    .cloned()
                    .unwrap_or_default(),
                entry: e.clone(),
            });
        }
        for d in &self.dead {
            if seen.contains(d.event_id.as_str()) {
                continue;
            }
            let mut delivery = self
                .deliveries
                .get(&d.event_id)
                .cloned()
                .unwrap_or_default();
            delivery.attempts = delivery.attempts.max(d.attempts);
            delivery.dead = true;
            let state = if delivery.synced {
                State::Synced
            } else {
                State::Dead
            };
            out.push(QueuedEntry {
                entry: Entry {
                    event_id: d.event_id.clone(),
                    enqueued_at: d.enqueued_at.clone(),
                    event: d.event.clone(),
                },
                delivery,
                state,
            });
        }
        // Dead letters carry their reason as the last error even when no receipt did.
        let reasons: HashMap<&str, &str> = self
            .dead
            .iter()
            .map(|d| (d.event_id.as_str(), d.reason.as_str()))
            .collect();
        for q in &mut out {
            if q.state == State::Dead
                && let Some(r) = reasons.get(q.entry.event_id.as_str())
            {
                q.delivery.last_error = Some((*r).to_owned());
            }
        }
        out
    }

    pub(crate) fn status(&self, now: SystemTime) -> StatusCounts {
        let mut s = StatusCounts {
            pending: 0,
            synced: 0,
            dead: 0,
            oldest_pending_seconds: None,
        };
        let mut oldest: Option<SystemTime> = None;
        for q in self.queued() {
            match q.state {
                State::Pending => {
                    s.pending += 1;
                    if let Some(t) = timestamp::parse(&q.entry.enqueued_at) {
                        oldest = Some(oldest.map_or(t, |o| o.min(t)));
                    }
                }
                State::Synced => s.synced += 1,
                State::Dead => s.dead += 1,
            }
        }
        s.oldest_pending_seconds =
            oldest.map(|t| now.duration_since(t).map(|d| d.as_secs()).unwrap_or(0));
        s
    }
}

impl EntryView {
    pub(crate) fn of(q: &QueuedEntry) -> EntryView {
        let s = |f: &str| q.entry.event_str(f).map(str::to_owned);
        EntryView {
            event_id: q.entry.event_id.clone(),
            session_id: s("sessionId"),
            agent_name: s("agentName"),
            status: s("status"),
            enqueued_at: q.entry.enqueued_at.clone(),
            webhook_synced: q.state == State::Synced,
            attempts: q.delivery.attempts,
            last_error: q.delivery.last_error.clone(),
            page_id: q.delivery.page_id.clone(),
        }
    }
}

impl ListFilter {
    pub(crate) fn admits(self, state: State) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Pending => state == State::Pending,
            ListFilter::Synced => state == State::Synced,
            ListFilter::Dead => state == State::Dead,
        }
    }
}

impl Snapshot {
    /// Reads all three files. The caller holds the lock (shared or exclusive).
    pub(crate) fn read(paths: &crate::QueuePaths) -> crate::Result<Snapshot> {
        let mut snap = Snapshot::default();
        let mut seen = HashSet::new();
        for line in crate::log::read_lines(&paths.queue)? {
            match Entry::parse_line(&line) {
                Some(e) => {
                    // The same id twice (a seed tool re-queued it) is one event.
                    if seen.insert(e.event_id.clone()) {
                        snap.entries.push(e);
                    }
                }
                None => snap.foreign_lines.push(line),
            }
        }
        snap.deliveries = crate::receipts::fold(&crate::log::read_lines(&paths.receipts)?);
        let mut dead_seen = HashSet::new();
        for line in crate::log::read_lines(&paths.dead)? {
            if let Ok(d) = serde_json::from_slice::<DeadLetter>(&line)
                && dead_seen.insert(d.event_id.clone())
            {
                snap.dead.push(d);
            }
        }
        Ok(snap)
    }
}
