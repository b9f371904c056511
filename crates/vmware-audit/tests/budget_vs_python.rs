//! The runaway breaker and the budgets against the Python package: each
//! sequence of calls runs through `@vmware_tool` (vmware-policy 1.24.3) in one
//! Python process and through our guard in one Rust process
//! (`examples/sequence`), each in its own home with the same rules and
//! settings; the rows must agree call by call (tool, status, rule, recorded
//! parameters, and the refusal's message).

mod common;

use std::path::Path;
use std::process::Command;

use common::{Home, python_cmd};
use serde_json::{Value, json};

struct Sequence {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    rules: &'static str,
    calls: Value,
}

const NO_RULES: &str = "deny: []\n";
const NO_DELETE: &str = "deny:\n  - name: no-deletes\n    operations: [\"delete_*\"]\n";

fn poll(repeat: u64) -> Value {
    json!({"tool": "get_task", "params": {"task_id": "task-42"}, "repeat": repeat})
}

fn sequences() -> Vec<Sequence> {
    let s = |name, env, rules, calls| Sequence {
        name,
        env,
        rules,
        calls,
    };
    vec![
        s("26 identical polls, default limits", &[], NO_RULES, json!([poll(26)])),
        s("a lower runaway max", &[("VMWARE_RUNAWAY_MAX", "5")], NO_RULES, json!([poll(8)])),
        s(
            "OPS_ prefix preferred",
            &[("OPS_RUNAWAY_MAX", "3"), ("VMWARE_RUNAWAY_MAX", "10")],
            NO_RULES,
            json!([poll(6)]),
        ),
        s("an empty OPS_ value falls back", &[("OPS_RUNAWAY_MAX", ""), ("VMWARE_RUNAWAY_MAX", "2")], NO_RULES, json!([poll(4)])),
        s("runaway max 0 disables", &[("VMWARE_RUNAWAY_MAX", "0")], NO_RULES, json!([poll(40)])),
        s("runaway max -1 disables", &[("VMWARE_RUNAWAY_MAX", "-1")], NO_RULES, json!([poll(30)])),
        s("a value int() refuses is the default", &[("VMWARE_RUNAWAY_MAX", "lots")], NO_RULES, json!([poll(27)])),
        s("int() strips spaces", &[("VMWARE_RUNAWAY_MAX", " 4 ")], NO_RULES, json!([poll(6)])),
        s("int() reads underscores and a sign", &[("VMWARE_RUNAWAY_MAX", "+1_0")], NO_RULES, json!([poll(12)])),
        s(
            "the window passes",
            &[("VMWARE_RUNAWAY_MAX", "3"), ("VMWARE_RUNAWAY_WINDOW_SEC", "1")],
            NO_RULES,
            json!([
                {"tool": "get_task", "params": {"task_id": "t"}, "repeat": 3, "sleep_ms": 1150},
                {"tool": "get_task", "params": {"task_id": "t"}, "repeat": 4}
            ]),
        ),
        s("window 0 disables", &[("VMWARE_RUNAWAY_MAX", "2"), ("VMWARE_RUNAWAY_WINDOW_SEC", "0")], NO_RULES, json!([poll(6)])),
        s(
            "different arguments are different calls",
            &[("VMWARE_RUNAWAY_MAX", "3")],
            NO_RULES,
            json!([
                {"tool": "get_task", "params": {"task_id": "a"}, "repeat": 3},
                {"tool": "get_task", "params": {"task_id": "b"}, "repeat": 3},
                {"tool": "get_task", "params": {"task_id": "a"}},
                {"tool": "list_tasks", "params": {"task_id": "a"}, "repeat": 2}
            ]),
        ),
        s(
            "calls differing only in a redacted argument are different",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_RULES,
            json!((0..5)
                .map(|i| json!({"tool": "login", "params": {"host": "vc", "password": format!("p{i}")}, "sensitive": ["password"]}))
                .chain([json!({"tool": "login", "params": {"host": "vc", "password": "p0"}, "sensitive": ["password"]})])
                .chain([json!({"tool": "login", "params": {"host": "vc", "password": "p0"}, "sensitive": ["password"]})])
                .collect::<Vec<_>>()),
        ),
        s(
            "calls policy denied do not count",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_DELETE,
            json!([
                {"tool": "delete_vm", "params": {"vm": "web-01"}, "repeat": 5, "risk": "critical"},
                {"tool": "get_vm", "params": {"vm": "web-01"}, "repeat": 3}
            ]),
        ),
        s(
            "a call ceiling",
            &[("VMWARE_MAX_TOOL_CALLS", "3")],
            NO_RULES,
            json!((0..5).map(|i| json!({"tool": "get_vm", "params": {"vm": i}})).collect::<Vec<_>>()),
        ),
        s(
            "OPS_ call ceiling preferred",
            &[("OPS_MAX_TOOL_CALLS", "2"), ("VMWARE_MAX_TOOL_CALLS", "5")],
            NO_RULES,
            json!((0..4).map(|i| json!({"tool": "get_vm", "params": {"vm": i}})).collect::<Vec<_>>()),
        ),
        s(
            "a call ceiling of 0 refuses every call, as in Python",
            &[("VMWARE_MAX_TOOL_CALLS", "0")],
            NO_RULES,
            json!([{"tool": "get_vm", "params": {"vm": 1}, "repeat": 2}]),
        ),
        s(
            "denied calls do not use the call ceiling",
            &[("VMWARE_MAX_TOOL_CALLS", "2")],
            NO_DELETE,
            json!([
                {"tool": "delete_vm", "params": {"vm": 1}, "repeat": 3},
                {"tool": "get_vm", "params": {"vm": 1}},
                {"tool": "get_vm", "params": {"vm": 2}},
                {"tool": "get_vm", "params": {"vm": 3}}
            ]),
        ),
        s(
            "a wall-time ceiling",
            &[("VMWARE_MAX_TOOL_SECONDS", "1")],
            NO_RULES,
            json!([
                // One call past the ceiling alone: the timing of a first call
                // (Python's takes longer) cannot change the outcome.
                {"tool": "export_logs", "params": {"day": 1}, "work_ms": 1100},
                {"tool": "export_logs", "params": {"day": 2}},
                {"tool": "export_logs", "params": {"day": 3}}
            ]),
        ),
        s(
            "policy disabled: the breaker still holds, recorded _bypassed",
            &[("VMWARE_POLICY_DISABLED", "1"), ("VMWARE_RUNAWAY_MAX", "2")],
            NO_DELETE,
            json!([{"tool": "delete_vm", "params": {"vm": 1}, "repeat": 3}]),
        ),
        s(
            "failing calls count toward the breaker",
            &[("VMWARE_RUNAWAY_MAX", "3")],
            NO_RULES,
            json!([{"tool": "get_vm", "params": {"vm": 1}, "repeat": 4, "fails": true}]),
        ),
        s(
            "dry runs count",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_RULES,
            json!([{"tool": "delete_vm", "params": {"vm": 1, "dry_run": true}, "repeat": 3}]),
        ),
    ]
}

/// (tool, status, rule, params, refusal message) of every row, in id order.
fn outcome(db: &Path) -> Vec<(String, String, String, String, String)> {
    let mut rows = vmware_policy::audit::Reader::open(db)
        .unwrap()
        .latest(10_000)
        .unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            let result: Value = serde_json::from_str(&r.result).unwrap_or(Value::Null);
            let rule = result["rule"].as_str().unwrap_or("").to_string();
            let refusal = if r.status.contains("budget") || r.status.contains("denied") {
                // The seconds spent are timing (Python's first call carries
                // its start-up); the wording around them is compared.
                let re = regex::Regex::new(r"reached: \d+s").unwrap();
                re.replace(result["error"].as_str().unwrap_or(""), "reached: Ns")
                    .into_owned()
            } else {
                String::new()
            };
            (r.tool, r.status, rule, r.params, refusal)
        })
        .collect()
}

fn with_env(cmd: &mut Command, env: &[(&str, &str)]) {
    for k in [
        "VMWARE_RUNAWAY_MAX",
        "OPS_RUNAWAY_MAX",
        "VMWARE_RUNAWAY_WINDOW_SEC",
        "OPS_RUNAWAY_WINDOW_SEC",
        "VMWARE_MAX_TOOL_CALLS",
        "OPS_MAX_TOOL_CALLS",
        "VMWARE_MAX_TOOL_SECONDS",
        "OPS_MAX_TOOL_SECONDS",
        "VMWARE_POLICY_DISABLED",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().expect(what);
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_budget_sequence_ends_as_it_does_in_python() {
    let all = sequences();
    assert!(all.len() >= 20);
    let mut failures = Vec::new();
    for seq in &all {
        let (ours, theirs) = (Home::new(), Home::new());
        ours.write_rules(seq.rules);
        theirs.write_rules(seq.rules);
        let calls = ours.path().join("calls.json");
        std::fs::write(&calls, seq.calls.to_string()).unwrap();

        let mut rust = Command::new(common::example_bin("sequence"));
        rust.arg(&calls).env("OPS_HOME", ours.path());
        with_env(&mut rust, seq.env);
        run(rust, "examples/sequence");

        let mut py = python_cmd(theirs.path(), "sequence.py", &[calls.to_str().unwrap()]);
        with_env(&mut py, seq.env);
        run(py, "sequence.py");

        let (a, b) = (outcome(&ours.db()), outcome(&theirs.db()));
        if a != b {
            failures.push(format!("{}:\n  ours:   {a:?}\n  python: {b:?}", seq.name));
        }
        // Every sequence holds something worth comparing.
        assert!(!b.is_empty(), "{}: Python wrote no row", seq.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_example_skill_repeating_one_call_in_one_process_trips_the_breaker() {
    let home = Home::new();
    home.write_rules(NO_RULES);
    let mut cmd = common::skill_cmd(home.path(), &["list_dfw_policies", "--repeat", "27"]);
    cmd.env_remove("VMWARE_RUNAWAY_MAX");
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "a refused call makes the skill exit non-zero"
    );
    let rows = outcome(&home.db());
    let statuses: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(statuses[..25], ["ok"; 25]);
    assert_eq!(statuses[25..], ["budget_exceeded"; 2]);
    assert_eq!(rows[26].2, "budget_runaway");
    assert!(rows[26].4.contains("Stop re-calling"), "{}", rows[26].4);
}
