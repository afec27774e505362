//! nexus-host: an embedded wasmtime host that serves a Spin application (`spin.toml`) without
//! Spin.
//!
//! It reads the manifest as Spin does (HTTP routes, component sources, variables with their
//! defaults and `required`/`secret`, `allowed_outbound_hosts`, key-value stores), compiles each
//! component once, instantiates one per request from an `InstancePre` in a pooling allocator,
//! and gives components exactly the interfaces of CONTRACT 9: WASI 0.2 cli/io/clocks/random,
//! `wasi:http`, `wasi:config/store@0.2.0-draft-2024-09-27` and
//! `wasi:keyvalue@0.2.0-draft2`. One module per interface.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let app = nexus_host::App::load(nexus_host::AppOptions::new("spin.toml"))?;
//! let server = nexus_host::Server::start(Arc::new(app), "127.0.0.1:3000".parse()?).await?;
//! println!("serving on http://{}", server.addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod app;
mod bindings;
mod command;
mod config;
mod engine;
mod keyvalue;
pub mod manifest;
mod outbound;
mod request_log;
mod server;
mod state;
pub mod variables;
mod wasi;

pub use app::{App, AppOptions, KvLocation, ResponseBody, check_imports, component_imports};
pub use command::{CommandOptions, CommandOutcome, CommandRunner, Output};
pub use engine::{load_component, new_engine};
pub use keyvalue::KeyValue;
pub use outbound::AllowedHosts;
pub use request_log::{LogSink, RequestRecord};
pub use server::Server;
pub use variables::VariableSource;
pub use wasi::{Kind, allowed_import};

/// Why the host could not load or serve an application. Messages name the file, variable or
/// component at fault and never hold a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `spin.toml` is missing, unreadable or invalid.
    #[error("manifest: {0}")]
    Manifest(String),
    /// A variable is missing or cannot be rendered.
    #[error("variables: {0}")]
    Variables(String),
    /// A component cannot be read, compiled or linked.
    #[error("{0}")]
    Component(String),
    /// The key-value store cannot be opened.
    #[error("key-value store: {0}")]
    KeyValue(String),
    /// The engine cannot be configured.
    #[error("engine: {0}")]
    Engine(String),
}
