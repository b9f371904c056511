//! Tests of `keymap`.
use super::*;
use crate::tui::action::Column;

fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, m)
}

#[test]
fn the_issue_keys_are_bound() {
    let map = bindings();
    let at = |ctx, code, m| action_for_key(&map, ctx, k(code, m));
    use Context::*;
    assert_eq!(at(Stream, KeyCode::Char('q'), NONE), Some(Action::Quit));
    assert_eq!(at(Stream, KeyCode::Char('?'), NONE), Some(Action::Help));
    assert_eq!(at(Stream, KeyCode::Char('/'), NONE), Some(Action::Search));
    assert_eq!(at(Stream, KeyCode::Enter, NONE), Some(Action::Confirm));
    assert_eq!(at(Detail, KeyCode::Esc, NONE), Some(Action::Back));
    assert_eq!(at(Stream, KeyCode::Tab, NONE), Some(Action::NextPane));
    assert_eq!(
        at(Stream, KeyCode::Char('s'), NONE),
        Some(Action::OpenPicker(Column::Skill))
    );
    assert_eq!(
        at(Stream, KeyCode::Char('t'), NONE),
        Some(Action::OpenPicker(Column::Tool))
    );
    // Upper-case S with or without the SHIFT flag, as terminals differ.
    assert_eq!(
        at(Stream, KeyCode::Char('S'), SHIFT),
        Some(Action::OpenPicker(Column::Status))
    );
    assert_eq!(
        at(Stream, KeyCode::Char('S'), NONE),
        Some(Action::OpenPicker(Column::Status))
    );
    assert_eq!(
        at(Stream, KeyCode::Char('d'), NONE),
        Some(Action::DeniedOnly)
    );
    assert_eq!(
        at(Stream, KeyCode::Char('c'), NONE),
        Some(Action::ClearFilters)
    );
    assert_eq!(at(Stream, KeyCode::End, NONE), Some(Action::Follow));
    assert_eq!(at(Stream, KeyCode::Char('G'), SHIFT), Some(Action::Follow));
    for (code, a) in [
        (KeyCode::Up, Action::Up),
        (KeyCode::Char('k'), Action::Up),
        (KeyCode::Down, Action::Down),
        (KeyCode::Char('j'), Action::Down),
        (KeyCode::PageUp, Action::PageUp),
        (KeyCode::PageDown, Action::PageDown),
        (KeyCode::Home, Action::Top),
    ] {
        assert_eq!(at(Stream, code, NONE), Some(a));
    }
}

#[test]
fn inputs_take_letters_that_are_commands_elsewhere() {
    let map = bindings();
    let at = |ctx, code, m| action_for_key(&map, ctx, k(code, m));
    assert_eq!(
        at(Context::Picker, KeyCode::Char('q'), NONE),
        Some(Action::Input('q'))
    );
    assert_eq!(
        at(Context::Search, KeyCode::Char('d'), NONE),
        Some(Action::Input('d'))
    );
    assert_eq!(
        at(Context::Search, KeyCode::Char('c'), CTRL),
        Some(Action::Quit)
    );
    assert_eq!(
        at(Context::Picker, KeyCode::Char(' '), NONE),
        Some(Action::Toggle)
    );
}

#[test]
fn help_lists_every_binding_and_merges_synonyms() {
    let map = bindings();
    let lines = help_lines(&map);
    for b in &map {
        assert!(
            lines.iter().any(|(c, keys, h)| *c == b.context
                && *h == b.help
                && keys.split(' ').any(|k| k == describe(b.trigger))),
            "{:?} {:?} missing from help",
            b.context,
            b.trigger
        );
    }
    let up = lines
        .iter()
        .find(|(c, _, h)| *c == Context::Stream && *h == "up")
        .unwrap();
    assert_eq!(up.1, "↑ k");
}

#[test]
fn help_has_one_section_per_context_in_table_order() {
    let lines = help_lines(&bindings());
    let mut sections: Vec<Context> = Vec::new();
    for (ctx, ..) in &lines {
        if sections.last() != Some(ctx) {
            assert!(
                !sections.contains(ctx),
                "{} listed twice in the help",
                ctx.title()
            );
            sections.push(*ctx);
        }
    }
    assert_eq!(
        &sections[..4],
        &[
            Context::Global,
            Context::Stream,
            Context::Detail,
            Context::Help
        ]
    );
    // Stream's own keys sit with its movement keys.
    let stream: Vec<&str> = lines
        .iter()
        .filter(|(c, ..)| *c == Context::Stream)
        .map(|(_, _, h)| *h)
        .collect();
    assert!(stream.contains(&"up") && stream.contains(&"open the selected row"));
}
