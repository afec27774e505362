//! `wasi:cli/run` commands (the queue processor) with least authority.
//!
//! A command gets exactly what its [`CommandOptions`] grant: the arguments and environment
//! variables listed (nothing inherited), the folders listed (read-write, nothing else of the file
//! system), outbound HTTP to the origins listed (an [`AllowedHosts`] list, enforced as for HTTP
//! components: anything else fails with `HttpRequestDenied` before a connection is made), and
//! stdout/stderr inherited, discarded or streamed to the caller. No sockets, no config or
//! key-value stores. The run returns the command's exit status and the peak size of its linear
//! memory.
//!
//! ```no_run
//! # async fn run() -> Result<(), nexus_host::HostError> {
//! use nexus_host::{CommandOptions, CommandRunner, Output};
//! let runner = CommandRunner::load("target/wasm32-wasip2/release/queue_processor.wasm".as_ref(), None)?;
//! let mut options = CommandOptions::default();
//! options.preopens.push(("./.claude/data".into(), "/queue".into()));
//! options.allowed_outbound_hosts.push("http://127.0.0.1:3000".into());
//! options.stdout = Output::Inherit;
//! let outcome = runner.run(options).await?;
//! println!("exit {}", outcome.exit_code);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use tokio::sync::mpsc::UnboundedSender;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::HostError;
use crate::outbound::{AllowedHosts, OutboundHooks};
use crate::wasi::{Kind, add_to_linker, allowed_import};

/// Where a command's stdout or stderr goes.
#[derive(Debug, Default)]
pub enum Output {
    /// Discarded.
    #[default]
    Null,
    /// The host process's own stream.
    Inherit,
    /// Each write, as bytes, to this channel (the receiver splits lines).
    Channel(UnboundedSender<Vec<u8>>),
}

/// What a command run is granted.
#[derive(Debug, Default)]
pub struct CommandOptions {
    /// `argv`, the program name first.
    pub args: Vec<String>,
    /// Environment variables: only these.
    pub env: Vec<(String, String)>,
    /// Folders: (host path, guest path), read-write.
    pub preopens: Vec<(PathBuf, String)>,
    /// Outbound HTTP origins (`scheme://host[:port]`, `*` wildcards as in `spin.toml`).
    pub allowed_outbound_hosts: Vec<String>,
    /// stdout.
    pub stdout: Output,
    /// stderr.
    pub stderr: Output,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The exit status: 0 for a normal return, the code given to `exit`, 1 for `run` returning
    /// an error.
    pub exit_code: i32,
    /// The largest linear memory the command reached, in bytes.
    pub peak_memory_bytes: u64,
}

/// A compiled command, ready to run any number of times.
pub struct CommandRunner {
    engine: Arc<Engine>,
    component: Component,
    linker: Linker<CommandState>,
}

impl CommandRunner {
    /// Loads and links the command at `path` (compiled machine code cached in `cache_dir`). Fails
    /// if it imports anything outside CONTRACT 9's list for commands.
    pub fn load(path: &Path, cache_dir: Option<&Path>) -> Result<CommandRunner, HostError> {
        let engine = Arc::new(crate::engine::new_engine(8)?);
        crate::engine::start_epoch_ticker(&engine);
        let component = crate::engine::load_component(&engine, path, cache_dir)?;
        let ty = component.component_type();
        for (name, _) in ty.imports(&engine) {
            if !allowed_import(name, Kind::Command) {
                return Err(HostError::Component(format!(
                    "{} imports {name}, which a command may not use (CONTRACT 9)",
                    path.display()
                )));
            }
        }
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, Kind::Command)
            .map_err(|e| HostError::Component(format!("linking: {e}")))?;
        Ok(CommandRunner {
            engine,
            component,
            linker,
        })
    }

    /// Runs the command once with `options`' grants and waits for it to end. Dropping the
    /// future stops the command where it is (as a kill would).
    pub async fn run(&self, options: CommandOptions) -> Result<CommandOutcome, HostError> {
        let mut wasi = WasiCtx::builder();
        wasi.args(&options.args);
        for (k, v) in &options.env {
            wasi.env(k, v);
        }
        for (host, guest) in &options.preopens {
            wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
                .map_err(|e| {
                    HostError::Component(format!("cannot grant {}: {e}", host.display()))
                })?;
        }
        match options.stdout {
            Output::Null => {}
            Output::Inherit => {
                wasi.inherit_stdout();
            }
            Output::Channel(tx) => {
                wasi.stdout(ChannelOutput(tx));
            }
        }
        match options.stderr {
            Output::Null => {}
            Output::Inherit => {
                wasi.inherit_stderr();
            }
            Output::Channel(tx) => {
                wasi.stderr(ChannelOutput(tx));
            }
        }
        let allowed = AllowedHosts::parse(&options.allowed_outbound_hosts)?;
        let state = CommandState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                allowed: Arc::new(allowed),
                component: Arc::from("command"),
            },
            memory: PeakMemory::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        // Yield to the runtime every epoch tick: a long drain never starves other tasks.
        store.epoch_deadline_async_yield_and_update(1);
        let command = Command::instantiate_async(&mut store, &self.component, &self.linker)
            .await
            .map_err(|e| HostError::Component(format!("instantiating the command: {e}")))?;
        let result = command.wasi_cli_run().call_run(&mut store).await;
        let exit_code = match result {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(HostError::Component(format!("the command trapped: {e:?}"))),
            },
        };
        Ok(CommandOutcome {
            exit_code,
            peak_memory_bytes: store.data().memory.peak as u64,
        })
    }
}

/// What a command's store holds.
struct CommandState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    memory: PeakMemory,
}

impl WasiView for CommandState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CommandState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Records the largest linear memory the guest asks for; refuses nothing.
#[derive(Default)]
struct PeakMemory {
    peak: usize,
}

impl ResourceLimiter for PeakMemory {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.peak = self.peak.max(current).max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// stdout/stderr as a channel of byte chunks.
struct ChannelOutput(UnboundedSender<Vec<u8>>);

impl IsTerminal for ChannelOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ChannelOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(ChannelWriter(self.0.clone()))
    }
}

struct ChannelWriter(UnboundedSender<Vec<u8>>);

impl AsyncWrite for ChannelWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // A receiver that went away discards the output; the command runs on.
        let _ = self.0.send(buf.to_vec());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
