//! Hostile input through the TUI in a real terminal (tmux): rows whose fields
//! carry OSC 52 (set the clipboard), OSC 2 (set the title), a screen clear,
//! bidi overrides, NUL, wrong column types and a 10 MB field; a rules file
//! with the same sequences and a YAML error, then one that is not UTF-8. The
//! TUI stays up through the stream, a detail, the editor and a reload, says
//! what is wrong, and no sequence reaches the terminal: tmux (which accepts
//! OSC 52 from applications here) creates no paste buffer and keeps the title.

mod common;

use common::tmux::Tmux;
use common::{Home, skill};
use rusqlite::Connection;

const OSC52: &str = "\u{1b}]52;c;cHduZWQ=\u{7}";
const TITLE: &str = "\u{1b}]2;PWNED\u{7}";

fn no_escape_reached_the_terminal(tmux: &Tmux, when: &str) {
    let buffers = tmux.cmd(&["list-buffers"]);
    assert!(
        buffers.trim().is_empty(),
        "{when}: OSC 52 reached the terminal: {buffers}"
    );
    let title = tmux.cmd(&["display", "-p", "-t", &tmux.name, "#{pane_title}"]);
    assert!(
        !title.contains("PWNED"),
        "{when}: OSC 2 reached the terminal"
    );
}

#[test]
fn hostile_rows_and_rules_files_reach_no_terminal_and_the_tui_stays_up() {
    let home = Home::new();
    assert!(skill(home.path(), &["list_dfw_policies"]).status.success());
    let c = Connection::open(home.db()).unwrap();
    let insert = "INSERT INTO audit_log (ts, skill, tool, params, result, status) \
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    let ts = vmware_policy::audit::format::python_ts(chrono::Utc::now());
    c.execute(
        insert,
        rusqlite::params![
            ts,
            format!("evil\u{202e}lacol"),
            format!("hostile_tool{OSC52}"),
            format!("{{\"x\": \"{TITLE}\u{1b}[2J\u{0}\"}}"),
            "not json {",
            "denied",
        ],
    )
    .unwrap();
    // A foreign writer's wrong types, and a 10 MB result.
    c.execute(
        insert,
        rusqlite::params![ts, 42, 3.5, vec![0u8, 27, 255], "x".repeat(10 << 20), "ok"],
    )
    .unwrap();
    drop(c);
    home.write_rules(&format!(
        "# {OSC52}\ndeny:\n  - name: \"evil{TITLE}\"\n    operations: [\"*\"\n"
    ));

    let bin = assert_cmd::cargo::cargo_bin("vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{} tui", bin.display()));
    // Applications may set tmux buffers with OSC 52 from here on.
    tmux.cmd(&["set", "-g", "set-clipboard", "on"]);
    let screen = tmux.wait("the stream with the hostile rows", 20, |s| {
        s.contains("hostile_tool") && s.contains("EVERY CALL IS DENIED")
    });
    assert!(
        screen.contains(r"\u{1b}"),
        "escapes shown visibly:\n{screen}"
    );
    no_escape_reached_the_terminal(&tmux, "the stream");

    // The detail of the hostile row (selected: the newest is the 10 MB one).
    tmux.keys(&["Up", "Enter"]);
    let screen = tmux.wait("the detail", 15, |s| s.contains("Detail · row"));
    assert!(screen.contains("hostile_tool"), "{screen}");
    no_escape_reached_the_terminal(&tmux, "the detail");
    tmux.keys(&["Escape", "Down", "Enter"]);
    tmux.wait("the 10 MB row's detail", 15, |s| s.contains("Detail · row"));
    tmux.keys(&["Escape"]);

    // The editor on the hostile rules file: its text shown, the error said.
    tmux.keys(&["e"]);
    let screen = tmux.wait("the editor", 15, |s| s.contains("deny:"));
    assert!(
        screen.contains(r"\u{1b}") || screen.contains('␛'),
        "{screen}"
    );
    no_escape_reached_the_terminal(&tmux, "the editor");
    tmux.keys(&["Escape"]);

    // A rules file that is not UTF-8 at all, picked up by the hot reload:
    // the header's reason changes (and still says every call is denied).
    let rules_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with(" rules"))
            .map(str::to_owned)
    };
    let before = rules_line(&tmux.screen());
    std::fs::write(
        home.rules(),
        b"deny:\n  - name: \xff\xfe\x1b]52;c;eA==\x07\n",
    )
    .unwrap();
    let screen = tmux.wait("the reload", 15, |s| rules_line(s) != before);
    assert!(screen.contains("EVERY CALL IS DENIED"), "{screen}");
    tmux.keys(&["e"]);
    let screen = tmux.wait("the editor's refusal", 15, |s| s.contains("not UTF-8"));
    assert!(!screen.contains("panicked"), "{screen}");
    no_escape_reached_the_terminal(&tmux, "the non-UTF-8 rules file");

    tmux.keys(&["Escape", "q"]);
    tmux.wait("the exit", 15, |s| s.contains("EXITED:0"));
    no_escape_reached_the_terminal(&tmux, "the exit");
}
