//! Variables through `wasi:config/store` (Spin backs it with the component's `variables`).

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "nexus:platform/edge",
        generate_all,
    });
}

pub(crate) use bindings::wasi::keyvalue;

/// A variable's value; an unset variable and a failing provider both read as absent, which the
/// core reports as a missing variable by name.
pub fn get(name: &str) -> Option<String> {
    bindings::wasi::config::store::get(name).ok().flatten()
}
