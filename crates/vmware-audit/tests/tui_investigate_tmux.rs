//! The TUI as an investigation tool, in a real terminal (tmux, 120x40), on a
//! generated database: start-up filters with `log`'s flags, an inverse
//! filter typed in a picker, a mouse click on a row, the clipboard, export,
//! config.toml, and the history across a rotation the Python package made.

mod common;

use common::tmux::{Tmux, table_lines};
use common::{Home, run_python};

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

#[test]
fn config_toml_remaps_quit_and_offers_saved_filters() {
    let home = generated();
    let cfg = home.path().join("cfg");
    std::fs::create_dir_all(cfg.join("vmware-audit")).unwrap();
    std::fs::write(
        cfg.join("vmware-audit/config.toml"),
        "[keys]\nquit = \"Q\"\n\n[filters.prod-denials]\nstatus = [\"denied\"]\nnot_agent = [\"codex\"]\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(
        home.path(),
        &format!("XDG_CONFIG_HOME={} {bin} tui", cfg.display()),
    );
    tmux.wait("the stream", 15, |s| table_lines(s).len() > 5);
    // `q` no longer quits; the footer and help say `Q`.
    tmux.keys(&["q"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let screen = tmux.screen();
    assert!(!screen.contains("EXITED"), "{screen}");
    assert!(screen.contains("Q quit"), "{screen}");
    // A saved filter: F, Enter on its name.
    tmux.keys(&["F"]);
    tmux.wait("the saved filters", 10, |s| s.contains("prod-denials"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the saved filter applied", 10, |s| {
        s.contains("status=denied") && s.contains("agent=!codex")
    });
    for line in table_lines(&screen) {
        assert!(line.contains("denied") && !line.contains("codex"), "{line}");
    }
    tmux.keys(&["Q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn a_broken_config_is_said_with_its_place_and_the_tui_runs_on_defaults() {
    let home = generated();
    let cfg = home.path().join("cfg");
    std::fs::create_dir_all(cfg.join("vmware-audit")).unwrap();
    std::fs::write(
        cfg.join("vmware-audit/config.toml"),
        "[keys]\nquit = \"Q\"\n[theme\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let out = std::process::Command::new(bin)
        .arg("config")
        .env("XDG_CONFIG_HOME", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("config.toml:3:"), "{text}");
    assert!(text.contains("quit = \"q\"  # default"), "{text}");
    let tmux = Tmux::start(
        home.path(),
        &format!("XDG_CONFIG_HOME={} {bin} tui", cfg.display()),
    );
    tmux.wait("the notice", 15, |s| {
        s.contains("config.toml:3:") && s.contains("defaults")
    });
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}

#[test]
fn archives_show_the_rows_before_a_python_rotation_in_one_history() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    // The Python package writes 7 rows, renames the file away (its rotation:
    // ids restart at 1 in the new file), then writes 40 more.
    run_python(home.path(), "write_rows.py", &[]);
    assert_eq!(run_python(home.path(), "rotate_now.py", &[]).trim(), "1");
    run_python(home.path(), "write_many.py", &["py", "40"]);
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let tmux = Tmux::start(home.path(), &format!("{bin} tui --archives"));
    tmux.wait("the whole history", 15, |s| s.contains("47 rows +archives"));
    // The oldest rows are the archive's, then the live file's, in order.
    tmux.keys(&["g"]);
    let screen = tmux.wait("the oldest rows", 10, |s| {
        table_lines(s)
            .first()
            .is_some_and(|l| l.contains("list_things"))
    });
    let tools: Vec<&str> = table_lines(&screen)
        .iter()
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(
        tools[..5],
        ["list_things", "delete_thing", "fails", "previews", "change"],
        "{screen}"
    );
    assert!(
        tools[7..].iter().all(|t| *t == "list_dfw_policies"),
        "{screen}"
    );
    // `A`: the live file alone; its oldest row is the first after the rotation.
    tmux.keys(&["A"]);
    tmux.wait("the live file", 10, |s| {
        s.contains("40 rows") && !s.contains("+archives")
    });
    tmux.keys(&["g"]);
    let screen = tmux.wait("the live file's oldest rows", 10, |s| {
        table_lines(s)
            .first()
            .is_some_and(|l| l.contains("list_dfw_policies"))
    });
    assert!(!screen.contains("list_things"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
}
