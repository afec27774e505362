//! The wasmtime engine and the compiled-component cache.
//!
//! Components are compiled once per process and their machine code kept on disk (keyed by the
//! wasm's SHA-256 and the engine's compatibility hash), so a restart loads them in milliseconds
//! instead of recompiling. Instances come from a pooling allocator: per-request instantiation is
//! a few microseconds of copy-on-write setup.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::HostError;

/// How often the epoch advances: the granularity of request deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(100);

/// Builds the engine: async (wasi-http), component model, epoch deadlines, pooling instances.
pub fn new_engine(max_instances: u32) -> Result<Engine, HostError> {
    let mut config = base_config();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances)
        .total_core_instances(max_instances * 4)
        .total_memories(max_instances * 2)
        .total_tables(max_instances * 4)
        .max_memory_size(256 << 20);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        // Some sandboxes refuse the pool's virtual memory reservation: fall back to on-demand
        // allocation, which is slower to instantiate but otherwise identical.
        Err(e) => {
            tracing::warn!("pooling allocator unavailable ({e}); using on-demand allocation");
            Engine::new(&base_config()).map_err(|e| HostError::Engine(e.to_string()))
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] until the engine is dropped.
pub fn start_epoch_ticker(engine: &Arc<Engine>) {
    let weak: Weak<Engine> = Arc::downgrade(engine);
    std::thread::Builder::new()
        .name("nexus-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// Loads a component, from the compiled cache when it holds this exact wasm.
pub fn load_component(
    engine: &Engine,
    source: &Path,
    cache_dir: Option<&Path>,
) -> Result<Component, HostError> {
    let wasm = std::fs::read(source).map_err(|e| {
        HostError::Component(format!(
            "cannot read {}: {e} (build the components first: `cargo xtask build`)",
            source.display()
        ))
    })?;
    let Some(cache_dir) = cache_dir else {
        return compile(engine, &wasm, source);
    };
    let cached = cache_path(engine, &wasm, cache_dir);
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine with the same
        // compatibility hash (part of its name), in a folder only this tool writes.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!("ignoring unusable cache entry {}: {e}", cached.display()),
        }
    }
    let component = compile(engine, &wasm, source)?;
    if let Ok(bytes) = component.serialize() {
        // Write then rename, so a concurrent reader never sees half a file.
        let _ = std::fs::create_dir_all(cache_dir);
        let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
    }
    Ok(component)
}

fn compile(engine: &Engine, wasm: &[u8], source: &Path) -> Result<Component, HostError> {
    Component::new(engine, wasm)
        .map_err(|e| HostError::Component(format!("cannot compile {}: {e}", source.display())))
}

fn cache_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = Sha256::digest(wasm);
    let name: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}-{:016x}.cwasm", hasher.finish()))
}
