//! `cargo xtask up`: serve `spin.toml` on loopback, as `spin up` would, with the Notion
//! emulator unless real Notion is configured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use nexus_host::variables::env_name;
use nexus_host::{App, AppOptions, KvLocation, LogSink, Server, VariableSource};

use crate::{build, root};

/// Flags of `cargo xtask up`.
#[derive(clap::Args)]
pub struct UpArgs {
    /// Address to serve the application's routes on.
    #[arg(long, default_value = "127.0.0.1:3000", value_name = "ADDR")]
    listen: SocketAddr,
    /// Address of the bundled Notion emulator (not started when real Notion is configured).
    #[arg(long, default_value = "127.0.0.1:3001", value_name = "ADDR")]
    emulator_listen: SocketAddr,
    /// Serve the components as they are, without building them first.
    #[arg(long)]
    no_build: bool,
}

const SECRET_FILE: &str = ".spin/dev-webhook-secret";

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    if !args.no_build {
        build::components()?;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(args))
}

async fn serve(args: UpArgs) -> anyhow::Result<()> {
    let root = root();
    let mut variables = environment_variables();
    let emulator = match (
        variables.contains_key("notionapikey"),
        variables.contains_key("notiondatasource"),
    ) {
        (true, true) => None,
        (false, false) => {
            let emulator =
                notion_emulator::Emulator::start(args.emulator_listen, Default::default())
                    .await
                    .with_context(|| {
                        format!("starting the Notion emulator on {}", args.emulator_listen)
                    })?;
            variables.insert("notionapibase".into(), emulator.url());
            variables.insert("notionapikey".into(), notion_emulator::DEV_TOKEN.into());
            variables.insert(
                "notiondatasource".into(),
                notion_emulator::AGENT_ACTIVITY_HUB.into(),
            );
            Some(emulator)
        }
        _ => bail!(
            "set both {} and {} to use real Notion, or neither to use the emulator",
            env_name("notionapikey"),
            env_name("notiondatasource")
        ),
    };
    if !variables.contains_key("webhooksecret") {
        variables.insert("webhooksecret".into(), development_secret(&root)?);
    }
    let mut options = AppOptions::new(root.join("spin.toml"));
    options.variables = VariableSource::Map(variables);
    options.kv = KvLocation::Dir(root.join(".spin"));
    options.log = LogSink::Stdout;
    let app = Arc::new(App::load(options)?);
    let server = Server::start(app.clone(), args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    print_urls(&server, &app, emulator.as_ref());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("\nstopping: finishing requests in flight");
    server.shutdown().await;
    if let Some(emulator) = emulator {
        emulator.shutdown().await?;
    }
    Ok(())
}

/// `SPIN_VARIABLE_<NAME>` for every variable of the manifest, as Spin's environment provider
/// reads them.
fn environment_variables() -> HashMap<String, String> {
    let text = std::fs::read_to_string(root().join("spin.toml")).unwrap_or_default();
    let manifest = nexus_host::manifest::Manifest::parse(&text, Path::new("."));
    let names: Vec<String> = manifest
        .map(|m| m.variables.keys().cloned().collect())
        .unwrap_or_default();
    names
        .into_iter()
        .filter_map(|name| {
            std::env::var(env_name(&name))
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (name, v))
        })
        .collect()
}

/// The development secret under `.spin/`, made (and printed, that once) when missing. A secret
/// given through the environment never reaches this function, so it is never printed.
fn development_secret(root: &Path) -> anyhow::Result<String> {
    let path = root.join(SECRET_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        eprintln!("Using the development webhook secret in {SECRET_FILE}");
        return Ok(text.trim().to_string());
    }
    let secret = nexus_core::Secret::generate_text(&rand::random());
    std::fs::create_dir_all(path.parent().expect("a file has a folder"))?;
    write_private(&path, &secret)?;
    eprintln!("Generated a development webhook secret, kept in {SECRET_FILE} (shown this once):");
    eprintln!("  {secret}");
    eprintln!("  export NEXUS_WEBHOOK_SECRET='{secret}'   # for the nexus hook");
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn print_urls(server: &Server, app: &App, emulator: Option<&notion_emulator::RunningEmulator>) {
    let base = format!("http://{}", server.addr());
    eprintln!("nexus-sync is serving {} on {base}", app.manifest().name);
    for trigger in &app.manifest().http_triggers {
        eprintln!(
            "  {base}{}  ({})",
            trigger.route.as_manifest_text(),
            trigger.component
        );
    }
    match emulator {
        Some(e) => eprintln!(
            "Notion emulator: {}  (browser view: {}/, token {}, data source {})",
            e.url(),
            e.url(),
            notion_emulator::DEV_TOKEN,
            notion_emulator::AGENT_ACTIVITY_HUB
        ),
        None => eprintln!(
            "Notion: {}",
            app.variables()
                .get("notionapibase")
                .unwrap_or("https://api.notion.com")
        ),
    }
    eprintln!("Request logs: one JSON line each on stdout. Ctrl-C to stop.");
}
