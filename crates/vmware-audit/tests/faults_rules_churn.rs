//! Rules under churn: the rules file replaced 1,000 times (atomic renames,
//! in-place truncating writes, deletions) while checks run in a loop in other
//! threads and processes. No check panics, every decision comes from one
//! complete version of the file (or from the baseline while it is deleted),
//! and every engine ends on the final version.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Home;
use vmware_policy::policy::{CallContext, PolicyEngine, Source};

/// Rules per version: 30 fillers, then the rule that decides `probe`. A
/// half-written file lacks the last rule(s).
const RULES: usize = 31;

fn version(n: usize) -> String {
    let mut s = String::from("deny:\n");
    for k in 0..RULES - 1 {
        s.push_str(&format!(
            "  - name: filler-{n}-{k}\n    operations: [filler_{k}]\n"
        ));
    }
    s.push_str(&format!("  - name: v{n}\n    operations: [probe]\n"));
    s
}

#[test]
fn a_thousand_replacements_under_checking_threads_and_processes() {
    let home = Home::new();
    let path = home.rules();
    std::fs::write(&path, version(0)).unwrap();
    let probe = common::skill_bin().with_file_name("policy_probe");
    let procs: Vec<_> = (0..2)
        .map(|_| {
            let mut c = Command::new(&probe)
                .arg(&path)
                .arg("v1000")
                .arg("--engine-only")
                .arg(RULES.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut first = String::new();
            BufReader::new(c.stdout.as_mut().unwrap())
                .read_line(&mut first)
                .unwrap();
            assert_eq!(first.trim(), "ready");
            c
        })
        .collect();
    let engine = Arc::new(PolicyEngine::new(&path));
    let done = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (engine, done) = (engine.clone(), done.clone());
            std::thread::spawn(move || {
                let ctx = CallContext::default();
                let mut bad = Vec::new();
                let mut checks = 0u64;
                while !done.load(Ordering::Relaxed) {
                    checks += 1;
                    let set = engine.rules();
                    let d = set.check("probe", &ctx);
                    let whole = match set.source {
                        Source::User => set.deny_count() == RULES && d.rule.starts_with('v'),
                        Source::PackagedDefault => d.allowed,
                        _ => false,
                    };
                    if !whole && bad.len() < 5 {
                        bad.push(format!(
                            "{:?}: {} rules, {} hash {} loaded {}",
                            set.source,
                            set.deny_count(),
                            d.rule,
                            set.hash,
                            set.loaded_at.format("%H:%M:%S%.6f")
                        ));
                    }
                }
                (checks, bad)
            })
        })
        .collect();

    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let tmp = home.path().join(".rules.tmp");
    let (mut renames, mut in_place, mut deletions) = (0, 0, 0);
    for n in 1..=1000 {
        // The last one is an atomic rename, so the final state is a version.
        let how = if n == 1000 { 0 } else { next(3) };
        match how {
            0 => {
                std::fs::write(&tmp, version(n)).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
                renames += 1;
            }
            1 => {
                // Truncate, then write: a reader can catch it half-written.
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .unwrap();
                let text = version(n);
                let (a, b) = text.split_at(text.len() / 2);
                f.write_all(a.as_bytes()).unwrap();
                f.flush().unwrap();
                f.write_all(b.as_bytes()).unwrap();
                in_place += 1;
            }
            _ => {
                let _ = std::fs::remove_file(&path);
                deletions += 1;
            }
        }
        if next(4) == 0 {
            std::thread::sleep(Duration::from_millis(next(25)));
        }
    }
    // Every engine ends on the final version.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while engine.check("probe", &CallContext::default()).rule != "v1000" {
        assert!(
            std::time::Instant::now() < end,
            "the engine did not end on v1000"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    done.store(true, Ordering::Relaxed);
    for t in threads {
        let (checks, bad) = t.join().expect("a checking thread panicked");
        assert!(checks > 100, "the thread checked ({checks})");
        assert!(bad.is_empty(), "a check saw a partial rule set: {bad:?}");
    }
    for p in procs {
        let out = p.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a probe process did not end on v1000: {text}"
        );
        let partial: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("PARTIAL"))
            .take(3)
            .collect();
        assert!(
            partial.is_empty(),
            "a probe process saw a partial rule set: {partial:?}"
        );
    }
    eprintln!("{renames} renames, {in_place} in-place writes, {deletions} deletions");
}
