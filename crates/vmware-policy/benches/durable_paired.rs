//! The durable call against one bare commit, measured in pairs.
//!
//! Criterion times each function in its own window of seconds, and on a
//! small virtual machine the latency of an fsync drifts by a quarter from one
//! minute to the next: two functions measured a minute apart cannot show a
//! 10% difference. Here every round runs each operation once, in rotating
//! order, on its own file, and the figure is the median over rounds of each
//! operation's time divided by the bare commit's time in the same round,
//! with a 95% interval from the order statistics. Two floors: the bare
//! commit as the issue measured it (rusqlite's `execute`, the INSERT parsed
//! each time), and the same with its statement cached, as ours are.
//!
//! `cargo bench -p vmware-policy --bench durable_paired` (`ROUNDS`, default 3000)

use std::hint::black_box;
use std::time::Instant;

use serde_json::json;
use vmware_policy::{AuditEngine, Call, Guard, PolicyEngine, Record, Tool};

mod common;
use common::{open_raw, raw_commit, raw_commit_cached};

type Op<'a> = (&'a str, Box<dyn Fn() + 'a>);

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().unwrap();
    let conn = open_raw(&dir.path().join("raw.db"));
    let cached = open_raw(&dir.path().join("raw-cached.db"));
    let engine = AuditEngine::new(dir.path().join("engine.db"));
    let guard = Guard::new(
        PolicyEngine::new(dir.path().join("rules.yaml")),
        AuditEngine::new(dir.path().join("audit.db")),
    );
    let async_guard = Guard::new(
        PolicyEngine::new(dir.path().join("rules.yaml")),
        AuditEngine::new(dir.path().join("async.db")),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tool = Tool::new("nsx_security", "list_dfw_policies");
    let ops: Vec<Op> = vec![
        ("bare commit", Box::new(|| raw_commit(&conn))),
        (
            "bare commit, cached stmt",
            Box::new(|| raw_commit_cached(&cached)),
        ),
        (
            "AuditEngine::append",
            Box::new(|| {
                black_box(engine.append(Record {
                    tool: "t".into(),
                    ..Default::default()
                }));
            }),
        ),
        (
            "Guard::run (no-op tool)",
            Box::new(|| {
                let call = Call::new(json!({"limit": 10})).env("production");
                black_box(guard.run(&tool, call, || Ok::<_, String>(1)).ok());
            }),
        ),
        (
            "Guard::run_async (no-op)",
            Box::new(|| {
                let call = Call::new(json!({"limit": 10})).env("production");
                let fut = async_guard.run_async(&tool, call, async { Ok::<_, String>(1) });
                black_box(rt.block_on(fut).ok());
            }),
        ),
    ];
    let warm_up = rounds / 10;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    let mut strict: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for round in 0..warm_up + rounds {
        let mut t = vec![0.0; ops.len()];
        for j in 0..ops.len() {
            let k = (round + j) % ops.len();
            let start = Instant::now();
            (ops[k].1)();
            t[k] = start.elapsed().as_secs_f64() * 1e6;
        }
        if round >= warm_up {
            for k in 0..ops.len() {
                times[k].push(t[k]);
                ratios[k].push(t[k] / t[0]);
                strict[k].push(t[k] / t[1]);
            }
        }
    }
    println!("durable_paired: {rounds} rounds, each operation once per round");
    for (k, (name, _)) in ops.iter().enumerate() {
        let (lo, mid, hi) = median_interval(&mut ratios[k]);
        let (slo, smid, shi) = median_interval(&mut strict[k]);
        let (_, time, _) = median_interval(&mut times[k]);
        println!(
            "  {name:26} median {time:7.1} us   x bare: {mid:.3} [{lo:.3} {hi:.3}]   x bare cached: {smid:.3} [{slo:.3} {shi:.3}]"
        );
    }
}

/// The median and its 95% interval (order statistics n/2 ± 0.98·√n).
fn median_interval(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let half = (0.98 * (n as f64).sqrt()) as usize;
    let mid = n / 2;
    (
        v[mid.saturating_sub(half)],
        v[mid],
        v[(mid + half).min(n - 1)],
    )
}
