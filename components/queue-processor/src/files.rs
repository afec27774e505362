//! The queue's files as the component sees them through `wasi:filesystem`: read with std, append
//! with `append-via-stream` (the host makes each write one atomic `O_APPEND` write), and the
//! lease that keeps a second processor out when no native shell holds the processor lock.
//!
//! There is no `flock` here, so the component never rewrites or renames a file the hooks write
//! (compaction is the native shell's, under the writers' lock); it only appends whole lines to
//! the receipts and dead-letter files. Why that is safe is in crates/queue/README.md.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};
use wasi::io::streams::StreamError;

/// A file opened for appending whole lines.
pub struct Appender {
    desc: Descriptor,
    name: String,
}

impl Appender {
    /// Opens (creating) `name` in the preopened folder `dir` (its guest path).
    pub fn open(dir: &str, name: &str) -> Result<Appender, String> {
        let want = dir.trim_end_matches('/');
        let (folder, _) = get_directories()
            .into_iter()
            .find(|(_, p)| p.trim_end_matches('/') == want)
            .ok_or_else(|| format!("{dir} is not a folder the host granted"))?;
        let desc = folder
            .open_at(
                PathFlags::empty(),
                name,
                OpenFlags::CREATE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            )
            .map_err(|e| format!("cannot open {dir}/{name}: {e}"))?;
        Ok(Appender {
            desc,
            name: format!("{dir}/{name}"),
        })
    }

    /// Appends `line` and a newline with one write, then `fdatasync` when `sync`. A last line
    /// left torn by a killed writer gets a newline first, so the new line stays whole (the torn
    /// one is skipped by every reader).
    pub fn append(&self, line: &[u8], sync: bool) -> Result<(), String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", self.name);
        let size = self.desc.stat().map_err(|e| fail("stat", &e))?.size;
        let mut buf = Vec::with_capacity(line.len() + 2);
        if size > 0 {
            let (last, _) = self.desc.read(1, size - 1).map_err(|e| fail("read", &e))?;
            if last.first() != Some(&b'\n') {
                buf.push(b'\n');
            }
        }
        buf.extend_from_slice(line);
        buf.push(b'\n');
        let out = self
            .desc
            .append_via_stream()
            .map_err(|e| fail("append to", &e))?;
        let mut rest = &buf[..];
        while !rest.is_empty() {
            let n = match out.check_write() {
                Ok(0) => {
                    out.subscribe().block();
                    continue;
                }
                Ok(n) => (n as usize).min(rest.len()),
                Err(e) => return Err(fail("append to", &stream_error(e))),
            };
            out.write(&rest[..n])
                .map_err(|e| fail("append to", &stream_error(e)))?;
            rest = &rest[n..];
        }
        out.blocking_flush()
            .map_err(|e| fail("append to", &stream_error(e)))?;
        drop(out);
        if sync { self.sync() } else { Ok(()) }
    }

    /// `fdatasync`.
    pub fn sync(&self) -> Result<(), String> {
        self.desc
            .sync_data()
            .map_err(|e| format!("fsync {}: {e}", self.name))
    }
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "stream closed".into(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

/// A file for reading, or an empty one when it does not exist yet.
pub fn open_or_empty(path: &Path) -> Result<Box<dyn io::Read>, String> {
    match File::open(path) {
        Ok(f) => Ok(Box::new(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Box::new(io::empty())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The processor's lease: a file created exclusively beside the queue, holding its expiry (Unix
/// ms). Used only when no native shell holds the processor lock (`wasmtime run`): a lease left by
/// a killed processor expires after [`LEASE_MS`].
pub struct Lease {
    path: std::path::PathBuf,
}

/// How long a lease lasts without renewal.
pub const LEASE_MS: u64 = 120_000;

impl Lease {
    /// Takes the lease, or says who holds it.
    pub fn take(path: &Path, now_ms: u64) -> Result<Lease, String> {
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    let _ = f.write_all((now_ms + LEASE_MS).to_string().as_bytes());
                    return Ok(Lease {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let mut text = String::new();
                    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
                    let expiry: u64 = text.trim().parse().unwrap_or(0);
                    if expiry > now_ms {
                        return Err(format!(
                            "another queue processor is running (lease {} held for {} s more)",
                            path.display(),
                            (expiry - now_ms).div_ceil(1000)
                        ));
                    }
                    // Expired: its holder died. Remove it and try once more.
                    let _ = std::fs::remove_file(path);
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(format!(
            "another queue processor took {} at the same moment",
            path.display()
        ))
    }

    /// Pushes the expiry on.
    pub fn renew(&self, now_ms: u64) {
        let _ = std::fs::write(&self.path, (now_ms + LEASE_MS).to_string());
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
