//! JSON Lines files: durable append, torn-tail repair, whole-line reads, and atomic rewrite.
//!
//! Every function here expects the caller to hold the queue lock (`lock.rs`): exclusively to
//! append or rewrite, at least shared to read. A line is written with one `write_all` on an
//! `O_APPEND` descriptor; a writer killed in the middle of it leaves a last line without its
//! newline, which readers ignore and the next writer cuts off before appending. Such a line was
//! never acknowledged (acknowledgement comes after `fsync`), so cutting it loses nothing accepted.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::fsync;

/// A line written but not yet flushed to disk. `sync` may run after the lock is released:
/// `fsync` flushes this descriptor's file whatever others do, and if a compaction replaced the file
/// meanwhile, it copied this line under the lock and synced its copy before the rename. Syncing
/// outside the lock lets concurrent writers' flushes overlap instead of queueing behind each other.
#[must_use = "a line is durable only after sync()"]
pub(crate) struct Written {
    file: File,
    path: std::path::PathBuf,
}

impl Written {
    /// Flushes the line to stable storage.
    pub(crate) fn sync(self) -> Result<()> {
        self.file.sync_data().ctx("fsync", &self.path)
    }
}

/// Appends `line` (without its newline) to the file, creating it (and its folder) if needed.
/// A newly created file is made durable, name included, before this returns, so that no later
/// writer can acknowledge a line in a file whose name a crash could still lose.
pub(crate) fn append_line(path: &Path, line: &[u8]) -> Result<Written> {
    append_lines(path, std::slice::from_ref(&line.to_vec()))
}

/// Appends several lines with one write (see [`append_line`]).
pub(crate) fn append_lines(path: &Path, lines: &[Vec<u8>]) -> Result<Written> {
    debug_assert!(lines.iter().all(|l| !l.contains(&b'\n')));
    if let Some(dir) = path.parent() {
        fsync::create_dir_all_durable(dir)?;
    }
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .ctx("open", path)?;
    repair_torn_tail(&mut file, path)?;
    let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        buf.extend_from_slice(line);
        buf.push(b'\n');
    }
    file.write_all(&buf).ctx("append to", path)?;
    if !existed {
        file.sync_all().ctx("fsync", path)?;
        fsync::sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(Written {
        file,
        path: path.to_path_buf(),
    })
}

/// Cuts a last line that lacks its newline (a writer died mid-write). Returns the bytes cut.
fn repair_torn_tail(file: &mut File, path: &Path) -> Result<u64> {
    let len = file.metadata().ctx("stat", path)?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1)).ctx("seek", path)?;
    file.read_exact(&mut last).ctx("read", path)?;
    if last[0] == b'\n' {
        return Ok(0);
    }
    // Scan backwards for the previous newline, a block at a time.
    let mut end = len;
    let mut keep = 0u64;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start)).ctx("seek", path)?;
        file.read_exact(chunk).ctx("read", path)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    file.set_len(keep).ctx("truncate torn line of", path)?;
    Ok(len - keep)
}

/// The complete lines of a file (a missing file has none). A last line without its newline is
/// a write in progress or a torn one, and is left out.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<Vec<u8>>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).ctx("read", path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx("open", path),
    }
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => return Ok(Vec::new()),
    };
    Ok(complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect())
}

/// Replaces the file's content with `lines`, atomically: write a temporary file beside it, `fsync`
/// it, rename it over the original, `fsync` the folder. A crash at any point leaves either the old
/// file or the new one, never a mix; a leftover temporary file is removed by the next rewrite.
pub(crate) fn rewrite(path: &Path, lines: &[Vec<u8>]) -> Result<()> {
    let tmp = temp_path(path);
    let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        buf.extend_from_slice(line);
        buf.push(b'\n');
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .ctx("create", &tmp)?;
    file.write_all(&buf).ctx("write", &tmp)?;
    file.sync_all().ctx("fsync", &tmp)?;
    drop(file);
    std::fs::rename(&tmp, path).ctx("rename over", path)?;
    fsync::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// The temporary file of `rewrite`. One fixed name per file is enough: only the lock holder
/// rewrites, and it truncates whatever a killed predecessor left.
pub(crate) fn temp_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".compact-tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_ignored_then_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n{\"b\":").unwrap();
        assert_eq!(read_lines(&p).unwrap(), vec![b"{\"a\":1}".to_vec()]);
        append_line(&p, b"{\"c\":3}").unwrap().sync().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n{\"c\":3}\n");
    }

    #[test]
    fn torn_only_line_is_cut_to_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, b"{\"b\":").unwrap();
        append_line(&p, b"{}").unwrap().sync().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
    }

    #[test]
    fn rewrite_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        append_line(&p, b"1").unwrap().sync().unwrap();
        rewrite(&p, &[b"2".to_vec(), b"3".to_vec()]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"2\n3\n");
        assert!(!temp_path(&p).exists());
    }
}
