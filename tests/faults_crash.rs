//! Crash: writer processes (the example skill) killed with SIGKILL at random
//! moments, 50 times, two at a time. Afterwards the database passes
//! `PRAGMA integrity_check`, and every row whose `append` had returned (each
//! writer logs them, after the return) is there.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Home, skill_cmd};

#[test]
fn fifty_sigkills_lose_no_committed_row_and_corrupt_nothing() {
    let home = Home::new();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = seed | 1;
    let mut next = |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let committed = |w: usize| home.path().join(format!("committed-{w}"));
    for round in 0..25 {
        let writers: Vec<_> = (0..2)
            .map(|w| {
                skill_cmd(
                    home.path(),
                    &[
                        "list_dfw_policies",
                        &format!("writer={round}-{w}"),
                        "--seq",
                        "--repeat",
                        "1000000",
                        "--committed",
                    ],
                )
                .arg(committed(w))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
            })
            .collect();
        for mut w in writers {
            std::thread::sleep(Duration::from_millis(10 + next(150)));
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(w.id() as i32, libc::SIGKILL) };
            let status = w.wait().unwrap();
            assert!(!status.success(), "killed, not finished (seed {seed})");
        }
    }
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "seed {seed}");
    let present: HashSet<i64> = conn
        .prepare("SELECT id FROM audit_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let text = std::fs::read_to_string(committed(0)).unwrap()
        + &std::fs::read_to_string(committed(1)).unwrap();
    // A line cut by the kill is not a promise: only complete lines count.
    let promised: Vec<i64> = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    assert!(
        promised.len() > 100,
        "the writers wrote ({} rows, seed {seed})",
        promised.len()
    );
    let missing: Vec<_> = promised.iter().filter(|id| !present.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "committed rows missing after SIGKILL: {missing:?} (seed {seed})"
    );
    eprintln!(
        "{} committed rows, all present after 50 SIGKILLs",
        promised.len()
    );
}
