//! The queue lock: an advisory `flock` on a dedicated file beside the queue.
//!
//! Writers (append, receipts, dead letters) and the compaction take it exclusively; readers take it
//! shared so that they never see the main file and the receipts from two sides of a compaction. The
//! kernel drops a `flock` when its holder dies, so a `kill -9` never leaves the queue locked.
//! Holders only ever do short, bounded work under it (one append, or one rewrite).

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::fsync;

/// A held lock; released on drop (closing the descriptor releases the `flock`).
#[derive(Debug)]
pub(crate) struct QueueLock {
    _file: File,
}

impl QueueLock {
    /// Blocks until this process holds the lock exclusively.
    pub(crate) fn exclusive(path: &Path) -> Result<QueueLock> {
        let file = open_lock_file(path)?;
        file.lock().ctx("lock", path)?;
        Ok(QueueLock { _file: file })
    }

    /// Blocks until this process shares the lock with other readers only.
    pub(crate) fn shared(path: &Path) -> Result<QueueLock> {
        let file = open_lock_file(path)?;
        file.lock_shared().ctx("lock", path)?;
        Ok(QueueLock { _file: file })
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        fsync::create_dir_all_durable(dir)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx("open lock file", path)
}

/// The processor's lock: a non-blocking exclusive `flock` on its own file beside the queue
/// (`<queue>.processor.lock`), held for a whole processor run so that only one runs at a time.
/// Hooks never take it; the kernel drops it when its holder dies.
#[derive(Debug)]
pub struct ProcessorLock {
    _file: File,
}

impl ProcessorLock {
    /// Takes the lock, or returns `None` at once when another processor holds it.
    pub fn try_acquire(paths: &crate::QueuePaths) -> Result<Option<ProcessorLock>> {
        let path = paths.processor_lock();
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ProcessorLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e).ctx("lock", &path),
        }
    }
}
