//! End-to-end test support: the real `notion-webhook` component under the embedded host,
//! against the Notion emulator, all on loopback.
//!
//! [`Stack::start`] loads the repository's own `spin.toml` (what `cargo xtask up` serves), with
//! variables pointing at a fresh emulator, an in-memory key-value store and an in-memory request
//! log. Requests go over real HTTP/1.1 sockets, as a hook's would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nexus_core::signature::{Secret, sign_seed, sign_standard};
use nexus_host::{App, AppOptions, KvLocation, LogSink, RequestRecord, Server, VariableSource};
use notion_emulator::{Emulator, RunningEmulator};
use serde_json::Value;

/// The hook secret the stacks use (a Standard Webhooks secret).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// The built component, or a panic that says how to build it.
pub fn component_path(file: &str) -> PathBuf {
    let path = root().join("target/wasm32-wasip2/release").join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Emulator, host and component, running.
pub struct Stack {
    /// The Notion emulator.
    pub emulator: RunningEmulator,
    /// The host's server.
    pub server: Server,
    /// The loaded application.
    pub app: Arc<App>,
    /// The host's request log.
    pub log: Arc<Mutex<Vec<RequestRecord>>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Stack {
    /// A stack with the default variables (the emulator as Notion, [`SECRET`]).
    pub async fn start() -> Stack {
        Stack::start_with(|_| {}).await
    }

    /// A stack whose variables `adjust` may change (remove one, set an invalid value...).
    pub async fn start_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Stack {
        component_path("notion_webhook.wasm");
        let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), Default::default())
            .await
            .expect("starting the emulator");
        let mut variables = HashMap::from([
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
        adjust(&mut variables);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut options = AppOptions::new(root().join("spin.toml"));
        options.variables = VariableSource::Map(variables);
        options.kv = KvLocation::Memory;
        options.log = LogSink::Memory(log.clone());
        options.max_instances = 32;
        let app = Arc::new(App::load(options).expect("loading spin.toml"));
        let server = Server::start(app.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("binding");
        let client = Client::builder(TokioExecutor::new()).build_http();
        Stack {
            emulator,
            server,
            app,
            log,
            client,
        }
    }

    /// `http://127.0.0.1:<port><path>` of the host.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// Any request to the host.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        send(&self.client, method, &self.url(path), headers, body).await
    }

    /// POST /api/NotionWebhook signed with Standard Webhooks (`id`, timestamp `ts`).
    pub async fn post_standard(&self, body: &[u8], id: &str, ts: i64) -> Answer {
        let secret = Secret::parse(SECRET).unwrap();
        let headers = [
            ("content-type", "application/json".to_string()),
            ("webhook-id", id.to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sign_standard(&secret, id, ts, body)),
        ];
        self.request("POST", "/api/NotionWebhook", &headers, body.to_vec())
            .await
    }

    /// POST /api/NotionWebhook signed with the seed scheme.
    pub async fn post_seed(&self, body: &[u8]) -> Answer {
        let secret = Secret::parse(SECRET).unwrap();
        let headers = [
            ("content-type", "application/json".to_string()),
            ("notion-signature", sign_seed(&secret, body)),
        ];
        self.request("POST", "/api/NotionWebhook", &headers, body.to_vec())
            .await
    }

    /// POST /api/NotionWebhook with exactly these headers (`content-type: application/json`
    /// added) and body.
    pub async fn post_with(&self, headers: &[(&str, String)], body: &[u8]) -> Answer {
        let mut all = vec![("content-type", "application/json".to_string())];
        all.extend(headers.iter().cloned());
        self.request("POST", "/api/NotionWebhook", &all, body.to_vec())
            .await
    }

    /// The emulator's counters: `{"requests","byStatus","pages"}` (`/v1/` requests only).
    pub async fn stats(&self) -> Value {
        let answer = self.control("GET", "/_emulator/stats", Value::Null).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    /// Sets the emulator's fault rules (CONTRACT 8).
    pub async fn faults(&self, rules: Value) {
        let answer = self.control("POST", "/_emulator/faults", rules).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }

    /// One page, as `GET /v1/pages/{id}` returns it.
    pub async fn page(&self, id: &str) -> Value {
        let answer = self.notion("GET", &format!("/v1/pages/{id}"), None).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    /// A request to the emulator's Notion API with the development token.
    pub async fn notion(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let headers = [
            (
                "authorization",
                format!("Bearer {}", notion_emulator::DEV_TOKEN),
            ),
            ("notion-version", "2025-09-03".to_string()),
            ("content-type", "application/json".to_string()),
        ];
        let body = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        send(
            &self.client,
            method,
            &format!("{}{path}", self.emulator.url()),
            &headers,
            body,
        )
        .await
    }

    /// Every page of the Agent Activity Hub, as the API returns them.
    pub async fn pages(&self) -> Vec<Value> {
        let path = format!(
            "/v1/data_sources/{}/query",
            notion_emulator::AGENT_ACTIVITY_HUB
        );
        let answer = self
            .notion("POST", &path, Some(serde_json::json!({"page_size": 100})))
            .await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// A control request to the emulator (`/_emulator/...`).
    pub async fn control(&self, method: &str, path: &str, body: Value) -> Answer {
        let headers = [("content-type", "application/json".to_string())];
        let url = format!("{}{path}", self.emulator.url());
        send(
            &self.client,
            method,
            &url,
            &headers,
            serde_json::to_vec(&body).unwrap(),
        )
        .await
    }
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Answer {
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request");
    let response = client
        .request(request)
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("reading the body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// The plain text of a page property (title or rich_text pieces joined).
pub fn text_of(page: &Value, property: &str) -> String {
    let value = &page["properties"][property];
    let pieces = value["title"]
        .as_array()
        .or_else(|| value["rich_text"].as_array());
    pieces
        .map(|p| {
            p.iter()
                .filter_map(|t| t["plain_text"].as_str())
                .collect::<String>()
        })
        .unwrap_or_default()
}

/// The name of a page's select or status property.
pub fn select_of(page: &Value, property: &str) -> Option<String> {
    let value = &page["properties"][property];
    value["select"]["name"]
        .as_str()
        .or_else(|| value["status"]["name"].as_str())
        .map(str::to_string)
}

/// The Standard Webhooks headers for `body`, signed with `secret` (a `webhooksecret` entry).
pub fn standard_headers(
    secret: &str,
    id: &str,
    ts: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let secret = Secret::parse(secret).expect("a usable secret");
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign_standard(&secret, id, ts, body)),
    ]
}

/// The seed scheme's header for `body`, signed with `secret`.
pub fn seed_headers(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let secret = Secret::parse(secret).expect("a usable secret");
    vec![("notion-signature", sign_seed(&secret, body))]
}

/// An event with every field of CONTRACT 3 (no `relatedNotionItems`), `eventId`
/// `evt-<session>-<status>`, ending at 10:30 on 4 December 2026.
pub fn full_event(session: &str, status: &str) -> Value {
    serde_json::json!({
        "eventId": format!("evt-{session}-{status}"),
        "sessionId": session,
        "agentName": "planner",
        "status": status,
        "startTime": "2026-12-04T10:00:00Z",
        "endTime": "2026-12-04T10:30:00Z",
        "workDescription": "Wrote the parser",
        "filesCreated": 2,
        "filesUpdated": 3,
        "linesGenerated": 120,
        "deliverables": ["parser.rs", "tests.rs"],
        "nextSteps": "review",
        "performanceMetrics": {"tokens": 1200},
    })
}

/// JSON bytes.
pub fn bytes_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values serialize")
}

/// The body of an answer as text, for assertion messages.
pub fn text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}
