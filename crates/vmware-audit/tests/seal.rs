//! Sealing and verifying, on real files: rows written by our writer and by
//! the Python package, sealed by the real binary, then tampered with the way
//! an attacker on the host would (plain SQL on the file). Each tampering is
//! detected and the right row named; a checkpoint signed by another key, a
//! changed seal store and a re-sealed rewrite are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Home, audit, audit_ok as ok};
use rusqlite::Connection;

/// `verify`'s exit code and its TAMPERED lines.
fn verify(home: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = audit(home, &all);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let alarms = text
        .lines()
        .filter(|l| l.starts_with("TAMPERED"))
        .map(String::from)
        .collect();
    (out.status.code().unwrap_or(-1), alarms)
}

fn sql(db: &Path, statements: &str) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(statements).unwrap();
}

/// A home with `n` rows written by the example skill, sealed.
fn sealed_home(n: usize) -> Home {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let out = common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", &n.to_string(), "--seq"],
    );
    assert!(out.status.success());
    ok(home.path(), &["seal", "--init-key"]);
    let sealed = ok(home.path(), &["seal"]);
    assert!(
        sealed.contains(&format!("checkpoint {n} signed")),
        "{sealed}"
    );
    home
}

/// 400 rows from the example skill, rotating at 60 KB. (Rows of 1.5 KB: the
/// size rotation reads is the main file's, which grows when the WAL is
/// checkpointed, every 1,000 pages written.)
fn rows_rotating(home: &Home) {
    let pad = format!("pad={}", "x".repeat(1500));
    let out = common::skill(
        home.path(),
        &[
            "list_dfw_policies",
            &pad,
            "--repeat",
            "400",
            "--seq",
            "--rotate-bytes",
            "60000",
            "--keep-archives",
            "100",
        ],
    );
    assert!(out.status.success());
}

#[test]
fn an_untouched_log_verifies_and_new_rows_are_counted_unsealed() {
    let home = sealed_home(40);
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!((code, alarms.len()), (0, 0));
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "3", "--seq"],
    );
    let out = ok(home.path(), &["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["sealed_rows"], 40);
    assert_eq!(v["unsealed_rows"], 3);
    assert_eq!(v["ok"], true);
    // The next seal takes only the new rows.
    let again = ok(home.path(), &["seal", "--json"]);
    let s: serde_json::Value = serde_json::from_str(again.lines().next().unwrap()).unwrap();
    assert_eq!(
        (s["new_rows"].as_u64(), s["sealed_rows"].as_u64()),
        (Some(3), Some(43))
    );
    // And verify says what it cannot see.
    assert!(ok(home.path(), &["verify"]).contains("Not detectable: rows appended after"));
}

#[test]
fn each_kind_of_tampering_is_detected_with_the_row_named() {
    let cases: &[(&str, &str, &str)] = &[
        ("a status changed", "UPDATE audit_log SET status = 'denied' WHERE id = 17", "row id 17 was changed"),
        ("a row deleted", "DELETE FROM audit_log WHERE id = 23", "row id 23 was deleted"),
        (
            "two rows swapped",
            "UPDATE audit_log SET params = CASE id WHEN 5 THEN (SELECT params FROM audit_log WHERE id = 9)
                                                  ELSE (SELECT params FROM audit_log WHERE id = 5) END
             WHERE id IN (5, 9)",
            "row id 5 was changed",
        ),
        ("the sealed tail truncated", "DELETE FROM audit_log WHERE id > 35", "row id 36 was deleted"),
        (
            "the same text stored as a blob",
            "UPDATE audit_log SET params = CAST(params AS BLOB) WHERE id = 30",
            "row id 30 was changed",
        ),
    ];
    for (what, tamper, expect) in cases {
        let home = sealed_home(40);
        sql(&home.db(), tamper);
        let (code, alarms) = verify(home.path(), &[]);
        assert_eq!(code, 1, "{what}: {alarms:?}");
        assert!(
            alarms.len() == 1 && alarms[0].contains(expect),
            "{what}: expected '{expect}', got {alarms:?}"
        );
    }
}

#[test]
fn a_row_inserted_among_sealed_rows_is_named() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "20", "--seq"],
    );
    // A gap in the ids when it is sealed (a row cut before sealing).
    sql(&home.db(), "DELETE FROM audit_log WHERE id = 12");
    ok(home.path(), &["seal", "--init-key"]);
    ok(home.path(), &["seal"]);
    sql(
        &home.db(),
        "INSERT INTO audit_log (id, ts, skill, tool, status) VALUES (12, '2026-12-01T10:00:00', 'nsx', 'delete_dfw_policy', 'ok')",
    );
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(alarms[0].contains("row id 12 was inserted"), "{alarms:?}");
}

#[test]
fn rows_the_python_package_wrote_are_sealed_and_verified() {
    let home = Home::new();
    common::run_python(home.path(), "writer.py", &["py", "25"]);
    ok(home.path(), &["seal", "--init-key"]);
    let sealed = ok(home.path(), &["seal"]);
    assert!(sealed.contains("+25 rows"), "{sealed}");
    assert_eq!(verify(home.path(), &[]).0, 0);
    // Python goes on writing into the sealed file: its new rows are unsealed, not alarms.
    common::run_python(home.path(), "writer.py", &["py2", "5"]);
    let out = ok(home.path(), &["verify", "--json"]);
    assert!(out.contains("\"unsealed_rows\":5"), "{out}");
    sql(
        &home.db(),
        "UPDATE audit_log SET params = '{}' WHERE id = 7",
    );
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(alarms[0].contains("row id 7 was changed"), "{alarms:?}");
}

fn log_dir(home: &Home) -> PathBuf {
    let seal = home.path().join("seal");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&seal)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().unwrap()
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let home = sealed_home(10);
    // Another key replaces ours and seals the next rows.
    let ours = std::fs::read_to_string(home.path().join("seal.pub")).unwrap();
    std::fs::remove_file(home.path().join("seal.key")).unwrap();
    std::fs::remove_file(home.path().join("seal.pub")).unwrap();
    ok(home.path(), &["seal", "--init-key"]);
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "2", "--seq"],
    );
    ok(home.path(), &["seal"]);
    // Verified with our key pinned, and the usurper's seal.pub gone.
    std::fs::remove_file(home.path().join("seal.pub")).unwrap();
    let (code, alarms) = verify(home.path(), &["--trust", ours.trim()]);
    assert_eq!(code, 1);
    assert!(
        alarms[0].contains("checkpoint 12 is refused: signed by no trusted key"),
        "{alarms:?}"
    );
}

#[test]
fn a_changed_seal_store_and_a_resealed_rewrite_are_caught() {
    // The leaves file edited to hide a change: it no longer matches the checkpoint.
    let home = sealed_home(16);
    let leaves = log_dir(&home).join("leaves");
    let mut bytes = std::fs::read(&leaves).unwrap();
    bytes[8 * 40 + 20] ^= 1;
    std::fs::write(&leaves, bytes).unwrap();
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        alarms[0].contains("the seal store was changed"),
        "{alarms:?}"
    );

    // The checkpoints removed, the leaves kept.
    let home = sealed_home(4);
    for e in std::fs::read_dir(log_dir(&home)).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("checkpoint.") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(alarms[0].contains("no checkpoint left"), "{alarms:?}");

    // Someone with the key rewrites a row and re-seals from scratch; the old
    // checkpoint (kept off the host) no longer agrees.
    let home = sealed_home(16);
    let dir = log_dir(&home);
    let old = std::fs::read(dir.join(format!("checkpoint.{:020}", 16))).unwrap();
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "4", "--seq"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    sql(
        &home.db(),
        "UPDATE audit_log SET status = 'ok' WHERE id = 3",
    );
    sql(
        &home.db(),
        "UPDATE audit_log SET tool = 'nothing_to_see' WHERE id = 3",
    );
    ok(home.path(), &["seal"]);
    assert_eq!(
        verify(home.path(), &[]).0,
        0,
        "alone, the re-seal looks fine"
    );
    std::fs::write(dir.join(format!("checkpoint.{:020}", 16)), old).unwrap();
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        alarms[0].contains("checkpoint 16 is inconsistent with checkpoint 20"),
        "{alarms:?}"
    );
}

#[test]
fn rotations_keep_every_sealed_row_verifiable_and_a_replaced_database_is_an_alarm() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    ok(home.path(), &["seal", "--init-key"]);
    // Rows, a seal, then a rotation of ours (copy) and more rows, sealed again.
    for _ in 0..3 {
        rows_rotating(&home);
        ok(home.path(), &["seal"]);
    }
    let archives = vmware_policy::audit::rotate::archives(&home.db());
    assert!(!archives.is_empty(), "the skill rotated");
    let (code, alarms) = verify(home.path(), &["--archives"]);
    assert_eq!((code, alarms.clone()), (0, vec![]));
    let out = ok(home.path(), &["verify", "--archives", "--json"]);
    let files: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sealed: u64 = files
        .iter()
        .map(|f| f["sealed_rows"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sealed, 1200,
        "every row sealed once, across the files: {out}"
    );
    // An archive rotated before the first seal has no uuid and is named by its
    // first row: changing that row changes its name, and it is still caught.
    let derived = files
        .iter()
        .find(|f| f["db_uuid"].as_str().unwrap().starts_with("derived-"))
        .expect("an archive rotated before the first seal");
    let first =
        derived["last_sealed_id"].as_i64().unwrap() - derived["sealed_rows"].as_i64().unwrap() + 1;
    sql(
        Path::new(derived["path"].as_str().unwrap()),
        &format!("UPDATE audit_log SET status = 'error' WHERE id = {first}"),
    );
    let (code, alarms) = verify(home.path(), &["--archives"]);
    assert_eq!(code, 1);
    assert!(
        alarms
            .iter()
            .any(|a| a.contains(&format!("row id {first} was changed"))),
        "{alarms:?}"
    );
    // The live database replaced wholesale: its sealed rows are in no file.
    std::fs::remove_file(home.db()).unwrap();
    let _ = std::fs::remove_file(home.path().join("audit.db-wal"));
    let _ = std::fs::remove_file(home.path().join("audit.db-shm"));
    common::skill(home.path(), &["list_dfw_policies"]);
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    // Held to what was sealed at that path: its first row is not the sealed one.
    assert!(
        alarms
            .iter()
            .any(|a| a.contains("audit.db: row id 1 was inserted")
                && a.contains("which no file is named as now")),
        "{alarms:?}"
    );
}

#[test]
fn sealing_without_a_key_says_how_to_make_one_and_the_key_is_private() {
    let home = Home::new();
    common::skill(home.path(), &["list_dfw_policies"]);
    let out = audit(home.path(), &["seal"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seal --init-key"));
    ok(home.path(), &["seal", "--init-key"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.path().join("seal.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A second --init-key never replaces the key.
    let again = audit(home.path(), &["seal", "--init-key"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

#[test]
fn a_sealed_file_rotated_away_and_deleted_unseen_is_an_alarm() {
    let home = sealed_home(100);
    rows_rotating(&home);
    let archives = vmware_policy::audit::rotate::archives(&home.db());
    assert!(!archives.is_empty(), "the skill rotated");
    // Deleted before any seal or verify saw the archives (by an attacker, or
    // by a retention that outran the seals).
    for a in &archives {
        std::fs::remove_file(a).unwrap();
    }
    let (code, alarms) = verify(home.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        alarms
            .iter()
            .any(|a| a.contains("(rows 1..100) is in no file")),
        "{alarms:?}"
    );
}

#[test]
fn seal_every_keeps_new_rows_unsealed_only_for_its_interval() {
    let home = sealed_home(5);
    let mut sealer = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["seal", "--every", "1s"])
        .env("OPS_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "7", "--seq"],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let out = ok(home.path(), &["verify", "--json"]);
        if out.contains("\"unsealed_rows\":0") && out.contains("\"sealed_rows\":12") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not sealed in time: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = sealer.kill();
    let out = sealer.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        !said.contains("nothing new"),
        "the loop says only what changed: {said}"
    );
}

#[test]
fn two_seals_at_once_append_each_row_once() {
    let home = sealed_home(3);
    common::skill(
        home.path(),
        &["list_dfw_policies", "--repeat", "300", "--seq"],
    );
    let seals: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
                .arg("seal")
                .env("OPS_HOME", home.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut s in seals {
        assert!(s.wait().unwrap().success());
    }
    let leaves = std::fs::metadata(log_dir(&home).join("leaves"))
        .unwrap()
        .len();
    assert_eq!(leaves, 303 * 40, "each row's leaf once");
    assert_eq!(verify(home.path(), &[]).0, 0);
}
