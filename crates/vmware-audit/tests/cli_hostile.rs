//! Rows are written by agents: escape sequences, OSC 52 clipboard writes, a
//! screen clear, NUL, a C1 CSI and bidi overrides in any field never reach the
//! terminal raw, from any command, and JSON output stays exact JSON.
//! `log --follow` loses and repeats no row across a rotation.

mod common;

use std::io::Read;
use std::process::Stdio;

use assert_cmd::Command;
use common::{Home, skill_cmd};
use serde_json::Value;
use vmware_policy::safe_text::is_unsafe;
use vmware_policy::{AuditEngine, Record};

const HOSTILE: &[&str] = &[
    "\u{1b}]52;c;aGVsbG8gd29ybGQ=\u{7}",
    "\u{1b}[2J\u{1b}[H",
    "nul\0byte",
    "\u{9b}31mC1 CSI",
    "bidi \u{202e}txt.exe",
    "del\u{7f} bel\u{7} zwsp\u{200b}",
];

fn bin(home: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("vmware-audit").unwrap();
    c.env("OPS_HOME", home).env("COLUMNS", "160");
    c
}

fn hostile_home() -> Home {
    let home = Home::new();
    let engine = AuditEngine::new(home.db());
    for (i, h) in HOSTILE.iter().enumerate() {
        let json_text = serde_json::to_string(&serde_json::json!({ "arg": h })).unwrap();
        engine.append(Record {
            skill: format!("skill{h}"),
            tool: format!("tool{i}{h}"),
            params: json_text.clone(),
            result: format!("{{\"raw\": \"{h}\"}}"), // invalid JSON on purpose: raw controls in a string
            status: if i == 0 {
                "denied".into()
            } else {
                format!("weird{h}")
            },
            agent: h.to_string(),
            user: h.to_string(),
            workflow_id: h.to_string(),
            surface: h.to_string(),
            risk_level: h.to_string(),
            ..Record::default()
        });
    }
    home.write_rules("deny:\n  - name: \"rule\\e]52;c;eA==\\a\"\n    operations: [\"x\\u202e\"]\n    reason: \"\\e[2J gone\"\n");
    home
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text =
        String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    if let Some(c) = text.chars().find(|&c| is_unsafe(c) && c != '\n') {
        panic!("{what}: raw {c:?} reached the output:\n{text:?}");
    }
}

#[test]
fn no_command_lets_a_control_character_through() {
    let home = hostile_home();
    let runs: &[&[&str]] = &[
        &["log", "--last", "50"],
        &["log", "--last", "50", "--json"],
        &["log", "--last", "50", "--jsonl"],
        &["export"],
        &["export", "--format", "jsonl"],
        &["stats", "--days", "3"],
        &["stats", "--days", "3", "--json"],
        &["stats", "--days", "3", "--jsonl"],
        &["rules", "show"],
        &["rules", "show", "--json"],
        &["rules", "validate"],
        &["policy", "-o", "x\u{202e}", "-e", "\u{1b}[31mprod"],
        &["policy", "-o", "x", "--json"],
        &[
            "log",
            "--skill",
            "\u{1b}]52;c;eA==\u{7}",
            "--since",
            "\u{1b}[2J",
        ],
    ];
    for args in runs {
        let out = bin(home.path()).args(*args).output().unwrap();
        assert_clean(&format!("{args:?} stdout"), &out.stdout);
        assert_clean(&format!("{args:?} stderr"), &out.stderr);
    }
    // JSON stays exact: the hostile values come back byte for byte.
    let out = bin(home.path())
        .args(["export", "--limit", "0"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut agents: Vec<String> = rows
        .iter()
        .map(|r| r["agent"].as_str().unwrap().to_string())
        .collect();
    agents.reverse();
    assert_eq!(agents, HOSTILE);
    // The table shows them escaped, visibly.
    let table = String::from_utf8(
        bin(home.path())
            .args(["log", "--last", "50"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        table.contains("\\u{1b}]52;c;") && table.contains("\\u{202e}"),
        "{table}"
    );
}

#[test]
fn csv_in_a_pipe_is_exact_data() {
    let home = hostile_home();
    let out = bin(home.path())
        .args(["export", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\u{1b}]52;c;aGVsbG8gd29ybGQ=\u{7}"),
        "exact values for files and pipes"
    );
}

/// `log --follow --jsonl` running on `home`, and a thread draining its
/// output as it comes (a full pipe would block it); stderr stays piped.
fn spawn_follow(
    home: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, std::thread::JoinHandle<String>) {
    let mut follow = std::process::Command::new(assert_cmd::cargo::cargo_bin("vmware-audit"))
        .args(["log", "--follow", "--jsonl"])
        .args(extra)
        .env("OPS_HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    (follow, reader)
}

#[test]
fn follow_across_a_rotation_loses_no_row_and_repeats_none() {
    let home = Home::new();
    // A database must exist to follow; one seed row.
    AuditEngine::new(home.db()).append(Record {
        tool: "seed".into(),
        ..Record::default()
    });
    let (mut follow, reader) = spawn_follow(home.path(), &["--last", "0"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let pad = "p".repeat(300);
    let writer = skill_cmd(
        home.path(),
        &[
            "list_dfw_policies",
            "--seq",
            "--repeat",
            "1200",
            "--interval-ms",
            "2",
            "--rotate-bytes",
            "50000",
            &format!("pad={pad}"),
        ],
    )
    .output()
    .unwrap();
    assert!(writer.status.success());
    assert!(
        !vmware_policy::audit::rotate::archives(&home.db()).is_empty(),
        "the writer must rotate"
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(follow.id() as i32, libc::SIGINT) };
    let status = follow.wait().unwrap();
    assert!(
        status.success(),
        "Ctrl-C ends the follow cleanly: {status:?}"
    );
    let out = reader.join().unwrap();
    let seqs: Vec<i64> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["tool"] == "list_dfw_policies")
        .map(|r| {
            serde_json::from_str::<Value>(r["params"].as_str().unwrap()).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (0..1200).collect::<Vec<_>>(),
        "every row once, in order"
    );
}

#[test]
fn follow_waits_for_a_database_that_does_not_exist_yet() {
    let home = Home::new();
    let (mut follow, reader) = spawn_follow(home.path(), &[]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        follow.try_wait().unwrap().is_none(),
        "it must wait, not exit"
    );
    assert!(!home.db().exists(), "a reader never creates the database");
    let writer = skill_cmd(
        home.path(),
        &["list_dfw_policies", "--seq", "--repeat", "5"],
    )
    .output()
    .unwrap();
    assert!(writer.status.success());
    std::thread::sleep(std::time::Duration::from_millis(800));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(follow.id() as i32, libc::SIGINT) };
    let out = follow.wait_with_output().unwrap();
    assert!(out.status.success(), "Ctrl-C ends it cleanly");
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting for it"));
    let rows = reader.join().unwrap();
    assert_eq!(
        rows.lines()
            .filter(|l| l.contains("list_dfw_policies"))
            .count(),
        5,
        "{rows}"
    );
}
