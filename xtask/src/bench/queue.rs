//! Queue append throughput: `nexus_queue::Queue::append` (lock, append, fsync) from 1, 8 and 32
//! writer threads at once on one queue, each append durable before it returns.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::load::{Latencies, ms};
use super::stack;
use super::{Context, Row};

const SECTION: &str = "queue";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    let event = stack::event("bench-queue-session", "Completed", &stack::event_id());
    for writers in [1usize, 8, 32] {
        let dir = ctx.scratch(&format!("queue-{writers}"))?;
        let queue = nexus_queue::Queue::open(dir.join("notion-sync-queue.jsonl"));
        // More writers append faster (their fsyncs share journal commits): more appends, so
        // every run lasts long enough to mean something. The deadline bounds it regardless.
        let total: usize = writers * ctx.pick(800, 200);
        let per_writer = total.div_ceil(writers);
        let deadline = Instant::now() + Duration::from_secs(ctx.pick(20, 5));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..writers {
                let (queue, event) = (&queue, &event);
                let (samples, errors) = (samples.clone(), errors.clone());
                scope.spawn(move || {
                    let mut mine = Vec::with_capacity(per_writer);
                    for _ in 0..per_writer {
                        if Instant::now() >= deadline {
                            break;
                        }
                        let t0 = Instant::now();
                        match queue.append(&stack::event_id(), event) {
                            Ok(_) => mine.push(t0.elapsed()),
                            Err(e) => {
                                errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                                break;
                            }
                        }
                    }
                    samples
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(mine);
                });
            }
        });
        let elapsed = started.elapsed();
        let samples = Latencies::new(std::mem::take(
            &mut *samples.lock().unwrap_or_else(|p| p.into_inner()),
        ));
        if let Some(e) = errors.lock().unwrap_or_else(|p| p.into_inner()).first() {
            bail!("append failed with {writers} writers: {e}");
        }
        // Every append that returned is on disk, once.
        let entries = queue.entries()?.len();
        if entries != samples.len() {
            bail!(
                "{writers} writers: {} appends returned but the queue holds {entries} entries",
                samples.len()
            );
        }
        let who = if writers == 1 {
            "1 writer".to_string()
        } else {
            format!("{writers} writers")
        };
        ctx.row(Row::info(
            SECTION,
            format!("append, {who} (threads)"),
            format!(
                "{:.0} appends/s ({} in {:.1} s), per append p50 {}, p99 {}",
                samples.len() as f64 / elapsed.as_secs_f64().max(1e-9),
                samples.len(),
                elapsed.as_secs_f64(),
                ms(samples.percentile(0.5)),
                ms(samples.percentile(0.99)),
            ),
        ));
    }
    Ok(())
}
