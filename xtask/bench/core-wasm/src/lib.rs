//! Bench only: the core's per-event work (verify the signature, validate the event, map it onto
//! the data source's properties) timed inside a WebAssembly component.
//!
//! `GET /core?iterations=N` runs that work N times on the fixture the native criterion bench
//! uses (`crates/core/benches/fixture/event.rs`, compiled into both), timed with the component's
//! own monotonic clock (`wasi:clocks`) around the loop only, so neither instantiation nor HTTP
//! is in the figure. It answers `{"iterations":N,"nanosPerEvent":x,"firstNanos":y}` (`firstNanos`:
//! the first event alone, in a fresh instance).

use std::io::Write as _;
use std::time::Instant;

use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

#[path = "../../../../crates/core/benches/fixture/event.rs"]
mod event_fixture;

wasip2::http::proxy::export!(CoreBench);

struct CoreBench;

const MAX_ITERATIONS: u64 = 1_000_000;

impl wasip2::exports::http::incoming_handler::Guest for CoreBench {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let iterations = request
            .path_with_query()
            .and_then(|p| {
                p.split_once("iterations=")
                    .and_then(|(_, n)| n.split('&').next().and_then(|n| n.parse::<u64>().ok()))
            })
            .unwrap_or(1_000)
            .clamp(1, MAX_ITERATIONS);
        let fixture = event_fixture::Fixture::new();
        let started = Instant::now();
        std::hint::black_box(event_fixture::verify_validate_map(&fixture));
        let first = started.elapsed();
        let started = Instant::now();
        for _ in 0..iterations {
            std::hint::black_box(event_fixture::verify_validate_map(std::hint::black_box(
                &fixture,
            )));
        }
        let per_event = started.elapsed().as_nanos() as f64 / iterations as f64;
        let text = serde_json::json!({
            "iterations": iterations,
            "nanosPerEvent": per_event,
            "firstNanos": first.as_nanos() as u64,
        })
        .to_string();
        respond(response_out, text.as_bytes());
    }
}

fn respond(out: ResponseOutparam, bytes: &[u8]) {
    let headers = Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())])
        .unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let Ok(body) = response.body() else { return };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(mut stream) = body.write() {
        // Blocking writes go in pieces of at most 4096 bytes; the answer is far smaller.
        let _ = stream.write_all(bytes);
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(body, None);
}
