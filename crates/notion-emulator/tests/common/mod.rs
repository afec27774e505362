//! Shared by the integration tests: an emulator on 127.0.0.1:0 and a small HTTP client over
//! loopback (hyper), so the tests see exactly the bytes and headers a client would.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use notion_emulator::{AGENT_ACTIVITY_HUB, DEV_TOKEN, Emulator, Options, RunningEmulator};
use serde_json::{Value, json};
use tokio::net::TcpStream;

pub const HUB: &str = AGENT_ACTIVITY_HUB;
pub const TASKS: &str = "11111111-2222-4333-8444-555555555555";
pub const TASKS_DATABASE: &str = "99999999-2222-4333-8444-555555555555";

/// A second data source with the property types the Agent Activity Hub lacks.
pub fn tasks_seed() -> Value {
    json!({
        "object": "data_source",
        "id": TASKS,
        "title": [{"type": "text", "text": {"content": "Tasks"}, "plain_text": "Tasks"}],
        "parent": {"type": "database_id", "database_id": TASKS_DATABASE},
        "properties": {
            "Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
            "State": {"id": "st%3A1", "name": "State", "type": "status", "status": {"options": [
                {"id": "s1", "name": "Not started", "color": "default"},
                {"id": "s2", "name": "Doing", "color": "blue"},
                {"id": "s3", "name": "Done", "color": "green"}
            ]}},
            "Done": {"type": "checkbox", "checkbox": {}},
            "Link": {"type": "url", "url": {}},
            "Mail": {"type": "email", "email": {}},
            "Tags": {"type": "multi_select", "multi_select": {"options": []}},
            "Score": {"type": "number", "number": {"format": "number"}},
            "Due": {"type": "date", "date": {}},
            "Computed": {"type": "formula", "formula": {"expression": "1"}},
            "Created": {"type": "created_time", "created_time": {}},
            "Hub": {"type": "relation", "relation": {"data_source_id": AGENT_ACTIVITY_HUB, "type": "single_property"}}
        }
    })
}

pub async fn start() -> RunningEmulator {
    let options = Options {
        seed: vec![tasks_seed()],
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .expect("emulator starts")
}

/// An answer: status, headers, raw body and (when it parses) JSON.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// Asserts a Notion error with this status, code and message fragment.
    pub fn assert_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.json["object"], "error", "{}", self.text);
        assert_eq!(self.json["code"], code, "{}", self.text);
        let got = self.json["message"].as_str().unwrap_or_default();
        assert!(got.contains(message), "message {got:?} lacks {message:?}");
        assert!(
            self.json["request_id"].is_string(),
            "request_id in {}",
            self.text
        );
        assert_eq!(
            self.header("x-notion-request-id"),
            self.json["request_id"].as_str().unwrap_or_default()
        );
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Sends one request with the given headers; `body` is sent as is.
pub async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let authority = base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&authority).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &authority);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// A `/v1/` call as an SDK makes it: token, `Notion-Version: 2025-09-03`, JSON body.
pub async fn api(base: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
    api_as(base, "2025-09-03", method, path, body).await
}

pub async fn api_as(
    base: &str,
    version: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let auth = format!("Bearer {DEV_TOKEN}");
    let headers = [
        ("authorization", auth.as_str()),
        ("notion-version", version),
        ("content-type", "application/json"),
    ];
    send(
        base,
        method,
        path,
        &headers,
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

/// A control call (no token).
pub async fn control(base: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
    send(
        base,
        method,
        path,
        &[("content-type", "application/json")],
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

pub fn title(text: &str) -> Value {
    json!({"title": [{"type": "text", "text": {"content": text}}]})
}

/// Creates a hub page with this Session ID (and extra properties) and returns it.
pub async fn create_hub_page(base: &str, session: &str, extra: Value) -> Value {
    let mut properties = json!({ "Session ID": title(session) });
    if let Value::Object(extra) = extra {
        properties.as_object_mut().unwrap().extend(extra);
    }
    let body = json!({"parent": {"data_source_id": HUB}, "properties": properties});
    let answer = api(base, "POST", "/v1/pages", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json
}

pub async fn create_task(base: &str, name: &str, extra: Value) -> Answer {
    let mut properties = json!({ "Name": title(name) });
    if let Value::Object(extra) = extra {
        properties.as_object_mut().unwrap().extend(extra);
    }
    api(base, "POST", "/v1/pages", Some(json!({"parent": {"type": "data_source_id", "data_source_id": TASKS}, "properties": properties}))).await
}
