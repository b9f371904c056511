//! The rule editor driven by actions, with no terminal: edits, diagnostics,
//! saves and their refusals, conflicts, leaving, what-if, replay, freeze.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vmware_policy::policy::save::{SaveError, Saved, Stamp};

use super::action::{Action, Effect};
use super::data::Response;
use super::editor::Mode;
use super::keymap::{Context, action_for_key, bindings};
use super::state::{App, Pane};
use super::view::tests::{app_with, now, render, sample_rows};

const VALID: &str = "deny:\n  - name: no-prod-deletes\n    operations: [\"delete_*\"]\n    environments: [production]\n";

fn key(c: char) -> Action {
    Action::EditKey(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        let a = if c == '\n' {
            Action::EditKey(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        } else {
            key(c)
        };
        app.update(a);
    }
}

fn editor_on(text: Option<&str>) -> App {
    let mut app = app_with(sample_rows(), 120, 40);
    let fx = app.update(Action::OpenEditor);
    assert_eq!(fx, vec![Effect::LoadRules]);
    let stamp = text.map_or(Stamp::Absent, |_| Stamp::Hash("h1".into()));
    app.update(Action::EditorLoaded(Ok((text.map(str::to_string), stamp))));
    assert_eq!(app.pane, Pane::Editor);
    app
}

fn ed(app: &App) -> &super::editor::Editor {
    app.editor.as_ref().expect("editor open")
}

#[test]
fn a_missing_file_starts_from_the_baseline_and_saves_to_the_user_path() {
    let mut app = editor_on(None);
    // An untouched baseline is not "modified" (Esc leaves without a question),
    // and saving it is still offered.
    assert!(ed(&app).from_baseline && !ed(&app).dirty());
    assert!(ed(&app).text().contains("vmware-policy"));
    let fx = app.update(Action::Save);
    assert!(
        matches!(
            &fx[..],
            [Effect::SaveRules {
                expected: Some(Stamp::Absent),
                ..
            }]
        ),
        "{fx:?}"
    );
}

#[test]
fn typing_marks_unsaved_and_validation_follows() {
    let mut app = editor_on(Some(VALID));
    assert!(!ed(&app).dirty());
    // Clean but for one warning: `delete_*` now also catches tools renamed in 2.0.
    assert_eq!(ed(&app).diagnostics.len(), 1, "{:?}", ed(&app).diagnostics);
    assert!(ed(&app).diagnostics[0].message.contains("2.0 tool renames"));
    typed(&mut app, "maintenance_windw: x\n");
    assert!(ed(&app).dirty());
    assert!(
        ed(&app).validation_due(),
        "validated after the debounce, not per key"
    );
    app.update(Action::Validate);
    let d = &ed(&app).diagnostics;
    assert!(
        d.iter()
            .any(|d| d.line == 1 && d.message.contains("maintenance_window")),
        "{d:?}"
    );
}

#[test]
fn errors_block_saving_warnings_do_not() {
    let mut app = editor_on(Some(VALID));
    typed(&mut app, "deny: [\n");
    let fx = app.update(Action::Save);
    assert!(fx.is_empty(), "an error blocks the save");
    let (msg, is_err) = ed(&app).message.clone().unwrap();
    assert!(is_err && msg.contains("Not saved"), "{msg}");
    app.update(Action::Undo);
    app.update(Action::Undo);
    for _ in 0..7 {
        app.update(Action::Undo);
    }
    assert_eq!(ed(&app).text(), VALID, "undo gives the file back");
    typed(&mut app, "change_limits: {}\n");
    let fx = app.update(Action::Save);
    assert!(
        matches!(&fx[..], [Effect::SaveRules { expected: Some(Stamp::Hash(h)), .. }] if h == "h1"),
        "{fx:?}"
    );
}

#[test]
fn a_save_records_what_was_saved_and_a_conflict_shows_the_difference() {
    let mut app = editor_on(Some(VALID));
    typed(&mut app, "# mine\n");
    app.update(Action::Saved(
        Ok(Saved {
            stamp: Stamp::Hash("h2".into()),
            backup: None,
        }),
        now(),
    ));
    assert!(!ed(&app).dirty());
    assert_eq!(ed(&app).last_saved.as_ref().unwrap().hash, "h2");
    typed(&mut app, "# more\n");
    app.update(Action::Saved(
        Err(SaveError::Conflict {
            on_disk: Some("deny: []\n".into()),
        }),
        now(),
    ));
    let Mode::Conflict { diff, .. } = &ed(&app).mode else {
        panic!("no conflict")
    };
    assert!(diff.contains(&"- deny: []".to_string()), "{diff:?}");
    assert!(diff.iter().any(|l| l == "+ # more"), "{diff:?}");
    assert_eq!(app.context(), Context::Conflict);
    let fx = app.update(Action::Overwrite);
    assert!(matches!(
        &fx[..],
        [Effect::SaveRules { expected: None, .. }]
    ));
    app.update(Action::Saved(
        Err(SaveError::Conflict {
            on_disk: Some("deny: []\n".into()),
        }),
        now(),
    ));
    app.update(Action::Reload);
    assert_eq!(ed(&app).text(), "deny: []\n");
    assert!(!ed(&app).dirty());
}

#[test]
fn leaving_or_quitting_with_unsaved_changes_asks_first() {
    let mut app = editor_on(Some(VALID));
    typed(&mut app, "# x\n");
    app.update(Action::Quit);
    assert!(!app.quit, "not with unsaved changes");
    assert_eq!(ed(&app).mode, Mode::ConfirmLeave);
    app.update(Action::No);
    assert_eq!(ed(&app).mode, Mode::Edit);
    app.update(Action::Back);
    app.update(Action::Yes);
    assert!(app.editor.is_none());
    assert_eq!(app.pane, Pane::Stream);
    // Unchanged: Esc leaves at once.
    let mut app = editor_on(Some(VALID));
    app.update(Action::Back);
    assert!(app.editor.is_none());
}

#[test]
fn f8_goes_to_the_next_diagnostic() {
    let mut app = editor_on(Some(
        "deny:\n  - name: a\n    operations: [x]\n    min_risk_level: huge\n",
    ));
    app.update(Action::NextDiagnostic);
    let ratatui_textarea::DataCursor(row, _) = ed(&app).area.cursor();
    assert_eq!(row, 3, "{:?}", ed(&app).diagnostics);
}

#[test]
fn search_finds_text_in_the_buffer() {
    let mut app = editor_on(Some(VALID));
    app.update(Action::Find);
    assert_eq!(app.context(), Context::EditorSearch);
    for c in "product".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::Confirm);
    let ratatui_textarea::DataCursor(row, _) = ed(&app).area.cursor();
    assert_eq!(row, 3);
}

#[test]
fn what_if_asks_for_both_decisions_with_the_buffer() {
    let mut app = editor_on(Some(VALID));
    app.update(Action::WhatIf);
    assert_eq!(app.context(), Context::WhatIf);
    for c in "delete_vm".chars() {
        app.update(Action::Input(c));
    }
    let fx = app.update(Action::Confirm);
    match &fx[..] {
        [
            Effect::WhatIf {
                operation,
                env,
                risk,
                text,
            },
        ] => {
            assert_eq!(
                (operation.as_str(), env.as_str(), risk.as_str()),
                ("delete_vm", "production", "high")
            );
            assert_eq!(text, VALID);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn replay_runs_on_the_chosen_range_and_shows_the_report() {
    let mut app = editor_on(Some(VALID));
    app.update(Action::Replay);
    app.update(Action::NextField); // the last day
    let fx = app.update(Action::Confirm);
    let Some(Effect::Replay { filter, text }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert_eq!(filter.since.as_deref(), Some("2026-11-21T10:30:00+00:00"));
    assert_eq!(text, VALID);
    app.update(Action::Data(Box::new(Response::Replay {
        result: Ok((
            vmware_policy::replay::Report {
                rows: 42,
                ..Default::default()
            },
            7,
        )),
    })));
    let Mode::Replay(p) = &ed(&app).mode else {
        panic!()
    };
    assert!(!p.running);
    assert_eq!(p.result.as_ref().unwrap().as_ref().unwrap().0.rows, 42);
}

#[test]
fn freeze_is_confirmed_then_done_and_the_same_key_unfreezes() {
    let mut app = editor_on(Some(VALID));
    app.update(Action::Freeze);
    assert_eq!(ed(&app).mode, Mode::ConfirmFreeze { freeze: true });
    assert!(app.update(Action::No).is_empty());
    app.update(Action::Freeze);
    assert_eq!(app.update(Action::Yes), vec![Effect::Freeze(true)]);
    let fx = app.update(Action::FreezeDone(Ok("FROZEN".into())));
    assert_eq!(
        fx,
        vec![Effect::LoadRules],
        "an unmodified buffer reloads the frozen file"
    );
    let mut r = super::view::tests::rules();
    r.frozen = Some(vmware_policy::policy::freeze::Frozen {
        by: "alice".into(),
        since: "2026-12-01 10:00".into(),
    });
    app.update(Action::Tick(now(), Box::new(r)));
    app.update(Action::Freeze);
    assert_eq!(ed(&app).mode, Mode::ConfirmFreeze { freeze: false });
    // Every pane's header says so, as loudly as an unreadable file.
    app.update(Action::No);
    app.update(Action::Back);
    app.color = false;
    let screen = super::view::tests::render(&app, 140, 20)
        .backend()
        .to_string();
    assert!(
        screen.contains("FROZEN by alice since 2026-12-01 10:00 UTC → EVERY CALL IS DENIED"),
        "{screen}"
    );
}

#[test]
fn in_the_editor_letters_are_text_and_commands_need_ctrl() {
    let map = bindings();
    let at = |code, m| action_for_key(&map, Context::Editor, KeyEvent::new(code, m));
    assert!(matches!(
        at(KeyCode::Char('q'), KeyModifiers::NONE),
        Some(Action::EditKey(_))
    ));
    assert!(matches!(
        at(KeyCode::Enter, KeyModifiers::NONE),
        Some(Action::EditKey(_))
    ));
    assert_eq!(
        at(KeyCode::Char('s'), KeyModifiers::CONTROL),
        Some(Action::Save)
    );
    assert_eq!(
        at(KeyCode::Char('c'), KeyModifiers::CONTROL),
        Some(Action::Quit)
    );
    assert_eq!(at(KeyCode::F(9), KeyModifiers::NONE), Some(Action::Freeze));
    let confirm = |c| {
        action_for_key(
            &map,
            Context::Confirm,
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        )
    };
    assert_eq!(confirm('y'), Some(Action::Yes));
    assert_eq!(confirm('q'), None, "no global key in a question");
}

#[test]
fn editor_with_diagnostics_render() {
    let mut app = editor_on(Some(
        "deny:\n  - name: no-prod-deletes\n    operations: [\"delete_*\"]\n    environment: [production]\n    min_risk_level: huge\n",
    ));
    app.color = false;
    let t = render(&app, 120, 30);
    let text = t.backend().to_string();
    // The unknown key inside a rule is an error now: it widens the rule.
    assert!(text.contains("2 errors"), "{text}");
    assert!(text.contains("did you mean"), "{text}");
    insta::assert_snapshot!(t.backend());
}

/// A colleague's change longer than the screen, with lines that wrap: the
/// conflict panel says how much is below, and scrolling reaches every changed
/// line, the last included, before `o` can overwrite it.
#[test]
fn a_conflict_panel_shows_every_changed_line_however_long() {
    let mut app = editor_on(Some(VALID));
    typed(&mut app, "# mine\n");
    let mut theirs = String::from("deny:\n");
    for i in 0..40 {
        theirs.push_str(&format!(
            "  - name: colleague-rule-{i}-with-a-long-reason-that-wraps-on-a-narrow-terminal-{}\n",
            "x".repeat(40)
        ));
    }
    theirs.push_str("  - name: THE-LAST-LINE-OF-THEIR-CHANGE\n");
    app.update(Action::Saved(
        Err(SaveError::Conflict {
            on_disk: Some(theirs),
        }),
        now(),
    ));
    app.color = false;
    let screen = |app: &App| render(app, 100, 30).backend().to_string();
    let first = screen(&app);
    assert!(
        !first.contains("THE-LAST-LINE"),
        "the test needs a change taller than the panel"
    );
    assert!(first.contains("↓ ") && first.contains(" more"), "{first}");
    let mut seen = first.clone();
    for _ in 0..60 {
        app.update(Action::Down);
        seen.push_str(&screen(&app));
    }
    let last = screen(&app);
    assert!(last.contains("THE-LAST-LINE-OF-THEIR-CHANGE"), "{last}");
    assert!(last.contains("↓ 0 more"), "{last}");
    for i in 0..40 {
        assert!(
            seen.contains(&format!("colleague-rule-{i}-")),
            "line {i} never shown"
        );
    }
    for _ in 0..4 {
        app.update(Action::PageUp);
    }
    assert!(!screen(&app).contains("↓ 0 more"), "PgUp scrolls back");
    assert!(matches!(ed(&app).mode, Mode::Conflict { .. }));
}

#[test]
fn esc_on_an_untouched_baseline_leaves_without_a_question() {
    let mut app = editor_on(None);
    app.update(Action::Back);
    assert!(
        app.editor.is_none(),
        "nothing was changed: no unsaved-changes question"
    );
    let mut app = editor_on(None);
    typed(&mut app, "# mine\n");
    app.update(Action::Back);
    assert_eq!(
        ed(&app).mode,
        Mode::ConfirmLeave,
        "an edit of the baseline is asked about"
    );
}

#[test]
fn keys_on_the_too_small_screen_do_nothing_unseen() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Resize(40, 10));
    let before = app.filters.clone();
    for a in [
        Action::DeniedOnly,
        Action::ClearFilters,
        Action::OpenEditor,
        Action::Search,
        Action::Help,
    ] {
        assert!(app.update(a).is_empty());
    }
    assert_eq!(
        app.filters, before,
        "a filter changed behind the too-small screen"
    );
    assert!(app.editor.is_none());
    assert!(matches!(app.overlay, super::state::Overlay::None));
    // It says q quits, and q does.
    app.update(Action::Quit);
    assert!(app.quit);
    // With unsaved edits in the editor, q does not throw them away.
    let mut app = editor_on(Some(VALID));
    typed(&mut app, "# mine\n");
    app.update(Action::Resize(40, 10));
    app.update(Action::EditKey(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert!(!app.quit);
    assert!(ed(&app).text().contains("# mine\n") && !ed(&app).text().contains("q#"));
    app.update(Action::Resize(120, 40));
    assert_eq!(ed(&app).text(), format!("# mine\n{VALID}"));
}

#[test]
fn a_typo_that_widens_a_rule_asks_for_its_blast_radius() {
    let mut app = editor_on(Some("deny:\n  - name: x\n    operation: [a]\n"));
    let fx = app.update(Action::Validate);
    let rev = ed(&app).rev;
    assert!(
        fx.iter().any(|f| matches!(f, Effect::Request(super::data::Request::BlastRadius { rev: r, .. }) if *r == rev)),
        "{fx:?}"
    );
    let mut diags = ed(&app).diagnostics.clone();
    diags[0].message.push_str(" (blast radius: 9)");
    // An answer for an older text is dropped; one for this text is shown.
    app.update(Action::Data(Box::new(Response::BlastRadius {
        rev: rev + 1,
        diagnostics: diags.clone(),
    })));
    assert!(!ed(&app).diagnostics[0].message.contains("blast radius"));
    app.update(Action::Data(Box::new(Response::BlastRadius {
        rev,
        diagnostics: diags,
    })));
    assert!(ed(&app).diagnostics[0].message.contains("blast radius: 9"));
    // A clean file asks nothing.
    let mut app = editor_on(Some(VALID));
    assert!(app.update(Action::Validate).is_empty());
}
