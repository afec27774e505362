//! The queue processor end to end: the `queue-processor` component under the embedded wasmtime
//! host (as `nexus queue process` runs it), the real edge from [`Stack`], the Notion emulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nexus_host::{CommandOptions, CommandOutcome, CommandRunner, Output};
use nexus_queue::{Entry, Queue, State};
use nexus_tests::{SECRET, Stack, component_path, root};
use rand::Rng;
use serde_json::{Value, json};

fn runner() -> &'static CommandRunner {
    static RUNNER: OnceLock<CommandRunner> = OnceLock::new();
    RUNNER.get_or_init(|| {
        CommandRunner::load(
            &component_path("queue_processor.wasm"),
            Some(&root().join("target/nexus-host-cache")),
        )
        .expect("loading the queue processor")
    })
}

/// One processor run's output.
struct Run {
    outcome: CommandOutcome,
    lines: Vec<Value>,
    stderr: String,
}

impl Run {
    fn summary(&self) -> &Value {
        self.lines
            .iter()
            .rev()
            .find(|l| l["type"] == "summary")
            .unwrap_or_else(|| panic!("no summary; stderr: {}", self.stderr))
    }

    fn entries(&self) -> impl Iterator<Item = &Value> {
        self.lines.iter().filter(|l| l["type"] == "entry")
    }
}

/// A queue in a temporary folder.
struct TestQueue {
    _dir: tempfile::TempDir,
    folder: PathBuf,
    queue: Queue,
}

impl TestQueue {
    fn new() -> TestQueue {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir_all(&folder).unwrap();
        let queue = Queue::open(folder.join("notion-sync-queue.jsonl"));
        TestQueue {
            _dir: dir,
            folder,
            queue,
        }
    }

    /// Appends entries in one write (a bulk fixture; hooks append one at a time).
    fn fill(&self, events: &[Value]) {
        let mut bytes = Vec::new();
        for e in events {
            let entry = Entry {
                event_id: e["eventId"].as_str().unwrap().to_string(),
                enqueued_at: "2026-12-04T10:00:00.000Z".into(),
                event: e.clone(),
            };
            bytes.extend(serde_json::to_vec(&entry).unwrap());
            bytes.push(b'\n');
        }
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.queue.paths().queue)
            .unwrap();
        f.write_all(&bytes).unwrap();
    }

    fn count(&self, state: State) -> usize {
        self.queue
            .entries()
            .unwrap()
            .iter()
            .filter(|q| q.state == state)
            .count()
    }
}

fn event(i: usize, session: &str) -> Value {
    json!({
        "eventId": format!("evt-{session}-{i}-{:08x}", rand::rng().random::<u32>()),
        "sessionId": session,
        "agentName": "planner",
        "status": "Completed",
        "startTime": "2026-12-04T10:00:00Z",
        "endTime": format!("2026-12-04T10:{:02}:00Z", 1 + i % 58),
        "workDescription": format!("step {i}"),
    })
}

fn events(n: usize, prefix: &str) -> Vec<Value> {
    (0..n).map(|i| event(i, &format!("{prefix}-{i}"))).collect()
}

/// Settings for the edge route of `stack`.
fn edge_env(stack: &Stack) -> Vec<(String, String)> {
    vec![
        ("NEXUS_WEBHOOK_URL".into(), stack.url("/api/NotionWebhook")),
        ("NEXUS_WEBHOOK_SECRET".into(), SECRET.into()),
    ]
}

/// Settings for the direct route to the emulator at `base`.
fn notion_env(base: &str) -> Vec<(String, String)> {
    vec![
        (
            "NEXUS_NOTION_TOKEN".into(),
            notion_emulator::DEV_TOKEN.into(),
        ),
        (
            "NEXUS_NOTION_DATA_SOURCE".into(),
            notion_emulator::AGENT_ACTIVITY_HUB.into(),
        ),
        ("NEXUS_NOTION_API_BASE".into(), base.into()),
    ]
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    format!("http://{}", rest.split('/').next().unwrap())
}

/// Runs the processor on `q` as `nexus queue process` does: only the queue folder, only the
/// origins of the configured URLs (plus `extra_allowed`), the processor lock held by the caller.
async fn process(q: &TestQueue, env: &[(String, String)], extra_allowed: &[String]) -> Run {
    let mut allowed: Vec<String> = env
        .iter()
        .filter(|(k, _)| k == "NEXUS_WEBHOOK_URL" || k == "NEXUS_NOTION_API_BASE")
        .map(|(_, v)| origin(v))
        .collect();
    allowed.extend(extra_allowed.iter().cloned());
    let mut full = vec![
        ("NEXUS_QUEUE_DIR".to_string(), "/queue".to_string()),
        ("NEXUS_LOCK_HELD".to_string(), "1".to_string()),
        ("NEXUS_BACKOFF_BASE_MS".to_string(), "20".to_string()),
        ("NEXUS_BACKOFF_MAX_MS".to_string(), "200".to_string()),
    ];
    full.extend(env.iter().cloned());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let options = CommandOptions {
        args: vec!["queue-processor".into()],
        env: full,
        preopens: vec![(q.folder.clone(), "/queue".into())],
        allowed_outbound_hosts: allowed,
        stdout: Output::Channel(tx),
        stderr: Output::Channel(etx),
    };
    let outcome = runner().run(options).await.expect("the run");
    let mut out = Vec::new();
    while let Ok(c) = rx.try_recv() {
        out.extend(c);
    }
    let mut err = Vec::new();
    while let Ok(c) = erx.try_recv() {
        err.extend(c);
    }
    let lines = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSON lines on stdout"))
        .collect();
    Run {
        outcome,
        lines,
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Runs until nothing is pending (or `max_runs`), compacting after each run as the CLI does.
async fn drain_all(q: &TestQueue, env: &[(String, String)], max_runs: usize) -> Vec<Run> {
    let mut runs = Vec::new();
    for _ in 0..max_runs {
        let run = process(q, env, &[]).await;
        assert_eq!(run.outcome.exit_code, 0, "stderr: {}", run.stderr);
        q.queue.compact().unwrap();
        runs.push(run);
        if q.count(State::Pending) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runs
}

async fn emulator_stats(stack: &Stack) -> Value {
    let url = format!("{}/_emulator/stats", stack.emulator.url());
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = client.get(url.parse().unwrap()).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// Every page's title (Session ID), all pages, paginated.
async fn page_titles(stack: &Stack) -> Vec<String> {
    let path = format!(
        "/v1/data_sources/{}/query",
        notion_emulator::AGENT_ACTIVITY_HUB
    );
    let mut titles = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"page_size": 100});
        if let Some(c) = &cursor {
            body["start_cursor"] = json!(c);
        }
        let answer = stack.notion("POST", &path, Some(body)).await;
        assert_eq!(answer.status, 200);
        let v = answer.json();
        for p in v["results"].as_array().unwrap() {
            titles.push(nexus_tests::text_of(p, "Session ID"));
        }
        match v["next_cursor"].as_str() {
            Some(c) if v["has_more"] == true => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    titles.sort();
    titles
}

fn sessions_of(events: &[Value]) -> Vec<String> {
    let mut s: Vec<String> = events
        .iter()
        .map(|e| e["sessionId"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s.dedup();
    s
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_events_with_the_edge_up_are_delivered_once_and_compacted() {
    let stack = Stack::start().await;
    let q = TestQueue::new();
    let evs = events(1000, "bulk");
    q.fill(&evs);
    let env = edge_env(&stack);
    let run = process(&q, &env, &[]).await;
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    let s = run.summary();
    assert_eq!(s["delivered"], 1000, "{s}");
    assert_eq!(s["pending"], 0, "{s}");
    assert!(
        run.entries()
            .all(|e| e["via"] == "edge" && e["pageId"].is_string())
    );
    // Receipts: every entry synced with its page, before compaction.
    assert_eq!(q.count(State::Synced), 1000);
    let report = q.queue.compact().unwrap();
    assert_eq!((report.kept, report.dropped_synced.len()), (0, 1000));
    assert_eq!(std::fs::read(&q.queue.paths().queue).unwrap(), b"");
    let delivered = std::fs::read_to_string(q.queue.paths().delivered()).unwrap();
    assert_eq!(delivered.lines().count(), 1000);
    assert!(delivered.lines().all(|l| l.contains("\"pageId\":\"")));
    assert_eq!(page_titles(&stack).await, sessions_of(&evs));
    // A second run finds nothing to do and sends nothing.
    let again = process(&q, &env, &[]).await;
    assert_eq!(again.summary()["delivered"], 0);
    assert_eq!(
        stack
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with("/api/NotionWebhook"))
            .count(),
        1000
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_edge_down_and_a_token_entries_go_to_notion_directly() {
    let stack = Stack::start().await;
    let q = TestQueue::new();
    let evs = events(40, "direct");
    q.fill(&evs);
    let mut env = vec![
        (
            "NEXUS_WEBHOOK_URL".to_string(),
            format!("http://{}/api/NotionWebhook", closed_port()),
        ),
        ("NEXUS_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
        ("NEXUS_NOTION_RPS".to_string(), "0".to_string()),
    ];
    env.extend(notion_env(&stack.emulator.url()));
    let run = process(&q, &env, &[]).await;
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    assert_eq!(run.summary()["delivered"], 40, "{}", run.summary());
    assert!(run.entries().all(|e| e["via"] == "notion"));
    assert!(
        run.summary()["routeProblem"]
            .as_str()
            .unwrap()
            .contains("could not connect to the edge")
    );
    assert_eq!(q.count(State::Synced), 40);
    assert_eq!(page_titles(&stack).await, sessions_of(&evs));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_edge_down_and_no_token_nothing_is_lost() {
    let q = TestQueue::new();
    q.fill(&events(25, "offline"));
    let env = vec![
        (
            "NEXUS_WEBHOOK_URL".to_string(),
            format!("http://{}/api/NotionWebhook", closed_port()),
        ),
        ("NEXUS_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
    ];
    let run = process(&q, &env, &[]).await;
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    let s = run.summary();
    assert_eq!(
        (s["delivered"].as_u64(), s["pending"].as_u64()),
        (Some(0), Some(25)),
        "{s}"
    );
    assert!(s["routeProblem"].as_str().unwrap().contains("edge"), "{s}");
    assert_eq!(q.count(State::Pending), 25);
    // The probe does not count against the attempt limit.
    assert!(
        q.queue
            .entries()
            .unwrap()
            .iter()
            .all(|e| e.delivery.attempts == 0)
    );
    let mut strict = env.clone();
    strict.push(("NEXUS_FAIL_ON_PENDING".into(), "true".into()));
    let run = process(&q, &strict, &[]).await;
    assert_ne!(run.outcome.exit_code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines.last().unwrap(),
        &json!({"type": "exit", "code": 3})
    );
    assert_eq!(run.summary()["pending"], 25);
    assert_eq!(q.count(State::Pending), 25);
}

/// A loopback proxy in front of the emulator that records when each request arrived and what
/// was answered.
#[derive(Clone, Debug)]
struct Exchange {
    arrived: Instant,
    answered: Instant,
    status: u16,
    retry_after: Option<u64>,
}

async fn recording_proxy(upstream: String) -> (String, Arc<Mutex<Vec<Exchange>>>) {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    let log = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (client, log, upstream) = (client.clone(), log2.clone(), upstream.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (client, log, upstream) = (client.clone(), log.clone(), upstream.clone());
                    async move {
                        let arrived = Instant::now();
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let uri = format!(
                            "{upstream}{}",
                            parts
                                .uri
                                .path_and_query()
                                .map(|p| p.as_str())
                                .unwrap_or("/")
                        );
                        let mut out = http::Request::builder().method(parts.method).uri(uri);
                        for (k, v) in &parts.headers {
                            if k != "host" {
                                out = out.header(k, v);
                            }
                        }
                        let resp = client
                            .request(out.body(Full::new(body)).unwrap())
                            .await
                            .expect("the emulator answers");
                        let (parts, body) = resp.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let retry_after = parts
                            .headers
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok());
                        log.lock().unwrap().push(Exchange {
                            arrived,
                            answered: Instant::now(),
                            status: parts.status.as_u16(),
                            retry_after,
                        });
                        Ok::<_, hyper::Error>(http::Response::from_parts(parts, Full::new(body)))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, svc).await;
            });
        }
    });
    (format!("http://{addr}"), log)
}

#[tokio::test(flavor = "multi_thread")]
async fn under_faults_every_event_is_one_page_and_retry_after_is_honoured() {
    let stack = Stack::start().await;
    let (proxy, exchanges) = recording_proxy(stack.emulator.url()).await;
    let q = TestQueue::new();
    let evs = events(30, "faulty");
    q.fill(&evs);
    // 30% of the first calls fail, each kind in turn: 429 with Retry-After, 529, 500, 503, a
    // timeout (slower than the processor waits) and a create that commits then fails.
    let mut rng = rand::rng();
    let kinds = [
        json!({"status": 429, "retryAfter": 1}),
        json!({"status": 529, "retryAfter": 1}),
        json!({"status": 500}),
        json!({"status": 503}),
        json!({"delayMs": 700}),
        json!({"method": "POST", "path": "/v1/pages", "status": 500, "commitThenFail": true}),
    ];
    let mut rules = Vec::new();
    let mut k = 0;
    for _ in 0..100 {
        if rng.random_bool(0.3) {
            let mut rule = kinds[k % kinds.len()].clone();
            rule["count"] = json!(1);
            if rule.get("path").is_none() {
                rule["path"] = json!("/v1/");
            }
            rules.push(rule);
            k += 1;
        } else {
            rules.push(json!({"path": "/v1/", "count": 1}));
        }
    }
    let answer = stack
        .control("POST", "/_emulator/faults", json!(rules))
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let mut env = notion_env(&proxy);
    env.push(("NEXUS_NOTION_TIMEOUT_MS".into(), "400".into()));
    env.push(("NEXUS_NOTION_RPS".into(), "0".into()));
    env.push(("NEXUS_MAX_ATTEMPTS".into(), "50".into()));
    let runs = drain_all(&q, &env, 40).await;
    assert_eq!(q.count(State::Pending), 0, "after {} runs", runs.len());
    assert_eq!(
        q.queue.status(std::time::SystemTime::now()).unwrap().dead,
        0
    );
    // A timed-out request may land after the processor gave up: wait for the stragglers.
    tokio::time::sleep(Duration::from_millis(800)).await;
    stack
        .control("DELETE", "/_emulator/faults", json!({}))
        .await;
    assert_eq!(page_titles(&stack).await, sessions_of(&evs));
    // No request left before a Retry-After expired (requests go one at a time).
    let log = exchanges.lock().unwrap().clone();
    let mut throttles = 0;
    for (i, x) in log.iter().enumerate() {
        if let Some(secs) = x.retry_after.filter(|_| matches!(x.status, 429 | 529)) {
            throttles += 1;
            let until = x.answered + Duration::from_secs(secs);
            for y in &log[i + 1..] {
                if y.arrived > x.answered {
                    assert!(
                        y.arrived >= until,
                        "a request came {:?} after a Retry-After of {secs} s",
                        y.arrived - x.answered
                    );
                }
            }
        }
    }
    assert!(throttles > 0, "the faults included throttles");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_three_requests_a_second_a_drain_of_sixty_gets_no_429() {
    let stack = Stack::start().await;
    let answer = stack
        .control(
            "POST",
            "/_emulator/rate-limit",
            json!({"requestsPerSecond": 3}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let q = TestQueue::new();
    // A day's work: 20 sessions, 3 events each.
    let evs: Vec<Value> = (0..60)
        .map(|i| event(i, &format!("paced-{}", i % 20)))
        .collect();
    q.fill(&evs);
    let run = process(&q, &notion_env(&stack.emulator.url()), &[]).await;
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    assert_eq!(run.summary()["delivered"], 60, "{}", run.summary());
    let stats = emulator_stats(&stack).await;
    assert!(stats["byStatus"].get("429").is_none(), "{stats}");
    assert_eq!(page_titles(&stack).await, sessions_of(&evs));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_notion_refuses_is_a_dead_letter_with_notions_message() {
    let stack = Stack::start().await;
    let q = TestQueue::new();
    let mut bad = event(0, "refused");
    bad["relatedNotionItems"] = json!(["0f8e2c1a-7b3d-4e5f-9a6b-1c2d3e4f5a6b"]);
    q.fill(&[bad, event(1, "fine")]);
    let run = process(&q, &edge_env(&stack), &[]).await;
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    let s = run.summary();
    assert_eq!(
        (s["delivered"].as_u64(), s["deadLettered"].as_u64()),
        (Some(1), Some(1))
    );
    let dead = std::fs::read_to_string(&q.queue.paths().dead).unwrap();
    let letter: Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    let reason = letter["reason"].as_str().unwrap();
    assert!(reason.contains("Could not find page with ID"), "{reason}");
    assert_eq!(letter["httpStatus"], 422);
    // After a fix, retry-dead moves it back.
    let moved = q.queue.retry_dead(None).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(q.count(State::Pending), 1);
    assert_eq!(q.count(State::Dead), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_and_the_processor_delivering_at_once_make_one_page() {
    let stack = Arc::new(Stack::start().await);
    let q = TestQueue::new();
    let evs = events(20, "race");
    q.fill(&evs);
    let hooks = {
        let stack = stack.clone();
        let evs = evs.clone();
        tokio::spawn(async move {
            let posts = evs.iter().map(|e| {
                let body = serde_json::to_vec(e).unwrap();
                let id = e["eventId"].as_str().unwrap().to_string();
                let stack = stack.clone();
                async move {
                    stack
                        .post_standard(&body, &id, nexus_tests::now_secs())
                        .await
                        .status
                }
            });
            let mut statuses = Vec::new();
            for p in posts {
                statuses.push(p.await);
            }
            statuses
        })
    };
    let run = process(&q, &edge_env(&stack), &[]).await;
    let statuses = hooks.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert_eq!(run.outcome.exit_code, 0, "{}", run.stderr);
    drain_all(&q, &edge_env(&stack), 10).await;
    assert_eq!(page_titles(&stack).await, sessions_of(&evs));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processor_killed_at_random_points_delivers_exactly_once() {
    let stack = Stack::start().await;
    let q = TestQueue::new();
    let env = edge_env(&stack);
    let mut all = Vec::new();
    let mut rng = rand::rng();
    let started = Instant::now();
    let mut rounds = 0;
    let mut killed = 0;
    let mut longest_run = Duration::from_millis(20);
    while rounds < 300 && started.elapsed() < Duration::from_secs(25) {
        rounds += 1;
        let evs: Vec<Value> = (0..2)
            .map(|i| event(i, &format!("kill-{rounds}-{i}")))
            .collect();
        for e in &evs {
            q.queue.append(e["eventId"].as_str().unwrap(), e).unwrap();
        }
        all.extend(evs);
        // Cut the run at a random point of its usual length (the longest uncut run so far), so
        // kills land anywhere in a run however fast or loaded the machine is.
        let budget = Duration::from_micros(rng.random_range(0..=longest_run.as_micros() as u64));
        let began = Instant::now();
        if tokio::time::timeout(budget, process(&q, &env, &[]))
            .await
            .is_err()
        {
            killed += 1;
        } else {
            longest_run = longest_run.max(began.elapsed());
        }
        if rounds % 20 == 0 {
            q.queue.compact().unwrap();
        }
    }
    assert!(
        killed > rounds / 4,
        "only {killed} of {rounds} runs were cut short"
    );
    drain_all(&q, &env, 10).await;
    assert_eq!(q.count(State::Pending), 0);
    assert_eq!(
        q.queue.status(std::time::SystemTime::now()).unwrap().dead,
        0
    );
    assert_eq!(page_titles(&stack).await, sessions_of(&all));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_reads_only_its_folder_and_reaches_only_granted_hosts() {
    let stack = Stack::start().await;
    let q = TestQueue::new();
    // A queue file outside the granted folder: reading it must fail, and say so.
    let outside = q.folder.parent().unwrap().join("outside.jsonl");
    std::fs::write(
        &outside,
        b"{\"eventId\":\"x\",\"enqueuedAt\":\"t\",\"event\":{}}\n",
    )
    .unwrap();
    let mut env = edge_env(&stack);
    env.push(("NEXUS_QUEUE_FILE".into(), "../outside.jsonl".into()));
    let run = process(&q, &env, &[]).await;
    assert_eq!(run.outcome.exit_code, 1);
    assert!(run.stderr.contains("outside.jsonl"), "{}", run.stderr);
    // An edge whose origin was not granted: the request is denied, the entry stays pending.
    q.fill(&events(3, "sandbox"));
    let denied = {
        // Grant another origin than the edge's.
        let allowed = vec!["http://127.0.0.1:1".to_string()];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut full = vec![
            ("NEXUS_LOCK_HELD".to_string(), "1".to_string()),
            ("NEXUS_QUEUE_DIR".to_string(), "/queue".to_string()),
        ];
        full.extend(edge_env(&stack));
        let outcome = runner()
            .run(CommandOptions {
                args: vec!["queue-processor".into()],
                env: full,
                preopens: vec![(q.folder.clone(), "/queue".into())],
                allowed_outbound_hosts: allowed,
                stdout: Output::Channel(tx),
                stderr: Output::Null,
            })
            .await
            .unwrap();
        assert_eq!(outcome.exit_code, 0);
        let mut out = Vec::new();
        while let Ok(c) = rx.try_recv() {
            out.extend(c);
        }
        String::from_utf8(out).unwrap()
    };
    assert!(denied.contains("denied by the host"), "{denied}");
    assert_eq!(emulator_stats(&stack).await["pages"], 0);
    assert_eq!(q.count(State::Pending), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_processor_exits_at_once_saying_so() {
    let q = TestQueue::new();
    q.fill(&events(1, "lease"));
    // Without a native shell holding the lock, the component keeps a lease file.
    let lease = PathBuf::from(format!(
        "{}.processor.lease",
        q.queue.paths().queue.display()
    ));
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    std::fs::write(&lease, future.to_string()).unwrap();
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = runner()
        .run(CommandOptions {
            args: vec!["queue-processor".into()],
            env: vec![
                (
                    "NEXUS_WEBHOOK_URL".into(),
                    "http://127.0.0.1:9/api/NotionWebhook".into(),
                ),
                ("NEXUS_WEBHOOK_SECRET".into(), SECRET.into()),
            ],
            preopens: vec![(q.folder.clone(), "/queue".into())],
            stderr: Output::Channel(etx),
            ..CommandOptions::default()
        })
        .await
        .unwrap();
    let mut err = Vec::new();
    while let Ok(c) = erx.try_recv() {
        err.extend(c);
    }
    assert_ne!(outcome.exit_code, 0, "{}", String::from_utf8_lossy(&err));
    assert!(String::from_utf8_lossy(&err).contains("another queue processor is running"));
    // The native lock: a second holder is refused at once.
    let first = nexus_queue::ProcessorLock::try_acquire(q.queue.paths()).unwrap();
    assert!(first.is_some());
    assert!(
        nexus_queue::ProcessorLock::try_acquire(q.queue.paths())
            .unwrap()
            .is_none()
    );
}
