//! Making names durable: `fsync` of a folder after a file is created or renamed in it, and folder
//! creation that persists each new level. Without the folder `fsync`, a crash after a successful
//! file `fsync` can still lose the file's name, and with it every line in it.

use std::path::Path;

use crate::error::{IoContext, Result};

/// `fsync` of a folder, so that creations and renames inside it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .ctx("fsync folder", dir)
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a folder as a file; NTFS journals names itself.
        let _ = dir;
        Ok(())
    }
}

/// `create_dir_all`, then `fsync` of the parent of each folder it had to create.
pub(crate) fn create_dir_all_durable(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        // Another writer created it first: it is its job to sync the parent, but syncing again
        // costs little and keeps this writer's guarantee independent of the other's fate.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).ctx("create folder", dir),
    }
    sync_dir(dir.parent().unwrap_or(Path::new(".")))
}
