//! The TUI end to end in a real terminal: tmux runs `vmware-audit tui` at
//! 120x40; the example skill (Rust) and the Python package write rows from
//! other processes; the test reads the captured screen as an operator would,
//! applies a status filter, opens a detail and quits, and checks the terminal
//! was given back.

mod common;

use std::path::Path;

use std::time::Duration;

use common::tmux::{Tmux, table_lines};
use common::{Home, python_cmd, skill};

#[test]
fn live_rows_from_rust_and_python_filter_detail_and_a_clean_exit() {
    let home = Home::new();
    home.write_rules(
        "deny:\n  - name: no-delete-in-prod\n    operations: [\"delete_*\", \"py_delete_*\"]\n    environments: [\"production\"]\n    reason: \"Destructive operations are not allowed in production\"\n  - name: no-host-deletes\n    operations: [\"py_delete_host\"]\n    reason: \"hosts are never deleted by agents\"\n",
    );
    // One row so the database exists before the TUI opens.
    let out = skill(home.path(), &["list_dfw_policies"]);
    assert!(out.status.success());
    let bin = assert_cmd::cargo::cargo_bin("vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{} tui", bin.display()));
    tmux.wait("the TUI", 15, |s| {
        s.contains("● LIVE") && s.contains("list_dfw_policies")
    });

    // Rows written by other processes appear: the Rust example skill...
    let out = skill(
        home.path(),
        &[
            "delete_dfw_policy",
            "policy_id=web",
            "env=production",
            "password=x",
        ],
    );
    assert!(!out.status.success(), "the delete is denied");
    skill(
        home.path(),
        &["create_dfw_rule", "policy_id=web", "env=lab"],
    );
    // ... and the Python package.
    let py = python_cmd(home.path(), "tui_calls.py", &[])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let screen = tmux.wait("rows from both", 10, |s| {
        s.contains("delete_dfw_policy")
            && s.contains("py_list_hosts")
            && s.contains("py_delete_host")
    });
    assert!(screen.contains("5 rows"), "{screen}");

    // Status filter through the picker: S, type, Enter.
    tmux.keys(&["S", "d", "e", "n", "Enter"]);
    let screen = tmux.wait("the denied filter", 10, |s| {
        s.contains("status=denied") && table_lines(s).len() == 2
    });
    for line in table_lines(&screen) {
        assert!(
            line.contains("denied"),
            "a non-denied row under the filter: {line}"
        );
    }

    // A denied row written now appears under the filter; an allowed one does not.
    skill(
        home.path(),
        &["delete_dfw_policy", "policy_id=db", "env=production"],
    );
    skill(home.path(), &["list_dfw_policies"]);
    let screen = tmux.wait("the new denial", 10, |s| {
        table_lines(s).len() == 3 && s.contains("7 rows")
    });
    assert!(table_lines(&screen).iter().all(|l| l.contains("denied")));

    // Detail of the selected (newest) row: the rule and reason on top.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the detail", 10, |s| s.contains("Detail · row"));
    assert!(
        screen.contains("DENIED by rule no-delete-in-prod"),
        "{screen}"
    );
    assert!(screen.contains("\"policy_id\": \"db\""), "{screen}");

    // Esc back, q quits, and the terminal is the shell's again.
    tmux.keys(&["Escape", "q"]);
    let screen = tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
    assert!(
        !screen.contains("● LIVE"),
        "the alternate screen is gone:\n{screen}"
    );
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", &tmux.name, "#{alternate_on}"])
            .trim(),
        "0"
    );
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", &tmux.name, "#{cursor_flag}"])
            .trim(),
        "1"
    );
}

#[test]
fn a_missing_database_is_explained_then_read_when_it_appears() {
    let home = Home::new();
    let bin = assert_cmd::cargo::cargo_bin("vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{} tui", bin.display()));
    tmux.wait("the explanation", 15, |s| {
        s.contains("No audit database at")
    });
    assert!(!home.db().exists(), "the TUI never creates the database");
    skill(home.path(), &["list_dfw_policies"]);
    tmux.wait("the first row", 10, |s| {
        s.contains("list_dfw_policies") && s.contains("● LIVE")
    });
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn a_panic_gives_the_terminal_back() {
    let home = Home::new();
    skill(home.path(), &["list_dfw_policies"]);
    let bin = assert_cmd::cargo::cargo_bin("vmware-audit");
    let tmux = Tmux::start(
        home.path(),
        &format!(
            "VMWARE_AUDIT_TUI_PANIC_AFTER_FIRST_FRAME=1 {} tui",
            bin.display()
        ),
    );
    let screen = tmux.wait("the exit", 15, |s| s.contains("EXITED:"));
    assert!(screen.contains("panicked"), "{screen}");
    assert!(!screen.contains("EXITED:0"));
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", &tmux.name, "#{alternate_on}"])
            .trim(),
        "0"
    );
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", &tmux.name, "#{cursor_flag}"])
            .trim(),
        "1"
    );
}

/// Rows of the audit log, oldest first: (id, tool, status, result).
fn rows(db: &Path) -> Vec<(i64, String, String, String)> {
    common::all_rows(db)
        .into_iter()
        .map(|r| (r.id, r.tool, r.status, r.result))
        .collect()
}

#[test]
fn a_rule_typed_in_the_editor_is_obeyed_by_the_next_calls_and_freeze_works() {
    let home = Home::new();
    skill(home.path(), &["list_dfw_policies"]);
    let bin = assert_cmd::cargo::cargo_bin("vmware-audit");
    let trace = home.path().join("trace");
    let tmux = Tmux::start(
        home.path(),
        &format!(
            "VMWARE_AUDIT_TUI_TRACE={} {} tui --edit",
            trace.display(),
            bin.display()
        ),
    );
    tmux.wait("the editor on the baseline", 15, |s| {
        s.contains("packaged baseline")
    });

    // A skill calls create_dfw_rule every 25 ms from another process.
    let committed = home.path().join("committed");
    let mut looping = common::skill_cmd(
        home.path(),
        &[
            "create_dfw_rule",
            "policy_id=web",
            "env=lab",
            "--repeat",
            "400",
            "--interval-ms",
            "25",
            "--committed",
        ],
    )
    .arg(&committed)
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Type a deny rule at the top of the buffer and save.
    for line in [
        "deny:",
        "  - name: no-firewall-edits",
        "    operations: [\"create_dfw_*\"]",
        "    reason: \"frozen by change board\"",
    ] {
        tmux.cmd(&["send-keys", "-t", &tmux.name, "-l", line]);
        tmux.keys(&["Enter"]);
    }
    tmux.keys(&["C-s"]);
    let screen = tmux.wait("the save and the reload", 10, |s| {
        s.contains("the engine loaded it")
    });
    assert!(screen.contains("valid"), "{screen}");
    // The denied calls appear in the stream beside the editor.
    tmux.wait("a denial in the stream", 10, |s| {
        s.lines()
            .any(|l| l.contains("create_dfw_rule") && l.trim_end().ends_with("denied"))
    });
    let _ = looping.kill();
    let _ = looping.wait();

    // The first denied call came within a second of the save, and every call after it was denied.
    let saved_at: i64 = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .find(|l| l.ends_with(" saved"))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .expect("the TUI traced its save");
    let commits: std::collections::HashMap<i64, i64> = std::fs::read_to_string(&committed)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect();
    let calls: Vec<_> = rows(&home.db())
        .into_iter()
        .filter(|r| r.1 == "create_dfw_rule")
        .collect();
    let first_denied = calls
        .iter()
        .position(|r| r.2 == "denied")
        .expect("a denied call");
    assert!(first_denied > 0, "calls before the save were allowed");
    assert!(
        calls[first_denied..].iter().all(|r| r.2 == "denied"),
        "every call after it is denied"
    );
    assert!(calls[first_denied].3.contains("no-firewall-edits"));
    let delay_ms = (commits[&calls[first_denied].0] - saved_at) / 1000;
    assert!(delay_ms < 1000, "first denial {delay_ms} ms after the save");
    eprintln!(
        "first denied call {delay_ms} ms after the save (includes up to 25 ms between calls)"
    );

    // The Python package's engine reads the same file and denies too.
    let rules = home.rules();
    let py = common::run_python(
        home.path(),
        "check_once.py",
        &[rules.to_str().unwrap(), "create_dfw_rule", "lab"],
    );
    assert_eq!(py.trim(), "False no-firewall-edits");

    // Freeze: F9, confirmed. Both engines deny everything; then unfreeze.
    tmux.keys(&["F9"]);
    tmux.wait("the freeze question", 5, |s| s.contains("Emergency freeze"));
    tmux.keys(&["y"]);
    tmux.wait("frozen", 5, |s| s.contains("FROZEN"));
    let out = skill(home.path(), &["list_dfw_policies"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("emergency-freeze"),
        "{out:?}"
    );
    let py = common::run_python(
        home.path(),
        "check_once.py",
        &[rules.to_str().unwrap(), "list_dfw_policies"],
    );
    assert_eq!(py.trim(), "False emergency-freeze");
    tmux.keys(&["F9"]);
    tmux.wait("the unfreeze question", 5, |s| {
        s.contains("Remove the emergency freeze")
    });
    tmux.keys(&["y"]);
    tmux.wait("unfrozen", 5, |s| s.contains("Unfrozen"));
    let out = skill(home.path(), &["list_dfw_policies"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        std::fs::read_to_string(&rules)
            .unwrap()
            .contains("no-firewall-edits"),
        "the rule stays"
    );

    tmux.keys(&["Escape"]);
    tmux.wait("back to the stream", 5, |s| s.contains("Time (UTC)"));
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}
