//! What one request's store holds: the WASI context, wasi-http, variables and key-value views.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config::ConfigView;
use crate::keyvalue::{KeyValue, KeyValueView};
use crate::outbound::OutboundHooks;

/// The data of one store (one request, or one command run).
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) hooks: OutboundHooks,
    pub(crate) config: Arc<HashMap<String, String>>,
    pub(crate) kv: KeyValue,
    pub(crate) kv_allowed: Arc<[String]>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl HostState {
    pub(crate) fn config_view(&mut self) -> ConfigView<'_> {
        ConfigView {
            values: &self.config,
        }
    }

    pub(crate) fn kv_view(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            kv: &self.kv,
            allowed: &self.kv_allowed,
            table: &mut self.table,
        }
    }
}
