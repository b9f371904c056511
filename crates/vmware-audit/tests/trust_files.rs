//! Files outside our own are never touched: the home is where Python puts it
//! (even with no `HOME`, or `OPS_HOME=~user/...`), an existing directory is
//! never chmodded unless it is that home, a save never follows a link it did
//! not make and goes through a symlinked rules.yaml to its target, a FIFO at
//! rules.yaml fails closed without wedging anything, and a freeze that would
//! not take effect is refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{Home, python_cmd, skill_cmd};
use vmware_policy::policy::save;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn ours() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
}

/// Where our binary looks for rules.yaml under `envs` (from `rules validate`'s
/// "no rules file at ..." on a home with no file).
fn our_rules_path(envs: &[(&str, Option<&str>)]) -> String {
    let mut c = ours();
    c.args(["rules", "validate"]).env_remove("OPS_HOME");
    for (k, v) in envs {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    if out.status.code() == Some(2) && err.contains("cannot be resolved") {
        return "RuntimeError".into();
    }
    err.split("no rules file at ")
        .nth(1)
        .and_then(|r| r.split(" (").next())
        .unwrap_or_else(|| panic!("unexpected: {err}"))
        .to_string()
}

fn python_rules_path(home: &Home, envs: &[(&str, Option<&str>)]) -> String {
    let mut c = python_cmd(home.path(), "home.py", &[]);
    c.env_remove("OPS_HOME");
    for (k, v) in envs {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    String::from_utf8(c.output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn the_home_is_where_python_puts_it_in_every_environment() {
    let home = Home::new();
    let fake_home = home.path().join("h");
    let fake = fake_home.to_str().unwrap();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let tilde_user = format!("~{user}/vmw");
    let cases: Vec<Vec<(&str, Option<&str>)>> = vec![
        vec![("HOME", None)],
        vec![("HOME", Some(""))],
        vec![("HOME", Some("/"))],
        vec![("HOME", Some(fake))],
        vec![("HOME", Some(fake)), ("OPS_HOME", Some("~/vmw"))],
        vec![("HOME", None), ("OPS_HOME", Some("~/vmw"))],
        vec![("HOME", Some(fake)), ("OPS_HOME", Some(&tilde_user))],
        vec![("OPS_HOME", Some("~nosuchuser-vmware/x"))],
        vec![("OPS_HOME", Some("rel/dir"))],
        vec![("OPS_HOME", Some(""))],
    ];
    for envs in &cases {
        // Relative paths resolve against the same working directory for both.
        let py = python_rules_path(&home, envs);
        let rs = our_rules_path(envs);
        assert_eq!(rs, py, "under {envs:?}");
    }
}

#[test]
fn an_unresolvable_home_denies_every_call_and_creates_nothing() {
    let home = Home::new();
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .env("OPS_HOME", "~nosuchuser-vmware/x")
        .current_dir(home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("denied (rules_unreadable)"),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("lost") && stderr.contains("nosuchuser"),
        "{stderr}"
    );
    let made: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(made.is_empty(), "created {made:?} in the working directory");
}

#[test]
fn existing_directories_keep_their_mode_and_new_ones_are_private() {
    let home = Home::new();
    let shared = home.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    for m in [0o1777, 0o2775, 0o755] {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(m)).unwrap();
        let db = shared.join(format!("x{m}.db"));
        let rules = shared.join(format!("r{m}.yaml"));
        let out = ours()
            .env("OPS_HOME", home.path().join("ops"))
            .arg("--db")
            .arg(&db)
            .args(["generate", "--rows", "10"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = ours()
            .env("OPS_HOME", home.path().join("ops"))
            .arg("--rules")
            .arg(&rules)
            .args(["rules", "init"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        save::save(&rules, "deny: []\n", None).unwrap();
        assert_eq!(
            mode(&shared),
            m,
            "a directory we did not create was chmodded"
        );
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&rules), 0o600);
    }
    // Directories we create are private, each of them.
    let deep = home.path().join("new/sub/audit.db");
    let out = ours()
        .env("OPS_HOME", home.path().join("ops"))
        .arg("--db")
        .arg(&deep)
        .args(["generate", "--rows", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&home.path().join("new")), 0o700);
    assert_eq!(mode(&home.path().join("new/sub")), 0o700);
    // The home of compat.md is made private, as Python makes it.
    let ops = home.path().join("ops-home");
    std::fs::create_dir(&ops).unwrap();
    std::fs::set_permissions(&ops, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = skill_cmd(&ops, &["list_dfw_policies"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&ops), 0o700);
}

#[test]
fn a_save_never_follows_a_planted_link() {
    let home = Home::new();
    let outside = home.path().join("outside.txt");
    std::fs::write(&outside, "precious\n").unwrap();
    let dir = home.path().join("ops");
    std::fs::create_dir(&dir).unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, "deny: []\n").unwrap();
    // The temporary name an older version used: a link planted there.
    let planted = dir.join(format!(".rules.yaml.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&outside, &planted).unwrap();
    save::save(&rules, "deny:\n  - name: a\n    operations: [x]\n", None).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious\n");
    assert!(std::fs::read_to_string(&rules).unwrap().contains("name: a"));
    assert!(
        std::fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") && !n.contains(&std::process::id().to_string()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_symlinked_rules_file_is_saved_through_the_link() {
    let home = Home::new();
    let repo = home.path().join("config-repo");
    std::fs::create_dir(&repo).unwrap();
    let target = repo.join("rules.yaml");
    std::fs::write(&target, "deny: []\n").unwrap();
    let dir = home.path().join("ops");
    std::fs::create_dir(&dir).unwrap();
    let link = dir.join("rules.yaml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let stamp = save::stamp_now(&link).unwrap();
    let saved = save::save(&link, "deny:\n  - name: new\n", Some(&stamp)).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "deny:\n  - name: new\n"
    );
    let backup = saved.backup.expect("a backup");
    let meta = std::fs::symlink_metadata(&backup).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the backup must be a file, not a link"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "deny: []\n");
    // A link that leads nowhere is refused with where it points.
    let dangling = dir.join("dangling.yaml");
    std::os::unix::fs::symlink(repo.join("gone.yaml"), &dangling).unwrap();
    let e = save::save(&dangling, "deny: []\n", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("gone.yaml"), "{e}");
    assert!(!repo.join("gone.yaml").exists());
}

#[test]
fn a_fifo_at_rules_yaml_fails_closed_and_wedges_nothing() {
    use vmware_policy::policy::{CallContext, PolicyEngine};
    let home = Home::new();
    let c = std::ffi::CString::new(home.rules().to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    let engine = PolicyEngine::new(home.rules());
    let d = engine.check(
        "list_vms",
        &CallContext {
            risk_level: "low",
            ..CallContext::default()
        },
    );
    assert!(!d.allowed && d.rule == "rules_unreadable", "{d:?}");
    assert!(d.reason.contains("FIFO"), "{}", d.reason);
    drop(engine);
    // The CLI and a skill process return and exit too.
    let out = ours()
        .env("OPS_HOME", home.path())
        .args(["rules", "validate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FIFO"));
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("rules_unreadable"));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn a_freeze_that_would_not_take_effect_is_refused() {
    use vmware_policy::policy::freeze;
    let two_deny =
        "deny:\n  - name: a\n    operations: [x]\ndeny:\n  - name: b\n    operations: [y]\n";
    let e = freeze::freeze(two_deny, "alice", chrono::Utc::now()).unwrap_err();
    assert!(e.contains("twice"), "{e}");
    let broken = "deny: [unclosed\n";
    assert!(freeze::freeze(broken, "alice", chrono::Utc::now()).is_err());
    // A plain file freezes, and the result denies everything by the freeze.
    let ok = freeze::freeze(
        "deny:\n  - name: a\n    operations: [x]\n",
        "alice",
        chrono::Utc::now(),
    )
    .unwrap();
    assert!(freeze::is_frozen(&ok));
}

#[test]
fn rotation_never_writes_through_a_planted_link() {
    let home = Home::new();
    let shared = home.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim_copy = home.path().join("victim-copy.db");
    let victim_lock = home.path().join("victim-lock");
    std::os::unix::fs::symlink(&victim_copy, shared.join(".audit.db.rotating")).unwrap();
    std::os::unix::fs::symlink(&victim_lock, shared.join("audit.db.rotate-lock")).unwrap();
    // A writer with a tiny threshold, so it tries to rotate many times.
    let engine = vmware_policy::AuditEngine::with_options(
        shared.join("audit.db"),
        vmware_policy::audit::AuditOptions {
            rotate_bytes: 8 * 1024,
            ..vmware_policy::audit::AuditOptions::default()
        },
    );
    for i in 0..200 {
        engine.append(vmware_policy::audit::Record {
            tool: format!("t{i}"),
            params: format!("{{\"pad\": \"{}\"}}", "x".repeat(200)),
            ..vmware_policy::audit::Record::default()
        });
    }
    drop(engine);
    assert!(
        !victim_copy.exists(),
        "the database was copied through a planted link"
    );
    assert!(
        !victim_lock.exists(),
        "a lock file was created through a planted link"
    );
    // Nothing was lost either: the rows are all in the live file.
    let rows = common::all_rows_of(&shared.join("audit.db"));
    assert_eq!(rows.len(), 200);
}

#[test]
fn a_fifo_at_audit_db_blocks_no_reader_and_no_writer() {
    let home = Home::new();
    let c = std::ffi::CString::new(home.db().to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    let out = ours()
        .env("OPS_HOME", home.path())
        .args(["log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    let out = skill_cmd(home.path(), &["list_dfw_policies"])
        .output()
        .unwrap();
    assert!(out.status.success(), "the tool call still returns");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lost") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
