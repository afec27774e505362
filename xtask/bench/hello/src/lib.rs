//! Bench only: a hello-world `wasi:http/incoming-handler` component.
//!
//! `cargo xtask bench` serves this one file with the embedded host (through
//! `xtask/bench/spin.toml`) and with `wasmtime serve -S cli`, and compares their throughput: the
//! component does as little as possible so the figure is the host's own cost per request.

use std::io::Write as _;

use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(Hello);

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = Fields::from_list(&[("content-type".to_string(), b"text/plain".to_vec())])
            .unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(mut out) = body.write() {
            let _ = out.write_all(b"Hello, nexus-sync!\n");
            let _ = out.flush();
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
