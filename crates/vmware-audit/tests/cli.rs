//! The real `vmware-audit` binary on real databases: every read flag, output
//! compared with the Python CLI's query for the same flags, and errors (the
//! rules and policy commands: `cli_rules.rs`).

mod common;

use common::cli::{bin, json_out};
use common::{Home, run_python};
use serde_json::Value;
use std::path::Path;

const END: &str = "2026-11-21T12:00:00Z";

fn generated(rows: u64) -> Home {
    let home = Home::new();
    bin(home.path())
        .args([
            "generate",
            "--rows",
            &rows.to_string(),
            "--days",
            "30",
            "--seed",
            "5",
            "--end",
            END,
        ])
        .assert()
        .success();
    home
}

/// Python's `AuditEngine.query` for these keyword arguments, newest first.
fn python_query(home: &Home, kwargs: Value) -> Vec<Value> {
    let out = run_python(
        home.path(),
        "query.py",
        &[home.db().to_str().unwrap(), &kwargs.to_string()],
    );
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

#[test]
fn log_and_export_return_what_the_python_cli_returns_for_the_same_flags() {
    let home = generated(4000);
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (vec!["--last", "20"], serde_json::json!({"limit": 20})),
        (
            vec!["--last", "50", "--status", "denied"],
            serde_json::json!({"limit": 50, "status": "denied"}),
        ),
        (
            vec!["--last", "20", "--skill", "avi", "--tool", "delete_pool"],
            serde_json::json!({"limit": 20, "skill": "avi", "tool": "delete_pool"}),
        ),
        (
            vec!["--last", "30", "--since", "2026-11-20"],
            serde_json::json!({"limit": 30, "since": "2026-11-20"}),
        ),
        (
            vec!["--last", "30", "--surface", "cli"],
            serde_json::json!({"limit": 30, "surface": "cli"}),
        ),
    ];
    for (flags, kwargs) in cases {
        let mut ours: Vec<Value> = json_out(bin(home.path()).arg("log").args(&flags).arg("--json"))
            .as_array()
            .unwrap()
            .clone();
        ours.reverse(); // our log is oldest first; Python's query newest first
        let theirs = python_query(&home, kwargs);
        assert!(!theirs.is_empty(), "{flags:?} selects rows");
        assert_eq!(ours, theirs, "log {flags:?}");
    }
    // A workflow id and a correlation id taken from the data.
    let any: Vec<Value> = python_query(&home, serde_json::json!({"limit": 4000}));
    let wf = any
        .iter()
        .find_map(|r| r["workflow_id"].as_str().filter(|s| !s.is_empty()))
        .unwrap()
        .to_string();
    let cid = any
        .iter()
        .find_map(|r| r["correlation_id"].as_str().filter(|s| !s.is_empty()))
        .unwrap()
        .to_string();
    let ours = json_out(bin(home.path()).args(["log", "--json", "--workflow-id", &wf]));
    assert_eq!(
        ours.as_array().unwrap().len(),
        python_query(&home, serde_json::json!({"workflow_id": wf})).len()
    );
    let ours =
        json_out(bin(home.path()).args(["export", "--correlation-id", &cid, "--skill", "avi"]));
    assert_eq!(
        ours.as_array().unwrap(),
        &python_query(
            &home,
            serde_json::json!({"correlation_id": cid, "skill": "avi", "limit": 10000})
        )
    );
    // export's default limit and order are Python's (10000, newest first).
    let ours =
        json_out(bin(home.path()).args(["export", "--since", "2026-11-01", "--limit", "700"]));
    assert_eq!(
        ours.as_array().unwrap(),
        &python_query(
            &home,
            serde_json::json!({"since": "2026-11-01", "limit": 700})
        )
    );
}

#[test]
fn filters_repeat_negate_and_combine() {
    let home = generated(3000);
    let rows = |flags: &[&str]| -> Vec<Value> {
        json_out(
            bin(home.path())
                .args(["log", "--last", "100000"])
                .args(flags)
                .arg("--json"),
        )
        .as_array()
        .unwrap()
        .clone()
    };
    let all = rows(&[]);
    assert_eq!(all.len(), 3000);
    let count = |f: &dyn Fn(&Value) -> bool| all.iter().filter(|r| f(r)).count();
    assert_eq!(
        rows(&["--status", "denied", "--status", "error"]).len(),
        count(&|r| r["status"] == "denied" || r["status"] == "error")
    );
    assert_eq!(
        rows(&["--not-status", "ok"]).len(),
        count(&|r| r["status"] != "ok")
    );
    assert_eq!(
        rows(&["--agent", "codex", "--risk", "critical"]).len(),
        count(&|r| r["agent"] == "codex" && r["risk_level"] == "critical")
    );
    assert_eq!(
        rows(&[
            "--user",
            "alice",
            "--not-skill",
            "avi",
            "--not-tool",
            "list_vms"
        ])
        .len(),
        count(&|r| r["user"] == "alice" && r["skill"] != "avi" && r["tool"] != "list_vms")
    );
    let mid = all[1500]["ts"].as_str().unwrap().to_string();
    assert_eq!(rows(&["--until", &mid]).len(), 1500);
    assert_eq!(rows(&["--since", &mid]).len(), 1500);
    let lines = bin(home.path())
        .args(["log", "--jsonl", "--last", "7"])
        .output()
        .unwrap()
        .stdout;
    let parsed: Vec<Value> = String::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, all[all.len() - 7..]);
}

#[test]
fn archives_are_read_with_the_live_database_as_one_history() {
    let home = Home::new();
    // Enough rows for the WAL to be checkpointed into the file whose size
    // rotation reads (as Python's does).
    let out = common::skill_cmd(home.path(), &["list_dfw_policies", "--seq", "--repeat", "1200", "--rotate-bytes", "100000", "pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!vmware_policy::audit::rotate::archives(&home.db()).is_empty());
    let live = json_out(bin(home.path()).args(["export", "--format", "json", "--limit", "0"]));
    let all = json_out(bin(home.path()).args(["export", "--archives", "--limit", "0"]));
    assert!(live.as_array().unwrap().len() < 1200);
    let seqs: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["params"].as_str().unwrap()).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (0..1200).rev().collect::<Vec<_>>(),
        "newest first, across files, none lost or repeated"
    );
    let last = json_out(bin(home.path()).args(["log", "--archives", "--last", "1200", "--json"]));
    assert_eq!(last.as_array().unwrap().len(), 1200);
}

#[test]
fn export_formats_stream_every_row() {
    let home = generated(1500);
    let jsonl = bin(home.path())
        .args(["export", "--format", "jsonl", "--limit", "0"])
        .output()
        .unwrap()
        .stdout;
    let rows: Vec<Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1500);
    // Past many output chunks and one reused row buffer: the same rows as the
    // JSON export and as `log` (which reads each row on its own).
    let json = json_out(bin(home.path()).args(["export", "--limit", "0"]));
    assert_eq!(json.as_array().unwrap(), &rows);
    let log = json_out(bin(home.path()).args(["log", "--json", "--last", "1500"]));
    // `log` lists oldest first, `export` newest first.
    let mut oldest_first = rows.clone();
    oldest_first.reverse();
    assert_eq!(log.as_array().unwrap(), &oldest_first);
    let csv = String::from_utf8(
        bin(home.path())
            .args(["export", "--format", "csv", "--limit", "0"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(csv.starts_with("id,ts,skill,tool,params,result,status,duration_ms,"));
    // Quoted fields hold commas and quotes; 1 header + 1500 records.
    let records = csv
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .count();
    assert_eq!(records, 1500);
    assert!(
        csv.contains("\"{\"\"target\"\""),
        "JSON params quoted, quotes doubled"
    );
}

#[test]
fn stats_totals_match_python_and_json_is_complete() {
    let home = generated(5000);
    let now_days = (chrono::Utc::now()
        - chrono::DateTime::parse_from_rfc3339(END)
            .unwrap()
            .with_timezone(&chrono::Utc))
    .num_days()
        + 31;
    let days = now_days.to_string();
    let ours = json_out(bin(home.path()).args(["stats", "--days", &days, "--json"]));
    let theirs: Value = serde_json::from_str(&run_python(
        home.path(),
        "query.py",
        &[home.db().to_str().unwrap(), &format!("stats:{days}")],
    ))
    .unwrap();
    assert_eq!(ours["total"], theirs["total"]);
    assert_eq!(ours["total"], 5000);
    for (key, ours_key) in [("by_status", "by_status"), ("by_skill", "by_skill")] {
        let mine: std::collections::BTreeMap<String, u64> = ours[ours_key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let python: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(theirs[key].clone()).unwrap();
        assert_eq!(mine, python, "{key}");
    }
    let rate = ours["denied_rate"].as_f64().unwrap();
    assert!((0.02..0.06).contains(&rate), "{rate}");
    assert_eq!(ours["by_tool"].as_array().unwrap().len(), 10);
    let text = String::from_utf8(
        bin(home.path())
            .args(["stats", "--days", &days, "--by", "day"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("Total operations: 5000")
            && text.contains("Calls per day")
            && text.contains('█'),
        "{text}"
    );
}

#[test]
fn errors_are_one_clear_line_and_never_create_a_database() {
    let home = Home::new();
    let out = bin(home.path()).arg("log").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&home.db().display().to_string())
            && err.contains("created by the first audited tool call"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert!(
        !home.db().exists(),
        "a read command never creates a database"
    );

    std::fs::write(
        home.db(),
        "this is not sqlite, it is a text file of some length........",
    )
    .unwrap();
    let out = bin(home.path()).arg("stats").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a readable SQLite database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let home = generated(50);
    let out = bin(home.path())
        .args(["log", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--since \"last tuesday\" is not a time")
    );
}

#[test]
fn a_locked_database_is_reported_not_waited_on_forever() {
    let home = generated(50);
    let c = rusqlite::Connection::open(home.db()).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE; PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT 1;").unwrap();
    let out = bin(home.path())
        .args(["log", "--last", "3"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(c);
}

#[test]
fn an_old_schema_is_read_as_it_is_and_never_migrated() {
    let home = Home::new();
    let c = rusqlite::Connection::open(home.db()).unwrap();
    c.execute_batch(
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, skill TEXT NOT NULL, tool TEXT NOT NULL, \
         params TEXT NOT NULL DEFAULT '{}', result TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL DEFAULT 'ok', duration_ms INTEGER NOT NULL DEFAULT 0, \
         agent TEXT NOT NULL DEFAULT 'unknown', workflow_id TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT 'unknown', risk_level TEXT NOT NULL DEFAULT 'low');
         INSERT INTO audit_log (ts, skill, tool, status) VALUES ('2026-11-20T10:00:00+00:00', 'aiops', 'old_tool', 'denied');",
    )
    .unwrap();
    drop(c);
    let rows = json_out(bin(home.path()).args(["log", "--json", "--surface", ""]));
    assert_eq!(rows[0]["tool"], "old_tool");
    assert_eq!(rows[0]["surface"], "");
    bin(home.path())
        .args(["stats", "--days", "3650"])
        .assert()
        .success();
    let cols = vmware_policy::audit::schema::existing_columns(
        &rusqlite::Connection::open(home.db()).unwrap(),
    )
    .unwrap();
    assert_eq!(cols.len(), 12);
}

#[test]
fn completions_and_the_man_page() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = bin(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("export"),
            "{shell}"
        );
    }
    let man = String::from_utf8(bin(home.path()).arg("man").output().unwrap().stdout).unwrap();
    assert!(
        man.contains(".TH") && man.contains("vmware\\-audit"),
        "{man}"
    );
}

#[test]
fn no_colour_in_pipes_unless_asked() {
    let home = generated(30);
    let plain = bin(home.path())
        .args(["log", "--last", "5"])
        .output()
        .unwrap()
        .stdout;
    assert!(!plain.contains(&0x1b));
    let forced = bin(home.path())
        .args(["--color", "always", "log", "--last", "5"])
        .output()
        .unwrap()
        .stdout;
    assert!(forced.contains(&0x1b));
    let no_color = bin(home.path())
        .env("NO_COLOR", "1")
        .args(["log", "--last", "5"])
        .output()
        .unwrap()
        .stdout;
    assert!(!no_color.contains(&0x1b));
}

#[test]
fn global_paths_and_local_time() {
    let home = generated(40);
    let elsewhere = Home::new();
    // --db and --rules override OPS_HOME.
    let rows = json_out(
        bin(elsewhere.path())
            .arg("--db")
            .arg(home.db())
            .args(["log", "--json", "--last", "3"]),
    );
    assert_eq!(rows.as_array().unwrap().len(), 3);
    std::fs::write(
        elsewhere.path().join("other.yaml"),
        "deny:\n  - name: from-flag\n",
    )
    .unwrap();
    let doc = json_out(
        bin(home.path())
            .arg("--rules")
            .arg(elsewhere.path().join("other.yaml"))
            .args(["policy", "-o", "x", "--json"]),
    );
    assert_eq!(doc["rule"], "from-flag");
    // --local shows the same instants in the local zone (TZ fixed for the test).
    let utc = String::from_utf8(
        bin(home.path())
            .env("TZ", "Asia/Kolkata")
            .args(["log", "--last", "1"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let local = String::from_utf8(
        bin(home.path())
            .env("TZ", "Asia/Kolkata")
            .args(["--local", "log", "--last", "1"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        utc.contains("Time (UTC)") && local.contains("Time (local)"),
        "{utc}\n{local}"
    );
    let time_of = |t: &str| t.lines().nth(1).unwrap()[6..11].to_string();
    assert_ne!(time_of(&utc), time_of(&local), "+05:30 shifts the clock");
}

#[test]
fn a_filter_value_nothing_has_is_warned_about_and_exit_stays_0() {
    let home = generated(300);
    for (args, word) in [
        (&["log", "--status", "denid"][..], "did you mean 'denied'"),
        (&["export", "--risk", "extreme"], "risk level 'extreme'"),
        (&["stats", "--not-status", "okk"], "status 'okk'"),
        (
            &["policy", "-o", "delete_vm", "-r", "extreme"],
            "not a risk level",
        ),
    ] {
        let out = bin(home.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("warning") && err.contains(word),
            "{args:?}: {err}"
        );
    }
    // Known values, or values rows have, are not warned about.
    for args in [
        &["log", "--status", "denied"][..],
        &["log", "--status", "ok_bypassed"],
        &["log", "--risk", "high"],
    ] {
        let out = bin(home.path()).args(args).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{args:?}"
        );
    }
}

#[test]
fn the_demo_writes_private_files_and_uses_db_and_rules_when_given() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let db = home.path().join("mine.db");
    let rules = home.path().join("mine.yaml");
    let out = bin(home.path())
        .arg("--db")
        .arg(&db)
        .arg("--rules")
        .arg(&rules)
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&rules), 0o600, "the demo rules must be private");
    let rows = vmware_policy::audit::Reader::open(&db)
        .unwrap()
        .count()
        .unwrap();
    assert!(rows >= 6, "the demo's calls go to --db ({rows})");
    // An existing rules file is used as it is, never overwritten.
    std::fs::write(&rules, "deny:\n  - name: mine\n").unwrap();
    let out = bin(home.path())
        .arg("--db")
        .arg(&db)
        .arg("--rules")
        .arg(&rules)
        .arg("demo")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&rules).unwrap(),
        "deny:\n  - name: mine\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Denied by rule: mine"),
        "the demo's calls must obey the given rules"
    );
}

#[test]
fn a_reader_that_goes_away_ends_a_command_quietly() {
    use std::io::Read;
    let home = generated(3000);
    for args in [
        &["log", "--last", "3000"][..],
        &["export", "--limit", "0"],
        &["demo"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
            .env("OPS_HOME", home.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
