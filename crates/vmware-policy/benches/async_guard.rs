//! The async guard's cost, in one run beside its floor: `run_async` with its
//! durable row vs one bare SQLite commit (WAL, synchronous FULL, same disk;
//! on the bare table, and on a file with our indexes and rollup trigger),
//! and 64 concurrent async calls on a 2-worker tokio runtime (their rows
//! group-committed by the writer thread) vs 64 rows committed one by one.
//!
//! `cargo bench -p vmware-policy --bench async_guard`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use vmware_policy::{AuditEngine, Call, Guard, PolicyEngine, RunOptions, Tool};

mod common;
use common::{open_raw, raw_commit};

fn guard(dir: &std::path::Path) -> Guard {
    Guard::new(
        PolicyEngine::new(dir.join("rules.yaml")),
        AuditEngine::new(dir.join("audit.db")),
    )
}

fn one_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_durable");
    g.sample_size(50).measurement_time(Duration::from_secs(8));
    let dir = tempfile::tempdir().unwrap();
    let conn = open_raw(&dir.path().join("raw.db"));
    g.bench_function("sqlite_one_row_commit_wal_full", |b| {
        b.iter(|| raw_commit(&conn))
    });
    // The same commit on a file with our schema (indexes, rollup trigger):
    // what the guard's row costs before any thread hand-off.
    let ours = vmware_policy::audit::conn::open_writer(
        &dir.path().join("ours.db"),
        vmware_policy::audit::Durability::Full,
    )
    .unwrap();
    g.bench_function("sqlite_one_row_commit_our_schema", |b| {
        b.iter(|| raw_commit(&ours))
    });
    let guard = guard(dir.path());
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("run_async_with_durable_row", |b| {
        b.iter(|| {
            rt.block_on(
                guard.run_async(&tool, Call::new(json!({"limit": 10})), async {
                    Ok::<_, String>(black_box(1))
                }),
            )
        })
    });
    g.bench_function("run_sync_with_durable_row", |b| {
        b.iter(|| {
            guard.run(&tool, Call::new(json!({"limit": 10})), || {
                Ok::<_, String>(1)
            })
        })
    });
    g.finish();
}

const CALLS: u64 = 64;

fn sixty_four(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_64_calls");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(CALLS));
    let dir = tempfile::tempdir().unwrap();
    let conn = open_raw(&dir.path().join("raw.db"));
    g.bench_function("one_commit_per_row", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                raw_commit(&conn);
            }
        })
    });
    let guard = guard(dir.path());
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("run_async_2_workers", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..CALLS)
                        .map(|i| {
                            let (g, t) = (guard.clone(), tool.clone());
                            tokio::spawn(async move {
                                g.run_async_with(
                                    &t,
                                    Call::new(json!({"i": i})),
                                    RunOptions::new(),
                                    async move { Ok::<_, String>(i) },
                                )
                                .await
                                .audit
                            })
                        })
                        .collect();
                    for t in tasks {
                        assert!(t.await.unwrap().is_some());
                    }
                });
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, one_call, sixty_four);
criterion_main!(benches);
