//! The guard around a tool call: decision, status, redaction and identity in
//! the row, and the caller always getting what the tool returned.

mod common;

use common::{Home, skill, skill_cmd};
use serde_json::{Value, json};
use vmware_policy::audit::{AuditRow, Reader};
use vmware_policy::{AuditEngine, Call, Guard, GuardError, PolicyEngine, Tool};

fn guard(home: &Home) -> Guard {
    Guard::new(PolicyEngine::new(home.rules()), AuditEngine::new(home.db()))
}

fn last_row(home: &Home) -> AuditRow {
    Reader::open(&home.db())
        .unwrap()
        .latest(1)
        .unwrap()
        .remove(0)
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn a_denied_call_does_not_run_and_records_rule_and_reason() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: nope\n    operations: [drop_db]\n    reason: not today\n");
    let g = guard(&home);
    let ran = std::cell::Cell::new(false);
    let r = g.run(
        &Tool::new("db", "drop_db").risk("high"),
        Call::new(json!({"name": "x"})),
        || {
            ran.set(true);
            Ok::<_, String>(())
        },
    );
    assert!(!ran.get());
    match r {
        Err(GuardError::Denied(d)) => {
            assert_eq!((d.rule.as_str(), d.reason.as_str()), ("nope", "not today"))
        }
        other => panic!("{other:?}"),
    }
    let row = last_row(&home);
    assert_eq!(
        (
            row.status.as_str(),
            row.skill.as_str(),
            row.tool.as_str(),
            row.risk_level.as_str()
        ),
        ("denied", "db", "drop_db", "high")
    );
    assert_eq!(
        json_of(&row.result),
        json!({"error": "not today", "rule": "nope"})
    );
}

#[test]
fn the_caller_gets_the_real_value_and_the_row_a_redacted_copy() {
    let home = Home::new();
    let g = guard(&home);
    let tool = Tool::new("vks", "issue_kubeconfig")
        .risk("medium")
        .sensitive_params(&["secret_hint"])
        .sensitive_result();
    let params = json!({"cluster": "c1", "secret_hint": "hint", "nested": [{"password": "p"}], "cmd": "login --token abcdef123"});
    let out = g
        .run(&tool, Call::new(params), || {
            Ok::<_, String>(json!({"kubeconfig": "REAL-CREDENTIAL"}))
        })
        .unwrap();
    assert_eq!(out, json!({"kubeconfig": "REAL-CREDENTIAL"}));
    let row = last_row(&home);
    assert_eq!(row.status, "ok");
    assert_eq!(
        json_of(&row.result),
        json!("[redacted: return value declared sensitive]")
    );
    let p = json_of(&row.params);
    assert_eq!(p["secret_hint"], "***");
    assert_eq!(
        p["nested"][0]["password"],
        "[redacted: credential-shaped key]"
    );
    assert_eq!(p["cmd"], "login --token ***");
    assert_eq!(p["cluster"], "c1");
}

#[test]
fn credential_shaped_keys_in_an_undeclared_result_are_redacted_too() {
    let home = Home::new();
    let g = guard(&home);
    let out = g
        .run(&Tool::new("s", "t"), Call::new(json!({})), || {
            Ok::<_, String>(json!({"token": "abc", "token_count": 3}))
        })
        .unwrap();
    assert_eq!(out["token"], "abc");
    assert_eq!(
        json_of(&last_row(&home).result),
        json!({"token": "[redacted: credential-shaped key]", "token_count": 3})
    );
}

#[test]
fn statuses_follow_the_family_rules() {
    let home = Home::new();
    let g = guard(&home);
    let t = Tool::new("s", "t");
    let status = |call: Call, result: Result<Value, String>| {
        let _ = g.run(&t, call, || result);
        last_row(&home).status
    };
    assert_eq!(
        status(Call::new(json!({"dry_run": true})), Ok(json!({}))),
        "dry_run"
    );
    assert_eq!(
        status(Call::new(json!({"dry_run": "yes"})), Ok(json!({}))),
        "ok"
    );
    assert_eq!(
        status(
            Call::new(json!({})),
            Ok(json!({"action": "preview", "x": 1}))
        ),
        "dry_run"
    );
    assert_eq!(
        status(Call::new(json!({})), Ok(json!({"error": "not found"}))),
        "error"
    );
    assert_eq!(
        status(Call::new(json!({})), Ok(json!([{"error": "boom"}]))),
        "error"
    );
    assert_eq!(status(Call::new(json!({})), Ok(json!({"error": ""}))), "ok");
    assert_eq!(
        status(Call::new(json!({})), Ok(json!({"outcome": "failed"}))),
        "error"
    );
    assert_eq!(
        status(
            Call::new(json!({})),
            Err("connect to https://u:pw@vc failed".into())
        ),
        "error"
    );
    // Python's shape: the message, and a traceback summary (for a string
    // error, the message itself), both redacted.
    assert_eq!(
        json_of(&last_row(&home).result),
        json!({
            "error": "connect to https://u:***@vc failed",
            "traceback": "connect to https://u:***@vc failed"
        })
    );
}

#[test]
fn a_panicking_tool_is_recorded_as_error_and_the_panic_resumes() {
    let home = Home::new();
    let g = guard(&home);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = g.run(
            &Tool::new("s", "explodes"),
            Call::new(json!({})),
            || -> Result<(), String> { panic!("kaboom password=x") },
        );
    }));
    assert!(caught.is_err(), "the panic reaches the caller");
    let row = last_row(&home);
    assert_eq!(row.status, "error");
    let result = json_of(&row.result);
    assert_eq!(result["error"], "panic: kaboom password=***");
    let traceback = result["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with("panicked at crates/vmware-audit/tests/guard.rs:"),
        "where it panicked: {traceback}"
    );
}

#[test]
fn context_fields_are_recorded_and_sanitised() {
    let home = Home::new();
    let g = guard(&home);
    let call = Call::new(json!({}))
        .workflow_id("wf-9")
        .surface("mcp-https")
        .correlation_id("abc DEF;<script>-123")
        .rationale("ticket 42")
        .approved_by("bob")
        .client("ci-bot")
        .role("operator");
    g.run(&Tool::new("s", "t"), call, || Ok::<_, String>(()))
        .unwrap();
    let r = last_row(&home);
    assert_eq!(
        (
            r.workflow_id.as_str(),
            r.surface.as_str(),
            r.correlation_id.as_str(),
            r.rationale.as_str()
        ),
        ("wf-9", "mcp-https", "abcDEFscript-123", "ticket 42")
    );
    assert_eq!(
        (r.approved_by.as_str(), r.user.as_str(), r.role.as_str()),
        ("bob", "token:ci-bot", "operator")
    );
    g.run(
        &Tool::new("s", "t"),
        Call::new(json!({})).surface("carrier-pigeon"),
        || Ok::<_, String>(()),
    )
    .unwrap();
    assert_eq!(last_row(&home).surface, "invalid:carrier-pigeon");
}

#[test]
fn the_agent_user_and_accountability_come_from_the_environment_of_a_local_call() {
    let home = Home::new();
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .env("CODEX_SESSION", "1")
        .env("USER", "operator7")
        .env("LOGNAME", "operator7")
        .env("VMWARE_AUDIT_RATIONALE", "change 1234")
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = last_row(&home);
    assert_eq!(
        (
            r.agent.as_str(),
            r.user.as_str(),
            r.rationale.as_str(),
            r.surface.as_str()
        ),
        ("codex", "operator7", "change 1234", "cli")
    );
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .env("CLAUDE_CODE", "1")
        .env("CODEX_SESSION", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(last_row(&home).agent, "claude");
}

#[test]
fn the_policy_bypass_allows_and_is_audited_as_bypassed() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: everything\n");
    let out = skill(home.path(), &["list_dfw_policies"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(last_row(&home).status, "denied");
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .env("VMWARE_POLICY_DISABLED", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("policy_disabled"));
    assert_eq!(last_row(&home).status, "ok_bypassed");
    let out = skill_cmd(home.path(), &["create_dfw_rule"])
        .env("VMWARE_POLICY_DISABLED", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(last_row(&home).status, "error_bypassed");
}

#[test]
fn auditing_off_runs_the_tool_with_policy_and_writes_nothing() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: no\n    operations: [b]\n");
    let g = Guard::without_audit(PolicyEngine::new(home.rules()));
    assert_eq!(
        g.run(
            &Tool::new("s", "a"),
            Call::new(json!({})),
            || Ok::<_, String>(7)
        )
        .unwrap(),
        7
    );
    assert!(matches!(
        g.run(
            &Tool::new("s", "b"),
            Call::new(json!({})),
            || Ok::<_, String>(7)
        ),
        Err(GuardError::Denied(_))
    ));
    assert!(!home.db().exists());
}

#[test]
fn a_tool_declared_in_a_module_gets_the_family_skill_name() {
    assert_eq!(
        Tool::in_module("vmware_nsx_security::tools", "x").skill,
        "nsx_security"
    );
    assert_eq!(Tool::in_module("my_crate::tools", "x").skill, "unknown");
}

/// The child half of the test below: a tool panics with credentials in its
/// message, inside the guard, in a process of its own.
#[test]
fn panic_child() {
    let Ok(home) = std::env::var("VMWARE_TEST_PANIC_HOME") else {
        return;
    };
    let g = Guard::new(
        PolicyEngine::new(std::path::Path::new(&home).join("rules.yaml")),
        AuditEngine::new(std::path::Path::new(&home).join("audit.db")),
    );
    let _ = g.run(&Tool::new("s", "explodes"), Call::new(json!({})), || -> Result<(), String> {
        panic!("login failed: password=hunter2 Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123")
    });
}

#[test]
fn a_panic_message_reaches_stderr_redacted() {
    let home = Home::new();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_child", "--nocapture", "--test-threads=1"])
        .env("VMWARE_TEST_PANIC_HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the panic must still fail the call: {err}"
    );
    assert!(
        err.contains("panicked"),
        "the panic is still reported: {err}"
    );
    assert!(err.contains("password=***"), "{err}");
    assert!(!err.contains("hunter2"), "a password reached stderr: {err}");
    assert!(
        !err.contains("abcdefghijklmnopqrstuvwxyz0123"),
        "a bearer token reached stderr: {err}"
    );
}
