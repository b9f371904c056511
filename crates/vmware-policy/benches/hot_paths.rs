//! The hot paths, measured: a policy check against 100 deny rules, a guarded
//! no-op with auditing off, a guarded no-op with its durable row beside one raw
//! SQLite commit (WAL, synchronous FULL) on the same disk, and eight threads of
//! guarded calls (group commit) beside eight threads committing one row each.
//!
//! `cargo bench --bench hot_paths`; `bench/python_core.py` measures the Python
//! package the same way (`bench/core_vs_python.sh` runs both).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use vmware_policy::{AuditEngine, Call, CallContext, Guard, PolicyEngine, Tool};

/// 100 deny rules of the shapes operators write, none matching the probe call.
pub fn hundred_rules() -> String {
    let mut s = String::from("deny:\n");
    for i in 0..100 {
        match i % 4 {
            0 => s.push_str(&format!("  - name: r{i}\n    operations: [\"delete_thing{i}_*\", \"*_op{i}\"]\n")),
            1 => s.push_str(&format!(
                "  - name: r{i}\n    operations: [\"create_x{i}\"]\n    environments: [\"prod-{i}\", \"production\"]\n"
            )),
            2 => s.push_str(&format!(
                "  - name: r{i}\n    operations: [\"vm_*_{i}\"]\n    min_risk_level: high\n"
            )),
            _ => s.push_str(&format!("  - name: r{i}\n    operations: [\"reboot_[ab]{i}\"]\n    clients: [\"ci-*\"]\n")),
        }
    }
    s
}

fn policy_check(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, hundred_rules()).unwrap();
    let engine = PolicyEngine::new(&path);
    let ctx = CallContext {
        env: "production",
        risk_level: "high",
        ..CallContext::default()
    };
    assert_eq!(engine.check("list_vms", &ctx).rule, "default_allow");
    c.bench_function("policy_check/100_rules_no_match", |b| {
        b.iter(|| engine.check(black_box("list_vms"), black_box(&ctx)))
    });
    c.bench_function("policy_check/100_rules_last_matches", |b| {
        b.iter(|| {
            engine.check(
                black_box("reboot_a99"),
                &CallContext {
                    client: Some("ci-7"),
                    ..ctx.clone()
                },
            )
        })
    });
}

fn guarded_no_audit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, hundred_rules()).unwrap();
    let guard = Guard::without_audit(PolicyEngine::new(&path));
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    c.bench_function("guard/noop_auditing_off", |b| {
        b.iter(|| {
            guard.run(
                &tool,
                Call::new(json!({"limit": 10})).env("production"),
                || Ok::<_, String>(black_box(1)),
            )
        })
    });
}

mod common;
use common::{open_raw, raw_commit};

fn durable(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable");
    g.sample_size(50).measurement_time(Duration::from_secs(8));
    let dir = tempfile::tempdir().unwrap();
    let conn = open_raw(&dir.path().join("raw.db"));
    g.bench_function("sqlite_one_row_commit_wal_full", |b| {
        b.iter(|| raw_commit(&conn))
    });
    let guard = Guard::new(
        PolicyEngine::new(dir.path().join("rules.yaml")),
        AuditEngine::new(dir.path().join("audit.db")),
    );
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    let engine = AuditEngine::new(dir.path().join("engine.db"));
    g.bench_function("audit_append_only", |b| {
        b.iter(|| {
            engine.append(vmware_policy::Record {
                tool: "t".into(),
                ..Default::default()
            })
        })
    });
    g.bench_function("guard_noop_with_durable_row", |b| {
        b.iter(|| {
            guard.run(
                &tool,
                Call::new(json!({"limit": 10})).env("production"),
                || Ok::<_, String>(1),
            )
        })
    });
    g.finish();
}

const PER_THREAD: u64 = 200;

/// Total time of `iters` rounds of eight threads each running `per_thread` `PER_THREAD` times.
fn time_eight(iters: u64, per_thread: impl Fn() + Sync) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(&per_thread);
            }
        });
        total += start.elapsed();
    }
    total
}

fn eight_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("eight_threads");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(8 * PER_THREAD));
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("raw.db");
    drop(open_raw(&raw_path));
    g.bench_function("one_commit_per_row", |b| {
        b.iter_custom(|iters| {
            time_eight(iters, || {
                let conn = open_raw(&raw_path);
                for _ in 0..PER_THREAD {
                    raw_commit(&conn);
                }
            })
        })
    });
    let guard = Arc::new(Guard::new(
        PolicyEngine::new(dir.path().join("rules.yaml")),
        AuditEngine::new(dir.path().join("audit.db")),
    ));
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    g.bench_function("guarded_calls_group_commit", |b| {
        b.iter_custom(|iters| {
            time_eight(iters, || {
                for _ in 0..PER_THREAD {
                    guard
                        .run(&tool, Call::new(json!({"limit": 10})), || {
                            Ok::<_, String>(1)
                        })
                        .unwrap();
                }
            })
        })
    });
    g.finish();
}

/// The free-text scrubber on large inputs: a 216k-character text with one
/// secret (the review's case: it used to give up and redact everything), and
/// long identifier runs, the shape that made Python's pattern quadratic.
fn scrub_large(c: &mut Criterion) {
    let pad = "lorem ipsum dolor sit amet ".repeat(8_000);
    let inputs = [
        ("secret_in_216k", format!("{pad} --password=hunter2 {pad}")),
        ("identifier_run_300k", "a".repeat(300_000)),
        ("password_words_320k", "password".repeat(40_000)),
        ("dashes_300k", "-".repeat(300_000)),
    ];
    let mut g = c.benchmark_group("scrub");
    g.sample_size(10);
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| black_box(vmware_policy::redact::redact_text(black_box(text)).len()))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    scrub_large,
    policy_check,
    guarded_no_audit,
    durable,
    eight_threads
);
criterion_main!(benches);
