//! Concurrency among our own processes: 8 writer processes (the example
//! skill), 5,000 rows each, rotations forced by a small threshold, a reader
//! tailing as the TUI does. Every row exactly once across the live database
//! and its archives, no error reaches a tool call, the reader sees every row.
//! (With the Python package's writers mixed in, see `faults_concurrency.rs`.)

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Home, skill_cmd};
use vmware_policy::audit::tail::{BATCH, Tail};
use vmware_policy::audit::{Filter, rotate};

const ROWS: usize = 5000;

fn key(params: &str) -> Option<(i64, i64)> {
    let v: serde_json::Value = serde_json::from_str(params).ok()?;
    Some((v["writer"].as_i64()?, v["seq"].as_i64()?))
}

#[test]
fn eight_writer_processes_with_rotations_and_a_tailing_reader() {
    let home = Home::new();
    assert!(
        common::skill(home.path(), &["list_dfw_policies"])
            .status
            .success()
    );
    let seen: Arc<Mutex<HashMap<(i64, i64), u32>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (seen, stop, db) = (seen.clone(), stop.clone(), home.db());
        std::thread::spawn(move || {
            let mut tail = Tail::new(&db, 0);
            let (mut rotations, mut errors) = (0, 0);
            loop {
                let last = stop.load(Ordering::SeqCst);
                loop {
                    let p = match tail.poll(&Filter::default()) {
                        Ok(p) => p,
                        Err(e) => {
                            // A file caught mid-rename: the tail keeps its place.
                            errors += 1;
                            assert!(errors < 100, "the reader keeps failing: {e}");
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    rotations += p.rotated as u32;
                    let n = p.rows.len();
                    let mut s = seen.lock().unwrap();
                    for r in p.rows {
                        if let Some(k) = key(&r.params) {
                            *s.entry(k).or_default() += 1;
                        }
                    }
                    if n < BATCH {
                        break;
                    }
                }
                if last {
                    return rotations;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let children: Vec<_> = (0..8)
        .map(|w| {
            skill_cmd(
                home.path(),
                &[
                    "list_dfw_policies",
                    &format!("writer={w}"),
                    "--seq",
                    "--repeat",
                    &ROWS.to_string(),
                    "--rotate-bytes",
                    "4000000",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a writer failed: {err}");
        assert!(!err.contains("lost"), "a writer lost rows: {err}");
    }
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    let rotations = reader.join().unwrap();
    let archives = rotate::archives(&home.db());
    assert!(!archives.is_empty(), "the threshold must force rotations");
    assert!(
        archives.len() < rotate::MAX_ARCHIVES,
        "retention would drop rows ({})",
        archives.len()
    );
    let mut stored: HashMap<(i64, i64), u32> = HashMap::new();
    for f in archives.iter().chain(std::iter::once(&home.db())) {
        for r in common::all_rows_of(f) {
            if let Some(k) = key(&r.params) {
                *stored.entry(k).or_default() += 1;
            }
        }
    }
    let seen = seen.lock().unwrap();
    for w in 0..8 {
        for s in 0..ROWS as i64 {
            assert_eq!(
                stored.get(&(w, s)),
                Some(&1),
                "({w}, {s}) stored {:?} times",
                stored.get(&(w, s))
            );
            assert_eq!(
                seen.get(&(w, s)),
                Some(&1),
                "({w}, {s}) seen {:?} times",
                seen.get(&(w, s))
            );
        }
    }
    eprintln!(
        "40,000 rows exactly once, {} archives, the reader followed {rotations} rotations",
        archives.len()
    );
}
