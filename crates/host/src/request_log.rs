//! One JSON line per request: what `nexus stats` reads and what an operator greps.
//!
//! Never holds bodies, headers or query strings (they may carry secrets): only the route, the
//! status and the timings.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One served request.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// HTTP method.
    pub method: String,
    /// The path (without query).
    pub path: String,
    /// The matched `spin.toml` route, if any.
    pub route: Option<String>,
    /// The component that served it, if any.
    pub component: Option<String>,
    /// The status sent.
    pub status: u16,
    /// From the request's arrival to the component's end.
    pub duration_ms: f64,
    /// Of which instantiating the component.
    pub instantiate_ms: f64,
    /// The first request a component served since the host started.
    pub cold: bool,
}

/// Where request lines go.
#[derive(Clone, Default)]
pub enum LogSink {
    /// Standard output.
    #[default]
    Stdout,
    /// Appended to a file.
    File(PathBuf),
    /// Kept in memory (tests and benchmarks).
    Memory(Arc<Mutex<Vec<RequestRecord>>>),
    /// Dropped.
    Off,
}

impl LogSink {
    pub(crate) fn write(&self, record: RequestRecord) {
        match self {
            LogSink::Stdout => {
                let line = serde_json::to_string(&record).unwrap_or_default();
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
            LogSink::File(path) => {
                let line = serde_json::to_string(&record).unwrap_or_default();
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path);
                if let Ok(mut file) = file {
                    let _ = writeln!(file, "{line}");
                }
            }
            LogSink::Memory(records) => {
                records
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
            }
            LogSink::Off => {}
        }
    }
}

/// Now, as RFC 3339 UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}
