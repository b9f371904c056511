//! `[keys]`: an action's name and the key that does it. The keymap is data
//! (`tui::keymap`): a remap replaces the action's keys in that table, which
//! the event loop, the help and the footer all read.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyModifiers};

use crate::tui::action::{Action, Column};
use crate::tui::keymap::{Binding, Context, Trigger};

/// The actions a key can be given to, by the name the file uses.
pub fn actions() -> Vec<(&'static str, Action)> {
    vec![
        ("quit", Action::Quit),
        ("help", Action::Help),
        ("next_pane", Action::NextPane),
        ("search", Action::Search),
        ("filter_skill", Action::OpenPicker(Column::Skill)),
        ("filter_tool", Action::OpenPicker(Column::Tool)),
        ("filter_status", Action::OpenPicker(Column::Status)),
        ("filter_agent", Action::OpenPicker(Column::Agent)),
        ("filter_user", Action::OpenPicker(Column::User)),
        ("filter_risk", Action::OpenPicker(Column::Risk)),
        ("filter_host", Action::OpenPicker(Column::Host)),
        ("denied_only", Action::DeniedOnly),
        ("range", Action::CycleRange),
        ("clear_filters", Action::ClearFilters),
        ("saved_filters", Action::SavedFilters),
        ("archives", Action::ToggleArchives),
        ("edit_rules", Action::OpenEditor),
        ("mark", Action::Mark),
        ("next_mark", Action::NextMark),
        ("prev_mark", Action::PrevMark),
        ("copy", Action::Copy),
        ("export", Action::Export),
        ("jump", Action::JumpPrompt),
        ("time_range", Action::RangePrompt),
        ("next_match", Action::NextMatch),
        ("prev_match", Action::PrevMatch),
    ]
}

/// A key as the file writes it: `x`, `X`, `ctrl-x`, `alt-x`, `F5`, `enter`,
/// `esc`, `tab`, `space`, `up`, `down`, `left`, `right`, `home`, `end`,
/// `pgup`, `pgdn`, `backspace`, `delete`.
pub fn parse(text: &str) -> Result<Trigger, String> {
    let bad = || {
        format!(
            "{text:?} is not a key (x, X, ctrl-x, alt-x, F5, enter, esc, tab, space, up, pgdn, ...)"
        )
    };
    let lower = text.to_ascii_lowercase();
    let (mods, rest) = if let Some(r) = lower.strip_prefix("ctrl-") {
        (KeyModifiers::CONTROL, &text[5..][..r.len()])
    } else if let Some(r) = lower.strip_prefix("alt-") {
        (KeyModifiers::ALT, &text[4..][..r.len()])
    } else {
        (KeyModifiers::NONE, text)
    };
    let code = match rest.to_ascii_lowercase().as_str() {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" => KeyCode::PageUp,
        "pgdn" => KeyCode::PageDown,
        "backspace" => KeyCode::Backspace,
        "delete" => KeyCode::Delete,
        f if f.len() >= 2
            && f.starts_with('f')
            && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
        {
            KeyCode::F(f[1..].parse().expect("checked"))
        }
        _ => {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() && !c.is_whitespace() => {
                    let c = if mods == KeyModifiers::NONE {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    };
                    KeyCode::Char(c)
                }
                _ => return Err(bad()),
            }
        }
    };
    let mods = match code {
        KeyCode::Char(c) if mods == KeyModifiers::NONE && c.is_uppercase() => KeyModifiers::SHIFT,
        _ => mods,
    };
    Ok(Trigger::Key(code, mods))
}

/// Whether `action = key` is usable on its own.
pub fn check(action: &str, key: &str) -> Result<(), String> {
    if !actions().iter().any(|(n, _)| *n == action) {
        return Err(format!(
            "no action is named {action:?} (`vmware-audit config` lists them)"
        ));
    }
    parse(key).map(|_| ())
}

/// The first remap whose key another action already uses in the same
/// context (after every remap is applied).
pub fn conflicts(keys: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    let map = apply(crate::tui::keymap::defaults(), keys);
    for (name, key) in keys {
        let Ok(trigger) = parse(key) else { continue };
        let Some(action) = actions()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
        else {
            continue;
        };
        let contexts: Vec<Context> = map
            .iter()
            .filter(|b| b.action == action)
            .map(|b| b.context)
            .collect();
        if let Some(other) = map.iter().find(|b| {
            b.trigger == trigger
                && b.action != action
                && (contexts.contains(&b.context)
                    || b.context == Context::Global
                    || contexts.contains(&Context::Global))
        }) {
            return Err((
                name.clone(),
                format!(
                    "{key:?} for {name} is already the key of {:?} ({})",
                    other.help,
                    other.context.title()
                ),
            ));
        }
    }
    Ok(())
}

/// The table with each remapped action's keys replaced by its new key, in
/// the contexts it had; Ctrl-c still quits whatever `quit` is given.
pub fn apply(mut map: Vec<Binding>, keys: &BTreeMap<String, String>) -> Vec<Binding> {
    let names = actions();
    for (name, key) in keys {
        let (Some((_, action)), Ok(trigger)) = (names.iter().find(|(n, _)| n == name), parse(key))
        else {
            continue;
        };
        let ctrl_c = Trigger::Key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let mut first_of: Vec<Context> = Vec::new();
        let mut kept = Vec::with_capacity(map.len());
        for b in map.drain(..) {
            if b.action != *action || b.trigger == ctrl_c {
                kept.push(b);
            } else if !first_of.contains(&b.context) {
                // The action's first key in each context becomes the new one;
                // its other keys there go.
                first_of.push(b.context);
                kept.push(Binding { trigger, ..b });
            }
        }
        map = kept;
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_written() {
        assert_eq!(
            parse("x"),
            Ok(Trigger::Key(KeyCode::Char('x'), KeyModifiers::NONE))
        );
        assert_eq!(
            parse("X"),
            Ok(Trigger::Key(KeyCode::Char('X'), KeyModifiers::SHIFT))
        );
        assert_eq!(
            parse("ctrl-E"),
            Ok(Trigger::Key(KeyCode::Char('e'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            parse("F5"),
            Ok(Trigger::Key(KeyCode::F(5), KeyModifiers::NONE))
        );
        assert_eq!(
            parse("pgdn"),
            Ok(Trigger::Key(KeyCode::PageDown, KeyModifiers::NONE))
        );
        for bad in ["", "ctrl-", "xx", "F13", "\u{1b}", " "] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_remap_replaces_the_actions_keys_and_ctrl_c_still_quits() {
        let keys = BTreeMap::from([("quit".to_string(), "Q".to_string())]);
        let map = apply(crate::tui::keymap::defaults(), &keys);
        let at = |code, m| {
            crate::tui::keymap::action_for_key(
                &map,
                Context::Stream,
                crossterm::event::KeyEvent::new(code, m),
            )
        };
        assert_eq!(
            at(KeyCode::Char('Q'), KeyModifiers::SHIFT),
            Some(Action::Quit)
        );
        assert_eq!(at(KeyCode::Char('q'), KeyModifiers::NONE), None);
        assert_eq!(
            at(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
        // The help and the footer read the same table.
        let help = crate::tui::keymap::help_lines(&map);
        assert!(
            help.iter()
                .any(|(_, k, h)| *h == "quit" && k.starts_with('Q'))
        );
        // A key another action has is refused, with whose it is.
        let taken = BTreeMap::from([("quit".to_string(), "x".to_string())]);
        let (name, why) = conflicts(&taken).unwrap_err();
        assert_eq!(name, "quit");
        assert!(why.contains("export the view"), "{why}");
    }
}
