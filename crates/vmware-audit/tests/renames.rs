//! The 2.0 tool renames through every reader and decider, on a real file:
//! rows under the old name (written by a 1.x Python skill) and the new one
//! are found by either name; `policy` and `rules validate` match and report
//! through the renames as Python's CLI does; the guard denies the new name by
//! a rule naming the old one (the row-by-row comparison with Python is in
//! `guard_vs_python.rs`).

mod common;

use assert_cmd::Command;
use common::Home;
use serde_json::Value;
use vmware_policy::{AuditEngine, Record};

fn bin(home: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("vmware-audit").unwrap();
    c.env("OPS_HOME", home).env("COLUMNS", "200");
    c
}

fn tools_of(out: &[u8]) -> Vec<String> {
    let rows: Value = serde_json::from_slice(out).unwrap();
    let mut tools: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tool"].as_str().unwrap().to_string())
        .collect();
    tools.sort();
    tools
}

#[test]
fn history_is_found_under_either_name_and_rules_match_through_the_renames() {
    let home = Home::new();
    let engine = AuditEngine::new(home.db());
    for (skill, tool) in [
        ("aiops", "vm_delete"),
        ("aiops", "delete_vm"),
        ("aiops", "list_vms"),
        ("avi", "pool_list"),
        ("vdi", "pool_list"),
        ("avi", "list_lb_pools"),
    ] {
        engine.append(Record {
            skill: skill.into(),
            tool: tool.into(),
            ..Default::default()
        });
    }
    drop(engine);

    let out = bin(home.path())
        .args(["log", "--json", "--tool", "delete_vm"])
        .output()
        .unwrap();
    assert_eq!(tools_of(&out.stdout), ["delete_vm", "vm_delete"]);
    let out = bin(home.path())
        .args(["log", "--json", "--tool", "vm_delete"])
        .output()
        .unwrap();
    assert_eq!(tools_of(&out.stdout), ["delete_vm", "vm_delete"]);
    // One skill narrows the renames to it: AVI's pool_list is list_lb_pools.
    let out = bin(home.path())
        .args(["log", "--json", "--skill", "avi", "--tool", "list_lb_pools"])
        .output()
        .unwrap();
    assert_eq!(tools_of(&out.stdout), ["list_lb_pools", "pool_list"]);

    // A rule written with the 2.0 name denies a 1.x call of the old name.
    home.write_rules("deny:\n  - name: no-vm-deletes\n    operations: [delete_vm]\n");
    let out = bin(home.path())
        .args(["policy", "-o", "vm_delete", "-s", "aiops", "--json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["allowed"], false, "{doc}");
    assert_eq!(doc["rule"], "no-vm-deletes");
    // Another skill had no such rename: allowed.
    let out = bin(home.path())
        .args(["policy", "-o", "vm_delete", "-s", "nsx_security", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["allowed"],
        true
    );

    // A pattern that now catches renamed tools is reported, as Python's widening report.
    home.write_rules("deny:\n  - name: no-gets\n    operations: [\"get_*\"]\n");
    let out = bin(home.path())
        .args(["rules", "validate"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("this rule now also denies")
            && text.contains("get_cluster_info [cluster_info]"),
        "{text}"
    );
    // A rule whose other pattern already caught the old name widens nothing
    // for that tool: `*_delete` matched `vm_delete`, so `delete_vm` is not new.
    home.write_rules("deny:\n  - name: deletes\n    operations: [\"delete_*\", \"*_delete\"]\n");
    let out = bin(home.path())
        .args(["rules", "validate"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("delete_vm [vm_delete]"), "{text}");
    assert!(
        text.contains("delete_vm_snapshot [vm_delete_snapshot]"),
        "{text}"
    );
    // A 2.0 name written exactly was meant: nothing to report.
    home.write_rules("deny:\n  - name: exact\n    operations: [delete_vm]\n");
    let out = bin(home.path())
        .args(["rules", "validate"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems"));
}

#[test]
fn the_guard_denies_the_new_name_by_a_rule_naming_the_old_one() {
    let home = Home::new();
    home.write_rules("deny:\n  - name: old-style\n    operations: [vm_power_off]\n");
    let guard = vmware_policy::Guard::new(
        vmware_policy::PolicyEngine::new(home.rules()),
        AuditEngine::new(home.db()),
    );
    let tool = vmware_policy::Tool::new("aiops", "power_off_vm");
    let denied = guard.run(
        &tool,
        vmware_policy::Call::new(serde_json::json!({})),
        || Ok::<_, String>(()),
    );
    match denied {
        Err(vmware_policy::GuardError::Denied(d)) => assert_eq!(d.rule, "old-style"),
        other => panic!("expected a denial, got {other:?}"),
    }
    // The same name in a skill that never renamed it is not caught.
    let other = vmware_policy::Tool::new("nsx_security", "power_off_vm");
    assert!(
        guard
            .run(
                &other,
                vmware_policy::Call::new(serde_json::json!({})),
                || Ok::<_, String>(())
            )
            .is_ok()
    );
}
