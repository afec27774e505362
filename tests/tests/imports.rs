//! CONTRACT 9: every built component of this project imports only the interfaces listed there,
//! and exports what its kind needs (`wasi:http/incoming-handler@0.2.x` for an HTTP component,
//! `wasi:cli/run@0.2.x` for the queue processor), so it runs on any Spin from 3.0.

use std::path::PathBuf;

use nexus_host::{
    Kind, allowed_import, check_imports, component_imports, load_component, new_engine,
};
use nexus_tests::{component_path, root};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The components of this project: the crates under `components/` (CONTRACT 1) and the ones
/// CONTRACT 1 names, as `<crate name with underscores>.wasm`, with whether each must be built.
fn project_components() -> Vec<(String, bool)> {
    let mut names: Vec<(String, bool)> = vec![
        ("notion_webhook.wasm".into(), true),
        ("notion_events.wasm".into(), false),
        ("queue_processor.wasm".into(), false),
    ];
    for entry in std::fs::read_dir(root().join("components"))
        .unwrap()
        .flatten()
    {
        if entry.path().join("Cargo.toml").exists() {
            let file = format!(
                "{}.wasm",
                entry.file_name().to_string_lossy().replace('-', "_")
            );
            if !names.iter().any(|(n, _)| *n == file) {
                names.push((file, false));
            }
        }
    }
    names
}

fn exports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

#[test]
fn every_built_component_imports_only_contract_9_interfaces() {
    let engine = new_engine(4).expect("engine");
    let cache = root().join("target/nexus-host-cache");
    let mut checked = Vec::new();
    for (file, required) in project_components() {
        let path: PathBuf = if required {
            component_path(&file)
        } else {
            let path = root().join("target/wasm32-wasip2/release").join(&file);
            if !path.exists() {
                eprintln!("{file}: not built, skipped");
                continue;
            }
            path
        };
        let component = load_component(&engine, &path, Some(&cache)).expect("a component");
        let exported = exports(&engine, &component);
        let http = exported
            .iter()
            .any(|e| e.starts_with("wasi:http/incoming-handler@0.2."));
        let command = exported.iter().any(|e| e.starts_with("wasi:cli/run@0.2."));
        let kind = match (http, command) {
            (true, false) => Kind::Http,
            (false, true) => Kind::Command,
            _ => panic!("{file} exports {exported:?}: neither an HTTP component nor a command"),
        };
        if file == "queue_processor.wasm" {
            assert_eq!(
                kind,
                Kind::Command,
                "the queue processor is a wasi:cli command"
            );
        } else {
            assert_eq!(kind, Kind::Http, "{file} is an HTTP component");
        }
        let imports = component_imports(&engine, &component);
        let outside: Vec<&String> = imports
            .iter()
            .filter(|i| !allowed_import(i, kind))
            .collect();
        assert!(
            outside.is_empty(),
            "{file} imports outside CONTRACT 9: {outside:?}"
        );
        check_imports(&engine, &component, &file, kind).expect("the host's own check agrees");
        // WASI 0.2 only: no 0.3 (p3) interface slips in under an allowed prefix.
        for import in &imports {
            let version = import.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
            assert!(
                version.starts_with("0.2."),
                "{file}: {import} is not a WASI 0.2 interface"
            );
        }
        checked.push(file);
    }
    assert!(checked.contains(&"notion_webhook.wasm".to_string()));
}

#[test]
fn the_webhook_component_is_a_wasi_0_2_http_handler_with_its_state_and_variables() {
    let engine = new_engine(4).expect("engine");
    let path = component_path("notion_webhook.wasm");
    let component = load_component(
        &engine,
        &path,
        Some(&root().join("target/nexus-host-cache")),
    )
    .unwrap();
    let exported = exports(&engine, &component);
    assert!(
        exported
            .iter()
            .any(|e| e.starts_with("wasi:http/incoming-handler@0.2.")),
        "exports: {exported:?}"
    );
    let imports = component_imports(&engine, &component);
    // Variables through wasi:config and state through wasi:keyvalue, in the drafts Spin ships.
    for needed in [
        "wasi:config/store@0.2.0-draft-2024-09-27",
        "wasi:keyvalue/store@0.2.0-draft2",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
    for banned in [
        "fermyon:",
        "spin:",
        "wasi:sockets/",
        "wasi:filesystem/",
        "wasi:http/incoming-handler",
    ] {
        assert!(
            !imports.iter().any(|i| i.starts_with(banned)),
            "{banned} in {imports:?}"
        );
    }
    // The rule itself refuses what CONTRACT 9 leaves out.
    for outside in [
        "wasi:sockets/tcp@0.2.6",
        "fermyon:spin/variables@2.0.0",
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:config/runtime@0.2.0-draft",
        "wasi:filesystem/types@0.2.6",
        "wasi:http/types@0.3.0-rc-2025-09-16",
    ] {
        assert!(
            !allowed_import(outside, Kind::Http),
            "{outside} would be allowed"
        );
    }
    assert!(allowed_import("wasi:filesystem/types@0.2.6", Kind::Command));
}
