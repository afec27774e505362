//! Shared by the CLI's integration tests: running `nexus` in a temporary project, and a tiny
//! loopback HTTP server standing in for the edge (std only: one request per connection).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwhLAqjPkXK0Q=";

pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/claude-code")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A `nexus` command in `project`, with a clean environment for its settings.
pub fn nexus(project: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nexus"));
    c.env("CLAUDE_PROJECT_DIR", project)
        .env_remove("NEXUS_WEBHOOK_URL")
        .env_remove("NEXUS_WEBHOOK_SECRET")
        .env_remove("NEXUS_WEBHOOK_ENABLED")
        .env_remove("NEXUS_QUEUE")
        .stdin(Stdio::null());
    c
}

/// Runs `cmd` with `stdin` piped in.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn nexus");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub fn queue_lines(project: &Path, file: &str) -> Vec<serde_json::Value> {
    let p = project.join(".claude/data").join(file);
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line parses"))
        .collect()
}

/// A closed loopback port: bound, then released, so connecting is refused at once.
pub fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/api/NotionWebhook")
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

type Handler = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A fake edge on 127.0.0.1 that records every request.
pub struct FakeEdge {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeEdge {
    /// Starts a server answering with `handler`.
    pub fn start(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> FakeEdge {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let reqs = reqs.clone();
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &*handler, &reqs));
            }
        });
        FakeEdge {
            url: format!("http://127.0.0.1:{port}/api/NotionWebhook"),
            requests,
        }
    }

    /// An edge that accepts every event as the real one does (200 with a page), answers 405 to a
    /// GET on the webhook route and 200 on /api/health.
    pub fn accepting() -> FakeEdge {
        FakeEdge::start(|r| {
            match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/api/NotionWebhook") => (
                200,
                r#"{"success":true,"pageId":"1f2e3d4c5b6a79880a1b2c3d4e5f6a7b","pageUrl":"https://www.notion.so/1f2e3d4c5b6a79880a1b2c3d4e5f6a7b","action":"created","duplicate":false,"warnings":[]}"#.into(),
            ),
            ("GET", "/api/NotionWebhook") => (405, r#"{"success":false,"error":"method_not_allowed"}"#.into()),
            ("GET", p) if p.starts_with("/api/health") => {
                (200, r#"{"status":"ok","version":"0.1.0","checks":{"config":"ok","notion":"ok"}}"#.into())
            }
            _ => (404, "{}".into()),
        }
        })
    }

    pub fn posts(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, handler: &Handler, reqs: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let req = Request {
        method,
        path,
        headers,
        body,
    };
    let (status, text) = handler(&req);
    reqs.lock().unwrap().push(req);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
