//! The fuzz targets run for real: libFuzzer on each target (rules parser and
//! validator, `sanitize`, the terminal-safe renderer), seeded with the kept
//! corpus, all three at once, for `VMWARE_AUDIT_FUZZ_SECONDS` each (60 in CI,
//! 10 otherwise). New interesting inputs go to a scratch copy, never into the
//! repository's corpus; an input that breaks a property is kept under
//! `target/fuzz-failures/` and named in the failure.
//!
//! Needs `cargo-fuzz` (`cargo install cargo-fuzz`; `.ci/run` installs it). It
//! builds with `--sanitizer none`, which works on the stable toolchain. In CI
//! a missing `cargo-fuzz` fails the test; elsewhere it is skipped with the
//! reason printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TARGETS: [&str; 3] = ["rules", "sanitize", "term_safe"];

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

fn seconds() -> u64 {
    std::env::var("VMWARE_AUDIT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if in_ci() { 60 } else { 10 })
}

fn cargo_fuzz_available() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn every_fuzz_target_runs_its_time_without_breaking_a_property() {
    // The repository's root, where fuzz/ is.
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !cargo_fuzz_available() {
        let why = "cargo-fuzz is not installed (cargo install cargo-fuzz)";
        assert!(!in_ci(), "{why}: CI must fuzz");
        eprintln!("skipped: {why}");
        return;
    }
    let build = Command::new("cargo")
        .current_dir(root)
        .args(["fuzz", "build", "--sanitizer", "none"])
        .output()
        .expect("cargo fuzz build");
    assert!(
        build.status.success(),
        "cargo fuzz build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let bin_dir = root.join("fuzz/target/x86_64-unknown-linux-gnu/release");
    let secs = seconds();
    let scratch = tempfile::tempdir().unwrap();
    let mut running = Vec::new();
    for t in TARGETS {
        let fresh = scratch.path().join(t);
        let artifacts = scratch.path().join(format!("{t}-artifacts"));
        std::fs::create_dir_all(&fresh).unwrap();
        std::fs::create_dir_all(&artifacts).unwrap();
        // To a file: libFuzzer writes a line per new input, and a pipe read
        // only at the end would fill and stall it.
        let log = std::fs::File::create(scratch.path().join(format!("{t}.log"))).unwrap();
        let child = Command::new(bin_dir.join(t))
            .arg(&fresh)
            .arg(root.join("fuzz/corpus").join(t))
            .arg(format!("-max_total_time={secs}"))
            .arg("-timeout=10")
            .arg("-rss_limit_mb=2048")
            .arg("-max_len=65536")
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {t} fuzzer: {e}"));
        running.push((t, child, artifacts));
    }
    let deadline = Instant::now() + Duration::from_secs(secs + 300);
    let mut failures = Vec::new();
    for (t, mut child, artifacts) in running {
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let status = child.wait().unwrap();
        let log =
            std::fs::read_to_string(scratch.path().join(format!("{t}.log"))).unwrap_or_default();
        let runs = log
            .lines()
            .rev()
            .find_map(|l| {
                l.strip_prefix("Done ")
                    .and_then(|r| r.split_whitespace().next())
            })
            .unwrap_or("?")
            .to_string();
        eprintln!("fuzz {t}: {runs} runs in {secs} s");
        if !status.success() {
            let kept = keep_failures(root, t, &artifacts);
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            failures.push(format!(
                "{t}: the fuzzer failed ({}); inputs kept: {kept:?}\n{}",
                status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Copy what libFuzzer saved (crash-, timeout-, oom-) where it outlives the test.
fn keep_failures(root: &Path, target: &str, artifacts: &Path) -> Vec<PathBuf> {
    let keep = root.join("target/fuzz-failures").join(target);
    let _ = std::fs::create_dir_all(&keep);
    let mut kept = Vec::new();
    for e in std::fs::read_dir(artifacts).into_iter().flatten().flatten() {
        let dest = keep.join(e.file_name());
        if std::fs::copy(e.path(), &dest).is_ok() {
            kept.push(dest);
        }
    }
    kept
}
