//! The one error type of the crate: an I/O failure on a named file. Nothing here is retried or
//! swallowed: a queue that cannot write must say so (Vector's lesson: never guess on a full disk).

use std::io;
use std::path::PathBuf;

/// A queue operation failed on the file system.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct QueueError {
    /// What was being done ("append to", "lock", "rename"...), for a message a person can act on.
    pub op: &'static str,
    /// The file or folder concerned.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

/// Result of a queue operation.
pub type Result<T> = std::result::Result<T, QueueError>;

/// Attaches the operation and path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| QueueError {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}
