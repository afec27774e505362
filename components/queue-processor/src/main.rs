//! `queue-processor`: a `wasi:cli` command that delivers the local queue's pending entries, each
//! exactly once, by the first route that works: the edge webhook (signed at send time, as the
//! hook signs), else Notion directly when the edge is down and a token is configured.
//!
//! A thin shell: it walks the queue a window at a time (`nexus_queue::scan`, the queue crate's own
//! reader, so memory does not grow with the queue), asks `nexus_core::drain::Drain` what to do with
//! each entry, carries out the requests, and appends receipts and dead letters. It sees only the
//! folder the host preopened and the origins the host grants. Settings come from its environment
//! (see `docs/queue-processor.md`); one JSON line per entry goes to stdout (the native shell
//! writes them to `.claude/logs/notion-queue-processor.log`), human errors to stderr.
//!
//! Exit status: 0 done (entries may remain pending), non-zero otherwise. WASI 0.2 carries no
//! exit code beyond success and failure, so a failure's last stdout line says which it is:
//! `{"type":"exit","code":N}` with 1 unusable settings or files, 2 another processor holds the
//! queue, 3 entries remain pending and `NEXUS_FAIL_ON_PENDING=true`.

mod files;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nexus_core::drain::{
    Attempt, DirectDelivery, DirectStep, Drain, DrainConfig, Next, Route, Verdict, edge_attempt,
    schema_from, schema_request,
};
use nexus_core::edge_answer::signed_headers;
use nexus_core::notion::{NotionClient, NotionResponse, PropertyMap, Schema, Transport};
use nexus_core::retry::Backoff;
use nexus_core::signature::{Secret, Secrets};
use nexus_queue::scan::{self, LineReader, Window};
use nexus_queue::{DeadLetter, Entry, Outcome, QueuePaths, Receipt, State, timestamp};
use serde_json::json;

use files::{Appender, Lease, open_or_empty};
use nexus_guest_http::{self as http, HttpError, Timeouts, Url};

/// A window holds about this much of the main file (and at most `NEXUS_WINDOW` entries).
const WINDOW_BYTES: usize = 4 << 20;

/// Receipts reach the disk at least this often during a run, and at its end.
const FLUSH_EVERY_MS: u64 = 500;

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("queue-processor: {e}");
            1
        }
    };
    if code != 0 {
        // WASI 0.2's `exit` carries only success or failure: the line says which failure.
        emit(&json!({"type": "exit", "code": code}));
    }
    std::process::exit(code);
}

/// Settings, from the environment the host gives.
struct Settings {
    dir: String,
    paths: QueuePaths,
    webhook: Option<(Url, Secret)>,
    notion: Option<Notion>,
    drain: DrainConfig,
    edge_timeout: Duration,
    notion_timeout: Duration,
    window: usize,
    max_entries: u64,
    lock_held: bool,
    fail_on_pending: bool,
}

struct Notion {
    base: Url,
    client: NotionClient,
    data_source: String,
    map: PropertyMap,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a number, not {v:?}")),
    }
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let dir = env("NEXUS_QUEUE_DIR").unwrap_or_else(|| "/queue".into());
        let file = env("NEXUS_QUEUE_FILE").unwrap_or_else(|| "notion-sync-queue.jsonl".into());
        let paths = QueuePaths::for_queue(PathBuf::from(&dir).join(file));
        let webhook = match (env("NEXUS_WEBHOOK_URL"), env("NEXUS_WEBHOOK_SECRET")) {
            (Some(url), Some(secret)) => {
                let url = Url::parse(&url)
                    .ok_or_else(|| format!("NEXUS_WEBHOOK_URL is not an http(s) URL: {url}"))?;
                let secrets = Secrets::parse(&secret)
                    .map_err(|e| format!("NEXUS_WEBHOOK_SECRET is not usable: {e}"))?;
                Some((url, secrets.first().clone()))
            }
            (Some(_), None) => return Err("NEXUS_WEBHOOK_SECRET is not set".into()),
            _ => None,
        };
        let notion = match env("NEXUS_NOTION_TOKEN") {
            None => None,
            Some(token) => {
                let data_source = env("NEXUS_NOTION_DATA_SOURCE").ok_or(
                    "NEXUS_NOTION_TOKEN is set but NEXUS_NOTION_DATA_SOURCE is not".to_string(),
                )?;
                let base =
                    env("NEXUS_NOTION_API_BASE").unwrap_or_else(|| "https://api.notion.com".into());
                let base = Url::parse(&base)
                    .ok_or_else(|| format!("NEXUS_NOTION_API_BASE is not a URL: {base}"))?;
                let mut client = NotionClient::new(token);
                if let Some(v) = env("NEXUS_NOTION_VERSION") {
                    client.version = v;
                }
                let map = match env("NEXUS_PROPERTY_MAP") {
                    Some(m) => PropertyMap::with_overrides(&m)
                        .map_err(|e| format!("NEXUS_PROPERTY_MAP: {e}"))?,
                    None => PropertyMap::default(),
                };
                Some(Notion {
                    base,
                    client,
                    data_source,
                    map,
                })
            }
        };
        if webhook.is_none() && notion.is_none() {
            return Err(
                "nowhere to deliver: set NEXUS_WEBHOOK_URL and NEXUS_WEBHOOK_SECRET (or \
                 NEXUS_NOTION_TOKEN and NEXUS_NOTION_DATA_SOURCE)"
                    .into(),
            );
        }
        let defaults = DrainConfig::default();
        let drain = DrainConfig {
            max_attempts: number("NEXUS_MAX_ATTEMPTS", defaults.max_attempts)?.max(1),
            backoff: Backoff {
                base_ms: number("NEXUS_BACKOFF_BASE_MS", defaults.backoff.base_ms)?,
                max_ms: number("NEXUS_BACKOFF_MAX_MS", defaults.backoff.max_ms)?,
            },
            notion_rate_per_sec: number("NEXUS_NOTION_RPS", defaults.notion_rate_per_sec)?,
            ..defaults
        };
        Ok(Settings {
            dir,
            paths,
            webhook,
            notion,
            drain,
            edge_timeout: Duration::from_millis(number("NEXUS_EDGE_TIMEOUT_MS", 15_000)?),
            notion_timeout: Duration::from_millis(number("NEXUS_NOTION_TIMEOUT_MS", 15_000)?),
            window: number("NEXUS_WINDOW", 8_192)?,
            max_entries: number("NEXUS_MAX_ENTRIES", 0)?,
            lock_held: env("NEXUS_LOCK_HELD").is_some_and(|v| v == "1" || v == "true"),
            fail_on_pending: env("NEXUS_FAIL_ON_PENDING").is_some_and(|v| v == "1" || v == "true"),
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn sleep_ms(ms: u64) {
    wasi::clocks::monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
}

fn random() -> u32 {
    wasi::random::random::get_random_u64() as u32
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run() -> Result<i32, String> {
    let s = Settings::from_env()?;
    let started = now_ms();
    let lease = if s.lock_held {
        None
    } else {
        let mut name = s.paths.queue.clone().into_os_string();
        name.push(".processor.lease");
        match Lease::take(Path::new(&name), started) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("queue-processor: {e}");
                return Ok(2);
            }
        }
    };
    let main = match std::fs::File::open(&s.paths.queue) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            emit(&json!({"type": "start", "entries": 0}));
            summary(&s, &Drain::new(s.drain.clone(), false, false), started, 0);
            return Ok(0);
        }
        Err(e) => return Err(format!("cannot read {}: {e}", s.paths.queue.display())),
    };
    let total = count_entries(&s.paths.queue)?;
    emit(&json!({"type": "start", "entries": total}));
    let receipts = Appender::open(&s.dir, &file_name(&s.paths.receipts))?;
    let dead = Appender::open(&s.dir, &file_name(&s.paths.dead))?;
    let mut drain = Drain::new(s.drain.clone(), s.webhook.is_some(), s.notion.is_some());
    let mut schema: Option<Schema> = None;
    let mut reader = LineReader::new(main);
    let (mut seen, mut sent) = (0u64, 0u64);
    let mut last_flush = now_ms();
    loop {
        let mut w =
            Window::read(&mut reader, s.window, WINDOW_BYTES).map_err(|e| read_error(&s, e))?;
        if w.is_empty() {
            break;
        }
        w.fold_receipts(&mut LineReader::new(open_or_empty(&s.paths.receipts)?))
            .map_err(|e| read_error(&s, e))?;
        w.mark_dead_letters(&mut LineReader::new(open_or_empty(&s.paths.dead)?))
            .map_err(|e| read_error(&s, e))?;
        for item in w.items() {
            seen += 1;
            if item.state() != State::Pending {
                drain.counts.done_before += 1;
                progress(seen, false);
                continue;
            }
            let Some(entry) = scan::parse_entry(&item.line) else {
                continue;
            };
            let session = entry.event_str("sessionId").map(str::to_owned);
            if let Some(v) = drain.over_limit(item.delivery.attempts) {
                record(&receipts, &dead, &entry, item.delivery.attempts, &v)?;
                log_entry(&entry, None, &v, item.delivery.attempts, 0, seen);
                continue;
            }
            let next_at = item
                .delivery
                .next_attempt_at
                .as_deref()
                .and_then(timestamp::parse)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as u64);
            if s.max_entries > 0 && sent >= s.max_entries {
                drain.counts.waiting += 1;
                progress(seen, false);
                continue;
            }
            if drain.skip(session.as_deref(), next_at, now_ms()).is_some() {
                progress(seen, false);
                continue;
            }
            sent += 1;
            let t0 = now_ms();
            let (verdict, route) =
                deliver(&s, &mut drain, &mut schema, &entry, item.delivery.attempts);
            record(&receipts, &dead, &entry, item.delivery.attempts, &verdict)?;
            log_entry(
                &entry,
                Some(route),
                &verdict,
                item.delivery.attempts,
                now_ms() - t0,
                seen,
            );
            if now_ms().saturating_sub(last_flush) >= FLUSH_EVERY_MS {
                receipts.sync()?;
                last_flush = now_ms();
                if let Some(l) = &lease {
                    l.renew(last_flush);
                }
            }
        }
        progress(seen, true);
    }
    receipts.sync()?;
    summary(&s, &drain, started, total);
    let pending = drain.counts.retried + drain.counts.waiting;
    Ok(if s.fail_on_pending && pending > 0 {
        3
    } else {
        0
    })
}

fn read_error(s: &Settings, e: std::io::Error) -> String {
    format!("cannot read the queue in {}: {e}", s.dir)
}

fn count_entries(path: &Path) -> Result<u64, String> {
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut r = LineReader::new(f);
    let mut n = 0;
    while r
        .next_line()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}

/// Sends one entry until the drain settles it.
fn deliver(
    s: &Settings,
    drain: &mut Drain,
    schema: &mut Option<Schema>,
    entry: &Entry,
    prior: u32,
) -> (Verdict, Route) {
    let session = entry.event_str("sessionId").map(str::to_owned);
    let mut route = drain.route().unwrap_or(Route::Edge);
    let mut waits = 0;
    loop {
        pace(drain, route);
        let attempt = match route {
            Route::Edge => send_edge(s, entry),
            Route::Notion => send_notion(s, drain, schema, entry),
        };
        match drain.after_attempt(
            route,
            session.as_deref(),
            prior,
            waits,
            attempt,
            now_ms(),
            random(),
        ) {
            Next::Again(r) => {
                if r == route {
                    waits += 1;
                }
                route = r;
            }
            Next::Settle(v) => return (v, route),
        }
    }
}

/// Waits until the drain lets a request by `route` leave.
fn pace(drain: &mut Drain, route: Route) {
    while let Some(ms) = drain.wait_ms(route, now_ms()) {
        sleep_ms(ms);
    }
}

fn send_edge(s: &Settings, entry: &Entry) -> Attempt {
    let Some((url, secret)) = &s.webhook else {
        return Attempt::RouteDown {
            status: None,
            reason: "no webhook configured".into(),
        };
    };
    let body = entry.body();
    let now_secs = (now_ms() / 1000) as i64;
    let mut headers: Vec<(&str, String)> =
        signed_headers(secret, &entry.event_id, now_secs, &body).into();
    headers.push(("content-type", "application/json".into()));
    match http::send("POST", url, &headers, &body, Timeouts::all(s.edge_timeout)) {
        Ok(a) => edge_attempt(
            Ok((a.status, &a.body, a.retry_after.as_deref())),
            s.drain.default_throttle_ms,
        ),
        Err(HttpError::Denied) => denied(url),
        Err(HttpError::Transport(t)) => edge_attempt(Err(t), s.drain.default_throttle_ms),
    }
}

fn denied(url: &Url) -> Attempt {
    Attempt::RouteDown {
        status: None,
        reason: format!(
            "outbound request to {} denied by the host (not granted)",
            url.origin()
        ),
    }
}

fn notion_call(
    s: &Settings,
    n: &Notion,
    req: &nexus_core::NotionRequest,
) -> Result<NotionResponse, Result<Transport, Attempt>> {
    let url = n.base.with_path(&req.path);
    let headers = n.client.headers(req);
    let body = req.body.as_deref().unwrap_or_default();
    match http::send(
        req.method.as_str(),
        &url,
        &headers,
        body,
        Timeouts::all(s.notion_timeout),
    ) {
        Ok(a) => Ok(NotionResponse {
            status: a.status,
            retry_after: a.retry_after,
            body: a.body,
        }),
        Err(HttpError::Denied) => Err(Err(denied(&url))),
        Err(HttpError::Transport(t)) => Err(Ok(t)),
    }
}

fn send_notion(
    s: &Settings,
    drain: &mut Drain,
    schema: &mut Option<Schema>,
    entry: &Entry,
) -> Attempt {
    let Some(n) = &s.notion else {
        return Attempt::RouteDown {
            status: None,
            reason: "no Notion token configured".into(),
        };
    };
    if schema.is_none() {
        let r = match notion_call(s, n, &schema_request(&n.data_source)) {
            Ok(r) => Ok(r),
            Err(Ok(t)) => Err(t),
            Err(Err(attempt)) => return attempt,
        };
        drain.on_notion_answer(r.as_ref().map_err(|t| *t), now_ms());
        match schema_from(r.as_ref().map_err(|t| *t)) {
            Ok(sc) => *schema = Some(sc),
            Err(attempt) => return attempt,
        }
        pace(drain, Route::Notion);
    }
    let sc = schema.as_ref().expect("fetched above");
    let (delivery, mut step) =
        DirectDelivery::start(drain, &entry.body(), sc, &n.map, &n.data_source);
    let Some(mut delivery) = delivery else {
        return match step {
            DirectStep::Finished(a) => a,
            DirectStep::Send(_) => unreachable!("a delivery that did not start sends nothing"),
        };
    };
    loop {
        match step {
            DirectStep::Finished(a) => return a,
            DirectStep::Send(req) => {
                let r = match notion_call(s, n, &req) {
                    Ok(r) => Ok(r),
                    Err(Ok(t)) => Err(t),
                    Err(Err(attempt)) => return attempt,
                };
                step = delivery.on_response(drain, r, now_ms());
                if matches!(step, DirectStep::Send(_)) {
                    pace(drain, Route::Notion);
                }
            }
        }
    }
}

/// Appends what the verdict says: a receipt, or a dead letter then its receipt.
fn record(
    receipts: &Appender,
    dead: &Appender,
    entry: &Entry,
    prior: u32,
    v: &Verdict,
) -> Result<(), String> {
    let at = timestamp::format(SystemTime::now());
    let receipt = match v {
        Verdict::Synced { status, page_id } => Receipt {
            event_id: entry.event_id.clone(),
            at,
            outcome: Outcome::Synced,
            attempts: 1,
            http_status: Some(*status),
            error: None,
            page_id: page_id.clone(),
            next_attempt_at: None,
        },
        Verdict::Retry {
            status,
            error,
            counted,
            next_attempt_ms,
        } => Receipt {
            event_id: entry.event_id.clone(),
            at,
            outcome: Outcome::Failed,
            attempts: u32::from(*counted),
            http_status: *status,
            error: Some(error.clone()),
            page_id: None,
            next_attempt_at: next_attempt_ms
                .map(|ms| timestamp::format(UNIX_EPOCH + Duration::from_millis(ms))),
        },
        Verdict::Dead {
            status,
            reason,
            attempted,
        } => {
            // The dead letter first: it alone makes the entry dead (crates/queue README).
            let letter = DeadLetter {
                event_id: entry.event_id.clone(),
                enqueued_at: entry.enqueued_at.clone(),
                dead_at: at.clone(),
                reason: reason.clone(),
                http_status: *status,
                attempts: prior + u32::from(*attempted),
                event: entry.event.clone(),
            };
            // Synced at once: compaction may drop the entry as soon as this run ends.
            dead.append(&scan::dead_letter_line(&letter), true)?;
            Receipt {
                event_id: entry.event_id.clone(),
                at,
                outcome: Outcome::Dead,
                attempts: u32::from(*attempted),
                http_status: *status,
                error: Some(reason.clone()),
                page_id: None,
                next_attempt_at: None,
            }
        }
    };
    // Receipts are advisory (a lost one means a redelivery the edge and the upsert absorb):
    // flushed in groups, not one `fsync` per entry.
    receipts.append(&scan::receipt_line(&receipt), false)
}

fn emit(v: &serde_json::Value) {
    println!("{v}");
}

fn progress(seen: u64, force: bool) {
    if force || seen.is_multiple_of(1000) {
        emit(&json!({"type": "progress", "seen": seen}));
    }
}

fn log_entry(entry: &Entry, route: Option<Route>, v: &Verdict, prior: u32, ms: u64, seen: u64) {
    let at = timestamp::format(SystemTime::now());
    let mut line = json!({
        "type": "entry",
        "at": at,
        "eventId": entry.event_id,
        "sessionId": entry.event_str("sessionId"),
        "via": route.map(Route::as_str),
        "ms": ms,
        "seen": seen,
    });
    let o = line.as_object_mut().expect("an object");
    match v {
        Verdict::Synced { status, page_id } => {
            o.insert("outcome".into(), json!("delivered"));
            o.insert("httpStatus".into(), json!(status));
            o.insert("pageId".into(), json!(page_id));
            o.insert("attempts".into(), json!(prior + 1));
        }
        Verdict::Retry {
            status,
            error,
            counted,
            next_attempt_ms,
        } => {
            o.insert("outcome".into(), json!("retry"));
            o.insert("httpStatus".into(), json!(status));
            o.insert("error".into(), json!(error));
            o.insert("attempts".into(), json!(prior + u32::from(*counted)));
            o.insert(
                "nextAttemptAt".into(),
                json!(
                    next_attempt_ms
                        .map(|ms| timestamp::format(UNIX_EPOCH + Duration::from_millis(ms)))
                ),
            );
        }
        Verdict::Dead {
            status,
            reason,
            attempted,
        } => {
            o.insert("outcome".into(), json!("dead"));
            o.insert("httpStatus".into(), json!(status));
            o.insert("error".into(), json!(reason));
            o.insert("attempts".into(), json!(prior + u32::from(*attempted)));
        }
    }
    emit(&line);
}

fn summary(s: &Settings, drain: &Drain, started: u64, total: u64) {
    let c = drain.counts;
    emit(&json!({
        "type": "summary",
        "entries": total,
        "delivered": c.delivered,
        "retriedLater": c.retried,
        "deadLettered": c.dead,
        "waiting": c.waiting,
        "alreadyDone": c.done_before,
        "pending": c.retried + c.waiting,
        "elapsedMs": now_ms().saturating_sub(started),
        "routeProblem": drain.route_problem,
        "edge": s.webhook.as_ref().map(|(u, _)| u.origin()),
        "notion": s.notion.as_ref().map(|n| n.base.origin()),
    }));
}
