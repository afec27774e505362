//! The official Python SDK (PyPI `notion-client`) against the emulator: proof that real SDK
//! requests pass its checks. Set NEXUS_SKIP_PYTHON=1 to skip where Python is unavailable.

mod common;

use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_roundtrip() {
    if std::env::var("NEXUS_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!("skipped: NEXUS_SKIP_PYTHON=1");
        return;
    }
    let importable = Command::new("python3")
        .args(["-c", "import notion_client"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        importable,
        "the official Notion SDK for Python is missing: run `pip install notion-client` (or set NEXUS_SKIP_PYTHON=1 to skip)"
    );
    let emulator = common::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_roundtrip.py");
    let url = emulator.url();
    let output =
        tokio::task::spawn_blocking(move || Command::new("python3").arg(script).arg(url).output())
            .await
            .unwrap()
            .expect("python3 runs");
    assert!(
        output.status.success(),
        "sdk_roundtrip.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("sdk roundtrip ok"));
}
