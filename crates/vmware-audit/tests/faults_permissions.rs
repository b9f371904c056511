//! Permissions: the database, its WAL and SHM, its archives and every rules
//! file we write are 0600 in a 0700 directory; a world-writable rules file or
//! home is reported by `vmware-audit policy` (the TUI header shows the same
//! warning; see its render tests).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Home, skill_cmd};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn every_file_we_write_is_0600_in_a_0700_home() {
    let home = Home::new();
    let ops = home.path().join("ops");
    let out = skill_cmd(
        &ops,
        &[
            "list_dfw_policies",
            "--seq",
            "--repeat",
            "600",
            "--rotate-bytes",
            "100000",
            "pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&ops), 0o700);
    let mut seen = 0;
    for e in std::fs::read_dir(&ops).unwrap().flatten() {
        let p = e.path();
        assert_eq!(mode(&p), 0o600, "{} is {:o}", p.display(), mode(&p));
        seen += 1;
    }
    assert!(seen >= 4, "db, wal, shm and an archive at least ({seen})");
    let rules = ops.join("rules.yaml");
    vmware_policy::policy::save::save(&rules, "deny: []\n", None).unwrap();
    vmware_policy::policy::save::save(&rules, "deny: []\n# 2\n", None).unwrap();
    assert_eq!(mode(&rules), 0o600);
    for b in vmware_policy::policy::save::backups(&rules) {
        assert_eq!(mode(&b), 0o600, "backup {}", b.display());
    }
}

#[test]
fn a_world_writable_rules_file_or_home_is_reported_by_policy() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let policy = |json: bool| {
        let mut c = assert_cmd::Command::cargo_bin("vmware-audit").unwrap();
        c.env("OPS_HOME", home.path()).arg("policy");
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let quiet = policy(false);
    assert!(quiet.status.success());
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"));
    std::fs::set_permissions(home.rules(), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let loud = policy(false);
    assert!(loud.status.success(), "a warning, not a failure");
    let err = String::from_utf8_lossy(&loud.stderr);
    assert!(
        err.contains("rules.yaml is world-writable") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(
        err.contains("is world-writable") && err.contains("chmod 700"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&policy(true).stdout).unwrap();
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 2, "{doc}");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
}
