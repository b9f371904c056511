//! The runaway breaker's cost per call with 10,000 distinct argument sets in
//! its window (an agent sweeping an inventory), beside Python's
//! `BudgetTracker.check_and_record` in the same run (`bench/budget_vs_python.sh`).
//!
//! `cargo bench -p vmware-policy --bench budget`

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use vmware_policy::guard::budget::{Budget, Limits};

fn breaker(c: &mut Criterion) {
    let limits = Limits {
        max_calls: None,
        max_seconds: None,
        runaway_max: 25,
        runaway_window_sec: 120,
    };
    let budget = Budget::default();
    let start = Instant::now();
    for i in 0..10_000 {
        budget
            .check_and_record(
                "get_vm",
                &json!({"vm": format!("vm-{i}"), "fields": ["cpu", "mem"]}),
                None,
                limits,
                start,
            )
            .unwrap();
    }
    let mut i = 0u64;
    c.bench_function("budget/check_10k_distinct_in_window", |b| {
        b.iter(|| {
            // Each call a repeat of one of the 10,000 (the window keeps them all).
            i = (i + 1) % 10_000;
            let params = json!({"vm": format!("vm-{i}"), "fields": ["cpu", "mem"]});
            let _ = budget.check_and_record("get_vm", &params, None, limits, Instant::now());
        })
    });
}

criterion_group!(benches, breaker);
criterion_main!(benches);
