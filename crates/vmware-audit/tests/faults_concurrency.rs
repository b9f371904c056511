//! Concurrency: 8 processes, 4 Rust (the example skill) and 4 Python (the
//! PyPI package), 5,000 rows each into one database, while a reader tails it
//! as the TUI does and the Rust writers' size threshold forces rotations.
//! Every row is present exactly once across the live database and its
//! archives, no error reaches a tool call, and the reader sees every row.

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Home, python_cmd, skill_cmd};
use vmware_policy::audit::tail::Tail;
use vmware_policy::audit::{Filter, rotate};

const ROWS: usize = 5000;

fn key(params: &str) -> Option<(String, i64)> {
    let v: serde_json::Value = serde_json::from_str(params).ok()?;
    let w = match &v["writer"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some((w, v["seq"].as_i64()?))
}

/// Python opens a connection per row, and SQLite opens the WAL files by
/// name at the first statement: a rotation that renamed the live file would
/// leave such a connection on the archive with the new file's WAL (rows
/// reported lost, or committed into the archive behind the reader's back).
/// Our rotation copies instead and keeps the live file (see `audit::rotate`).
#[test]
fn eight_writers_rust_and_python_with_rotations_and_a_tailing_reader() {
    let home = Home::new();
    // The database exists before the reader starts.
    assert!(
        common::skill(home.path(), &["list_dfw_policies", "writer=seed", "seq=0"])
            .status
            .success()
    );
    let seen: Arc<Mutex<HashMap<(String, i64), u32>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (seen, stop, db) = (seen.clone(), stop.clone(), home.db());
        std::thread::spawn(move || {
            let mut tail = Tail::new(&db, 0);
            let mut rotations = 0;
            let mut errors = 0;
            loop {
                let last = stop.load(Ordering::SeqCst);
                loop {
                    // A read can fail for a moment (a file caught as it is
                    // renamed); the tail keeps its place and goes on, as the
                    // TUI does.
                    let p = match tail.poll(&Filter::default()) {
                        Ok(p) => p,
                        Err(e) => {
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
                    if n < vmware_policy::audit::tail::BATCH {
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
    let mut children = Vec::new();
    for w in 0..4 {
        let c = skill_cmd(
            home.path(),
            &[
                "list_dfw_policies",
                &format!("writer=rust{w}"),
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
        .unwrap();
        children.push(("rust", c));
        let p = python_cmd(
            home.path(),
            "write_many.py",
            &[&format!("py{w}"), &ROWS.to_string()],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        children.push(("python", p));
    }
    for (kind, c) in children {
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "a {kind} writer failed (a tool call saw an error): {err}"
        );
        assert!(!err.contains("lost"), "a {kind} writer lost rows: {err}");
    }
    stop.store(true, Ordering::SeqCst);
    let rotations = reader.join().unwrap();

    let archives = rotate::archives(&home.db());
    assert!(!archives.is_empty(), "the threshold must force rotations");
    assert!(
        archives.len() < rotate::MAX_ARCHIVES,
        "retention would drop rows ({})",
        archives.len()
    );
    let mut stored: HashMap<(String, i64), u32> = HashMap::new();
    let mut place: HashMap<(String, i64), String> = HashMap::new();
    for f in archives.iter().chain(std::iter::once(&home.db())) {
        let rows = common::all_rows_of(f);
        let (first, last) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id));
        for r in rows {
            if let Some(k) = key(&r.params) {
                *stored.entry(k.clone()).or_default() += 1;
                place.insert(
                    k,
                    format!(
                        "{} id {} (file ids {first:?}..{last:?}) ts {}",
                        f.display(),
                        r.id,
                        r.ts
                    ),
                );
            }
        }
    }
    let expected: Vec<(String, i64)> = (0..4)
        .flat_map(|w| {
            (0..ROWS as i64).flat_map(move |s| [(format!("rust{w}"), s), (format!("py{w}"), s)])
        })
        .collect();
    let seen = seen.lock().unwrap();
    for k in &expected {
        assert_eq!(
            stored.get(k),
            Some(&1),
            "{k:?} stored {:?} times",
            stored.get(k)
        );
        assert_eq!(
            seen.get(k),
            Some(&1),
            "{k:?} seen by the reader {:?} times; stored in {:?}",
            seen.get(k),
            place.get(k)
        );
    }
    eprintln!(
        "{} rows from 8 writers, {} archives, the reader followed {rotations} rotations",
        expected.len(),
        archives.len()
    );
}
