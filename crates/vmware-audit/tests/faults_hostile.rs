//! Hostile input: malformed, hostile and huge rules files, and audit rows a
//! foreign process wrote with the wrong types, invalid JSON and 10 MB fields.
//! Every command stays up (no panic, no hang), says what is wrong, and never
//! emits a raw control byte. (The TUI draws the same through `term_safe`:
//! see its render tests with hostile rows and an unreadable rules file.)

mod common;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::Home;
use vmware_policy::safe_text::is_unsafe;

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(c) = text.chars().find(|&c| is_unsafe(c) && c != '\n') {
        panic!("{what}: raw {c:?} reached the output");
    }
}

/// Run `args` against `home`: no panic (exit 101) and no hang, clean output;
/// returns (exit code, stdout + stderr).
fn run(home: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("vmware-audit")
        .unwrap()
        .env("OPS_HOME", home)
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let what = format!("vmware-audit {args:?}");
    assert!(
        code != 101 && code != -1,
        "{what} panicked or hung: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean(&what, &out.stdout);
    assert_clean(&what, &out.stderr);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, text)
}

fn alias_bomb() -> String {
    let mut s = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, c) in "bcdefghij".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        s.push_str(&format!(
            "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    s.push_str("deny: *j\n");
    s
}

#[test]
fn hostile_rules_files_fail_closed_with_a_reason_through_every_command() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("syntax error", b"deny:\n  - name: [unclosed\n".to_vec()),
        ("wrong types", b"deny: {name: x}\nmaintenance_window: 22:00\n".to_vec()),
        ("alias bomb", alias_bomb().into_bytes()),
        ("deep nesting", format!("deny: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("invalid UTF-8", b"deny:\n  - name: \xff\xfe\x80\n    operations: [x]\n".to_vec()),
        (
            "hostile strings",
            b"deny:\n  - name: \"\\e]52;c;cGF5bG9hZA==\\a\\e[2J\\u202e\"\n    operations: [\"*\"]\n    reason: \"\\x9b31m\\0 nul\"\n".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let home = Home::new();
        std::fs::write(home.rules(), &bytes).unwrap();
        let (code, text) = run(home.path(), &["rules", "validate"]);
        assert_eq!(
            code,
            if what == "hostile strings" { 0 } else { 1 },
            "{what}: {text}"
        );
        let (_, text) = run(home.path(), &["policy", "-o", "list_vms", "--json"]);
        let doc: serde_json::Value = serde_json::from_str(
            text.lines()
                .take_while(|l| !l.starts_with("vmware-audit:"))
                .collect::<Vec<_>>()
                .join("\n")
                .as_str(),
        )
        .unwrap_or_else(|e| panic!("{what}: policy --json is not JSON ({e}): {text}"));
        assert_eq!(
            doc["allowed"], false,
            "{what}: a bad rules file denies: {doc}"
        );
        if what != "hostile strings" {
            let rule = doc["rule"].as_str().unwrap();
            assert!(
                rule == "rules_unreadable" || rule == "rules_invalid",
                "{what}: {doc}"
            );
            assert!(
                doc["reason"].as_str().unwrap().contains("rules.yaml"),
                "{what}: the reason names the file: {doc}"
            );
        }
        run(home.path(), &["rules", "show"]);
        run(home.path(), &["policy"]);
    }
}

#[test]
fn a_huge_rules_file_and_a_symlink_loop_fail_closed_quickly() {
    let home = Home::new();
    // 100 MB of comments: refused by size, not read whole.
    let f = std::fs::File::create(home.rules()).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    drop(f);
    let (code, text) = run(home.path(), &["policy", "-o", "list_vms", "--exit-code"]);
    assert_eq!(code, 1, "denied: {text}");
    assert!(text.contains("larger than"), "{text}");
    let (code, text) = run(home.path(), &["rules", "validate"]);
    assert_eq!(code, 1, "{text}");
    std::fs::remove_file(home.rules()).unwrap();
    std::os::unix::fs::symlink(home.rules(), home.rules()).unwrap();
    let (code, text) = run(home.path(), &["policy", "-o", "list_vms", "--exit-code"]);
    assert_eq!(code, 1, "a symlink loop denies: {text}");
    run(home.path(), &["rules", "validate"]);
    run(home.path(), &["rules", "show"]);
}

#[test]
fn rows_with_wrong_types_invalid_json_and_10_mb_fields_through_every_command() {
    let home = Home::new();
    assert!(
        common::skill(home.path(), &["list_dfw_policies"])
            .status
            .success()
    );
    let c = rusqlite::Connection::open(home.db()).unwrap();
    let big = format!(
        "{{\"blob\": \"{}\\u001b[2J\"}}",
        "A".repeat(10 * 1024 * 1024)
    );
    c.execute(
        "INSERT INTO audit_log (ts, skill, tool, params, result, status, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params!["2026-11-22T10:00:00+00:00", 42, 3.5, "{not json \u{1b}]52;c;eA==\u{7}", vec![0u8, 159, 255, 27], "denied", "twelve"],
    )
    .unwrap();
    c.execute(
        "INSERT INTO audit_log (ts, skill, tool, params, result, status) VALUES ('2026-11-22T10:00:01+00:00', 'big', 'huge', ?1, ?1, 'ok')",
        [&big],
    )
    .unwrap();
    c.execute(
        "INSERT INTO audit_log (ts, skill, tool, params, status) VALUES (17, x'c29b', x'1b5b324a', x'00ff', 99)",
        [],
    )
    .unwrap();
    drop(c);
    for args in [
        vec!["log", "--last", "10"],
        vec!["log", "--last", "10", "--json"],
        vec!["log", "--last", "10", "--jsonl"],
        vec!["export", "--format", "json", "--limit", "0"],
        vec!["export", "--format", "jsonl", "--limit", "0"],
        // (CSV into a pipe is the exact data by design, for machines; on a
        // terminal it is escaped: tests/cli_hostile.rs.)
        vec!["stats", "--days", "3650"],
        vec!["stats", "--json"],
        vec!["log", "--status", "denied", "--skill", "42"],
    ] {
        let (code, text) = run(home.path(), &args);
        assert_eq!(code, 0, "{args:?}: {}", &text[..text.len().min(500)]);
        if args.contains(&"--json") || args.contains(&"json") {
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("vmware-audit:"))
                .collect::<Vec<_>>()
                .join("\n");
            serde_json::from_str::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{args:?} is not JSON: {e}"));
        }
    }
}
