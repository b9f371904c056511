//! Hot reload on real files: every way an editor or an operator changes the
//! rules file is seen, and a broken file fails closed until it is fixed.

mod common;

use std::time::{Duration, Instant};

use common::Home;
use vmware_policy::{CallContext, PolicyEngine};

const DENY_DELETE: &str = "deny:\n  - name: no-delete\n    operations: ['delete_*']\n";
const DENY_CREATE: &str = "deny:\n  - name: no-create\n    operations: ['create_*']\n";

fn rule_for(e: &PolicyEngine, op: &str) -> String {
    e.check(
        op,
        &CallContext {
            risk_level: "low",
            ..CallContext::default()
        },
    )
    .rule
}

/// Wait (bounded) until `op` is decided by `rule`; the bound is a failure
/// deadline, not a measurement.
fn wait_for(e: &PolicyEngine, op: &str, rule: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while rule_for(e, op) != rule {
        assert!(
            Instant::now() < deadline,
            "{op} still decided by {:?}, expected {rule:?}",
            rule_for(e, op)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn atomic_write(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn an_atomic_rename_save_is_seen() {
    let home = Home::new();
    home.write_rules(DENY_DELETE);
    let e = PolicyEngine::new(home.rules());
    assert_eq!(rule_for(&e, "delete_vm"), "no-delete");
    atomic_write(&home.rules(), DENY_CREATE);
    wait_for(&e, "create_vm", "no-create");
    assert_eq!(rule_for(&e, "delete_vm"), "default_allow");
}

#[test]
fn an_in_place_write_is_seen() {
    let home = Home::new();
    home.write_rules(DENY_DELETE);
    let e = PolicyEngine::new(home.rules());
    std::fs::write(home.rules(), DENY_CREATE).unwrap(); // truncate + write, same inode
    wait_for(&e, "create_vm", "no-create");
}

#[test]
fn deletion_falls_back_to_the_baseline_and_recreation_is_seen() {
    let home = Home::new();
    home.write_rules(DENY_DELETE);
    let e = PolicyEngine::new(home.rules());
    std::fs::remove_file(home.rules()).unwrap();
    wait_for(&e, "delete_vm", "no_rules");
    assert_eq!(e.rules().source.as_str(), "packaged-default");
    home.write_rules(DENY_CREATE);
    wait_for(&e, "create_vm", "no-create");
    assert_eq!(e.rules().source.as_str(), "user");
}

#[test]
fn a_file_created_after_start_is_seen() {
    let home = Home::new();
    let e = PolicyEngine::new(home.rules());
    assert_eq!(rule_for(&e, "delete_vm"), "no_rules");
    home.write_rules(DENY_DELETE);
    wait_for(&e, "delete_vm", "no-delete");
}

#[test]
fn a_broken_save_fails_closed_and_fixing_it_recovers() {
    let home = Home::new();
    home.write_rules(DENY_DELETE);
    let e = PolicyEngine::new(home.rules());
    atomic_write(&home.rules(), "deny:\n  - name: [unclosed\n");
    wait_for(&e, "list_vms", "rules_unreadable");
    let reason = e.check("list_vms", &CallContext::default()).reason;
    assert!(
        reason.contains(&home.rules().display().to_string()) && reason.contains("line"),
        "{reason}"
    );
    atomic_write(&home.rules(), DENY_CREATE);
    wait_for(&e, "list_vms", "default_allow");
    assert_eq!(rule_for(&e, "create_vm"), "no-create");
}

#[test]
fn the_home_directory_created_later_is_watched_too() {
    let outer = Home::new();
    let rules = outer.path().join("later").join("rules.yaml");
    let e = PolicyEngine::new(&rules);
    assert_eq!(rule_for(&e, "delete_vm"), "no_rules");
    std::fs::create_dir_all(rules.parent().unwrap()).unwrap();
    std::fs::write(&rules, DENY_DELETE).unwrap();
    wait_for(&e, "delete_vm", "no-delete");
}

#[test]
fn the_rule_set_in_force_is_swapped_whole() {
    // Checks from several threads during 200 atomic saves never see anything
    // but one of the two complete versions.
    let home = Home::new();
    home.write_rules(DENY_DELETE);
    let e = std::sync::Arc::new(PolicyEngine::new(home.rules()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let d = (rule_for(&e, "delete_vm"), rule_for(&e, "create_vm"));
                    let a = ("no-delete".to_string(), "default_allow".to_string());
                    let b = ("default_allow".to_string(), "no-create".to_string());
                    // Two separate checks may straddle a swap; each alone must be one version.
                    assert!(d.0 == a.0 || d.0 == b.0, "{d:?}");
                    assert!(d.1 == a.1 || d.1 == b.1, "{d:?}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..200 {
        atomic_write(
            &home.rules(),
            if i % 2 == 0 { DENY_CREATE } else { DENY_DELETE },
        );
    }
    atomic_write(&home.rules(), DENY_CREATE);
    wait_for(&e, "create_vm", "no-create");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let checks: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(checks > 0);
}
