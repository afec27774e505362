//! Host bindings for the draft interfaces Spin ships (`wit/deps`), generated from `wit/`.
//!
//! wasmtime's own `wasmtime-wasi-config` and `wasmtime-wasi-keyvalue` implement other draft
//! versions that do not link with components built for Spin, so these are bound here.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "nexus:platform/edge",
    imports: { default: trappable },
    with: {
        "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
        "wasi:keyvalue/atomics.cas": crate::keyvalue::Cas,
    },
});
