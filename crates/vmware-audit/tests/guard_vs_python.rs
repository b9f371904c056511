//! The guard's safety net against the Python package (the runaway breaker,
//! the budgets, the argument checks, the surface, failure rows with their
//! traceback, a reported failure, a declined CLI command, network callers): each
//! sequence of calls runs through `@vmware_tool` (vmware-policy 1.24.3) in one
//! Python process and through our guard in one Rust process
//! (`examples/sequence`), each in its own home with the same rules and
//! settings; the rows must agree call by call (tool, status, rule, recorded
//! parameters, surface, user, the result's keys, and the refusal's or
//! failure's message). `{home}` in a
//! call stands for each side's own `$OPS_HOME`.

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

/// For each skill of the rename table, two sequences: rules naming the old
/// names against calls of the new ones, and the reverse.
fn rename_sequences() -> Vec<Sequence> {
    let table: Value = serde_json::from_str(include_str!(
        "../../vmware-policy/data/tool_renames_2_0.json"
    ))
    .unwrap();
    let mut out = Vec::new();
    for (server, pairs) in table.as_object().unwrap() {
        let skill = server.trim_start_matches("vmware-").replace('-', "_");
        let pairs: Vec<(String, String)> = pairs
            .as_object()
            .unwrap()
            .iter()
            .map(|(o, n)| (o.clone(), n.as_str().unwrap().to_string()))
            .collect();
        for old_in_rules in [true, false] {
            let (ruled, called): (Vec<&str>, Vec<&str>) = pairs
                .iter()
                .map(|(o, n)| {
                    if old_in_rules {
                        (o.as_str(), n.as_str())
                    } else {
                        (n.as_str(), o.as_str())
                    }
                })
                .unzip();
            let rules = format!(
                "deny:\n  - name: renamed-{}\n    operations: {}\n",
                if old_in_rules { "old" } else { "new" },
                serde_json::to_string(&ruled).unwrap()
            );
            let calls: Vec<Value> = called
                .iter()
                .map(|t| json!({"tool": t, "skill": skill, "params": {"target": "vc-01"}}))
                // And one tool of the skill that was never renamed.
                .chain([json!({"tool": "never_renamed_tool", "skill": skill, "params": {}})])
                .collect();
            let name = format!(
                "{server}: rules with the {} names, calls with the {} names",
                if old_in_rules { "old" } else { "new" },
                if old_in_rules { "new" } else { "old" }
            );
            out.push(Sequence {
                name: Box::leak(name.into_boxed_str()),
                env: &[],
                rules: Box::leak(rules.into_boxed_str()),
                calls: json!(calls),
            });
        }
    }
    out
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
        s("limit 0 is refused before policy", &[], NO_DELETE, json!([{"tool": "list_vms", "params": {"limit": 0}}])),
        s("limit -1", &[], NO_RULES, json!([{"tool": "list_vms", "params": {"limit": -1}}])),
        s("limit as a string", &[], NO_RULES, json!([{"tool": "list_vms", "params": {"limit": "5"}}])),
        s("limit as a bool", &[], NO_RULES, json!([{"tool": "list_vms", "params": {"limit": true}}])),
        s("limit as a float", &[], NO_RULES, json!([{"tool": "list_vms", "params": {"limit": 2.5}}])),
        s("limit 1 and none are fine", &[], NO_RULES, json!([{"tool": "list_vms", "params": {"limit": 1}}, {"tool": "list_vms", "params": {"limit": null}}])),
        s(
            "a refused argument is refused before a denial",
            &[],
            NO_DELETE,
            json!([{"tool": "delete_vm", "params": {"limit": 0}}, {"tool": "delete_vm", "params": {"limit": 3}}]),
        ),
        s("a path into the audit home", &[], NO_RULES, json!([{"tool": "download_file", "params": {"local_path": "{home}/rules.yaml"}}])),
        s("a path that climbs into the home", &[], NO_RULES, json!([{"tool": "download_file", "params": {"output_path": "{home}/sub/../audit.db"}}])),
        s("a device path", &[], NO_RULES, json!([{"tool": "deploy_ova", "params": {"ova_path": "/dev/null"}}])),
        s("a process path", &[], NO_RULES, json!([{"tool": "read_spec", "params": {"spec_path": "/tmp/../proc/self/environ"}}])),
        s("an ordinary path", &[], NO_RULES, json!([{"tool": "read_spec", "params": {"manifest_path": "/tmp/bundle/manifest.json"}}])),
        s(
            "a skill's config directory",
            &[("VMWARE_NSX_CONFIG", "/tmp/vmware-audit-cfg-test/nsx.yaml")],
            NO_RULES,
            json!([{"tool": "download_file", "params": {"local_path": "/tmp/vmware-audit-cfg-test/other.txt"}}]),
        ),
        s("a path parameter outside the family's names is not a host path", &[], NO_RULES, json!([{"tool": "get_file", "params": {"path": "/dev/null"}}])),
        s(
            "the path check holds with policy disabled",
            &[("VMWARE_POLICY_DISABLED", "1")],
            NO_RULES,
            json!([{"tool": "download_file", "params": {"local_path": "{home}/audit.db"}}, {"tool": "list_vms", "params": {}}]),
        ),
        s(
            "refused arguments do not count toward the breaker",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_RULES,
            json!([{"tool": "list_vms", "params": {"limit": 0}, "repeat": 3}, {"tool": "list_vms", "params": {"limit": 5}, "repeat": 3}]),
        ),
        s(
            "refused paths do not use the call ceiling",
            &[("VMWARE_MAX_TOOL_CALLS", "1")],
            NO_RULES,
            json!([{"tool": "deploy_ova", "params": {"ova_path": "/dev/zero"}, "repeat": 2}, {"tool": "list_vms", "params": {}, "repeat": 2}]),
        ),
        s(
            "a refused path declared sensitive is recorded as ***",
            &[],
            NO_RULES,
            json!([{"tool": "download_file", "params": {"local_path": "/dev/null", "vm": "web"}, "sensitive": ["local_path"]}]),
        ),
        s(
            "a failing tool after a refused argument",
            &[],
            NO_RULES,
            json!([{"tool": "list_vms", "params": {"limit": -5}}, {"tool": "list_vms", "params": {"limit": 5}, "fails": true}]),
        ),
        s(
            "dry runs count",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_RULES,
            json!([{"tool": "delete_vm", "params": {"vm": 1, "dry_run": true}, "repeat": 3}]),
        ),
        s(
            "a tool that reports its failure and returns",
            &[],
            NO_RULES,
            json!([{"tool": "create_dfw_rule", "params": {"rule": "r1"}, "reports_failure": true}]),
        ),
        s(
            "a failing write, a redacted argument and a traceback",
            &[],
            NO_RULES,
            json!([{"tool": "create_dfw_rule", "params": {"rule": "r1", "password": "x"}, "sensitive": ["password"], "fails": true, "risk": "medium"}]),
        ),
    ]
}

/// The CLI guard (Python's `@guarded`) and network callers (the SDK's
/// authenticated request), each against our guard's `surface("cli")` and
/// `client(..)`.
fn cli_and_network_sequences() -> Vec<Sequence> {
    let s = |name, env, rules, calls| Sequence {
        name,
        env,
        rules,
        calls,
    };
    let cli = |tool: &str, params: Value| json!({"tool": tool, "params": params, "cli": true, "risk": "critical"});
    let mut declined = cli("delete_vm", json!({"vm": "web-01"}));
    declined["declines"] = json!(true);
    let mut failing = cli("delete_vm", json!({"vm": "web-01"}));
    failing["fails"] = json!(true);
    let mut reporting = cli("delete_vm", json!({"vm": "web-02"}));
    reporting["reports_failure"] = json!(true);
    let net = |client: &str, tool: &str, params: Value| json!({"tool": tool, "params": params, "client": client});
    vec![
        s(
            "a CLI command the operator declines is rejected",
            &[],
            NO_RULES,
            json!([declined.clone()]),
        ),
        s(
            "declined with policy disabled is rejected_bypassed",
            &[("VMWARE_POLICY_DISABLED", "1")],
            NO_RULES,
            json!([declined]),
        ),
        s(
            "a failing CLI command records its message alone",
            &[],
            NO_RULES,
            json!([failing]),
        ),
        s(
            "a CLI command that reports its failure",
            &[],
            NO_RULES,
            json!([reporting]),
        ),
        s(
            "a CLI command's --limit wording",
            &[],
            NO_RULES,
            json!([cli("list_vms", json!({"limit": 0}))]),
        ),
        s(
            "a CLI command is denied by the same rules",
            &[],
            NO_DELETE,
            json!([cli("delete_vm", json!({"vm": 1}))]),
        ),
        s(
            "a network caller may not touch host files",
            &[],
            NO_RULES,
            json!([net("ci-bot", "deploy_ova", json!({"ova_path": "/tmp/images/web.ova"})), {"tool": "deploy_ova", "params": {"ova_path": "/tmp/images/web.ova"}}]),
        ),
        s(
            "a network caller inside and outside the file root",
            &[("VMWARE_MCP_FILE_ROOT", "/tmp/vmware-audit-file-root")],
            NO_RULES,
            json!([
                net(
                    "ci-bot",
                    "deploy_ova",
                    json!({"ova_path": "/tmp/vmware-audit-file-root/web.ova"})
                ),
                net(
                    "ci-bot",
                    "deploy_ova",
                    json!({"ova_path": "/tmp/vmware-audit-file-root/../etc/passwd"})
                ),
                net(
                    "ci-bot",
                    "download_file",
                    json!({"local_path": "/tmp/elsewhere/x.txt"})
                )
            ]),
        ),
        s(
            "each network caller has its own breaker, apart from the process's own",
            &[("VMWARE_RUNAWAY_MAX", "2")],
            NO_RULES,
            json!([
                {"tool": "get_task", "params": {"task_id": "t"}, "repeat": 3, "client": "alice"},
                {"tool": "get_task", "params": {"task_id": "t"}, "repeat": 3, "client": "bob"},
                {"tool": "get_task", "params": {"task_id": "t"}, "repeat": 3}
            ]),
        ),
        s(
            "the surfaces a call can name, and one it cannot",
            &[],
            NO_RULES,
            json!(
                [
                    "mcp-https",
                    "mcp-http-loopback",
                    "daemon",
                    "mcp-stdio",
                    "carrier-pigeon"
                ]
                .iter()
                .map(|v| json!({"tool": "list_vms", "params": {"surface_was": v}, "surface": v}))
                .chain([json!({"tool": "list_vms", "params": {}})])
                .collect::<Vec<_>>()
            ),
        ),
        s(
            "a network caller is denied by the same rules",
            &[],
            NO_DELETE,
            json!([net("ci-bot", "delete_vm", json!({"vm": 1}))]),
        ),
    ]
}

/// One row as compared: (tool, status, rule, params, surface, message, user,
/// the result's shape: its keys, or its JSON when not an object).
type Compared = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// Every row as compared, in id order, with the home's path written `{home}`.
fn outcome(home: &Path) -> Vec<Compared> {
    let db = home.join("audit.db");
    let real = std::fs::canonicalize(home).unwrap();
    let norm = |s: &str| {
        s.replace(&real.display().to_string(), "{home}")
            .replace(&home.display().to_string(), "{home}")
    };
    let mut rows = vmware_policy::audit::Reader::open(&db)
        .unwrap()
        .latest(10_000)
        .unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            let result: Value = serde_json::from_str(&r.result).unwrap_or(Value::Null);
            let rule = result["rule"].as_str().unwrap_or("").to_string();
            let refusal = if r.status != "ok" && r.status != "dry_run" {
                // The seconds spent are timing (Python's first call carries
                // its start-up); the wording around them is compared.
                let re = regex::Regex::new(r"reached: \d+s").unwrap();
                re.replace(result["error"].as_str().unwrap_or(""), "reached: Ns")
                    .into_owned()
            } else {
                String::new()
            };
            let shape = match &result {
                Value::Object(o) => o.keys().cloned().collect::<Vec<_>>().join(","),
                other => other.to_string(),
            };
            (
                r.tool,
                r.status,
                rule,
                norm(&r.params),
                r.surface,
                norm(&refusal),
                r.user,
                shape,
            )
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
        "VMWARE_MCP_FILE_ROOT",
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

/// Run one sequence both ways; what differs, if anything.
fn compare(seq: &Sequence) -> Option<String> {
    let (ours, theirs) = (Home::new(), Home::new());
    ours.write_rules(seq.rules);
    theirs.write_rules(seq.rules);
    let calls_for = |home: &Home| {
        let file = home.path().join("calls.json");
        let text = seq
            .calls
            .to_string()
            .replace("{home}", &home.path().display().to_string());
        std::fs::write(&file, text).unwrap();
        file
    };
    let (our_calls, their_calls) = (calls_for(&ours), calls_for(&theirs));

    let mut rust = Command::new(common::example_bin("sequence"));
    rust.arg(&our_calls).env("OPS_HOME", ours.path());
    with_env(&mut rust, seq.env);
    run(rust, "examples/sequence");

    let mut py = python_cmd(
        theirs.path(),
        "sequence.py",
        &[their_calls.to_str().unwrap()],
    );
    with_env(&mut py, seq.env);
    run(py, "sequence.py");

    let (a, b) = (outcome(ours.path()), outcome(theirs.path()));
    // Every sequence holds something worth comparing.
    assert!(!b.is_empty(), "{}: Python wrote no row", seq.name);
    (a != b).then(|| format!("{}:\n  ours:   {a:?}\n  python: {b:?}", seq.name))
}

#[test]
fn every_sequence_ends_as_it_does_in_python() {
    let mut all = sequences();
    all.extend(cli_and_network_sequences());
    all.extend(rename_sequences());
    assert!(all.len() >= 70, "{} sequences", all.len());
    // Two at a time: each sequence is two short-lived processes.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = all
            .chunks(all.len().div_ceil(2))
            .map(|part| scope.spawn(move || part.iter().filter_map(compare).collect::<Vec<_>>()))
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
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
    let rows = outcome(home.path());
    let statuses: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(statuses[..25], ["ok"; 25]);
    assert_eq!(statuses[25..], ["budget_exceeded"; 2]);
    assert_eq!(rows[26].2, "budget_runaway");
    assert!(rows[26].5.contains("Stop re-calling"), "{}", rows[26].5);
}

#[test]
fn change_limits_are_said_not_enforced_once_at_load() {
    let home = Home::new();
    home.write_rules("change_limits:\n  max_cpu_change_pct: 50\n");
    let out = common::skill(home.path(), &["list_dfw_policies", "--repeat", "3"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("change_limits in").count(),
        1,
        "one line at load, not one per call: {stderr}"
    );
    assert!(stderr.contains("NOT enforced"), "{stderr}");
    // Calls still run: like Python, nothing is enforced.
    assert_eq!(outcome(home.path()).len(), 3);
    // Without change_limits, nothing is said.
    home.write_rules("deny: []\n");
    let out = common::skill(home.path(), &["list_dfw_policies"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("change_limits"));
}
