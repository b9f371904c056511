//! The rule editor's state: the buffer (ratatui-textarea does the editing,
//! undo and search), what it was read from, its diagnostics, and the panels
//! that ask "what would this change do?". No I/O here: reading, saving,
//! what-if and replay are effects the event loop carries out.

pub mod highlight;
pub mod panels;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ratatui_textarea::{CursorMove, TextArea};
use vmware_policy::policy::save::Stamp;
use vmware_policy::policy::{Diagnostic, Severity, validate};

pub use panels::{ReplayPanel, ReplayRange, WhatIf};

/// What the editor is doing besides editing.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    #[default]
    Edit,
    /// Typing a search pattern.
    Search(String),
    /// Leaving with unsaved changes: y discards, s saves, n stays.
    ConfirmLeave,
    /// The file changed on disk since it was opened: r reloads it, o
    /// overwrites it with the buffer, Esc goes back to editing.
    Conflict {
        on_disk: Option<String>,
        diff: Vec<String>,
        /// Lines scrolled past: the panel shows every changed line.
        scroll: u16,
    },
    WhatIf(Box<WhatIf>),
    Replay(Box<ReplayPanel>),
    /// y freezes (or unfreezes) the rules on disk.
    ConfirmFreeze {
        freeze: bool,
    },
}

/// The last save, and whether the engine has loaded it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedInfo {
    pub hash: String,
    pub at: DateTime<Utc>,
    pub backup: Option<String>,
}

pub struct Editor {
    pub area: TextArea<'static>,
    pub path: PathBuf,
    /// The file as read (or last saved): a save refuses if the disk differs.
    pub stamp: Stamp,
    /// No user file existed: the buffer started as the packaged baseline.
    pub from_baseline: bool,
    /// The text as read or last saved, to tell unsaved changes.
    pub clean_text: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Bumped by every change; validation catches up with it.
    pub rev: u64,
    pub validated_rev: u64,
    pub top: usize,
    pub left: usize,
    pub height: usize,
    pub width: usize,
    pub mode: Mode,
    /// A line for the operator: (text, is an error).
    pub message: Option<(String, bool)>,
    pub last_saved: Option<SavedInfo>,
    /// The last search pattern (for "next match").
    pub search: String,
}

impl Editor {
    pub fn open(path: PathBuf, text: Option<String>, stamp: Stamp, baseline: &str) -> Editor {
        let from_baseline = text.is_none();
        let text = text.unwrap_or_else(|| baseline.to_string());
        let mut e = Editor {
            area: area_of(&text),
            path,
            stamp,
            from_baseline,
            clean_text: String::new(),
            diagnostics: Vec::new(),
            rev: 0,
            validated_rev: 0,
            top: 0,
            left: 0,
            height: 20,
            width: 60,
            mode: Mode::Edit,
            message: from_baseline.then(|| {
                (
                    "No rules file yet: this is the packaged baseline; Ctrl-s saves it as yours."
                        .to_string(),
                    false,
                )
            }),
            last_saved: None,
            search: String::new(),
        };
        // As the buffer holds it (line endings). An untouched baseline is not
        // "modified": leaving it asks nothing (saving it is still offered).
        e.clean_text = e.text();
        e.validate();
        e
    }

    pub fn text(&self) -> String {
        let mut t = self.area.lines().join("\n");
        t.push('\n');
        t
    }

    pub fn dirty(&self) -> bool {
        self.text() != self.clean_text
    }

    pub fn validate(&mut self) {
        self.diagnostics = validate(&self.text());
        self.validated_rev = self.rev;
    }

    pub fn validation_due(&self) -> bool {
        self.validated_rev != self.rev
    }

    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// A key for the buffer (after the keymap found no command for it).
    pub fn edit(&mut self, key: crossterm::event::KeyEvent) {
        if self.area.input(key) {
            self.changed();
        }
        self.follow_cursor();
    }

    pub fn changed(&mut self) {
        self.rev += 1;
        self.message = None;
    }

    pub fn undo(&mut self) {
        if self.area.undo() {
            self.changed();
        }
        self.follow_cursor();
    }

    pub fn redo(&mut self) {
        if self.area.redo() {
            self.changed();
        }
        self.follow_cursor();
    }

    /// Replace the whole buffer (a reload from disk).
    pub fn replace(&mut self, text: &str, stamp: Stamp) {
        let ratatui_textarea::DataCursor(row, col) = self.area.cursor();
        self.area = area_of(text);
        self.area.move_cursor(CursorMove::Jump(
            row.min(u16::MAX as usize) as u16,
            col.min(u16::MAX as usize) as u16,
        ));
        self.stamp = stamp;
        self.clean_text = self.text();
        self.from_baseline = false;
        self.changed();
        self.validate();
        self.follow_cursor();
    }

    /// The buffer was saved as `hash`.
    pub fn saved(&mut self, stamp: Stamp, at: DateTime<Utc>, backup: Option<String>) {
        let hash = match &stamp {
            Stamp::Hash(h) => h.clone(),
            Stamp::Absent => String::new(),
        };
        self.stamp = stamp;
        self.clean_text = self.text();
        self.from_baseline = false;
        self.last_saved = Some(SavedInfo { hash, at, backup });
        self.mode = Mode::Edit;
        self.message = Some(("Saved.".into(), false));
    }

    /// Move to the next diagnostic after the cursor (wrapping).
    pub fn next_diagnostic(&mut self) {
        let ratatui_textarea::DataCursor(row, _) = self.area.cursor();
        let mut lines: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.line > 0).collect();
        lines.sort_by_key(|d| (d.line, d.column));
        let next = lines
            .iter()
            .find(|d| d.line - 1 > row)
            .or_else(|| lines.first())
            .copied();
        if let Some(d) = next {
            self.area.move_cursor(CursorMove::Jump(
                (d.line - 1).min(u16::MAX as usize) as u16,
                d.column.saturating_sub(1).min(u16::MAX as usize) as u16,
            ));
            self.message = Some((
                format!("{}:{}: {}", d.line, d.column, d.message),
                d.severity == Severity::Error,
            ));
        }
        self.follow_cursor();
    }

    /// Search forward for `pattern` (text, not a regex).
    pub fn find(&mut self, pattern: &str) {
        self.search = pattern.to_string();
        if pattern.is_empty() {
            let _ = self.area.set_search_pattern("");
            return;
        }
        let _ = self.area.set_search_pattern(regex_escape(pattern));
        if !self.area.search_forward(false) {
            self.message = Some((format!("{pattern:?} not found"), true));
        }
        self.follow_cursor();
    }

    /// Keep the cursor inside the viewport.
    pub fn follow_cursor(&mut self) {
        let ratatui_textarea::DataCursor(row, col) = self.area.cursor();
        let h = self.height.max(1);
        if row < self.top {
            self.top = row;
        } else if row >= self.top + h {
            self.top = row + 1 - h;
        }
        let w = self.width.max(8);
        if col < self.left {
            self.left = col;
        } else if col >= self.left + w {
            self.left = col + 1 - w;
        }
    }
}

fn area_of(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut a = TextArea::new(if lines.is_empty() {
        vec![String::new()]
    } else {
        lines
    });
    // YAML is indented with spaces; Tab inserts two.
    a.set_tab_length(2);
    a.set_hard_tab_indent(false);
    a.set_max_histories(500);
    a
}

/// `s` as a regex matching it literally.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A line diff (what the buffer has against what the disk has), for the
/// conflict panel: every changed line, `-` only on disk, `+` only in the
/// buffer, with 2 lines of context (`  `) and an `@@ line N @@` header per hunk.
/// Nothing is cut: the panel scrolls. (`similar`: Myers diff, no size limit.)
pub fn diff(disk: &str, buffer: &str) -> Vec<String> {
    let d = similar::TextDiff::from_lines(disk, buffer);
    let mut out = Vec::new();
    for group in d.grouped_ops(2) {
        if let Some(first) = group.first() {
            out.push(format!("@@ line {} @@", first.old_range().start + 1));
        }
        for op in group {
            for change in d.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "- ",
                    similar::ChangeTag::Insert => "+ ",
                    similar::ChangeTag::Equal => "  ",
                };
                let line = change.value().trim_end_matches(['\n', '\r']);
                out.push(format!("{sign}{line}"));
            }
        }
    }
    out
}
