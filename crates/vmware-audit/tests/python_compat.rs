//! Compatibility with the real Python package (`vmware-policy==1.24.3`, in a
//! venv these tests create): the two sides share audit.db and rules.yaml with
//! no seam.

mod common;

use std::collections::HashSet;

use chrono::{Duration, Timelike, Utc};
use common::{Home, all_rows, python_cli, python_cmd, run_python, skill, skill_cmd};
use serde_json::{Value, json};
use vmware_policy::audit::{AuditRow, Reader, rotate};
use vmware_policy::{CallContext, PolicyEngine};

fn row_as_json(r: &AuditRow) -> Value {
    serde_json::to_value(r).unwrap()
}

#[test]
fn rows_written_by_python_are_read_back_field_for_field() {
    let home = Home::new();
    let py_rows: Vec<Value> =
        serde_json::from_str(&run_python(home.path(), "write_rows.py", &[])).unwrap();
    assert!(py_rows.len() >= 7, "{py_rows:?}");
    let ours = Reader::open(&home.db()).unwrap().after(0, 1000).unwrap();
    assert_eq!(ours.len(), py_rows.len());
    for (mine, theirs) in ours.iter().zip(&py_rows) {
        assert_eq!(&row_as_json(mine), theirs, "field-for-field");
    }
    let statuses: Vec<&str> = ours.iter().map(|r| r.status.as_str()).collect();
    assert!(
        statuses.contains(&"error")
            && statuses.contains(&"dry_run")
            && statuses.contains(&"budget_exceeded"),
        "{statuses:?}"
    );
}

#[test]
fn rows_written_by_our_guard_are_read_by_the_python_cli() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: no-delete-in-prod\n    operations: ['delete_*']\n    environments: [production]\n");
    let calls: &[&[&str]] = &[
        &["list_dfw_policies"],
        &["create_dfw_rule", "policy_id=web", "env=lab"],
        &["create_dfw_rule", "policy_id=web", "dry_run=true"],
        &["create_dfw_rule"],
        &[
            "delete_dfw_policy",
            "policy_id=web",
            "env=production",
            "password=s3cret",
        ],
        &[
            "delete_dfw_policy",
            "policy_id=old",
            "env=lab",
            "password=s3cret",
            "note=--password=hunter2",
        ],
    ];
    for args in calls {
        skill(home.path(), args);
    }
    let exported: Vec<Value> =
        serde_json::from_str(&python_cli(home.path(), &["export", "--limit", "100"])).unwrap();
    let mut ours = Reader::open(&home.db()).unwrap().latest(100).unwrap();
    assert_eq!(exported.len(), calls.len());
    assert_eq!(ours.len(), exported.len());
    for (mine, theirs) in ours.iter_mut().zip(&exported) {
        assert_eq!(&row_as_json(mine), theirs);
    }
    let statuses: Vec<&str> = exported
        .iter()
        .rev()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "dry_run", "error", "denied", "ok"]);
    let text = serde_json::to_string(&exported).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    let denied = exported.iter().find(|r| r["status"] == "denied").unwrap();
    let result: Value = serde_json::from_str(denied["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["rule"], "no-delete-in-prod");
    // Python's own table view reads the same rows.
    let log = python_cli(home.path(), &["log", "--last", "10"]);
    assert!(
        log.contains("last 6 entries") && log.contains("denied"),
        "{log}"
    );
}

/// Calls every rule set is checked with: (operation, environment, risk, aliases).
fn common_calls() -> Vec<(String, String, String, Vec<String>)> {
    let c = |op: &str, env: &str, risk: &str, aliases: &[&str]| {
        (
            op.to_string(),
            env.to_string(),
            risk.to_string(),
            aliases.iter().map(|s| s.to_string()).collect(),
        )
    };
    vec![
        c("list_vms", "", "low", &[]),
        c("delete_vm", "production", "critical", &[]),
        c("delete_vm", "", "critical", &[]),
        c("delete_vm", "lab", "high", &[]),
        c("vm_delete", "prod-eu", "medium", &[]),
        c("create_dfw_rule", "prod-eu", "medium", &[]),
        c("get_vm_info", "production", "low", &["vm_info"]),
        c("reboot_host", "staging", "high", &[]),
        c("d", "production", "low", &[]),
        c("x", "production", "extreme", &[]),
        c("Delete_VM", "production", "critical", &[]),
        c("snapshot_vm_1", "lab", "HIGH", &[]),
        c("host_a1", "prod", "medium", &[]),
        c("{a,b}_vm", "prod", "low", &[]),
    ]
}

/// Rule sets, with `{IN}`/`{OUT}` standing for a window that contains now and one that does not.
/// The second field says Python may raise or decide more loosely (a malformed value):
/// ours must then deny whenever Python does not allow.
fn rule_sets() -> Vec<(&'static str, bool)> {
    vec![
        ("", false),
        ("{}\n", false),
        ("deny: []\n", false),
        (
            "deny:\n  - name: del\n    operations: ['delete_*', '*_delete']\n",
            false,
        ),
        (
            "deny:\n  - name: prod\n    operations: ['delete_*']\n    environments: ['prod*']\n",
            false,
        ),
        (
            "deny:\n  - name: all-prod\n    environments: [production]\n",
            false,
        ),
        ("deny:\n  - name: none\n    operations: []\n", false),
        (
            "deny:\n  - name: crit\n    min_risk_level: critical\n",
            false,
        ),
        ("deny:\n  - name: hi\n    min_risk_level: high\n", false),
        (
            "deny:\n  - name: med\n    min_risk_level: ' MEDIUM '\n",
            false,
        ),
        (
            "deny:\n  - name: typo\n    min_risk_level: mediun\n    operations: [delete_vm]\n",
            false,
        ),
        ("deny:\n  - name: old\n    operations: [vm_info]\n", false),
        ("deny:\n  - name: q\n    operations: ['?']\n", false),
        (
            "deny:\n  - name: cls\n    operations: ['host_[ab]*', '[!x]ool', 'snapshot_vm_[0-9]']\n",
            false,
        ),
        (
            "deny:\n  - name: braces\n    operations: ['{a,b}_vm']\n",
            false,
        ),
        (
            "deny:\n  - name: rng\n    operations: ['host_[z-a]1', 'vm_[a-]']\n",
            false,
        ),
        ("deny:\n  - name: cli\n    clients: ['ci-*']\n", false),
        ("deny:\n  - name: role\n    roles: reader\n", false),
        ("deny:\n  - name: emptyclient\n    clients: ''\n", false),
        ("deny:\n  - name: oddclients\n    clients: 5\n", false),
        ("deny:\n  - name: oddroles\n    roles: {a: b}\n", false),
        ("deny:\n  - operations: ['delete_*']\n", false),
        (
            "deny:\n  - name: first\n    operations: ['delete_*']\n  - name: second\n    operations: ['*']\n",
            false,
        ),
        (
            "maintenance_window:\n  start: \"{IN_START}\"\n  end: \"{IN_END}\"\n",
            false,
        ),
        (
            "maintenance_window:\n  start: \"{OUT_START}\"\n  end: \"{OUT_END}\"\n",
            false,
        ),
        ("maintenance_window: {start: '{OUT_START}'}\n", false),
        ("maintenance_window:\n  start: 22:00\n  end: 06:00\n", false),
        ("maintenance_window: '22:00-06:00'\n", false),
        ("maintenance_window: {start: '2200', end: '0600'}\n", false),
        ("maintenance_window: {}\n", false),
        (
            "maintenance_window: {start: ' {IN_START}', end: '+{IN_END}'}\n",
            false,
        ),
        (
            "deny:\n  - name: win-and-rule\n    operations: [list_vms]\nmaintenance_window:\n  start: \"{OUT_START}\"\n  end: \"{OUT_END}\"\n",
            false,
        ),
        ("change_limits:\n  max_cpu_change_pct: 1\n", false),
        ("deny:\n  - name: str\n    operations: 'delete_*'\n", true),
        ("deny:\n  - name: str2\n    operations: delete_vm\n", true),
        ("deny:\n  - name: num\n    operations: 5\n", true),
        (
            "deny:\n  - name: mixed\n    operations: [delete_vm, 5]\n",
            true,
        ),
        ("deny:\n  - a string rule\n", true),
        ("deny:\n", true),
        ("deny: {name: x}\n", true),
        ("- not a mapping\n", true),
        ("deny:\n  - name: envnum\n    environments: 5\n", true),
        ("deny:\n  - name: x\n    operations: [delete_*\n", true),
        ("deny:\n  - name: on\n    operations: [yes, 'no']\n", false),
    ]
}

fn hhmm(t: chrono::DateTime<Utc>) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

#[test]
fn both_engines_reach_the_same_decision_on_a_shared_corpus() {
    let now = Utc::now();
    let fill = |s: &str| {
        s.replace("{IN_START}", &hhmm(now - Duration::hours(2)))
            .replace("{IN_END}", &hhmm(now + Duration::hours(2)))
            .replace("{OUT_START}", &hhmm(now + Duration::hours(2)))
            .replace("{OUT_END}", &hhmm(now + Duration::hours(4)))
    };
    let calls = common_calls();
    let sets = rule_sets();
    let corpus: Vec<Value> = sets
        .iter()
        .map(|(rules, _)| json!({"rules": fill(rules), "cases": calls}))
        .collect();
    let home = Home::new();
    let corpus_path = home.path().join("corpus.json");
    std::fs::write(&corpus_path, serde_json::to_string(&corpus).unwrap()).unwrap();
    let theirs: Vec<Vec<Value>> = serde_json::from_str(&run_python(
        home.path(),
        "decide.py",
        &[corpus_path.to_str().unwrap()],
    ))
    .unwrap();

    let (mut same, mut stricter, mut total) = (0, 0, 0);
    for ((entry, (_, loose)), py) in corpus.iter().zip(&sets).zip(&theirs) {
        let rules = entry["rules"].as_str().unwrap();
        let e = PolicyEngine::from_text(rules, home.path().join("rules.yaml"));
        for ((op, env, risk, aliases), p) in calls.iter().zip(py) {
            total += 1;
            let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
            let d = e.check(
                op,
                &CallContext {
                    env,
                    risk_level: risk,
                    aliases: &aliases,
                    at: Some(now),
                    ..CallContext::default()
                },
            );
            let py_allowed = p.get("allowed").and_then(Value::as_bool);
            let py_rule = p.get("rule").and_then(Value::as_str);
            if py_allowed == Some(d.allowed) && py_rule == Some(d.rule.as_str()) {
                same += 1;
                continue;
            }
            // Where Python raises (the tool call fails) or reads a malformed value
            // loosely, ours must deny: more, never less. Anything else must be identical.
            let python_raised = p.get("raised").is_some();
            assert!(
                !d.allowed && (python_raised || *loose),
                "decisions differ on {op} env={env:?} risk={risk}: python {p}, ours {d:?}\nrules:\n{rules}"
            );
            stricter += 1;
        }
    }
    assert!(total >= 200, "corpus too small: {total}");
    println!(
        "corpus: {total} cases, {same} identical, {stricter} where ours denies and Python raises or reads a malformed value loosely"
    );
}

#[test]
fn python_and_rust_processes_writing_one_database_at_once_lose_nothing() {
    let home = Home::new();
    let mut children = Vec::new();
    for w in 0..3 {
        children.push(
            python_cmd(home.path(), "writer.py", &[&format!("py{w}"), "200"])
                .spawn()
                .unwrap(),
        );
        children.push(
            skill_cmd(
                home.path(),
                &[
                    "list_dfw_policies",
                    &format!("writer=rs{w}"),
                    "--seq",
                    "--repeat",
                    "200",
                ],
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
        );
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let keys: Vec<(String, i64)> = Reader::open(&home.db())
        .unwrap()
        .after(0, 10_000)
        .unwrap()
        .iter()
        .map(|r| {
            let p: Value = serde_json::from_str(&r.params).unwrap();
            (
                p["writer"].as_str().unwrap().to_string(),
                p["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys.len(), 1200);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1200);
}

#[test]
fn a_python_rotation_underneath_keeps_our_rows_going_to_the_live_file() {
    let home = Home::new();
    // A long-lived Rust skill writes steadily with the default threshold...
    let mut rust = skill_cmd(
        home.path(),
        &[
            "list_dfw_policies",
            "writer=rust",
            "--seq",
            "--repeat",
            "250",
            "--interval-ms",
            "4",
        ],
    )
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    // ...while a Python skill rotates the file under it, three times, with the
    // package's own rotation code.
    for _ in 0..3 {
        let made = run_python(home.path(), "rotate_now.py", &[]);
        assert_eq!(made.trim(), "1", "python rotated");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(rust.wait().unwrap().success());
    // One more Rust call after the last rotation must land in the live file.
    let out = skill(home.path(), &["list_dfw_policies", "writer=final"]);
    assert!(out.status.success());

    assert_eq!(
        rotate::archives(&home.db()).len(),
        3,
        "Python rotated three times"
    );
    let rows = all_rows(&home.db());
    let rust_seqs: Vec<i64> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.params).ok())
        .filter(|p| p["writer"] == "rust")
        .map(|p| p["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        rust_seqs.len(),
        250,
        "every Rust row once, across live file and archives"
    );
    assert_eq!(rust_seqs.iter().collect::<HashSet<_>>().len(), 250);
    let live = Reader::open(&home.db()).unwrap().after(0, 100_000).unwrap();
    assert!(
        live.iter().any(|r| r.params.contains("\"final\"")),
        "the last row went to an archive"
    );
}
