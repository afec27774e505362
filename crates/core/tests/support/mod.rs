//! A test-only shell for [`nexus_core::Delivery`]: it plays whole deliveries in memory, with a
//! simulated clock, an in-memory key-value store and lease table, and a small fake of the Notion
//! API with injectable faults.
//!
//! The real shell is the `notion-webhook` component; this one exists so the state machine's
//! promises (one page per session, duplicates answered from the receipt, no page moved back in
//! time) can be checked in milliseconds, step by step, including two deliveries interleaved.

use std::collections::{HashMap, VecDeque};

use nexus_core::delivery::LEASE_MILLIS;
use nexus_core::idempotency::{LeaseDecision, lease_decision, lease_is_held_by};
use nexus_core::signature::{SignatureHeaders, sign_seed, sign_standard};
use nexus_core::{
    Delivery, EdgeConfig, EdgeResponse, Incoming, Input, Method, NotionRequest, NotionResponse,
    Secret, Step, Transport,
};
use serde_json::{Map, Value, json};

/// The hook secret every test signs with (Standard Webhooks form; the seed scheme keys with the
/// whole text).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The Agent Activity Hub data source of the fake.
pub const DATA_SOURCE: &str = "7163aa38-f3d9-444b-9674-bde61868bd2b";
/// 2025-10-01T12:00:00Z, where every test's clock starts.
pub const T0: i64 = 1_759_320_000_000;

/// The edge's variables for the fake, with `data_source` as `notiondatasource`.
pub fn config_for(data_source: &str) -> &'static EdgeConfig {
    let vars: HashMap<&str, &str> = [
        ("webhooksecret", SECRET),
        ("notionapikey", "ntn_test_token"),
        ("notiondatasource", data_source),
    ]
    .into_iter()
    .collect();
    let config = EdgeConfig::from_variables(|k| vars.get(k).map(|v| v.to_string()))
        .expect("the test variables are valid");
    // Deliveries borrow their configuration; a leaked one outlives every run of a test.
    Box::leak(Box::new(config))
}

/// A hook request: its signature headers and raw body.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub notion_signature: Option<String>,
    pub webhook_id: Option<String>,
    pub webhook_timestamp: Option<String>,
    pub webhook_signature: Option<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// Signed with Standard Webhooks at `unix_secs`.
    pub fn standard(id: &str, unix_secs: i64, body: &[u8]) -> Request {
        let secret = Secret::parse(SECRET).unwrap();
        Request {
            webhook_id: Some(id.to_string()),
            webhook_timestamp: Some(unix_secs.to_string()),
            webhook_signature: Some(sign_standard(&secret, id, unix_secs, body)),
            body: body.to_vec(),
            ..Request::default()
        }
    }

    /// Signed with the seed scheme (`Notion-Signature: v1=<hex>`).
    pub fn seed(body: &[u8]) -> Request {
        let secret = Secret::parse(SECRET).unwrap();
        Request {
            notion_signature: Some(sign_seed(&secret, body)),
            body: body.to_vec(),
            ..Request::default()
        }
    }

    fn headers(&self) -> SignatureHeaders<'_> {
        SignatureHeaders {
            notion_signature: self.notion_signature.as_deref(),
            webhook_id: self.webhook_id.as_deref(),
            webhook_timestamp: self.webhook_timestamp.as_deref(),
            webhook_signature: self.webhook_signature.as_deref(),
        }
    }
}

/// What the client sees.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Answer {
    fn from(r: EdgeResponse) -> Answer {
        Answer {
            status: r.status,
            headers: r.headers,
            body: serde_json::from_slice(&r.body).expect("every answer is JSON"),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn page_id(&self) -> &str {
        self.body["pageId"].as_str().expect("a pageId")
    }

    pub fn action(&self) -> &str {
        self.body["action"].as_str().expect("an action")
    }

    pub fn duplicate(&self) -> bool {
        self.body["duplicate"].as_bool().expect("a duplicate flag")
    }

    pub fn error(&self) -> &str {
        self.body["error"].as_str().expect("an error")
    }
}

/// Which kind of step a delivery asked for (for traces and fault injection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Read,
    Lock,
    Notion,
    Write,
    Respond,
}

fn kind(step: &Step) -> StepKind {
    match step {
        Step::Read(_) => StepKind::Read,
        Step::Lock(_) => StepKind::Lock,
        Step::Notion(_) => StepKind::Notion,
        Step::Write { .. } => StepKind::Write,
        Step::Respond(_) => StepKind::Respond,
    }
}

/// One delivery being played.
pub struct Run {
    delivery: Option<Delivery<'static>>,
    pending: Option<Step>,
    owner: String,
    lease: Option<String>,
    /// Answer [`Input::StoreFailed`] to the step with this index (0: the first after `start`).
    pub fail_at: Option<usize>,
    /// Answer [`Input::LockTimedOut`] instead of waiting when the lease is held.
    pub time_out_locks: bool,
    /// The kinds of the steps carried out so far.
    pub trace: Vec<StepKind>,
    pub answer: Option<Answer>,
}

/// What one call of [`World::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A step was carried out.
    Ran,
    /// The lease is held by another run; nothing happened.
    Waiting,
    /// The delivery has answered.
    Done,
}

/// The edge's surroundings: configuration, key-value store, Notion and the clock.
pub struct World {
    pub config: &'static EdgeConfig,
    pub kv: HashMap<String, Vec<u8>>,
    pub notion: FakeNotion,
    pub now_millis: i64,
    owners: u64,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        World::with_config(config_for(DATA_SOURCE))
    }

    pub fn with_config(config: &'static EdgeConfig) -> World {
        World {
            config,
            kv: HashMap::new(),
            notion: FakeNotion::new(DATA_SOURCE),
            now_millis: T0,
            owners: 0,
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.now_millis.div_euclid(1000)
    }

    pub fn advance_secs(&mut self, secs: i64) {
        self.now_millis += secs * 1000;
    }

    /// `event` signed with Standard Webhooks now, `id` as `webhook-id`.
    pub fn standard(&self, id: &str, event: &Value) -> Request {
        Request::standard(id, self.now_secs(), event.to_string().as_bytes())
    }

    /// `event` signed with the seed scheme.
    pub fn seed(&self, event: &Value) -> Request {
        Request::seed(event.to_string().as_bytes())
    }

    /// Starts a delivery; if `start` already answers, the run is done.
    pub fn begin(&mut self, request: &Request) -> Run {
        self.owners += 1;
        let incoming = Incoming {
            headers: request.headers(),
            body: &request.body,
            now_millis: self.now_millis,
        };
        let mut run = Run {
            delivery: None,
            pending: None,
            owner: format!("owner-{}", self.owners),
            lease: None,
            fail_at: None,
            time_out_locks: false,
            trace: Vec::new(),
            answer: None,
        };
        match Delivery::start(self.config, incoming) {
            Ok((delivery, step)) => {
                run.delivery = Some(delivery);
                run.pending = Some(step);
            }
            Err(response) => {
                run.trace.push(StepKind::Respond);
                run.answer = Some(Answer::from(response));
            }
        }
        run
    }

    /// Carries out the run's pending step and feeds the result back.
    pub fn step(&mut self, run: &mut Run) -> Progress {
        let Some(step) = run.pending.take() else {
            return Progress::Done;
        };
        let index = run.trace.len();
        let step_kind = kind(&step);
        if run.fail_at == Some(index) && step_kind != StepKind::Respond {
            run.trace.push(step_kind);
            self.feed(run, Input::StoreFailed);
            return Progress::Ran;
        }
        let input = match step {
            Step::Read(keys) => {
                Input::Values(keys.iter().map(|k| self.kv.get(k).cloned()).collect())
            }
            Step::Lock(key) => {
                let current = self.kv.get(&key).map(Vec::as_slice);
                match lease_decision(current, &run.owner, self.now_millis, LEASE_MILLIS) {
                    LeaseDecision::Take(bytes) => {
                        self.kv.insert(key.clone(), bytes);
                        run.lease = Some(key);
                        Input::Locked
                    }
                    LeaseDecision::Wait if run.time_out_locks => Input::LockTimedOut,
                    LeaseDecision::Wait => {
                        run.pending = Some(Step::Lock(key));
                        return Progress::Waiting;
                    }
                }
            }
            Step::Notion(request) => Input::Notion(self.notion.handle(&request, self.now_millis)),
            Step::Write { set, delete } => {
                for (k, v) in set {
                    self.kv.insert(k, v);
                }
                for k in delete {
                    self.kv.remove(&k);
                }
                Input::Written
            }
            Step::Respond(response) => {
                // The shell releases the lease before answering, and only if it is still ours.
                if let Some(key) = run.lease.take()
                    && lease_is_held_by(self.kv.get(&key).map(Vec::as_slice), &run.owner)
                {
                    self.kv.remove(&key);
                }
                run.trace.push(StepKind::Respond);
                run.answer = Some(Answer::from(response));
                run.delivery = None;
                return Progress::Done;
            }
        };
        run.trace.push(step_kind);
        self.feed(run, input);
        Progress::Ran
    }

    fn feed(&mut self, run: &mut Run, input: Input) {
        let delivery = run.delivery.as_mut().expect("a delivery in progress");
        run.pending = Some(delivery.next(input));
    }

    /// Plays `run` to its answer. A held lease is never released by anyone else here, so it
    /// is answered [`Input::LockTimedOut`].
    pub fn finish(&mut self, run: &mut Run) -> Answer {
        for _ in 0..100 {
            match self.step(run) {
                Progress::Ran => {}
                Progress::Done => return run.answer.clone().expect("answered"),
                Progress::Waiting => run.time_out_locks = true,
            }
        }
        panic!(
            "the delivery did not answer within 100 steps: {:?}",
            run.trace
        );
    }

    /// Plays one whole delivery.
    pub fn deliver(&mut self, request: &Request) -> Answer {
        let mut run = self.begin(request);
        self.finish(&mut run)
    }

    /// Plays `request`, answering [`Input::StoreFailed`] to step `index`.
    pub fn deliver_failing_at(&mut self, request: &Request, index: usize) -> (Answer, Run) {
        let mut run = self.begin(request);
        run.fail_at = Some(index);
        let answer = self.finish(&mut run);
        (answer, run)
    }

    /// Plays the runs alternately, one step each in turn, until all have answered; a run
    /// waiting for a lease tries again on its next turn.
    pub fn interleave(&mut self, runs: &mut [&mut Run]) {
        for _ in 0..1000 {
            let mut all_done = true;
            let mut any_ran = false;
            for run in runs.iter_mut() {
                match self.step(run) {
                    Progress::Ran => {
                        any_ran = true;
                        all_done = false;
                    }
                    Progress::Waiting => all_done = false,
                    Progress::Done => {}
                }
            }
            if all_done {
                return;
            }
            assert!(any_ran, "every run is waiting for a lease: deadlock");
        }
        panic!("the runs did not finish within 1000 rounds");
    }
}

/// A failure the fake Notion answers instead of (or after) carrying out a request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// An error answer; nothing is done.
    Status {
        status: u16,
        code: &'static str,
        message: String,
        retry_after: Option<String>,
    },
    /// No answer; nothing is done.
    Transport(Transport),
    /// The request is carried out, then answered with the inner fault (a lost response).
    Commit(Box<Fault>),
}

impl Fault {
    pub fn status(status: u16, code: &'static str) -> Fault {
        Fault::Status {
            status,
            code,
            message: format!("fake Notion answered {status} {code}"),
            retry_after: None,
        }
    }

    pub fn rate_limited(retry_after: &str) -> Fault {
        Fault::Status {
            status: 429,
            code: "rate_limited",
            message: "You have been rate limited.".into(),
            retry_after: Some(retry_after.to_string()),
        }
    }

    pub fn validation(message: &str) -> Fault {
        Fault::Status {
            status: 400,
            code: "validation_error",
            message: message.to_string(),
            retry_after: None,
        }
    }

    pub fn committed(then: Fault) -> Fault {
        Fault::Commit(Box::new(then))
    }
}

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/data_sources/{id}`.
    Schema,
    /// `POST /v1/data_sources/{id}/query`.
    Query,
    /// `POST /v1/pages`.
    Create,
    /// `PATCH /v1/pages/{id}`.
    Update,
}

fn route(request: &NotionRequest) -> Option<Route> {
    let path = request.path.as_str();
    match request.method {
        Method::Get if path.starts_with("/v1/data_sources/") => Some(Route::Schema),
        Method::Post if path.starts_with("/v1/data_sources/") && path.ends_with("/query") => {
            Some(Route::Query)
        }
        Method::Post if path == "/v1/pages" => Some(Route::Create),
        Method::Patch if path.starts_with("/v1/pages/") => Some(Route::Update),
        _ => None,
    }
}

/// A page the fake holds, in Notion's response format.
#[derive(Clone, Debug)]
pub struct Page(pub Value);

impl Page {
    pub fn id(&self) -> &str {
        self.0["id"].as_str().unwrap()
    }

    fn prop(&self, name: &str) -> &Value {
        let p = &self.0["properties"][name];
        assert!(p.is_object(), "page has no property {name:?}");
        p
    }

    /// A title or rich_text property: its pieces joined.
    pub fn text(&self, name: &str) -> String {
        let p = self.prop(name);
        let t = p["type"].as_str().unwrap();
        p[t].as_array()
            .unwrap()
            .iter()
            .map(|i| i["plain_text"].as_str().unwrap())
            .collect()
    }

    /// A title or rich_text property's pieces.
    pub fn pieces(&self, name: &str) -> usize {
        let p = self.prop(name);
        let t = p["type"].as_str().unwrap();
        p[t].as_array().unwrap().len()
    }

    /// A select's option name.
    pub fn select(&self, name: &str) -> Option<String> {
        self.prop(name)["select"]["name"]
            .as_str()
            .map(str::to_string)
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        self.prop(name)["number"].as_f64()
    }

    pub fn date_start(&self, name: &str) -> Option<String> {
        self.prop(name)["date"]["start"]
            .as_str()
            .map(str::to_string)
    }

    pub fn relation(&self, name: &str) -> Vec<String> {
        self.prop(name)["relation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A tiny Notion: one data source (the Agent Activity Hub), its pages, and a log of requests.
pub struct FakeNotion {
    data_source_id: String,
    schema: Value,
    pub pages: Vec<Page>,
    pub log: Vec<NotionRequest>,
    faults: VecDeque<(Route, Fault)>,
    created: u64,
}

impl FakeNotion {
    pub fn new(data_source_id: &str) -> FakeNotion {
        FakeNotion {
            data_source_id: data_source_id.to_string(),
            schema: hub_schema(data_source_id),
            pages: Vec::new(),
            log: Vec::new(),
            faults: VecDeque::new(),
            created: 0,
        }
    }

    /// The next request on `route` meets `fault` (faults queue up in order).
    pub fn fail_next(&mut self, route: Route, fault: Fault) {
        self.faults.push_back((route, fault));
    }

    /// The pages not in the trash.
    pub fn live_pages(&self) -> Vec<&Page> {
        self.pages
            .iter()
            .filter(|p| p.0["in_trash"] != json!(true))
            .collect()
    }

    pub fn page(&self, id: &str) -> &Page {
        self.pages
            .iter()
            .find(|p| p.id() == id)
            .unwrap_or_else(|| panic!("no page {id}"))
    }

    /// Deletes a page for good (a PATCH then answers 404 object_not_found).
    pub fn delete_page(&mut self, id: &str) {
        self.pages.retain(|p| p.id() != id);
    }

    /// How many requests of `route` were made.
    pub fn count(&self, route_of: Route) -> usize {
        self.log
            .iter()
            .filter(|r| route(r) == Some(route_of))
            .count()
    }

    /// The routes of the requests made, in order.
    pub fn routes(&self) -> Vec<Route> {
        self.log.iter().filter_map(route).collect()
    }

    /// Answers one request as Notion would.
    pub fn handle(
        &mut self,
        request: &NotionRequest,
        now_millis: i64,
    ) -> Result<NotionResponse, Transport> {
        self.log.push(request.clone());
        let r = route(request);
        let fault = match self.faults.iter().position(|(fr, _)| Some(*fr) == r) {
            Some(i) => self.faults.remove(i).map(|(_, f)| f),
            None => None,
        };
        match fault {
            None => Ok(self.serve(request, now_millis)),
            Some(Fault::Commit(then)) => {
                let _ = self.serve(request, now_millis);
                answer_fault(&then)
            }
            Some(other) => answer_fault(&other),
        }
    }

    fn serve(&mut self, request: &NotionRequest, now_millis: i64) -> NotionResponse {
        let body: Value = request
            .body
            .as_deref()
            .map(|b| serde_json::from_slice(b).expect("the core sends JSON bodies"))
            .unwrap_or(Value::Null);
        match route(request) {
            Some(Route::Schema) => {
                let id = &request.path["/v1/data_sources/".len()..];
                if id != self.data_source_id {
                    return not_found(id);
                }
                ok(self.schema.clone())
            }
            Some(Route::Query) => {
                let id = request.path["/v1/data_sources/".len()..]
                    .strip_suffix("/query")
                    .unwrap();
                if id != self.data_source_id {
                    return not_found(id);
                }
                let property = body["filter"]["property"].as_str().unwrap_or("");
                let Some(wanted) = body["filter"]["title"]["equals"].as_str() else {
                    return error(
                        400,
                        "validation_error",
                        "fake Notion: a title equals filter is expected",
                    );
                };
                let results: Vec<Value> = self
                    .live_pages()
                    .into_iter()
                    .filter(|p| p.text(property) == wanted)
                    .map(|p| p.0.clone())
                    .collect();
                ok(
                    json!({"object": "list", "results": results, "has_more": false, "next_cursor": null, "type": "page_or_data_source", "page_or_data_source": {}}),
                )
            }
            Some(Route::Create) => {
                if body["parent"]["data_source_id"].as_str() != Some(&self.data_source_id) {
                    return not_found(body["parent"]["data_source_id"].as_str().unwrap_or(""));
                }
                let written = match self.check_properties(&body["properties"]) {
                    Ok(w) => w,
                    Err(message) => return error(400, "validation_error", &message),
                };
                self.created += 1;
                let n = self.created;
                let id = format!("{n:08x}-5a9e-4c1d-8f00-{n:012x}");
                let created = nexus_core::Timestamp::from_unix_millis(now_millis);
                let mut properties = Map::new();
                for (name, def) in self.schema["properties"].as_object().unwrap() {
                    properties.insert(name.clone(), empty_value(def));
                }
                for (name, value) in written {
                    properties.insert(name, value);
                }
                let page = json!({
                    "object": "page",
                    "id": id,
                    "created_time": created.as_str(),
                    "last_edited_time": created.as_str(),
                    "parent": {"type": "data_source_id", "data_source_id": self.data_source_id},
                    "in_trash": false,
                    "archived": false,
                    "url": format!("https://www.notion.so/Session-{}", id.replace('-', "")),
                    "properties": properties,
                });
                self.pages.push(Page(page.clone()));
                ok(page)
            }
            Some(Route::Update) => {
                let id = request.path["/v1/pages/".len()..].to_string();
                let Some(index) = self.pages.iter().position(|p| p.id() == id) else {
                    return not_found(&id);
                };
                let written = match self.check_properties(&body["properties"]) {
                    Ok(w) => w,
                    Err(message) => return error(400, "validation_error", &message),
                };
                let page = &mut self.pages[index].0;
                for (name, value) in written {
                    page["properties"][&name] = value;
                }
                page["last_edited_time"] =
                    json!(nexus_core::Timestamp::from_unix_millis(now_millis).as_str());
                ok(page.clone())
            }
            None => error(
                400,
                "invalid_request_url",
                &format!("fake Notion has no route {}", request.path),
            ),
        }
    }

    /// Checks request property values against the schema as Notion does, and turns them into
    /// the response format.
    fn check_properties(&self, properties: &Value) -> Result<Vec<(String, Value)>, String> {
        let Some(properties) = properties.as_object() else {
            return Err("body.properties should be an object".into());
        };
        let defs = self.schema["properties"].as_object().unwrap();
        let mut out = Vec::new();
        for (name, value) in properties {
            let Some((real, def)) = defs
                .iter()
                .find(|(n, d)| *n == name || d["id"].as_str() == Some(name))
            else {
                return Err(format!("{name} is not a property that exists."));
            };
            let t = def["type"].as_str().unwrap();
            let Some(content) = value.get(t) else {
                return Err(format!("{real} is expected to be {t}."));
            };
            let converted = match t {
                "title" | "rich_text" => {
                    let items = content
                        .as_array()
                        .ok_or(format!("{real}.{t} should be an array"))?;
                    if items.len() > 100 {
                        return Err(format!("{real}.{t}.length should be ≤ `100`"));
                    }
                    let mut out = Vec::new();
                    for item in items {
                        let text = item["text"]["content"]
                            .as_str()
                            .ok_or(format!("{real}.{t}[].text.content should be a string"))?;
                        if text.encode_utf16().count() > 2000 {
                            return Err(format!(
                                "{real}.{t}[].text.content.length should be ≤ `2000`, instead was `{}`.",
                                text.encode_utf16().count()
                            ));
                        }
                        out.push(json!({
                            "type": "text",
                            "text": {"content": text, "link": null},
                            "annotations": {"bold": false, "italic": false, "strikethrough": false,
                                            "underline": false, "code": false, "color": "default"},
                            "plain_text": text,
                            "href": null
                        }));
                    }
                    Value::Array(out)
                }
                "select" => match content {
                    Value::Null => Value::Null,
                    _ => {
                        let option = content["name"]
                            .as_str()
                            .ok_or(format!("{real}.select.name should be a string"))?;
                        if option.contains(',') {
                            return Err(format!(
                                "Invalid select option, commas not allowed: {option}"
                            ));
                        }
                        if option.chars().count() > 100 {
                            return Err(format!("{real}.select.name.length should be ≤ `100`"));
                        }
                        json!({"id": format!("opt-{option}"), "name": option, "color": "default"})
                    }
                },
                "number" => {
                    if !(content.is_number() || content.is_null()) {
                        return Err(format!("{real}.number should be a number"));
                    }
                    content.clone()
                }
                "date" => match content {
                    Value::Null => Value::Null,
                    _ => {
                        let start = content["start"]
                            .as_str()
                            .ok_or(format!("{real}.date.start should be a string"))?;
                        json!({"start": start, "end": content.get("end").cloned().unwrap_or(Value::Null), "time_zone": null})
                    }
                },
                "relation" => {
                    let items = content
                        .as_array()
                        .ok_or(format!("{real}.relation should be an array"))?;
                    Value::Array(items.iter().map(|r| json!({"id": r["id"]})).collect())
                }
                other => return Err(format!("fake Notion does not write {other}")),
            };
            let mut response = json!({"id": def["id"], "type": t});
            response[t] = converted;
            if t == "relation" {
                response["has_more"] = json!(false);
            }
            out.push((real.clone(), response));
        }
        Ok(out)
    }
}

fn empty_value(def: &Value) -> Value {
    let t = def["type"].as_str().unwrap();
    let empty = match t {
        "title" | "rich_text" | "relation" => json!([]),
        _ => Value::Null,
    };
    let mut v = json!({"id": def["id"], "type": t});
    v[t] = empty;
    if t == "relation" {
        v["has_more"] = json!(false);
    }
    v
}

fn ok(body: Value) -> NotionResponse {
    NotionResponse {
        status: 200,
        retry_after: None,
        body: body.to_string().into_bytes(),
    }
}

fn error(status: u16, code: &str, message: &str) -> NotionResponse {
    NotionResponse {
        status,
        retry_after: None,
        body: json!({"object": "error", "status": status, "code": code, "message": message,
                     "request_id": "00000000-0000-4000-8000-000000000000"})
        .to_string()
        .into_bytes(),
    }
}

fn not_found(id: &str) -> NotionResponse {
    error(
        404,
        "object_not_found",
        &format!(
            "Could not find object with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

fn answer_fault(fault: &Fault) -> Result<NotionResponse, Transport> {
    match fault {
        Fault::Status {
            status,
            code,
            message,
            retry_after,
        } => {
            let mut r = error(*status, code, message);
            r.retry_after = retry_after.clone();
            Ok(r)
        }
        Fault::Transport(t) => Err(*t),
        Fault::Commit(then) => answer_fault(then),
    }
}

/// The Agent Activity Hub (CONTRACT 8), as `GET /v1/data_sources/{id}` answers it.
pub fn hub_schema(id: &str) -> Value {
    let options = |names: &[&str]| json!({"options": names.iter().map(|n| json!({"id": format!("opt-{n}"), "name": n, "color": "default"})).collect::<Vec<_>>()});
    let prop = |id: &str, name: &str, t: &str, config: Value| {
        let mut v = json!({"id": id, "name": name, "type": t});
        v[t] = config;
        (name.to_string(), v)
    };
    let properties: Map<String, Value> = [
        prop("title", "Session ID", "title", json!({})),
        prop("a%3Bn", "Agent Name", "select", options(&["planner", "coder", "reviewer"])),
        prop(
            "s%3Bt",
            "Status",
            "select",
            options(&["In Progress", "Completed", "Blocked", "Failed", "Cancelled"]),
        ),
        prop("t%3B1", "Start Time", "date", json!({})),
        prop("t%3B2", "End Time", "date", json!({})),
        prop("d%3Bm", "Duration (Minutes)", "number", json!({"format": "number"})),
        prop("w%3Bd", "Work Description", "rich_text", json!({})),
        prop("f%3Bc", "Files Created / Updated", "number", json!({"format": "number"})),
        prop("l%3Bg", "Lines Generated", "number", json!({"format": "number"})),
        prop("d%3Bl", "Deliverables", "rich_text", json!({})),
        prop("n%3Bs", "Next Steps", "rich_text", json!({})),
        prop("p%3Bm", "Performance Metrics", "rich_text", json!({})),
        prop(
            "r%3Bn",
            "Related Notion Items",
            "relation",
            json!({"data_source_id": id, "dual_property": null, "type": "single_property", "single_property": {}}),
        ),
        prop("e%3Bi", "Event ID", "rich_text", json!({})),
    ]
    .into_iter()
    .collect();
    json!({
        "object": "data_source",
        "id": id,
        "created_time": "2025-09-01T00:00:00.000Z",
        "last_edited_time": "2025-09-01T00:00:00.000Z",
        "title": [{"type": "text", "text": {"content": "Agent Activity Hub", "link": null}, "plain_text": "Agent Activity Hub"}],
        "parent": {"type": "database_id", "database_id": "1e7abab8-7c3f-4a35-9a2e-0c4b2c0f2d11"},
        "properties": properties,
    })
}

/// A UUIDv7 event id for `unix_millis` (distinct per `n`).
pub fn event_id(unix_millis: i64, n: u8) -> String {
    nexus_core::event_id::new_uuid_v7(unix_millis as u64, [n; 10])
}

/// A full event of `session` with `status`, ending `minutes` after T0.
pub fn event(session: &str, status: &str, id: &str, minutes: i64) -> Value {
    let end = nexus_core::Timestamp::from_unix_millis(T0 + minutes * 60_000);
    json!({
        "eventId": id,
        "sessionId": session,
        "agentName": "planner",
        "status": status,
        "startTime": "2025-10-01T12:00:00Z",
        "endTime": end.as_str(),
        "workDescription": "Refactored the delivery state machine",
        "filesCreated": 2,
        "filesUpdated": 3,
        "linesGenerated": 120,
        "deliverables": ["crates/core/src/delivery.rs", "crates/core/tests/delivery.rs"],
        "nextSteps": "Wire the component",
        "performanceMetrics": {"tokens": 1200, "toolCalls": 7},
        "relatedNotionItems": ["https://www.notion.so/Spec-0123456789abcdef0123456789abcdef"],
    })
}
