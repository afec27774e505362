//! Where the queue's files live, all derived from the main file's path so that a queue named by
//! `NEXUS_QUEUE` carries its receipts, dead letters and lock along with it.

use std::path::{Path, PathBuf};

/// The default main file, relative to the project directory (CONTRACT 7).
pub const DEFAULT_QUEUE_FILE: &str = ".claude/data/notion-sync-queue.jsonl";

/// The files of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePaths {
    /// JSON Lines of accepted events: `{"eventId","enqueuedAt","event"}`.
    pub queue: PathBuf,
    /// JSON Lines of delivery outcomes (attempts, receipts, dead-letter marks).
    pub receipts: PathBuf,
    /// JSON Lines of events refused for good or past the attempt limit.
    pub dead: PathBuf,
    /// Empty file whose `flock` serialises every writer and the compaction. It is never renamed,
    /// unlike the files it guards, so a lock taken on it stays meaningful across a compaction.
    pub lock: PathBuf,
}

impl QueuePaths {
    /// Derives every path from the main file: for `notion-sync-queue.jsonl` the siblings are
    /// `notion-sync-receipts.jsonl`, `notion-sync-dead.jsonl` and `notion-sync-queue.jsonl.lock`;
    /// for another name `X.jsonl` they are `X.receipts.jsonl`, `X.dead.jsonl` and `X.jsonl.lock`.
    pub fn for_queue(queue: impl Into<PathBuf>) -> QueuePaths {
        let queue = queue.into();
        let dir = queue.parent().map(Path::to_path_buf).unwrap_or_default();
        let file_name = queue
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "queue.jsonl".to_owned());
        let stem = file_name.strip_suffix(".jsonl").unwrap_or(&file_name);
        let (receipts, dead) = match stem.strip_suffix("-queue") {
            Some(base) => (
                format!("{base}-receipts.jsonl"),
                format!("{base}-dead.jsonl"),
            ),
            None => (
                format!("{stem}.receipts.jsonl"),
                format!("{stem}.dead.jsonl"),
            ),
        };
        QueuePaths {
            receipts: dir.join(receipts),
            dead: dir.join(dead),
            lock: dir.join(format!("{file_name}.lock")),
            queue,
        }
    }

    /// The processor's lock file (`<queue>.processor.lock`): one processor at a time.
    pub fn processor_lock(&self) -> PathBuf {
        let mut name = self.queue.file_name().unwrap_or_default().to_os_string();
        name.push(".processor.lock");
        self.queue.with_file_name(name)
    }

    /// The delivery log (`<base>-delivered.jsonl`, or `X.delivered.jsonl`): one line per entry
    /// compaction dropped as delivered, `{"eventId","sessionId","pageId","at"}`, what
    /// `nexus queue verify` checks against Notion once the entries are gone from the main file.
    pub fn delivered(&self) -> PathBuf {
        let name = self
            .receipts
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match name.strip_suffix("-receipts.jsonl") {
            Some(base) => format!("{base}-delivered.jsonl"),
            None => name.replace(".receipts.jsonl", ".delivered.jsonl"),
        };
        self.receipts.with_file_name(name)
    }

    /// The folder holding all the files.
    pub fn dir(&self) -> &Path {
        self.queue.parent().unwrap_or(Path::new("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_match_the_contract() {
        let p = QueuePaths::for_queue("/p/.claude/data/notion-sync-queue.jsonl");
        assert_eq!(p.dead, Path::new("/p/.claude/data/notion-sync-dead.jsonl"));
        assert_eq!(
            p.receipts,
            Path::new("/p/.claude/data/notion-sync-receipts.jsonl")
        );
        assert_eq!(
            p.lock,
            Path::new("/p/.claude/data/notion-sync-queue.jsonl.lock")
        );
    }

    #[test]
    fn other_names_get_suffixes() {
        let p = QueuePaths::for_queue("/q/events.jsonl");
        assert_eq!(p.dead, Path::new("/q/events.dead.jsonl"));
        assert_eq!(p.receipts, Path::new("/q/events.receipts.jsonl"));
    }
}
