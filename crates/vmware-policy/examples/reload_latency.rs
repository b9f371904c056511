//! Measures hot-reload latency: from a save of rules.yaml to the first check
//! that sees the new rule, for atomic-rename saves and in-place writes.
//! Run: `cargo run --release --example reload_latency` (add VMWARE_POLICY_POLL=1
//! for the polling fallback). A measurement, not a test: it asserts nothing.

use std::time::{Duration, Instant};

use vmware_policy::{CallContext, PolicyEngine};

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, "deny:\n  - name: v0\n    operations: [x]\n").unwrap();
    let engine = PolicyEngine::new(&path);
    let mode = if std::env::var_os("VMWARE_POLICY_POLL").is_some() {
        "polling"
    } else {
        "notify"
    };
    for how in ["atomic rename", "in-place write"] {
        let mut samples = Vec::new();
        for i in 1..=40 {
            let text = format!("deny:\n  - name: v{i}\n    operations: [x]\n");
            let start = Instant::now();
            if how == "atomic rename" {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, &text).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            } else {
                std::fs::write(&path, &text).unwrap();
            }
            let want = format!("v{i}");
            while engine.check("x", &CallContext::default()).rule != want {
                if start.elapsed() > Duration::from_secs(10) {
                    eprintln!("reload not seen after 10 s");
                    std::process::exit(1);
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            samples.push(start.elapsed());
            std::thread::sleep(Duration::from_millis(30));
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{mode:8} {how:15} n={} median {:.1} ms  p95 {:.1} ms  max {:.1} ms",
            samples.len(),
            ms(samples[samples.len() / 2]),
            ms(samples[samples.len() * 95 / 100]),
            ms(samples[samples.len() - 1])
        );
    }
}
