//! Emulator + host + edge on loopback, as `cargo xtask up` runs them, for the sections that send
//! webhook requests; and the events and signatures those requests carry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use nexus_core::signature::{Secret, sign_seed, sign_standard};
use nexus_host::{App, AppOptions, KvLocation, LogSink, RequestRecord, Server, VariableSource};
use notion_emulator::{Emulator, RunningEmulator};

use super::load;

/// The hook secret of the bench's stacks (a Standard Webhooks secret).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The edge served by the embedded host against a fresh Notion emulator. Key-value state is a
/// SQLite file (as with `cargo xtask up`); request lines are kept in memory.
pub struct Stack {
    /// The Notion emulator.
    pub emulator: RunningEmulator,
    /// The host's server, while it runs.
    pub server: Option<Server>,
    /// The host's request log.
    pub log: Arc<Mutex<Vec<RequestRecord>>>,
    options: AppOptions,
}

impl Stack {
    /// Starts the emulator and the host (`spin.toml` of `root`; state in `kv_dir`).
    pub async fn start(root: &Path, kv_dir: &Path) -> anyhow::Result<Stack> {
        let emulator = Emulator::start("127.0.0.1:0".parse()?, Default::default())
            .await
            .context("starting the Notion emulator")?;
        let variables = HashMap::from([
            ("webhooksecret".to_string(), SECRET.to_string()),
            (
                "notionapikey".to_string(),
                notion_emulator::DEV_TOKEN.to_string(),
            ),
            (
                "notiondatasource".to_string(),
                notion_emulator::AGENT_ACTIVITY_HUB.to_string(),
            ),
            ("notionapibase".to_string(), emulator.url()),
        ]);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut options = AppOptions::new(root.join("spin.toml"));
        options.variables = VariableSource::Map(variables);
        options.kv = KvLocation::Dir(kv_dir.to_path_buf());
        options.log = LogSink::Memory(log.clone());
        options.max_instances = 64;
        let mut stack = Stack {
            emulator,
            server: None,
            log,
            options,
        };
        stack.start_host().await?;
        Ok(stack)
    }

    /// Loads the application (components from the compiled cache once it holds them) and starts
    /// serving; returns how long the load took.
    pub async fn start_host(&mut self) -> anyhow::Result<Duration> {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let started = Instant::now();
        let app = Arc::new(App::load(self.options.clone()).context("loading spin.toml")?);
        let loaded = started.elapsed();
        let server = Server::start(app, "127.0.0.1:0".parse()?)
            .await
            .context("binding the host")?;
        self.server = Some(server);
        Ok(loaded)
    }

    /// The host's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("the host runs").addr()
    }

    /// `http://<host>/api/NotionWebhook`.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/api/NotionWebhook", self.addr())
    }

    /// The emulator's address.
    pub fn emulator_addr(&self) -> anyhow::Result<SocketAddr> {
        load::addr_of(&self.emulator.url())
    }

    /// Back to the emulator's starting state (no pages).
    pub async fn reset_emulator(&self) -> anyhow::Result<()> {
        let (status, _) = load::once(
            self.emulator_addr()?,
            "POST",
            "/_emulator/reset",
            &[],
            Vec::new(),
        )
        .await?;
        anyhow::ensure!(status == 200, "emulator reset answered {status}");
        Ok(())
    }

    /// The request lines logged since `from`.
    pub fn records_since(&self, from: usize) -> Vec<RequestRecord> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// How many request lines the host has logged.
    pub fn records(&self) -> usize {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Stops the host and the emulator.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let _ = self.emulator.shutdown().await;
    }
}

/// The bench's own components (`xtask/bench/spin.toml`: `/hello` and `/core`) served by the
/// embedded host, with the compiled cache of the workspace. Returns the server and its log.
pub async fn serve_bench_components(
    root: &Path,
) -> anyhow::Result<(Server, Arc<Mutex<Vec<RequestRecord>>>)> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut options = AppOptions::new(root.join("xtask").join("bench").join("spin.toml"));
    options.variables = VariableSource::Map(HashMap::new());
    options.kv = KvLocation::Memory;
    options.cache_dir = Some(root.join("target").join("nexus-host-cache"));
    options.log = LogSink::Memory(log.clone());
    options.max_instances = 64;
    let app = Arc::new(App::load(options).context("loading xtask/bench/spin.toml")?);
    let server = Server::start(app, "127.0.0.1:0".parse()?)
        .await
        .context("binding the host")?;
    Ok((server, log))
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A fresh UUIDv7 event id.
pub fn event_id() -> String {
    nexus_core::event_id::new_uuid_v7(now_millis() as u64, rand::random())
}

/// A typical agent event of `session` (about 1 KB): what `nexus hook` sends on `SubagentStop`.
pub fn event(session: &str, status: &str, event_id: &str) -> serde_json::Value {
    let end = now_millis();
    let start = end - 37 * 60_000;
    serde_json::json!({
        "eventId": event_id,
        "sessionId": session,
        "agentName": "coder",
        "status": status,
        "startTime": rfc3339(start),
        "endTime": rfc3339(end),
        "workDescription": "Refactored the signature module so both schemes share one constant-time \
            comparison; added tests for the timestamp window, rotated secrets and malformed headers. \
            Ünïcödé, 日本語 and emoji 🚀 are kept whole. ".repeat(4),
        "filesCreated": 3,
        "filesUpdated": 7,
        "linesGenerated": 412,
        "deliverables": ["crates/core/src/signature.rs", "crates/core/tests/signature.rs"],
        "nextSteps": ["Review the rotation docs"],
        "performanceMetrics": {"tokens": 18234, "toolCalls": 41},
    })
}

fn rfc3339(unix_millis: i64) -> String {
    nexus_core::Timestamp::from_unix_millis(unix_millis).to_string()
}

/// The headers `nexus hook` sends: both signature schemes, signed now, `webhook-id` = the
/// event's id.
pub fn signed_headers(event_id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let secret = Secret::parse(SECRET).expect("the bench secret parses");
    let now = now_millis() / 1000;
    vec![
        ("content-type", "application/json".to_string()),
        ("notion-signature", sign_seed(&secret, body)),
        ("webhook-id", event_id.to_string()),
        ("webhook-timestamp", now.to_string()),
        (
            "webhook-signature",
            sign_standard(&secret, event_id, now, body),
        ),
    ]
}
