//! A loaded application: its manifest, variables, key-value stores and pre-instantiated HTTP
//! components, and the handling of one request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

use crate::engine::{EPOCH_TICK, load_component, new_engine, start_epoch_ticker};
use crate::keyvalue::KeyValue;
use crate::manifest::{ComponentDecl, Manifest};
use crate::outbound::{AllowedHosts, OutboundHooks};
use crate::request_log::{LogSink, RequestRecord, now_rfc3339};
use crate::state::HostState;
use crate::variables::{VariableSource, Variables};
use crate::wasi::{self, Kind};
use crate::{HostError, config, keyvalue};

/// Where the key-value stores live.
#[derive(Debug, Clone)]
pub enum KvLocation {
    /// `<dir>/sqlite_key_value.db`, Spin's default store file (`dir` is usually `.spin`).
    Dir(PathBuf),
    /// In memory, gone when the host stops.
    Memory,
}

/// How to load an application.
#[derive(Clone)]
pub struct AppOptions {
    /// The `spin.toml` to serve.
    pub manifest: PathBuf,
    /// Variable values.
    pub variables: VariableSource,
    /// Key-value stores.
    pub kv: KvLocation,
    /// Folder for compiled components (None: compile every start).
    pub cache_dir: Option<PathBuf>,
    /// Request log lines.
    pub log: LogSink,
    /// A request whose component runs longer is stopped and answered 500.
    pub request_timeout: Duration,
    /// Most requests in flight at once (the instance pool's size).
    pub max_instances: u32,
}

impl AppOptions {
    /// Defaults for `manifest`: variables from the environment, state under `.spin/` beside it.
    pub fn new(manifest: impl Into<PathBuf>) -> AppOptions {
        let manifest = manifest.into();
        let base = manifest.parent().map(PathBuf::from).unwrap_or_default();
        AppOptions {
            kv: KvLocation::Dir(base.join(".spin")),
            cache_dir: Some(base.join("target").join("nexus-host-cache")),
            manifest,
            variables: VariableSource::Environment,
            log: LogSink::Stdout,
            request_timeout: Duration::from_secs(60),
            max_instances: 128,
        }
    }
}

struct HttpComponent {
    id: Arc<str>,
    pre: ProxyPre<HostState>,
    config: Arc<HashMap<String, String>>,
    allowed: Arc<AllowedHosts>,
    kv_stores: Arc<[String]>,
    environment: Vec<(String, String)>,
    served: AtomicBool,
}

/// A loaded application, ready to serve.
pub struct App {
    engine: Arc<Engine>,
    manifest: Manifest,
    variables: Variables,
    components: HashMap<String, HttpComponent>,
    kv: KeyValue,
    log: LogSink,
    request_timeout: Duration,
}

/// The response body type the host sends.
pub type ResponseBody = HyperOutgoingBody;

impl App {
    /// Reads the manifest, resolves variables, opens the stores and compiles every HTTP
    /// component (checking its imports against CONTRACT 9).
    pub fn load(options: AppOptions) -> Result<App, HostError> {
        let manifest = Manifest::from_file(&options.manifest)?;
        let variables = Variables::resolve(&manifest, &options.variables)?;
        let engine = Arc::new(new_engine(options.max_instances)?);
        start_epoch_ticker(&engine);
        let kv = match &options.kv {
            KvLocation::Dir(dir) => KeyValue::open(&dir.join("sqlite_key_value.db"))?,
            KvLocation::Memory => KeyValue::in_memory()?,
        };
        let mut linker = Linker::<HostState>::new(&engine);
        link(&mut linker, Kind::Http).map_err(|e| HostError::Engine(e.to_string()))?;
        let mut components = HashMap::new();
        for trigger in &manifest.http_triggers {
            if components.contains_key(&trigger.component) {
                continue;
            }
            let decl = &manifest.components[&trigger.component];
            let loaded = load_http_component(
                &engine,
                &linker,
                decl,
                &variables,
                options.cache_dir.as_deref(),
            )?;
            components.insert(trigger.component.clone(), loaded);
        }
        Ok(App {
            engine,
            manifest,
            variables,
            components,
            kv,
            log: options.log,
            request_timeout: options.request_timeout,
        })
    }

    /// The loaded manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The resolved application variables.
    pub fn variables(&self) -> &Variables {
        &self.variables
    }

    /// The application's key-value stores (tests inspect them).
    pub fn key_value(&self) -> &KeyValue {
        &self.kv
    }

    /// The engine (shared with command runs).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Serves one request: routes it, instantiates the component and runs its handler.
    pub async fn handle<B>(
        &self,
        req: hyper::Request<B>,
        client: Option<std::net::SocketAddr>,
    ) -> hyper::Response<ResponseBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let arrived = Instant::now();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let Some(trigger) = self.manifest.route(&path) else {
            self.log_request(
                &method,
                &path,
                None,
                None,
                404,
                arrived,
                Duration::ZERO,
                false,
            );
            return plain_response(404, "Not Found");
        };
        let component = &self.components[&trigger.component];
        let route = trigger.route.as_manifest_text();
        let cold = !component.served.swap(true, Ordering::Relaxed);
        let req = add_spin_headers(req, &route, client);
        let instantiate_ns = Arc::new(AtomicU64::new(0));
        let (status, response, guest) = self.run(component, req, instantiate_ns.clone()).await;
        // The log line waits for the guest to finish (it may still stream the body).
        let log = self.log.clone();
        let id = component.id.clone();
        tokio::spawn(async move {
            if let Err(e) = guest
                .await
                .unwrap_or_else(|e| Err(wasmtime::Error::msg(e.to_string())))
            {
                tracing::error!(component = %id, "component failed: {e:?}");
            }
            let instantiate = Duration::from_nanos(instantiate_ns.load(Ordering::Relaxed));
            log.write(record(
                &method,
                &path,
                Some(route),
                Some(id.to_string()),
                status,
                arrived,
                instantiate,
                cold,
            ));
        });
        response
    }

    async fn run<B>(
        &self,
        component: &HttpComponent,
        req: hyper::Request<B>,
        instantiate_ns: Arc<AtomicU64>,
    ) -> (
        u16,
        hyper::Response<ResponseBody>,
        tokio::task::JoinHandle<wasmtime::Result<()>>,
    )
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let mut store = Store::new(&self.engine, self.state_for(component));
        let ticks = (self.request_timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .and_then(|req| Ok((req, store.data_mut().http().new_response_outparam(tx)?)));
        let (req, out) = match prepared {
            Ok(parts) => parts,
            Err(e) => {
                tracing::error!("cannot pass the request to the component: {e:?}");
                let done = tokio::spawn(async { Ok(()) });
                return (500, plain_response(500, "Internal Server Error"), done);
            }
        };
        let pre = component.pre.clone();
        let guest = tokio::spawn(async move {
            let started = Instant::now();
            let proxy = pre.instantiate_async(&mut store).await?;
            instantiate_ns.store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match rx.await {
            Ok(Ok(response)) => (response.status().as_u16(), response, guest),
            Ok(Err(code)) => {
                tracing::error!(component = %component.id, "component answered an error code: {code:?}");
                (500, plain_response(500, "Internal Server Error"), guest)
            }
            // The component trapped or returned without setting a response.
            Err(_) => (500, plain_response(500, "Internal Server Error"), guest),
        }
    }

    fn state_for(&self, component: &HttpComponent) -> HostState {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr();
        for (k, v) in &component.environment {
            wasi.env(k, v);
        }
        HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: wasmtime::component::ResourceTable::new(),
            hooks: OutboundHooks {
                allowed: component.allowed.clone(),
                component: component.id.clone(),
            },
            config: component.config.clone(),
            kv: self.kv.clone(),
            kv_allowed: component.kv_stores.clone(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log_request(
        &self,
        method: &str,
        path: &str,
        route: Option<String>,
        component: Option<String>,
        status: u16,
        arrived: Instant,
        instantiate: Duration,
        cold: bool,
    ) {
        self.log.write(record(
            method,
            path,
            route,
            component,
            status,
            arrived,
            instantiate,
            cold,
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    method: &str,
    path: &str,
    route: Option<String>,
    component: Option<String>,
    status: u16,
    arrived: Instant,
    instantiate: Duration,
    cold: bool,
) -> RequestRecord {
    RequestRecord {
        timestamp: now_rfc3339(),
        method: method.to_string(),
        path: path.to_string(),
        route,
        component,
        status,
        duration_ms: arrived.elapsed().as_secs_f64() * 1000.0,
        instantiate_ms: instantiate.as_secs_f64() * 1000.0,
        cold,
    }
}

/// Links every interface an HTTP component or a command may import.
pub(crate) fn link(linker: &mut Linker<HostState>, kind: Kind) -> wasmtime::Result<()> {
    wasi::add_to_linker(linker, kind)?;
    config::add_to_linker(linker, HostState::config_view)?;
    keyvalue::add_to_linker(linker, HostState::kv_view)
}

fn load_http_component(
    engine: &Engine,
    linker: &Linker<HostState>,
    decl: &ComponentDecl,
    variables: &Variables,
    cache_dir: Option<&std::path::Path>,
) -> Result<HttpComponent, HostError> {
    let component = load_component(engine, &decl.source, cache_dir)?;
    check_imports(engine, &component, &decl.id, Kind::Http)?;
    let config = variables.for_component(decl)?;
    let allowed = decl
        .allowed_outbound_hosts
        .iter()
        .map(|h| variables.render_for_component(&config, h))
        .collect::<Result<Vec<_>, _>>()?;
    let pre = linker
        .instantiate_pre(&component)
        .and_then(ProxyPre::new)
        .map_err(|e| HostError::Component(format!("component `{}`: {e}", decl.id)))?;
    Ok(HttpComponent {
        id: decl.id.as_str().into(),
        pre,
        config: Arc::new(config),
        allowed: Arc::new(AllowedHosts::parse(&allowed)?),
        kv_stores: decl.key_value_stores.clone().into(),
        environment: decl
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        served: AtomicBool::new(false),
    })
}

/// Refuses a component that imports anything outside CONTRACT 9.
pub fn check_imports(
    engine: &Engine,
    component: &Component,
    id: &str,
    kind: Kind,
) -> Result<(), HostError> {
    let bad: Vec<String> = component_imports(engine, component)
        .into_iter()
        .filter(|name| !wasi::allowed_import(name, kind))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(HostError::Component(format!(
            "component `{id}` imports interfaces outside CONTRACT 9: {}",
            bad.join(", ")
        )))
    }
}

/// The names of a component's imports.
pub fn component_imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Spin tells components how they were routed through these headers.
fn add_spin_headers<B>(
    mut req: hyper::Request<B>,
    route: &str,
    client: Option<std::net::SocketAddr>,
) -> hyper::Request<B> {
    let path = req.uri().path().to_string();
    let full_url = format!(
        "http://{}{}",
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost"),
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let base = route.trim_end_matches("/...");
    let path_info = if route.ends_with("/...") {
        path.strip_prefix(base).unwrap_or("").to_string()
    } else {
        String::new()
    };
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            req.headers_mut().insert(name, v);
        }
    };
    set("spin-full-url", full_url);
    set("spin-path-info", path_info);
    set("spin-matched-route", route.to_string());
    set("spin-raw-component-route", route.to_string());
    set("spin-component-route", base.to_string());
    set("spin-base-path", "/".to_string());
    if let Some(addr) = client {
        set("spin-client-addr", addr.to_string());
    }
    if req.uri().authority().is_none() {
        // wasi-http takes the request's authority from its URI: rebuild it from `Host`.
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        if let Ok(uri) = format!("http://{host}{pq}").parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// A host-made response (404, or 500 when a component fails before answering).
pub(crate) fn plain_response(status: u16, text: &'static str) -> hyper::Response<ResponseBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    hyper::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(body)
        .expect("static response parts are valid")
}
