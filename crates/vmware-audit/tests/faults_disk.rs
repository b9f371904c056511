//! Full disk, a read-only database and a deleted home, each under a running
//! skill process (the example skill, a call every 30 ms): every tool call
//! still returns what the tool returned, each row that cannot be written is
//! reported on stderr (one line) and counted, and writing resumes by itself
//! once the fault is gone. These need root (a size-limited tmpfs mount, the
//! immutable attribute); where that is refused they say so and skip.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Home, skill_cmd};

const CALLS: usize = 80;

/// Run the example skill for CALLS calls, 30 ms apart, and `during` while it
/// runs; returns (stdout, stderr) and the seqs stored in the database at `db`.
fn run_with(home: &Path, db: &Path, during: impl FnOnce()) -> (String, String, Vec<i64>) {
    let child = skill_cmd(
        home,
        &[
            "list_dfw_policies",
            "--seq",
            "--repeat",
            &CALLS.to_string(),
            "--interval-ms",
            "30",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    during();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the skill failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seqs = common::all_rows(db)
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.params).ok()?["seq"].as_i64())
        .collect();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        seqs,
    )
}

/// Every call returned the tool's result; lost rows are reported one line
/// each; what was not lost is stored; and the last calls were stored again.
fn check(stdout: &str, stderr: &str, seqs: &[i64], what: &str) {
    let allowed = stdout.lines().filter(|l| l.starts_with("allowed")).count();
    assert_eq!(allowed, CALLS, "every call returned its result ({what})");
    let lost = stderr
        .lines()
        .filter(|l| l.contains("audit row lost"))
        .count();
    assert!(
        lost > 0,
        "the fault must cost rows to prove anything ({what})"
    );
    assert_eq!(
        seqs.len() + lost,
        CALLS,
        "stored + reported lost = calls ({what}): {stderr}"
    );
    let last = (CALLS - 1) as i64;
    assert!(
        seqs.contains(&last),
        "writing resumed by itself ({what}); stored {seqs:?}"
    );
    eprintln!(
        "{what}: {lost} rows lost and reported, {} stored, writing resumed",
        seqs.len()
    );
}

#[test]
fn a_full_disk_costs_rows_not_calls_and_writing_resumes() {
    let home = Home::new();
    let mnt = home.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a size-limited tmpfs here (needs root)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mnt);
    let filler = mnt.join("filler");
    let (out, err, seqs) = run_with(&mnt, &mnt.join("audit.db"), || {
        std::thread::sleep(Duration::from_millis(600));
        // Fill the file system to the last byte.
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while std::io::Write::write_all(&mut f, &block).is_ok() {}
        let _ = std::io::Write::write_all(&mut f, &[0u8; 512]);
        drop(f);
        std::thread::sleep(Duration::from_millis(600));
        std::fs::remove_file(&filler).unwrap();
    });
    check(&out, &err, &seqs, "full disk");
    assert!(
        err.contains("full") || err.contains("disk"),
        "the reason is said: {err}"
    );
}

#[test]
fn a_read_only_database_costs_rows_not_calls_and_writing_resumes() {
    let home = Home::new();
    assert!(
        common::skill(home.path(), &["list_dfw_policies"])
            .status
            .success()
    );
    let db = home.db();
    // The database and its WAL (where commits go first): nothing can be written.
    let wal = home.path().join("audit.db-wal");
    let immutable = |on: bool| {
        Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(&db)
            .arg(&wal)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !immutable(true) {
        eprintln!(
            "SKIPPED: cannot make the database immutable here (chattr needs root and ext2/3/4)"
        );
        return;
    }
    immutable(false);
    let (out, err, seqs) = run_with(home.path(), &db, || {
        std::thread::sleep(Duration::from_millis(600));
        assert!(immutable(true));
        std::thread::sleep(Duration::from_millis(600));
        assert!(immutable(false));
    });
    check(&out, &err, &seqs, "read-only database");
}

#[test]
fn a_home_deleted_mid_run_heals() {
    let home = Home::new();
    let ops = home.path().join("ops");
    let (out, _err, seqs) = run_with(&ops, &ops.join("audit.db"), || {
        std::thread::sleep(Duration::from_millis(900));
        std::fs::remove_dir_all(&ops).unwrap();
    });
    let allowed = out.lines().filter(|l| l.starts_with("allowed")).count();
    assert_eq!(allowed, CALLS, "every call returned its result");
    // The rows written before the deletion went with it; the calls after it
    // are in the re-created database, the last one included.
    assert!(
        seqs.contains(&((CALLS - 1) as i64)),
        "writing resumed in a new home: {seqs:?}"
    );
    assert!(
        !seqs.contains(&0),
        "the first rows were in the deleted home"
    );
    let meta = std::fs::metadata(&ops).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o700, "re-created 0700");
}
