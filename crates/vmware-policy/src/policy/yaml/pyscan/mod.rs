//! The lexical rules of PyYAML's reader and scanner that a YAML 1.2 scanner
//! (yaml-rust2) does not apply, checked before the document is parsed.
//!
//! Why: PyYAML refusing a file makes every Python skill deny every call
//! (`rules_unreadable`); if we loaded the same file, a Rust skill would allow
//! what a Python skill denies. PyYAML (YAML 1.1) refuses, where YAML 1.2
//! accepts: a tab anywhere a token may start (after `key:` or `-`, in an
//! indentation, after a plain scalar), any C0/DEL/C1 (but NEL) or U+FFFE/FFFF
//! character even inside a comment, anchor names with characters other than
//! `[0-9A-Za-z_-]`, the same anchor defined twice, and a `%YAML` directive
//! whose major version is not 1. This follows the structure of PyYAML's
//! `scanner.py` (scan_to_next_token, scan_plain, scan_flow_scalar,
//! scan_block_scalar, scan_anchor) closely enough to know where its tokens
//! start; everything else (tags, structure) is left to the parser behind it.
//! A leading U+FEFF (a BOM, as Notepad writes) is skipped, as PyYAML does.

mod props;
mod scalars;

use std::collections::HashMap;

use super::{LoadError, Pos, err};

/// PyYAML's line-break characters.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// PyYAML's `'\0 \t\r\n\x85\u2028\u2029'`.
fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c),
    }
}

/// PyYAML's `Reader.NON_PRINTABLE`.
fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Name a character as PyYAML's messages do (a tab by name: the usual culprit).
fn show(c: char) -> String {
    if c == '\t' {
        "a tab".into()
    } else if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// PyYAML's possible simple key at one flow level, and whether an explicit
/// `?` key or a new flow entry is pending. A `:` with neither a simple key
/// started earlier on its line (at most 1024 characters before) nor an
/// explicit key is an error to PyYAML ("expected <block end>, but found ':'"),
/// where YAML 1.2 reads an empty key; so is a `?` inside a flow entry.
#[derive(Clone, Copy)]
struct KeySlot {
    /// Line, character index and 0-based column where it started.
    candidate: Option<(usize, usize, usize)>,
    explicit: bool,
    entry_start: bool,
}

impl KeySlot {
    fn entry() -> KeySlot {
        KeySlot {
            candidate: None,
            explicit: false,
            entry_start: true,
        }
    }
}

struct Scan<'a> {
    chars: Vec<char>,
    i: usize,
    line: usize,
    column: usize,
    flow: usize,
    /// PyYAML's block indentation stack (0-based columns of the open block
    /// collections): where a plain scalar's continuation lines and a block
    /// scalar's content must start.
    indents: Vec<usize>,
    anchors: HashMap<String, Pos>,
    yaml_directive: bool,
    /// Per flow level (0 = block): where a simple key could have started.
    keys: Vec<KeySlot>,
    _text: &'a str,
}

/// Check `text` against PyYAML's reader and scanner rules. `Ok` means PyYAML's
/// scanner would get past every rule listed in the module documentation.
pub fn check(text: &str) -> Result<(), LoadError> {
    let mut s = Scan {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        column: 1,
        flow: 0,
        indents: Vec::new(),
        anchors: HashMap::new(),
        yaml_directive: false,
        keys: vec![KeySlot::entry()],
        _text: text,
    };
    s.reader()?;
    if s.peek(0) == Some('\u{feff}') {
        s.i = 1;
    }
    s.tokens()
}

impl Scan<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn forward(&mut self) {
        let Some(c) = self.peek(0) else { return };
        self.i += 1;
        // "\r\n" is one break; PyYAML counts a line at the '\n'.
        if is_break(c) && !(c == '\r' && self.peek(0) == Some('\n')) {
            self.line += 1;
            self.column = 1;
        } else if c != '\u{feff}' {
            self.column += 1;
        }
    }

    /// PyYAML's reader: every character must be printable.
    fn reader(&self) -> Result<(), LoadError> {
        let (mut line, mut column) = (1, 1);
        for (k, &c) in self.chars.iter().enumerate() {
            if !printable(c) {
                return Err(err(
                    format!(
                        "special characters are not allowed: {} (PyYAML refuses the whole file, even in a comment)",
                        show(c)
                    ),
                    Pos { line, column },
                ));
            }
            if is_break(c) && !(c == '\r' && self.chars.get(k + 1) == Some(&'\n')) {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        Ok(())
    }

    fn tokens(&mut self) -> Result<(), LoadError> {
        loop {
            self.skip_to_next_token();
            let Some(c) = self.peek(0) else {
                return Ok(());
            };
            let at_line_start = self.column == 1;
            if self.flow == 0 {
                // PyYAML's unwind_indent: collections indented past here are closed.
                let col = self.column - 1;
                while self.indents.last().is_some_and(|&i| i > col) {
                    self.indents.pop();
                }
            }
            match c {
                '%' if at_line_start => self.directive()?,
                '-' | '.'
                    if at_line_start
                        && self.peek(1) == Some(c)
                        && self.peek(2) == Some(c)
                        && is_blank_or_end(self.peek(3)) =>
                {
                    (0..3).for_each(|_| self.forward());
                    self.keys = vec![KeySlot::entry()];
                }
                '[' | '{' => {
                    self.node_starts();
                    self.flow += 1;
                    self.keys.push(KeySlot::entry());
                    self.forward();
                }
                ']' | '}' => {
                    self.flow = self.flow.saturating_sub(1);
                    if self.keys.len() > 1 {
                        self.keys.pop();
                    }
                    self.forward();
                }
                ',' => {
                    *self.slot() = KeySlot::entry();
                    self.forward();
                }
                '-' if is_blank_or_end(self.peek(1)) => {
                    if self.flow == 0 {
                        self.add_indent(self.column - 1);
                    }
                    *self.slot() = KeySlot::entry();
                    self.forward();
                }
                '?' if self.flow > 0 || is_blank_or_end(self.peek(1)) => {
                    if self.flow > 0 && !self.slot().entry_start {
                        return Err(err(
                            "while parsing a flow collection, expected ',' or the end, but got '?' (PyYAML ends a plain scalar at '?' inside [] and {})",
                            self.pos(),
                        ));
                    }
                    if self.flow == 0 {
                        self.add_indent(self.column - 1);
                    }
                    *self.slot() = KeySlot {
                        explicit: true,
                        ..KeySlot::entry()
                    };
                    self.forward();
                }
                ':' if self.flow > 0 || is_blank_or_end(self.peek(1)) => {
                    let (line, at) = (self.line, self.i);
                    let slot = *self.slot();
                    let key = slot
                        .candidate
                        .filter(|&(l, i, _)| l == line && at - i <= 1024);
                    let keyed = slot.explicit || key.is_some();
                    if !keyed {
                        return Err(err(
                            "expected <block end>, but found ':' (a ':' with no key before it on its line: PyYAML, unlike YAML 1.2, has no empty keys)",
                            self.pos(),
                        ));
                    }
                    if let Some((_, _, col)) = key.filter(|_| self.flow == 0) {
                        self.add_indent(col);
                    }
                    *self.slot() = KeySlot {
                        entry_start: false,
                        ..KeySlot::entry()
                    };
                    self.forward();
                }
                '*' | '&' => {
                    self.node_starts();
                    self.anchor(c == '&')?;
                }
                '!' => {
                    self.node_starts();
                    while !is_blank_or_end(self.peek(0)) {
                        self.forward();
                    }
                }
                '|' | '>' if self.flow == 0 => {
                    *self.slot() = KeySlot {
                        entry_start: false,
                        ..KeySlot::entry()
                    };
                    self.block_scalar()?;
                }
                '\'' | '"' => {
                    self.node_starts();
                    self.flow_scalar(c == '"')?;
                }
                _ => {
                    let starts_plain = !matches!(
                        c,
                        '\t' | '-'
                            | '?'
                            | ':'
                            | ','
                            | '['
                            | ']'
                            | '{'
                            | '}'
                            | '#'
                            | '&'
                            | '*'
                            | '!'
                            | '|'
                            | '>'
                            | '\''
                            | '"'
                            | '%'
                            | '@'
                            | '`'
                    ) || (matches!(c, '-' | '?' | ':')
                        && !is_blank_or_end(self.peek(1)));
                    if !starts_plain {
                        let what = show(c);
                        let hint = if c == '\t' {
                            " (PyYAML reads YAML 1.1: indent and separate with spaces, never tabs)"
                        } else {
                            ""
                        };
                        return Err(err(
                            format!(
                                "while scanning for the next token, found {what} that cannot start any token{hint}"
                            ),
                            self.pos(),
                        ));
                    }
                    self.node_starts();
                    self.plain();
                }
            }
        }
    }

    /// PyYAML's `self.indent + 1`: one past the column of the innermost open
    /// block collection (0 at the top, where `self.indent` is -1).
    fn indent_plus_one(&self) -> usize {
        self.indents.last().map_or(0, |&i| i + 1)
    }

    /// PyYAML's `add_indent`: a block collection opens at `col`.
    fn add_indent(&mut self, col: usize) {
        if self.indents.last().is_none_or(|&i| i < col) {
            self.indents.push(col);
        }
    }

    /// The key slot of the current flow level.
    fn slot(&mut self) -> &mut KeySlot {
        let level = self.keys.len() - 1;
        &mut self.keys[level]
    }

    /// A node begins here: it may be a simple key (the first on its entry).
    fn node_starts(&mut self) {
        let (line, at, col) = (self.line, self.i, self.column - 1);
        let slot = self.slot();
        // A candidate on an earlier line is stale (PyYAML drops it).
        if slot.candidate.is_none_or(|(l, _, _)| l != line) {
            slot.candidate = Some((line, at, col));
        }
        slot.entry_start = false;
    }

    /// Spaces (never tabs), then a comment to the end of the line if one starts.
    fn skip_spaces_and_comment(&mut self) {
        while self.peek(0) == Some(' ') {
            self.forward();
        }
        if self.peek(0) == Some('#') {
            while self.peek(0).is_some_and(|c| !is_break(c)) {
                self.forward();
            }
        }
    }

    /// PyYAML's `scan_to_next_token`: spaces (never tabs), comments, breaks.
    fn skip_to_next_token(&mut self) {
        loop {
            self.skip_spaces_and_comment();
            match self.peek(0) {
                Some(c) if is_break(c) => self.forward(),
                _ => return,
            }
        }
    }

    /// Spaces at the start of the line the scanner is at.
    fn leading_spaces(&self) -> usize {
        self.chars[self.i..]
            .iter()
            .take_while(|&&c| c == ' ')
            .count()
    }
}
