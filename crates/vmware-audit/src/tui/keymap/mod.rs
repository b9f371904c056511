//! The keymap is data: one table of trigger -> action per context. The event
//! loop looks keys up here, the help overlay lists it, and the footer shows
//! the entries marked as hints, so what the app does and what it says it does
//! cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

mod table;

pub use table::defaults;

/// The operator's `[keys]` (from config.toml), set once at start-up.
static OVERRIDES: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
    std::sync::OnceLock::new();

/// Apply `[keys]` to every later [`bindings`] (once; later calls are ignored).
pub fn set_overrides(keys: std::collections::BTreeMap<String, String>) {
    let _ = OVERRIDES.set(keys);
}

/// The keymap in force: the defaults with the operator's remaps.
pub fn bindings() -> Vec<Binding> {
    match OVERRIDES.get() {
        Some(keys) if !keys.is_empty() => crate::config::keys::apply(defaults(), keys),
        _ => defaults(),
    }
}

use super::action::Action;

/// Where the keyboard focus is; each has its own bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Works everywhere except while typing into an input.
    Global,
    Stream,
    Stats,
    Detail,
    Picker,
    Search,
    Export,
    Jump,
    RangeInput,
    Help,
    Editor,
    EditorSearch,
    WhatIf,
    Replay,
    Confirm,
    Conflict,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Stream => "Stream",
            Context::Stats => "Stats",
            Context::Detail => "Detail",
            Context::Picker => "Filter picker",
            Context::Search => "Search",
            Context::Export => "Export the view",
            Context::Jump => "Jump to a time",
            Context::RangeInput => "Time range",
            Context::Help => "Help",
            Context::Editor => "Rule editor",
            Context::EditorSearch => "Rule editor: search",
            Context::WhatIf => "Rule editor: what-if",
            Context::Replay => "Rule editor: replay",
            Context::Confirm => "Confirmation",
            Context::Conflict => "Rule editor: the file changed on disk",
        }
    }

    /// Contexts where printable keys are text, not commands.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::Picker
                | Context::Search
                | Context::Export
                | Context::Jump
                | Context::RangeInput
                | Context::Editor
                | Context::EditorSearch
                | Context::WhatIf
        )
    }

    /// Contexts that answer a question: the global keys do not apply.
    pub fn is_modal(self) -> bool {
        matches!(self, Context::Replay | Context::Confirm | Context::Conflict)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Key(KeyCode, KeyModifiers),
    WheelUp,
    WheelDown,
    /// The left button pressed; its action gets the row clicked.
    Click,
}

pub struct Binding {
    pub context: Context,
    pub trigger: Trigger,
    pub action: Action,
    /// What the help overlay says.
    pub help: &'static str,
    /// Its word in the footer of its context ("" = not shown there).
    pub hint: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

fn key(c: KeyCode, m: KeyModifiers) -> Trigger {
    Trigger::Key(c, m)
}
fn ch(c: char) -> Trigger {
    Trigger::Key(KeyCode::Char(c), NONE)
}

/// The action for a key in `context`: its own bindings first, then the global
/// ones unless the context takes text, then a typed character.
pub fn action_for_key(map: &[Binding], context: Context, k: KeyEvent) -> Option<Action> {
    // Shift is part of an upper-case character already; terminals differ in
    // whether they report it, so match both ways.
    let mods = k.modifiers & (CTRL | KeyModifiers::ALT | SHIFT);
    let found = |ctx: Context| {
        map.iter().find(|b| {
            b.context == ctx
                && match b.trigger {
                    Trigger::Key(code, m) => {
                        code == k.code
                            && (m == mods
                                || (matches!(code, KeyCode::Char(_))
                                    && (m | SHIFT) == (mods | SHIFT)))
                    }
                    _ => false,
                }
        })
    };
    if let Some(b) = found(context) {
        return Some(b.action.clone());
    }
    if context == Context::Editor {
        // Everything else edits the buffer (ratatui-textarea's keys), except
        // Ctrl-C, which quits (asking first when there are unsaved changes).
        if k.code == KeyCode::Char('c') && mods == CTRL {
            return Some(Action::Quit);
        }
        return Some(Action::EditKey(k));
    }
    if context.is_modal() {
        return (k.code == KeyCode::Char('c') && mods == CTRL).then_some(Action::Quit);
    }
    if context.takes_text() {
        if let KeyCode::Char(c) = k.code
            && !mods.intersects(CTRL | KeyModifiers::ALT)
        {
            return Some(Action::Input(c));
        }
        // Ctrl-C still quits from an input.
        return found(Context::Global)
            .filter(|b| b.trigger == key(KeyCode::Char('c'), CTRL))
            .map(|b| b.action.clone());
    }
    found(Context::Global).map(|b| b.action.clone())
}

pub fn action_for_mouse(map: &[Binding], context: Context, m: MouseEvent) -> Option<Action> {
    let trigger = match m.kind {
        MouseEventKind::ScrollUp => Trigger::WheelUp,
        MouseEventKind::ScrollDown => Trigger::WheelDown,
        MouseEventKind::Down(MouseButton::Left) => Trigger::Click,
        _ => return None,
    };
    map.iter()
        .find(|b| b.context == context && b.trigger == trigger)
        .map(|b| match b.action {
            Action::Click(_) => Action::Click(m.row),
            ref other => other.clone(),
        })
}

/// How a trigger is written in the help and the footer.
pub fn describe(t: Trigger) -> String {
    match t {
        Trigger::WheelUp => "wheel".into(),
        Trigger::Click => "click".into(),
        Trigger::WheelDown => "wheel".into(),
        Trigger::Key(code, m) => {
            let name = match code {
                KeyCode::Char(' ') => "Space".to_string(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Enter => "Enter".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::Backspace => "Bksp".into(),
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::F(n) => format!("F{n}"),
                other => format!("{other:?}"),
            };
            if m.contains(CTRL) {
                format!("Ctrl-{name}")
            } else {
                name
            }
        }
    }
}

/// The help overlay's lines: per context, keys that do the same thing merged
/// (`↑ k  up`).
pub fn help_lines(map: &[Binding]) -> Vec<(Context, String, &'static str)> {
    let mut out: Vec<(Context, String, &'static str)> = Vec::new();
    for b in map {
        if let Some(last) = out
            .iter_mut()
            .find(|(c, _, h)| *c == b.context && *h == b.help)
        {
            let d = describe(b.trigger);
            if !last.1.split(' ').any(|k| k == d) {
                last.1.push(' ');
                last.1.push_str(&d);
            }
        } else {
            out.push((b.context, describe(b.trigger), b.help));
        }
    }
    // One section per context: the table lists a context's keys in more than
    // one place (the shared movement keys, then its own), the help once.
    let first_seen: Vec<Context> = out.iter().fold(Vec::new(), |mut seen, (c, ..)| {
        if !seen.contains(c) {
            seen.push(*c);
        }
        seen
    });
    out.sort_by_key(|(c, ..)| first_seen.iter().position(|s| s == c));
    out
}

/// The footer's hints for `context`: its own, then the global ones.
pub fn hints(map: &[Binding], context: Context) -> Vec<(String, &'static str)> {
    let own = map
        .iter()
        .filter(|b| b.context == context && !b.hint.is_empty());
    let global = map.iter().filter(|b| {
        b.context == Context::Global
            && !b.hint.is_empty()
            && !context.takes_text()
            && !context.is_modal()
    });
    own.chain(global)
        .map(|b| (describe(b.trigger), b.hint))
        .collect()
}

#[cfg(test)]
mod tests;
