//! The core's per-event work, natively: verify + validate + map one typical event.
//!
//! `cargo bench -p nexus-core --bench event` (criterion). `cargo xtask bench` runs it with
//! `--quick` and sets it beside the same work timed inside a WebAssembly component (the
//! fixture is shared: `event_fixture.rs`).

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "fixture/event.rs"]
mod event_fixture;

fn verify_validate_map(c: &mut Criterion) {
    let fixture = event_fixture::Fixture::new();
    c.bench_function("verify_validate_map", |b| {
        b.iter(|| event_fixture::verify_validate_map(std::hint::black_box(&fixture)))
    });
}

criterion_group!(benches, verify_validate_map);
criterion_main!(benches);
