//! The readers' sidecar index (`.vmware-audit-index/`), held against a plain
//! scan of the same files (`VMWARE_AUDIT_NO_INDEX=1`): after rotations of both
//! kinds (ours by copy, the Python package's by rename), with rows added
//! between runs, with the sidecar deleted between runs and while a reader
//! builds it, with two readers building it at once, and with a corrupt one.

mod common;

use std::process::{Command, Output};

use common::{Home, run_python, skill_cmd};

/// `vmware-audit ARGS` on `home`'s files, through the sidecar or, `plain`,
/// by a plain scan (`VMWARE_AUDIT_NO_INDEX=1`); its stdout, once it succeeded.
fn cli(home: &Home, args: &[&str], plain: bool) -> Vec<u8> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"));
    c.args(args).env("OPS_HOME", home.path());
    if plain {
        c.env("VMWARE_AUDIT_NO_INDEX", "1");
    } else {
        c.env_remove("VMWARE_AUDIT_NO_INDEX");
    }
    let out: Output = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn stats(home: &Home, args: &[&str], plain: bool) -> serde_json::Value {
    let mut all = vec!["stats"];
    all.extend(args);
    all.push("--json");
    stats_answer(&cli(home, &all, plain))
}

/// What `stats --json` printed, without `since` ("now" minus the days: it
/// moves between two runs).
fn stats_answer(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v.as_object_mut().unwrap().remove("since");
    v
}

/// A home with no rules and `rows` generated rows over `days`.
fn generated(rows: &str, days: &str) -> Home {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let out = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["generate", "--rows", rows, "--days", days])
        .env("OPS_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    home
}

const FORMS: &[&[&str]] = &[
    &["--days", "30"],
    &["--days", "1", "--by", "hour"],
    &["--days", "30", "--status", "denied"],
    &["--days", "7", "--skill", "pyskill", "--not-status", "ok"],
    &["--days", "30", "--archives"],
    &[
        "--days",
        "2",
        "--archives",
        "--by",
        "day",
        "--tool",
        "py_tool",
    ],
];

fn same_as_a_plain_scan(home: &Home, when: &str) {
    for form in FORMS {
        assert_eq!(
            stats(home, form, false),
            stats(home, form, true),
            "{when}: stats {form:?}"
        );
    }
}

/// `log` (and `export`) with a `since`: the same rows through the sidecar's
/// id bound as by a plain scan.
fn log_same_as_a_plain_scan(home: &Home, since: &str, archives: bool) {
    let mut args = vec!["log", "--json", "--last", "1000000", "--since", since];
    if archives {
        args.push("--archives");
    }
    let run = |plain: bool| cli(home, &args, plain);
    assert_eq!(
        run(false),
        run(true),
        "log --since {since} (archives: {archives})"
    );
}

/// `log` and `export` with column filters and `--search`: the rows the
/// sidecar's hours, blocks and ids let through are those of a plain scan.
fn filtered_logs_same_as_a_plain_scan(home: &Home, when: &str) {
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let forms: Vec<Vec<&str>> = vec![
        vec!["log", "--json", "--status", "denied", "--last", "100000"],
        vec![
            "log",
            "--json",
            "--tool",
            "delete_dfw_policy",
            "--last",
            "7",
        ],
        vec!["log", "--json", "--skill", "pyskill", "--not-status", "ok"],
        vec![
            "log",
            "--json",
            "--not-status",
            "ok",
            "--archives",
            "--last",
            "100000",
        ],
        vec![
            "log",
            "--json",
            "--search",
            "DELETE_DFW",
            "--archives",
            "--last",
            "100000",
        ],
        vec![
            "log",
            "--json",
            "--search",
            "no-such-text-anywhere",
            "--archives",
        ],
        vec!["log", "--json", "--search", "xx", "--last", "100000"],
        vec![
            "log",
            "--json",
            "--search",
            "\"seq\": 12",
            "--last",
            "100000",
            "--archives",
        ],
        vec![
            "log", "--json", "--since", &hour_ago, "--status", "denied", "--search", "dfw",
        ],
        vec!["export", "--format", "csv", "--search", "py", "--archives"],
        vec![
            "export", "--format", "json", "--tool", "py_tool", "--status", "ok",
        ],
    ];
    for form in &forms {
        let (fast, plain) = (cli(home, form, false), cli(home, form, true));
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&plain),
            "{when}: {form:?}"
        );
    }
}

fn index_files(home: &Home) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.path().join(".vmware-audit-index"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_sidecar_agrees_with_a_plain_scan_through_rotations_of_both_kinds() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: no-deletes\n    operations: [\"delete_*\"]\n");
    let pad = "x".repeat(300);
    let rust = |n: usize, tool: &str| {
        let out = skill_cmd(
            home.path(),
            &[
                tool,
                &format!("pad={pad}"),
                "--repeat",
                &n.to_string(),
                "--rotate-bytes",
                "80000",
                "--keep-archives",
                "100",
            ],
        )
        .output()
        .unwrap();
        // A denied call ends the example skill with 1; its rows are written.
        assert!(
            out.status.code() == Some(if tool.starts_with("delete") { 1 } else { 0 }),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let python = |n: usize| {
        run_python(
            home.path(),
            "writer_rotating.py",
            &["py", &n.to_string(), "80000", &pad, "100"],
        );
    };
    rust(300, "list_dfw_policies");
    python(200);
    same_as_a_plain_scan(&home, "first build");
    filtered_logs_same_as_a_plain_scan(&home, "first build");
    let built = index_files(&home);
    let files = vmware_policy::audit::rotate::archives(&home.db()).len() + 1;
    assert!(files >= 3, "the writers rotated");
    assert_eq!(built.len(), files, "one sidecar per file: {built:?}");
    use std::os::unix::fs::PermissionsExt;
    for f in &built {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // More rows, more rotations of both kinds, then Python's own rename now.
    rust(250, "delete_dfw_policy");
    python(150);
    run_python(home.path(), "write_many.py", &["py-extra", "5"]);
    // (Its retention keeps 5 archives: one may go as this one comes.)
    use std::os::unix::fs::MetadataExt;
    let live = std::fs::metadata(home.db()).unwrap().ino();
    run_python(home.path(), "rotate_now.py", &[]);
    assert!(
        std::fs::metadata(home.db()).map_or(true, |m| m.ino() != live),
        "renamed away"
    );
    python(40);
    same_as_a_plain_scan(&home, "after more rows and rotations");
    filtered_logs_same_as_a_plain_scan(&home, "after more rows and rotations");
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for since in [hour_ago.as_str(), "2099-01-01"] {
        log_same_as_a_plain_scan(&home, since, true);
        log_same_as_a_plain_scan(&home, since, false);
    }
    // Deleted mid-run: rebuilt.
    std::fs::remove_dir_all(home.path().join(".vmware-audit-index")).unwrap();
    same_as_a_plain_scan(&home, "after the sidecars were deleted");
    // Corrupt: rebuilt, never trusted.
    for f in index_files(&home) {
        std::fs::write(
            &f,
            b"not a sqlite file, not at all; garbage garbage garbage",
        )
        .unwrap();
    }
    same_as_a_plain_scan(&home, "after the sidecars were corrupted");
    filtered_logs_same_as_a_plain_scan(&home, "after the sidecars were corrupted");
    for f in index_files(&home) {
        let head = std::fs::read(&f).unwrap();
        assert!(
            head.starts_with(b"SQLite format 3"),
            "{} rebuilt",
            f.display()
        );
    }
    // A sidecar of the right format but counting wrong (edited by hand) is
    // not detectable by the reader: the README says it is ours to keep.
}

#[test]
fn two_readers_building_at_once_agree() {
    let home = generated("60000", "10");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
            .args(["stats", "--days", "30", "--json"])
            .env("OPS_HOME", home.path())
            .env_remove("VMWARE_AUDIT_NO_INDEX")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let parse = |o: Output| {
        assert!(o.status.success());
        stats_answer(&o.stdout)
    };
    let (a, b) = (
        parse(a.wait_with_output().unwrap()),
        parse(b.wait_with_output().unwrap()),
    );
    let plain = stats(&home, &["--days", "30"], true);
    assert_eq!(a, plain);
    assert_eq!(b, plain);
    assert_eq!(a["total"], 60000);
    // A `since` inside an hour: that hour's rows from the raw rows (found by
    // its id range), the later hours from the rollups.
    // Absolute times (a relative one moves between the two runs compared).
    let ago = |m: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(m))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    let sinces = [ago(120), ago(90), ago(3 * 1440 + 17), ago(7 * 1440 + 31)];
    for since in sinces.iter().map(String::as_str).chain(["2099-01-01"]) {
        log_same_as_a_plain_scan(&home, since, false);
        for more in [&[][..], &["--by", "hour"][..], &["--status", "denied"][..]] {
            let mut form = vec!["--days", "30", "--since", since];
            form.extend(more);
            assert_eq!(
                stats(&home, &form, false),
                stats(&home, &form, true),
                "stats {form:?}"
            );
        }
    }
}

#[test]
fn workflow_and_correlation_ids_are_found_through_the_sidecar_and_new_rows_too() {
    let home = generated("40000", "5");
    let c = rusqlite::Connection::open(home.db()).unwrap();
    let pick = |col: &str| -> String {
        c.query_row(
            &format!(
                "SELECT {col} FROM audit_log WHERE {col} != '' ORDER BY id LIMIT 1 OFFSET 500"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (wf, cid) = (pick("workflow_id"), pick("correlation_id"));
    let log = |args: &[&str], plain: bool| {
        let mut all = vec!["log", "--json", "--last", "100000"];
        all.extend(args);
        serde_json::from_slice::<Vec<serde_json::Value>>(&cli(&home, &all, plain)).unwrap()
    };
    let forms: Vec<Vec<&str>> = vec![
        vec!["--workflow-id", &wf],
        vec!["--correlation-id", &cid],
        vec!["--workflow-id", &wf, "--correlation-id", &cid],
        vec!["--workflow-id", "no-such-workflow"],
        vec!["--workflow-id", &wf, "--status", "ok"],
    ];
    for f in &forms {
        let rows = log(f, false);
        assert_eq!(rows, log(f, true), "log {f:?}");
    }
    assert!(!log(&forms[0], false).is_empty());
    // Rows written after the sidecar was brought up to date are found too.
    let engine = vmware_policy::AuditEngine::new(home.db());
    for _ in 0..3 {
        engine.append(vmware_policy::Record {
            workflow_id: wf.clone(),
            tool: "after_the_index".into(),
            ..vmware_policy::Record::default()
        });
    }
    drop(engine);
    for f in &forms {
        assert_eq!(log(f, false), log(f, true), "log {f:?} after new rows");
    }
    let rows = log(&forms[0], false);
    assert_eq!(
        rows.iter()
            .filter(|r| r["tool"] == "after_the_index")
            .count(),
        3
    );
}

#[test]
fn a_sidecar_deleted_while_a_reader_builds_it_costs_a_rebuild_and_nothing_else() {
    let home = generated("150000", "10");
    let plain = stats(&home, &["--days", "30"], true);
    let dir = home.path().join(".vmware-audit-index");
    let mut reader = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["stats", "--days", "30", "--json"])
        .env("OPS_HOME", home.path())
        .env_remove("VMWARE_AUDIT_NO_INDEX")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The build has begun once its file exists; delete it under the reader.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while index_files(&home).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no sidecar appeared");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(
        reader.try_wait().unwrap().is_none(),
        "the reader was still building when its sidecar went"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let out = reader.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stats_answer(&out.stdout),
        plain,
        "the reader whose sidecar was deleted"
    );
    // The next reader builds it again and agrees.
    assert_eq!(stats(&home, &["--days", "30"], false), plain);
    assert_eq!(index_files(&home).len(), 1, "rebuilt");
    same_as_a_plain_scan(&home, "after a sidecar deleted mid-build");
}

/// A first build of a large file says how far it has got on a terminal's
/// stderr and erases its line when done, while stdout (here a file) gets only
/// the answer; with stderr piped, nothing is said. Run under `script`, which
/// gives the command a real terminal and records what it printed there.
#[test]
fn a_first_build_shows_progress_on_a_terminal_and_nowhere_else() {
    let home = generated("150000", "10");
    let plain = stats(&home, &["--days", "30"], true);
    let answer = home.path().join("stats.json");
    let line = format!(
        "'{}' stats --days 30 --json > '{}'",
        env!("CARGO_BIN_EXE_vmware-audit"),
        answer.display()
    );
    let on_terminal = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("OPS_HOME", home.path())
        .env_remove("VMWARE_AUDIT_NO_INDEX")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux)");
    assert!(on_terminal.status.success());
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        shown.contains("\rvmware-audit: indexing ") && shown.contains(" of 150000 rows)\x1b[K"),
        "no progress line on the terminal: {shown:?}"
    );
    assert!(shown.ends_with("\r\x1b[K"), "line not erased: {shown:?}");
    assert_eq!(
        stats_answer(&std::fs::read(&answer).unwrap()),
        plain,
        "stdout holds the answer and nothing else"
    );
    // Piped: the same first build, not a word on stderr.
    std::fs::remove_dir_all(home.path().join(".vmware-audit-index")).unwrap();
    let piped = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["stats", "--days", "30", "--json"])
        .env("OPS_HOME", home.path())
        .env_remove("VMWARE_AUDIT_NO_INDEX")
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8_lossy(&piped.stderr), "");
    assert_eq!(index_files(&home).len(), 1, "built all the same");
}
