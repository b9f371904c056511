//! Render tests: each pane drawn on ratatui's `TestBackend` and compared with
//! a reviewed snapshot (insta), hostile rows and an 80x24 terminal included.

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vmware_policy::audit::{AuditRow, Stats};

use crate::tui::action::{Action, Column};
use crate::tui::data::{Anchor, DbProblem, Pos, Response, Row};
use crate::tui::state::{App, RulesInfo, WindowInfo};

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:30:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn rules() -> RulesInfo {
    RulesInfo {
        source: "user".into(),
        path: "/home/ops/.vmware/rules.yaml".into(),
        hash: "3f9a1c2e".into(),
        loaded_at: now(),
        deny_rules: 2,
        unreadable: None,
        window: WindowInfo::Valid {
            start: 22 * 60,
            end: 6 * 60,
            text: "22:00–06:00".into(),
        },
        frozen: None,
        warnings: Vec::new(),
        change_limits: false,
        revision: None,
        seal: None,
    }
}

/// Rows of the live file (the only one read unless archives are).
pub fn live(rows: Vec<AuditRow>) -> Vec<Row> {
    rows.into_iter().map(|r| Row::new(0, r)).collect()
}

/// A position in the live file.
pub fn at(id: i64) -> Pos {
    Pos { file: 0, id }
}

pub fn row(id: i64, skill: &str, tool: &str, status: &str) -> AuditRow {
    AuditRow {
        id,
        ts: format!(
            "2026-11-22T10:{:02}:{:02}.123456+00:00",
            (id / 60) % 60,
            id % 60
        ),
        skill: skill.into(),
        tool: tool.into(),
        params: r#"{"vm": "web-01", "password": "***"}"#.into(),
        result: if status == "denied" {
            r#"{"error": "Destructive operations are not allowed in production", "rule": "no-delete-in-prod"}"#.into()
        } else {
            r#"{"ok": true}"#.into()
        },
        status: status.into(),
        duration_ms: id * 7 % 900,
        agent: "claude".into(),
        user: "alice".into(),
        risk_level: if tool.starts_with("delete") {
            "critical"
        } else {
            "low"
        }
        .into(),
        ..AuditRow::default()
    }
}

/// Hostile text of every kind that must not reach a terminal raw.
pub const HOSTILE: &str = "x\u{1b}]52;c;cGF5bG9hZA==\u{7}\u{1b}[2J\u{0}\u{9b}31m\u{202e}evil\u{7f}";

pub fn sample_rows() -> Vec<AuditRow> {
    let tools = [
        ("vsphere", "list_vms", "ok"),
        ("vsphere", "delete_vm", "denied"),
        ("avi", "delete_pool", "error"),
        ("nsx_security", "create_dfw_rule", "dry_run"),
        ("aria", "get_alerts", "ok_bypassed"),
        ("vsphere", "power_off_vm", "interrupted"),
    ];
    (1..=30)
        .map(|i| {
            let (s, t, st) = tools[i as usize % tools.len()];
            row(i, s, t, st)
        })
        .collect()
}

pub fn app_with(rows: Vec<AuditRow>, w: u16, h: u16) -> App {
    let mut app = App::new("/home/ops/.vmware/audit.db".into(), rules(), now(), true);
    app.update(Action::Resize(w, h));
    app.start();
    let generation = app.generation;
    app.update(Action::Data(Box::new(Response::Overview(Ok(Stats {
        total: 1_234_567,
        by_status: vec![
            ("ok".into(), 1_150_000),
            ("denied".into(), 49_000),
            ("error".into(), 24_000),
        ],
        by_skill: vec![("vsphere".into(), 600_000), ("avi".into(), 300_000)],
        by_tool: vec![("list_vms".into(), 400_000), ("delete_pool".into(), 1_000)],
        ..Stats::default()
    })))));
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::Newest,
        rows: live(rows),
        edge: at(1),
        exhausted: true,
        took_ms: 3,
    })));
    app
}

pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(f, app)).unwrap();
    t
}

/// No cell holds a character that could act on a terminal.
fn assert_inert(t: &Terminal<TestBackend>) {
    for cell in t.backend().buffer().content() {
        for c in cell.symbol().chars() {
            assert!(
                !vmware_policy::safe_text::is_unsafe(c),
                "raw {c:?} reached the screen"
            );
        }
    }
}

#[test]
fn stream_at_120x40() {
    let app = app_with(sample_rows(), 120, 40);
    let t = render(&app, 120, 40);
    assert_inert(&t);
    insta::assert_snapshot!(t.backend());
}

/// The sample rows and one with a tool name longer than any column.
fn rows_with_a_long_tool() -> Vec<AuditRow> {
    let mut rows = sample_rows();
    rows.push(row(
        31,
        "vsphere",
        "reconfigure_distributed_port_group_security_policy",
        "denied",
    ));
    rows
}

#[test]
fn stream_at_70x20_keeps_the_state_and_cuts_with_an_ellipsis() {
    let app = app_with(rows_with_a_long_tool(), 70, 20);
    let t = render(&app, 70, 20);
    assert_inert(&t);
    let text = t.backend().to_string();
    let header = text.lines().next().unwrap();
    assert!(header.contains("● LIVE"), "{header}");
    assert!(text.contains("reconfigure_distrib…"), "{text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn stream_at_250x60_shares_the_width_and_shows_params() {
    let app = app_with(rows_with_a_long_tool(), 250, 60);
    let t = render(&app, 250, 60);
    assert_inert(&t);
    let text = t.backend().to_string();
    let columns = text.lines().nth(4).unwrap();
    assert!(
        columns.contains("Params") && columns.contains("Rule"),
        "{columns}"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn stream_at_80x24_gives_way_and_keeps_the_status() {
    let app = app_with(sample_rows(), 80, 24);
    let t = render(&app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("denied") && text.contains("Status"));
    assert!(
        !text.contains("User"),
        "the user column goes first on a narrow terminal"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn hostile_rows_are_shown_escaped() {
    let mut r = row(7, HOSTILE, HOSTILE, "denied");
    r.params = format!("{{\"name\": \"{}\"}}", HOSTILE.escape_default());
    r.result = HOSTILE.into();
    r.agent = HOSTILE.into();
    let mut app = app_with(
        vec![row(6, "vsphere", "list_vms", "ok"), r.clone()],
        120,
        24,
    );
    let t = render(&app, 120, 24);
    assert_inert(&t);
    assert!(t.backend().to_string().contains("\\u{1b}]52;c;"));
    insta::assert_snapshot!("hostile_stream", t.backend());
    app.update(Action::Confirm);
    let t = render(&app, 120, 24);
    assert_inert(&t);
    insta::assert_snapshot!("hostile_detail", t.backend());
}

#[test]
fn detail_of_a_denial_shows_rule_and_reason_first() {
    let mut app = app_with(vec![row(1, "vsphere", "delete_vm", "denied")], 100, 30);
    app.update(Action::Confirm);
    let t = render(&app, 100, 30);
    let text = t.backend().to_string();
    let first_lines: Vec<&str> = text.lines().skip(4).take(2).collect();
    assert!(
        first_lines[0].contains("DENIED by rule no-delete-in-prod"),
        "{first_lines:?}"
    );
    assert!(first_lines[1].contains("not allowed in production"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn status_picker_narrowed_by_typing() {
    let mut app = app_with(sample_rows(), 100, 30);
    app.update(Action::OpenPicker(Column::Status));
    app.update(Action::Input('d'));
    app.update(Action::Input('n'));
    let t = render(&app, 100, 30);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn stats_pane() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::NextPane);
    let generation = app.generation;
    app.update(Action::Data(Box::new(Response::Stats {
        generation,
        stats: Ok(Stats {
            total: 1000,
            denied: 40,
            errors: 20,
            by_status: vec![
                ("ok".into(), 930),
                ("denied".into(), 40),
                ("error".into(), 20),
                ("dry_run".into(), 10),
            ],
            by_skill: vec![
                ("vsphere".into(), 500),
                ("avi".into(), 300),
                ("nsx".into(), 200),
            ],
            by_tool: vec![("list_vms".into(), 450), ("delete_pool".into(), 50)],
            by_agent: vec![("claude".into(), 1000)],
            by_risk: vec![("low".into(), 1000)],
            by_host: Vec::new(),
            series: (0..30)
                .map(|h| {
                    (
                        format!("2026-11-21T{:02}", h % 24),
                        20 + (h * 7 % 13),
                        h % 3,
                    )
                })
                .take(24)
                .collect(),
        }),
    })));
    let t = render(&app, 120, 40);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn help_lists_the_keymap() {
    let mut app = app_with(sample_rows(), 100, 40);
    app.update(Action::Help);
    let t = render(&app, 100, 40);
    let text = t.backend().to_string();
    for needle in ["quit", "filter by status", "denied only"] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
    insta::assert_snapshot!(t.backend());
    // The rest is reached by scrolling.
    let mut seen = String::new();
    for _ in 0..30 {
        seen.push_str(&render(&app, 100, 40).backend().to_string());
        app.update(Action::ScrollDown(10));
    }
    for needle in [
        "newest row, follow live",
        "save (refused while there are errors)",
        "emergency freeze",
    ] {
        assert!(seen.contains(needle), "help lacks {needle}");
    }
}

#[test]
fn too_small_says_so() {
    let app = app_with(sample_rows(), 40, 10);
    let t = render(&app, 40, 10);
    assert!(t.backend().to_string().contains("Terminal too small"));
}

#[test]
fn missing_database_says_what_to_do() {
    let mut app = app_with(Vec::new(), 100, 20);
    app.update(Action::Data(Box::new(Response::Problem(
        DbProblem::Missing(
            "No audit database at /x/audit.db yet. It is created by the first audited tool call."
                .into(),
        ),
    ))));
    let t = render(&app, 100, 20);
    assert!(
        t.backend()
            .to_string()
            .contains("created by the first audited")
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn unreadable_rules_are_shown_as_deny_everything() {
    let mut app = app_with(sample_rows(), 120, 20);
    let mut r = rules();
    r.source = "user-unreadable".into();
    r.unreadable = Some("rules.yaml line 3 column 5: mapping values are not allowed".into());
    app.update(Action::Tick(now(), Box::new(r)));
    let t = render(&app, 120, 20);
    let text = t.backend().to_string();
    assert!(text.contains("EVERY CALL IS DENIED"), "{text}");
    assert!(text.contains("line 3 column 5"));
}

#[test]
fn change_limits_in_force_are_said_not_enforced_in_the_header() {
    let mut app = app_with(sample_rows(), 200, 20);
    let text = render(&app, 200, 20).backend().to_string();
    assert!(!text.contains("change_limits"), "{text}");
    let mut r = rules();
    r.change_limits = true;
    app.update(Action::Tick(now(), Box::new(r)));
    let text = render(&app, 200, 20).backend().to_string();
    assert!(text.contains("change_limits: not enforced"), "{text}");
}

#[test]
fn the_header_shows_the_seal_state_and_the_signed_revision() {
    use crate::seal::status::SealState;
    let mut app = app_with(sample_rows(), 200, 20);
    let text = render(&app, 200, 20).backend().to_string();
    assert!(!text.contains("sealed") && !text.contains("rev "), "{text}");
    let mut r = rules();
    r.seal = Some(SealState::Verified {
        up_to_id: Some(4182),
        at: now(),
    });
    r.revision = Some("rev 7 signed".into());
    app.update(Action::Tick(now(), Box::new(r.clone())));
    let text = render(&app, 200, 20).backend().to_string();
    assert!(
        text.contains("sealed up to id 4182 · verified 10:30 UTC"),
        "{text}"
    );
    assert!(text.contains("#3f9a1c2e rev 7 signed"), "{text}");
    r.seal = Some(SealState::Alarm(
        "audit.db: row id 57 was changed after it was sealed".into(),
    ));
    r.revision = Some("rev 7 edited locally, unsigned".into());
    app.update(Action::Tick(now(), Box::new(r)));
    let text = render(&app, 200, 20).backend().to_string();
    assert!(
        text.contains("⚠ TAMPERED: audit.db: row id 57 was changed"),
        "{text}"
    );
    assert!(text.contains("rev 7 edited locally, unsigned"), "{text}");
}

#[test]
fn a_world_writable_rules_file_is_warned_in_the_header() {
    let mut app = app_with(sample_rows(), 120, 20);
    let mut r = rules();
    r.warnings = vec!["the rules file /x/rules.yaml is world-writable: anyone on this machine can change what agents may do (chmod 600 it)".into()];
    app.update(Action::Tick(now(), Box::new(r)));
    let text = render(&app, 120, 20).backend().to_string();
    assert!(
        text.contains("⚠ the rules file /x/rules.yaml is world-writable"),
        "{text}"
    );
}

#[test]
fn no_color_draws_no_colour() {
    let mut app = app_with(sample_rows(), 100, 20);
    app.color = false;
    let t = render(&app, 100, 20);
    for cell in t.backend().buffer().content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}

#[test]
fn a_huge_field_is_shown_cut_not_laid_out_every_frame() {
    let huge = format!("\"{}\u{1b}[2J\"", "x".repeat(10 << 20));
    let lines = super::detail::pretty(&huge);
    assert_eq!(lines.len(), 2, "a note and the start");
    assert!(
        lines[0].contains(&format!("{} bytes", huge.len())) && lines[0].contains("export"),
        "{}",
        lines[0]
    );
    assert!(lines[1].len() <= 64 * 1024 + 16 && !lines[1].contains('\u{1b}'));
    // Below the limit, JSON is still laid out.
    assert_eq!(
        super::detail::pretty("{\"a\": 1}"),
        vec!["{", "  \"a\": 1", "}"]
    );
}
