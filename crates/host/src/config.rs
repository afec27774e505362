//! `wasi:config/store@0.2.0-draft-2024-09-27`: a component's variables.
//!
//! A component sees only the variables its `[component.x.variables]` table declares, already
//! rendered from the application's variables (as Spin's variables factor does).

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::bindings::wasi::config::store;

/// The variables one component sees.
pub struct ConfigView<'a> {
    /// Name -> value.
    pub values: &'a Arc<HashMap<String, String>>,
}

impl store::Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self.values.get(&key).cloned()))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        Ok(Ok(self
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()))
    }
}

struct HasConfig;

impl HasData for HasConfig {
    type Data<'a> = ConfigView<'a>;
}

/// Adds `wasi:config/store` to `linker`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> ConfigView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasConfig>(linker, view)
}
