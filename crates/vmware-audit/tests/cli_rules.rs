//! The real `vmware-audit` binary's rules and policy commands: `policy`
//! explaining a decision and answering scripts, `rules validate` on every
//! fixture, `rules init` and `rules show`, and a freeze announced by both.

mod common;

use common::Home;
use common::cli::{bin, json_out};
use std::path::Path;

#[test]
fn policy_explains_and_answers_scripts() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: no-delete-in-prod\n    operations: ['delete_*']\n    environments: [production]\n    reason: not in prod\n");
    let doc = json_out(bin(home.path()).args([
        "policy",
        "-o",
        "delete_vm",
        "-e",
        "production",
        "-r",
        "critical",
        "--json",
    ]));
    assert_eq!(
        (
            doc["allowed"].as_bool(),
            doc["rule"].as_str(),
            doc["reason"].as_str(),
            doc["source"].as_str()
        ),
        (
            Some(false),
            Some("no-delete-in-prod"),
            Some("not in prod"),
            Some("user")
        )
    );
    bin(home.path())
        .args([
            "policy",
            "-o",
            "delete_vm",
            "-e",
            "production",
            "--exit-code",
        ])
        .assert()
        .code(1);
    bin(home.path())
        .args(["policy", "-o", "delete_vm", "-e", "lab", "--exit-code"])
        .assert()
        .code(0);
    let text = String::from_utf8(
        bin(home.path())
            .args(["policy", "--operation", "delete_vm", "--env", "lab"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("your rules file")
            && text.contains("allowed (rule: default_allow)")
            && text.contains("'lab'"),
        "{text}"
    );
    home.write_rules("deny: [unclosed\n");
    let out = bin(home.path()).arg("policy").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Every operation is currently DENIED"));
}

#[test]
fn rules_validate_runs_on_every_fixture() {
    let home = Home::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    for kind in ["valid", "invalid"] {
        for f in std::fs::read_dir(root.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        {
            let out = bin(home.path())
                .args(["rules", "validate"])
                .arg(&f)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let expected =
                std::fs::read_to_string(f.with_extension("expected")).unwrap_or_default();
            let has_errors = expected.lines().any(|l| l.contains(": error:"));
            assert_eq!(
                out.status.code(),
                Some(i32::from(has_errors)),
                "{}: {text}",
                f.display()
            );
            for want in expected.lines().filter(|l| !l.is_empty()) {
                let pos = want.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
                assert!(
                    text.contains(&format!("{}:{pos}:", f.display())),
                    "{}: missing {want} in\n{text}",
                    f.display()
                );
            }
            if kind == "valid" {
                // Valid: no problem, or only the report of what the 2.0 tool
                // renames added to a rule (as Python reports it at load).
                assert!(
                    text.contains("no problems")
                        || text
                            .lines()
                            .filter(|l| l.contains(": warning:") || l.contains(": error:"))
                            .all(|l| l.contains("2.0 tool renames")),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn rules_init_writes_the_baseline_once_and_show_lists_the_rules() {
    let home = Home::new();
    bin(home.path()).args(["rules", "init"]).assert().success();
    assert_eq!(
        std::fs::read_to_string(home.rules()).unwrap(),
        vmware_policy::policy::BASELINE
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(home.rules())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let out = bin(home.path()).args(["rules", "init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not overwriting"));
    home.write_rules("deny:\n  - name: a\n    operations: [x, 'y*']\n    min_risk_level: high\nmaintenance_window: {start: '22:00', end: '06:00'}\n");
    let text = String::from_utf8(
        bin(home.path())
            .args(["rules", "show"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("1. a")
            && text.contains("x, y*")
            && text.contains("risk at least high")
            && text.contains("22:00-06:00"),
        "{text}"
    );
    let doc = json_out(bin(home.path()).args(["rules", "show", "--json"]));
    assert_eq!(doc["deny"][0]["operations"], serde_json::json!(["x", "y*"]));
}

#[test]
fn a_freeze_is_announced_by_policy_and_rules_show() {
    use vmware_policy::policy::freeze;
    let home = Home::new();
    let frozen = freeze::freeze(
        "deny:\n  - name: a\n    operations: [x]\n",
        "alice",
        chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .into(),
    )
    .unwrap();
    home.write_rules(&frozen);
    for args in [&["policy"][..], &["rules", "show"]] {
        let out = bin(home.path()).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("FROZEN by alice since 2026-12-01 10:00 UTC") && text.contains("DENIED"),
            "{args:?}: {text}"
        );
    }
    let out = bin(home.path())
        .args(["policy", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["frozen"]["by"], "alice", "{v}");
    home.write_rules("deny: []\n");
    let out = bin(home.path())
        .args(["policy", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["frozen"].is_null(), "{v}");
}
