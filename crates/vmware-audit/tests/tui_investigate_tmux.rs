//! The TUI as an investigation tool, in a real terminal (tmux, 120x40), on a
//! generated database: start-up filters with `log`'s flags, an inverse
//! filter typed in a picker, and a mouse click on a row.

mod common;

use common::Home;
use common::tmux::Tmux;

fn table_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("Time (UTC)"))
        .skip(1)
        .take_while(|l| !l.starts_with('─'))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

fn generated() -> Home {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["generate", "--rows", "400", "--days", "1"])
        .env("OPS_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    home
}

#[test]
fn start_up_flags_filter_and_an_inverse_filter_hides_what_it_names() {
    let home = generated();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(
        home.path(),
        &format!("{bin} tui --status ok --not-agent codex"),
    );
    let screen = tmux.wait("the filtered stream", 15, |s| {
        s.contains("agent=!codex") && table_lines(s).len() > 5
    });
    assert!(screen.contains("status=ok"), "{screen}");
    for line in table_lines(&screen) {
        assert!(!line.contains("codex"), "{line}");
        assert!(line.contains(" ok "), "{line}");
    }
    // An inverse filter typed in the agent picker: `!`, the value, Space, Enter.
    tmux.keys(&["a", "!", "c", "l", "a", "u", "d", "e", "Space", "Enter"]);
    let screen = tmux.wait("claude excluded", 10, |s| s.contains("agent=!claude"));
    let lines = table_lines(&screen);
    assert!(!lines.is_empty(), "{screen}");
    for line in lines {
        assert!(!line.contains("claude"), "{line}");
    }
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn a_click_selects_a_row_and_enter_opens_it() {
    let home = generated();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{bin} tui"));
    let screen = tmux.wait("the stream", 15, |s| table_lines(s).len() > 20);
    // The third row of the table, as the terminal shows it (rows are 1-based
    // for the mouse: header 2, filter bar 1, the stream's border, columns).
    let target = table_lines(&screen)[2].to_string();
    let id_time = target
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    // An SGR mouse press and release at column 10, row 8 (1-based).
    tmux.cmd(&[
        "send-keys",
        "-t",
        &tmux.name,
        "-l",
        "\u{1b}[<0;10;8M\u{1b}[<0;10;8m",
    ]);
    tmux.wait("paused by the click", 10, |s| s.contains("PAUSED"));
    tmux.keys(&["Enter"]);
    // The detail fills the body: the time found is the detail's, not the stream's.
    let screen = tmux.wait("the detail", 10, |s| s.contains("Esc back"));
    assert!(
        screen.contains(&id_time[6..]),
        "the detail is of the row clicked ({id_time}): {screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn y_copies_marked_rows_to_the_terminals_clipboard_with_osc_52() {
    let home = generated();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{bin} tui --status ok"));
    // tmux takes OSC 52 from the application into a paste buffer.
    tmux.cmd(&["set", "-g", "set-clipboard", "on"]);
    let screen = tmux.wait("the stream", 15, |s| table_lines(s).len() > 20);
    let lines = table_lines(&screen);
    let tool_of = |l: &str| l.split_whitespace().nth(3).unwrap().to_string();
    let (newest, above) = (
        tool_of(lines[lines.len() - 1]),
        tool_of(lines[lines.len() - 3]),
    );
    // Mark the newest row and the one two above it, then copy both.
    tmux.keys(&["m", "Up", "Up", "m", "y"]);
    tmux.wait("the copy", 10, |s| s.contains("copied 2 rows as JSON"));
    let buffer = tmux.cmd(&["show-buffer"]);
    let rows: serde_json::Value = serde_json::from_str(&buffer)
        .unwrap_or_else(|e| panic!("the paste buffer is not JSON ({e}): {buffer}"));
    let tools: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tool"].as_str().unwrap())
        .collect();
    assert_eq!(tools, [above.as_str(), newest.as_str()], "oldest first");
    assert!(rows.as_array().unwrap().iter().all(|r| r["status"] == "ok"));
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn x_exports_the_filtered_view_to_a_file() {
    let home = generated();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{bin} tui --status denied"));
    tmux.wait("the denied rows", 15, |s| {
        s.contains("status=denied") && !table_lines(s).is_empty()
    });
    // The default name is accepted as offered (in the TUI's directory, the home).
    tmux.keys(&["x"]);
    tmux.wait("the prompt", 10, |s| s.contains("export to ›"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the export", 15, |s| s.contains("exported "));
    let file = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap_or_else(|| panic!("no .jsonl in the home: {screen}"));
    let text = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["status"] == "denied"));
    assert!(
        screen.contains(&format!("exported {} rows", rows.len())),
        "{screen}"
    );
    // Exactly the rows `export` gives for the same filter.
    let cli = std::process::Command::new(bin)
        .args(["export", "--format", "jsonl", "--status", "denied"])
        .env("OPS_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(cli.stdout).unwrap(), text);
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}
