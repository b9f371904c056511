//! Saving the rules while skills read them: 1,000 atomic saves while a Rust
//! reader (hot-reloading engine and direct reads) and the Python package's
//! engine check decisions in loops in other processes. No reader may ever see
//! an unreadable or partial file, versions only move forward, and every
//! reader ends on the last version. Then freeze and unfreeze as the TUI does.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Home, python_cmd};
use vmware_policy::policy::save::{self, Stamp};

fn version(n: usize) -> String {
    // Long enough that a torn write would be visible, and valid YAML only whole.
    format!(
        "# version {n}\n{}deny:\n  - name: v{n}\n    operations: [probe]\n    reason: \"version {n} of the rules\"\n",
        "# padding padding padding padding padding padding padding padding\n".repeat(40)
    )
}

fn example(name: &str) -> std::path::PathBuf {
    common::skill_bin().with_file_name(name)
}

fn lines_of(child: std::process::Child) -> (Vec<String>, bool) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        text.lines().map(str::to_string).collect(),
        out.status.success(),
    )
}

fn versions(lines: &[String], prefix: &str) -> Vec<usize> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|r| r.strip_prefix('v'))
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn a_thousand_saves_under_readers_in_rust_and_python() {
    let home = Home::new();
    let path = home.rules();
    save::save(&path, &version(0), None).unwrap();
    let start = |mut c: Command| {
        let mut child = c.stdout(Stdio::piped()).spawn().expect("spawn reader");
        // Wait for "ready" so the saves happen while it runs.
        let mut first = String::new();
        let mut r = BufReader::new(child.stdout.as_mut().unwrap());
        r.read_line(&mut first).unwrap();
        assert_eq!(first.trim(), "ready");
        child
    };
    let mut rust = Command::new(example("policy_probe"));
    rust.arg(&path).arg("v1000");
    let rust = start(rust);
    let mut py = python_cmd(
        home.path(),
        "policy_probe.py",
        &[path.to_str().unwrap(), "v1000"],
    );
    py.stderr(Stdio::inherit());
    let py = start(py);

    let mut stamp = save::stamp_now(&path).unwrap();
    for n in 1..=1000 {
        // Each save checks the file is still what the last save wrote.
        let saved = save::save(&path, &version(n), Some(&stamp)).unwrap();
        stamp = saved.stamp;
    }
    assert!(matches!(stamp, Stamp::Hash(_)));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), version(1000));
    assert_eq!(save::backups(&path).len(), save::BACKUPS);

    let (rust_lines, rust_ok) = lines_of(rust);
    let (py_lines, py_ok) = lines_of(py);
    for (who, lines, ok) in [("rust", &rust_lines, rust_ok), ("python", &py_lines, py_ok)] {
        assert!(
            ok,
            "{who} reader did not end on the last version: {lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("UNREADABLE")
                || l.contains("RAISED")
                || l.contains("rules_unreadable")),
            "{who} saw an unreadable or partial file: {lines:?}"
        );
    }
    for prefix in ["engine ", "file "] {
        let v = versions(&rust_lines, prefix);
        assert!(
            v.windows(2).all(|w| w[0] < w[1]),
            "{prefix}versions went back: {v:?}"
        );
        assert_eq!(v.last(), Some(&1000));
    }
    eprintln!(
        "rust engine saw {} versions, direct reads {}, python {}",
        versions(&rust_lines, "engine ").len(),
        versions(&rust_lines, "file ").len(),
        versions(&py_lines, "python ").len()
    );
    let v = versions(&py_lines, "python ");
    assert!(
        v.windows(2).all(|w| w[0] < w[1]),
        "python versions went back: {v:?}"
    );
    assert_eq!(v.last(), Some(&1000));
}

#[test]
fn a_freeze_is_obeyed_by_rust_and_python_and_lifted_cleanly() {
    use vmware_policy::policy::{CallContext, PolicyEngine, freeze};
    let home = Home::new();
    let path = home.rules();
    let original = "deny:\n  - name: no-prod-deletes\n    operations: [\"delete_*\"]\n    environments: [production]\n";
    save::save(&path, original, None).unwrap();
    let python = |op: &str| {
        common::run_python(
            home.path(),
            "check_once.py",
            &[path.to_str().unwrap(), op, "lab"],
        )
        .trim()
        .to_string()
    };
    assert_eq!(python("list_vms"), "True default_allow");
    let frozen = freeze::freeze(original, "alice", chrono::Utc::now()).unwrap();
    let stamp = save::stamp_now(&path).unwrap();
    save::save(&path, &frozen, Some(&stamp)).unwrap();
    let rust = PolicyEngine::without_watching(&path);
    let d = rust.check("list_vms", &CallContext::default());
    assert!(!d.allowed && d.rule == freeze::NAME, "{d:?}");
    assert!(d.reason.contains("by alice"));
    assert_eq!(python("list_vms"), format!("False {}", freeze::NAME));
    let lifted = freeze::unfreeze(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(lifted, original);
    save::save(&path, &lifted, None).unwrap();
    assert_eq!(python("list_vms"), "True default_allow");
}
