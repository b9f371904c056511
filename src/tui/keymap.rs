//! The keymap is data: one table of trigger -> action per context. The event
//! loop looks keys up here, the help overlay lists it, and the footer shows
//! the entries marked as hints, so what the app does and what it says it does
//! cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::action::{Action, Column};

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

/// Every binding of the app, in the order the help overlay lists them.
pub fn bindings() -> Vec<Binding> {
    use Action as A;
    use Context::*;
    let b = |context, trigger, action, help, hint| Binding {
        context,
        trigger,
        action,
        help,
        hint,
    };
    let mut v = vec![
        b(Global, ch('q'), A::Quit, "quit", "quit"),
        b(Global, key(KeyCode::Char('c'), CTRL), A::Quit, "quit", ""),
        b(Global, ch('?'), A::Help, "show or hide this help", "help"),
        b(
            Global,
            key(KeyCode::Tab, NONE),
            A::NextPane,
            "next pane (stream, stats)",
            "pane",
        ),
        b(
            Global,
            ch('/'),
            A::Search,
            "fuzzy search in tool, params and result",
            "search",
        ),
        b(
            Global,
            ch('s'),
            A::OpenPicker(Column::Skill),
            "filter by skill",
            "skill",
        ),
        b(
            Global,
            ch('t'),
            A::OpenPicker(Column::Tool),
            "filter by tool",
            "tool",
        ),
        b(
            Global,
            key(KeyCode::Char('S'), SHIFT),
            A::OpenPicker(Column::Status),
            "filter by status",
            "status",
        ),
        b(
            Global,
            ch('d'),
            A::DeniedOnly,
            "denied only (again: all statuses)",
            "denied",
        ),
        b(
            Global,
            ch('r'),
            A::CycleRange,
            "time range: 15m, 1h, 24h, 7d, all",
            "range",
        ),
        b(
            Global,
            ch('c'),
            A::ClearFilters,
            "clear every filter",
            "clear",
        ),
        b(
            Global,
            ch('e'),
            A::OpenEditor,
            "edit the rules in force",
            "edit",
        ),
    ];
    for ctx in [Stream, Detail, Help] {
        v.extend([
            b(ctx, key(KeyCode::Up, NONE), A::Up, "up", ""),
            b(ctx, ch('k'), A::Up, "up", ""),
            b(ctx, key(KeyCode::Down, NONE), A::Down, "down", ""),
            b(ctx, ch('j'), A::Down, "down", ""),
            b(ctx, key(KeyCode::PageUp, NONE), A::PageUp, "page up", ""),
            b(ctx, key(KeyCode::Char('b'), CTRL), A::PageUp, "page up", ""),
            b(
                ctx,
                key(KeyCode::PageDown, NONE),
                A::PageDown,
                "page down",
                "",
            ),
            b(
                ctx,
                key(KeyCode::Char('f'), CTRL),
                A::PageDown,
                "page down",
                "",
            ),
            b(ctx, key(KeyCode::Home, NONE), A::Top, "first", ""),
            b(ctx, ch('g'), A::Top, "first", ""),
            b(
                ctx,
                Trigger::WheelUp,
                A::ScrollUp(3),
                "mouse wheel scrolls",
                "",
            ),
            b(
                ctx,
                Trigger::WheelDown,
                A::ScrollDown(3),
                "mouse wheel scrolls",
                "",
            ),
        ]);
    }
    v.extend([
        b(
            Stream,
            key(KeyCode::End, NONE),
            A::Follow,
            "newest row, follow live",
            "follow",
        ),
        b(
            Stream,
            key(KeyCode::Char('G'), SHIFT),
            A::Follow,
            "newest row, follow live",
            "",
        ),
        b(
            Stream,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "open the selected row",
            "detail",
        ),
        b(Detail, key(KeyCode::End, NONE), A::Follow, "last line", ""),
        b(
            Detail,
            key(KeyCode::Char('G'), SHIFT),
            A::Follow,
            "last line",
            "",
        ),
        b(
            Detail,
            key(KeyCode::Esc, NONE),
            A::Back,
            "back to the stream",
            "back",
        ),
        b(
            Stats,
            key(KeyCode::Esc, NONE),
            A::NextPane,
            "back to the stream",
            "",
        ),
        b(
            Help,
            key(KeyCode::Esc, NONE),
            A::Back,
            "close help",
            "close",
        ),
        b(Picker, key(KeyCode::Up, NONE), A::Up, "up", ""),
        b(Picker, key(KeyCode::Down, NONE), A::Down, "down", "move"),
        b(
            Picker,
            key(KeyCode::Char(' '), NONE),
            A::Toggle,
            "select or unselect a value",
            "toggle",
        ),
        b(
            Picker,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "apply the selected values",
            "apply",
        ),
        b(
            Picker,
            key(KeyCode::Backspace, NONE),
            A::Erase,
            "erase a character",
            "",
        ),
        b(Picker, key(KeyCode::Esc, NONE), A::Back, "cancel", "cancel"),
        b(
            Search,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "search (empty: no search)",
            "search",
        ),
        b(
            Search,
            key(KeyCode::Backspace, NONE),
            A::Erase,
            "erase a character",
            "",
        ),
        b(Search, key(KeyCode::Esc, NONE), A::Back, "cancel", "cancel"),
        b(
            Editor,
            key(KeyCode::Char('s'), CTRL),
            A::Save,
            "save (refused while there are errors)",
            "save",
        ),
        b(
            Editor,
            key(KeyCode::Esc, NONE),
            A::Back,
            "leave the editor (asks if unsaved)",
            "leave",
        ),
        b(
            Editor,
            key(KeyCode::Char('z'), CTRL),
            A::Undo,
            "undo",
            "undo",
        ),
        b(Editor, key(KeyCode::Char('y'), CTRL), A::Redo, "redo", ""),
        b(
            Editor,
            key(KeyCode::Char('f'), CTRL),
            A::Find,
            "search in the buffer",
            "find",
        ),
        b(
            Editor,
            key(KeyCode::F(8), NONE),
            A::NextDiagnostic,
            "go to the next diagnostic",
            "next problem",
        ),
        b(
            Editor,
            key(KeyCode::F(2), NONE),
            A::WhatIf,
            "what-if: rules in force vs buffer",
            "what-if",
        ),
        b(
            Editor,
            key(KeyCode::F(3), NONE),
            A::Replay,
            "replay recent calls under the buffer",
            "replay",
        ),
        b(
            Editor,
            key(KeyCode::F(9), NONE),
            A::Freeze,
            "emergency freeze / unfreeze (asks first)",
            "freeze",
        ),
        b(
            EditorSearch,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "next match",
            "next",
        ),
        b(
            EditorSearch,
            key(KeyCode::Backspace, NONE),
            A::Erase,
            "erase a character",
            "",
        ),
        b(
            EditorSearch,
            key(KeyCode::Esc, NONE),
            A::Back,
            "back to editing",
            "back",
        ),
        b(
            WhatIf,
            key(KeyCode::Tab, NONE),
            A::NextField,
            "next field",
            "next field",
        ),
        b(
            WhatIf,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "decide",
            "decide",
        ),
        b(
            WhatIf,
            key(KeyCode::Backspace, NONE),
            A::Erase,
            "erase a character",
            "",
        ),
        b(WhatIf, key(KeyCode::Esc, NONE), A::Back, "close", "close"),
        b(
            Replay,
            key(KeyCode::Tab, NONE),
            A::NextField,
            "which calls: last hour, last day, current filters",
            "range",
        ),
        b(
            Replay,
            key(KeyCode::Enter, NONE),
            A::Confirm,
            "replay",
            "run",
        ),
        b(Replay, key(KeyCode::Up, NONE), A::Up, "scroll", ""),
        b(Replay, key(KeyCode::Down, NONE), A::Down, "scroll", ""),
        b(Replay, key(KeyCode::Esc, NONE), A::Back, "close", "close"),
        b(Confirm, ch('y'), A::Yes, "yes", "yes"),
        b(Confirm, ch('n'), A::No, "no", "no"),
        b(Confirm, ch('s'), A::Save, "save first (when leaving)", ""),
        b(Confirm, key(KeyCode::Esc, NONE), A::No, "no", ""),
        b(
            Conflict,
            key(KeyCode::Up, NONE),
            A::Up,
            "scroll the changes",
            "",
        ),
        b(
            Conflict,
            key(KeyCode::Down, NONE),
            A::Down,
            "scroll the changes",
            "scroll",
        ),
        b(
            Conflict,
            key(KeyCode::PageUp, NONE),
            A::PageUp,
            "scroll a page",
            "",
        ),
        b(
            Conflict,
            key(KeyCode::PageDown, NONE),
            A::PageDown,
            "scroll a page",
            "",
        ),
        b(
            Conflict,
            Trigger::WheelUp,
            A::ScrollUp(3),
            "mouse wheel scrolls",
            "",
        ),
        b(
            Conflict,
            Trigger::WheelDown,
            A::ScrollDown(3),
            "mouse wheel scrolls",
            "",
        ),
        b(
            Conflict,
            ch('r'),
            A::Reload,
            "reload: take the file on disk (the buffer's edits are dropped)",
            "reload",
        ),
        b(
            Conflict,
            ch('o'),
            A::Overwrite,
            "overwrite the file with the buffer",
            "overwrite",
        ),
        b(
            Conflict,
            key(KeyCode::Esc, NONE),
            A::Back,
            "back to editing",
            "back",
        ),
    ]);
    v
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
        _ => return None,
    };
    map.iter()
        .find(|b| b.context == context && b.trigger == trigger)
        .map(|b| b.action.clone())
}

/// How a trigger is written in the help and the footer.
pub fn describe(t: Trigger) -> String {
    match t {
        Trigger::WheelUp => "wheel".into(),
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
#[path = "keymap_tests.rs"]
mod tests;
