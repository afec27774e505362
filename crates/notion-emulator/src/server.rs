//! Starting and stopping the emulator in-process, its shared state, and the router that joins
//! the `/v1/` API, the control routes and the browser view.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::faults::{FaultRule, Faults};
use crate::ids::parse_id;
use crate::pages::PageChange;
use crate::rate_limit::TokenBucket;
use crate::schema::{agent_activity_hub, parse_seed};
use crate::stats::Stats;
use crate::store::Store;
use crate::timestamps::now;
use crate::webhooks::Webhooks;
use crate::{AGENT_ACTIVITY_HUB, AGENT_ACTIVITY_HUB_DATABASE, api, control, view};

/// How long `shutdown` waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the emulator starts with besides the Agent Activity Hub.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Extra data sources, each in the shape of `GET /v1/data_sources/{id}`.
    pub seed: Vec<Value>,
}

impl Options {
    /// Adds the data sources of a JSON file holding one data source object or an array of them.
    pub fn with_seed_file(mut self, path: &Path) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        match value {
            Value::Array(items) => self.seed.extend(items),
            single => self.seed.push(single),
        }
        Ok(self)
    }
}

/// A seed that cannot be loaded, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed: {0}")]
pub struct SeedError(String);

impl From<SeedError> for io::Error {
    fn from(error: SeedError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }
}

struct Inner {
    store: Mutex<Store>,
    /// The starting state, for `POST /_emulator/reset`.
    initial: Store,
    faults: Mutex<Faults>,
    bucket: Mutex<TokenBucket>,
    stats: Mutex<Stats>,
    webhooks: Webhooks,
}

/// The emulator's state, shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct EmulatorState {
    inner: Arc<Inner>,
}

/// A poisoned lock only means another request panicked; the state itself stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EmulatorState {
    /// The starting state: the Agent Activity Hub plus the seeded data sources.
    pub fn new(options: &Options) -> Result<Self, SeedError> {
        let initial = starting_store(options)?;
        let inner = Inner {
            store: Mutex::new(initial.clone()),
            initial,
            faults: Mutex::default(),
            bucket: Mutex::default(),
            stats: Mutex::default(),
            webhooks: Webhooks::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Back to the starting state: pages, schemas, faults, rate limit, counters and subscriptions.
    pub fn reset(&self) {
        *lock(&self.inner.store) = self.inner.initial.clone();
        lock(&self.inner.faults).clear();
        *lock(&self.inner.bucket) = TokenBucket::default();
        *lock(&self.inner.stats) = Stats::default();
        self.inner.webhooks.clear();
    }

    /// How many pages exist, trashed ones included.
    pub fn page_count(&self) -> usize {
        self.store().pages.len()
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.inner.stats)
    }

    pub(crate) fn record(&self, status: u16) {
        self.stats().record(status);
    }

    pub(crate) fn set_faults(&self, rules: Vec<FaultRule>) {
        lock(&self.inner.faults).set(rules);
    }

    pub(crate) fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<FaultRule> {
        lock(&self.inner.faults).take(method, path)
    }

    pub(crate) fn set_rate_limit(&self, rate: f64, burst: Option<f64>) {
        lock(&self.inner.bucket).configure(rate, burst);
    }

    pub(crate) fn take_token(&self, now: Instant) -> Result<(), u64> {
        lock(&self.inner.bucket).take(now)
    }

    pub(crate) fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// Hands page changes to the webhook subscriptions (after the store lock is released).
    pub(crate) fn emit(&self, changes: Vec<PageChange>) {
        for change in changes {
            self.inner.webhooks.emit(&change);
        }
    }
}

fn starting_store(options: &Options) -> Result<Store, SeedError> {
    let created = now();
    let mut store = Store::default();
    let hub_id = parse_id(AGENT_ACTIVITY_HUB).ok_or_else(|| SeedError("hub id".into()))?;
    let database_id =
        parse_id(AGENT_ACTIVITY_HUB_DATABASE).ok_or_else(|| SeedError("hub database id".into()))?;
    store.add_data_source(
        agent_activity_hub(hub_id, database_id, created),
        "Agent Activity Hub",
    );
    for value in &options.seed {
        let seed = parse_seed(value, created).map_err(SeedError)?;
        let title = seed
            .database
            .map_or_else(|| seed.source.name.clone(), |(_, title)| title);
        store.add_data_source(seed.source, &title);
    }
    Ok(store)
}

/// The whole HTTP surface: `/v1/`, `/_emulator/...` and the browser view at `/`.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route("/", get(view::index))
        .route("/_emulator/snapshot", get(view::snapshot))
        .route(
            "/_emulator/faults",
            post(control::set_faults).delete(control::clear_faults),
        )
        .route("/_emulator/rate-limit", post(control::rate_limit))
        .route("/_emulator/stats", get(control::stats))
        .route("/_emulator/reset", post(control::reset))
        .route(
            "/_emulator/subscriptions",
            post(control::subscribe).get(control::subscriptions),
        )
        .route("/_emulator/pages/{id}", patch(control::edit_page))
        .fallback(api::handle)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One structured log line per request.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let request_id = response
        .headers()
        .get("x-notion-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info!(
        target: "notion_emulator::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        request_id = %request_id,
        "request"
    );
    response
}

/// Starts emulators.
pub struct Emulator;

impl Emulator {
    /// Binds `addr` (port 0 picks a free port) and serves until [`RunningEmulator::shutdown`].
    pub async fn start(addr: SocketAddr, options: Options) -> io::Result<RunningEmulator> {
        let state = EmulatorState::new(&options)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningEmulator {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// An emulator serving in the background; dropping it stops it too.
pub struct RunningEmulator {
    addr: SocketAddr,
    state: EmulatorState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give an SDK (`http://127.0.0.1:PORT`, no trailing slash, no `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its state, to inspect or reset from a test.
    pub fn state(&self) -> &EmulatorState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(joined) => joined.map_err(io::Error::other)?,
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
