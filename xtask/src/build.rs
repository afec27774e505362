//! Building the components and running the tests, installing what a fresh machine lacks.

use std::process::Command;

use anyhow::{Context, bail};

use crate::root;

const TARGET: &str = "wasm32-wasip2";

/// How the queue processor (`components/queue-processor`) is built.
const QUEUE_PROCESSOR_BUILD: &str =
    "cargo build --target wasm32-wasip2 --release -p queue-processor";

/// Adds the wasm32-wasip2 target when the toolchain lacks it (`RUSTUP_AUTO_INSTALL=0` machines
/// install nothing on their own).
pub fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running `rustup target list` (is rustup installed?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: installing the {TARGET} target");
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// Builds every component: the build commands of spin.toml, as `spin build` runs them.
pub fn components() -> anyhow::Result<()> {
    ensure_target()?;
    let manifest = nexus_host::manifest::Manifest::from_file(&root().join("spin.toml"))?;
    let mut commands: Vec<String> = Vec::new();
    let text = std::fs::read_to_string(root().join("spin.toml"))?;
    for id in manifest.components.keys() {
        if let Some(command) = build_command(&text, id)
            && !commands.contains(&command)
        {
            commands.push(command);
        }
    }
    // The queue processor is a `wasi:cli` command, not an HTTP route: spin.toml does not list
    // it, but it is built with the rest.
    commands.push(QUEUE_PROCESSOR_BUILD.to_string());
    for command in commands {
        eprintln!("xtask: {command}");
        run(Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(root()))?;
    }
    Ok(())
}

/// `[component.<id>.build].command` of the manifest text.
fn build_command(manifest: &str, id: &str) -> Option<String> {
    let value: toml::Value = toml::from_str(manifest).ok()?;
    value
        .get("component")?
        .get(id)?
        .get("build")?
        .get("command")?
        .as_str()
        .map(str::to_string)
}

/// Installs the test tools, builds the components and runs every test.
pub fn test(cargo_args: &[String]) -> anyhow::Result<()> {
    components()?;
    ensure_python_sdk();
    let mut cargo = Command::new(env!("CARGO"));
    // The workspace's default members: every native crate. The components (and the bench's own
    // wasm crates) build for wasm32-wasip2 only and were built above.
    cargo.arg("test").current_dir(root());
    if !cargo_args.is_empty() {
        cargo.arg("--").args(cargo_args);
    }
    run(&mut cargo)
}

/// The emulator's fidelity test drives it with Notion's official Python SDK.
fn ensure_python_sdk() {
    let has_sdk = Command::new("python3")
        .args(["-c", "import notion_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_sdk {
        return;
    }
    eprintln!("xtask: installing notion-client (Notion's Python SDK) for the emulator's tests");
    let installed = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "notion-client",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("xtask: could not install notion-client; the SDK test will say so");
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
