//! The WASI 0.2 interfaces the host gives components: exactly those of CONTRACT 9.
//!
//! `wasi:cli/*`, `wasi:io/*`, `wasi:clocks/*`, `wasi:random/*` for every component,
//! `wasi:filesystem/*` only for command components (the queue processor), and `wasi:http`
//! `types` and `outgoing-handler`. No sockets: a component reaches the network through
//! `wasi:http` and its allow-list only.

use wasmtime::component::Linker;
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::{cli, filesystem, random};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi_http::WasiHttpView;

/// Which component kind the linker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP component (`wasi:http/incoming-handler`).
    Http,
    /// A `wasi:cli/run` command (the queue processor): also gets `wasi:filesystem`.
    Command,
}

/// Adds the allowed WASI interfaces to `linker`.
pub fn add_to_linker<T: WasiView + WasiHttpView + 'static>(
    linker: &mut Linker<T>,
    kind: Kind,
) -> wasmtime::Result<()> {
    // io, wall and monotonic clocks, random, stdin/stdout/stderr.
    wasmtime_wasi::p2::add_to_linker_proxy_interfaces_async(linker)?;
    let l = linker;
    random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    // Rust's std imports these in every wasm32-wasip2 component.
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    if kind == Kind::Command {
        filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
        filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    }
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    Ok(())
}

/// Import name prefixes a component may have (CONTRACT 9). The test of every built component
/// and the host's load-time check both use this list.
pub fn allowed_import(name: &str, kind: Kind) -> bool {
    const COMMON: &[&str] = &[
        "wasi:cli/",
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/",
        "wasi:http/types@0.2.",
        "wasi:http/outgoing-handler@0.2.",
        "wasi:config/store@0.2.0-draft-2024-09-27",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:keyvalue/batch@0.2.0-draft2",
    ];
    COMMON.iter().any(|p| name.starts_with(p))
        || (kind == Kind::Command && name.starts_with("wasi:filesystem/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystem_is_for_commands_only() {
        assert!(allowed_import("wasi:filesystem/types@0.2.6", Kind::Command));
        assert!(!allowed_import("wasi:filesystem/types@0.2.6", Kind::Http));
        assert!(!allowed_import("wasi:sockets/tcp@0.2.6", Kind::Command));
        assert!(!allowed_import("fermyon:spin/variables@2.0.0", Kind::Http));
        assert!(!allowed_import(
            "wasi:http/incoming-handler@0.2.0",
            Kind::Http
        ));
        assert!(allowed_import(
            "wasi:http/outgoing-handler@0.2.6",
            Kind::Http
        ));
        assert!(!allowed_import("wasi:config/store@0.2.0-rc.1", Kind::Http));
    }
}
