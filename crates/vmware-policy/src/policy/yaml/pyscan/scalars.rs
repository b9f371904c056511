//! PyYAML's scalar scanners (plain, quoted, block): where each ends, and the
//! escapes and headers PyYAML refuses. Tabs are fine inside quotes and block
//! scalars' content, never where a token may start.

use super::{LoadError, Scan, err, is_blank_or_end, is_break, show};

impl Scan<'_> {
    /// PyYAML's `scan_plain` (with `scan_plain_spaces`): a plain scalar ends at
    /// a tab, a `: `, a flow indicator in flow context, or a ` #`.
    pub(super) fn plain(&mut self) {
        loop {
            if self.peek(0) == Some('#') {
                return;
            }
            let mut length = 0;
            loop {
                let c = self.peek(length);
                let stop = match c {
                    None => true,
                    Some(c) if c == ' ' || c == '\t' || is_break(c) => true,
                    Some(':') => {
                        let next = self.peek(length + 1);
                        is_blank_or_end(next)
                            || (self.flow > 0 && matches!(next, Some(',' | '[' | ']' | '{' | '}')))
                    }
                    Some(',' | '?' | '[' | ']' | '{' | '}') => self.flow > 0,
                    _ => false,
                };
                if stop {
                    break;
                }
                length += 1;
            }
            if length == 0 {
                return;
            }
            (0..length).for_each(|_| self.forward());
            // scan_plain_spaces: spaces, and line breaks followed by spaces.
            let mut spaces = false;
            while self.peek(0) == Some(' ') {
                self.forward();
                spaces = true;
            }
            if self.peek(0).is_some_and(is_break) {
                // Document markers end the scalar; so does a line indented no
                // more than the block it belongs to.
                while self.peek(0).is_some_and(|c| c == ' ' || is_break(c)) {
                    self.forward();
                }
                spaces = true;
                let marker = self.column == 1
                    && matches!(self.peek(0), Some('-' | '.'))
                    && self.peek(1) == self.peek(0)
                    && self.peek(2) == self.peek(0)
                    && is_blank_or_end(self.peek(3));
                if marker || (self.flow == 0 && self.column - 1 < self.indent_plus_one()) {
                    return;
                }
            }
            if !spaces || self.peek(0) == Some('#') {
                return;
            }
        }
    }

    /// PyYAML's `scan_flow_scalar`: tabs are fine inside quotes; escapes must be known.
    pub(super) fn flow_scalar(&mut self, double: bool) -> Result<(), LoadError> {
        let start = self.pos();
        let quote = if double { '"' } else { '\'' };
        self.forward();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(err(
                    "while scanning a quoted scalar, found unexpected end of stream",
                    start,
                ));
            };
            if !double && c == '\'' && self.peek(1) == Some('\'') {
                self.forward();
                self.forward();
            } else if c == quote {
                self.forward();
                return Ok(());
            } else if double && c == '\\' {
                let at = self.pos();
                self.forward();
                let Some(e) = self.peek(0) else { continue };
                let hex = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    '0' | 'a' | 'b' | 't' | '\t' | 'n' | 'v' | 'f' | 'r' | 'e' | ' ' | '"'
                    | '\\' | '/' | 'N' | '_' | 'L' | 'P' => 0,
                    e if is_break(e) => 0,
                    e => {
                        return Err(err(
                            format!(
                                "while scanning a double-quoted scalar, found unknown escape character {}",
                                show(e)
                            ),
                            at,
                        ));
                    }
                };
                self.forward();
                for _ in 0..hex {
                    match self.peek(0) {
                        Some(h) if h.is_ascii_hexdigit() => self.forward(),
                        _ => {
                            return Err(err(
                                format!(
                                    "while scanning a double-quoted scalar, expected escape sequence of {hex} hexadecimal numbers"
                                ),
                                self.pos(),
                            ));
                        }
                    }
                }
            } else if is_break(c) {
                self.forward();
                let at_marker = matches!(self.peek(0), Some('-' | '.'))
                    && self.peek(1) == self.peek(0)
                    && self.peek(2) == self.peek(0)
                    && is_blank_or_end(self.peek(3));
                if at_marker {
                    return Err(err(
                        "while scanning a quoted scalar, found unexpected document separator",
                        self.pos(),
                    ));
                }
            } else {
                self.forward();
            }
        }
    }

    /// PyYAML's `scan_block_scalar`: a header (indicators, then only spaces and a
    /// comment), then lines indented more than the block; tabs allowed inside.
    pub(super) fn block_scalar(&mut self) -> Result<(), LoadError> {
        let min = self.indent_plus_one().max(1);
        self.forward();
        let mut explicit = None;
        for _ in 0..2 {
            match self.peek(0) {
                Some('+' | '-') => self.forward(),
                Some(d @ '1'..='9') => {
                    explicit = Some(d as usize - '0' as usize);
                    self.forward();
                }
                Some('0') => {
                    return Err(err(
                        "while scanning a block scalar, expected indentation indicator in the range 1-9, but found 0",
                        self.pos(),
                    ));
                }
                _ => break,
            }
        }
        self.skip_spaces_and_comment();
        match self.peek(0) {
            None => return Ok(()),
            Some(c) if is_break(c) => self.forward(),
            Some(c) => {
                return Err(err(
                    format!(
                        "while scanning a block scalar, expected a comment or a line break, but found {}",
                        show(c)
                    ),
                    self.pos(),
                ));
            }
        }
        let indent = match explicit {
            Some(n) => min + n - 1,
            None => {
                // PyYAML's scan_block_scalar_indentation: the most spaces on the
                // empty lines and the first non-empty one, at least `min`.
                let (mut k, mut most) = (self.i, 0);
                loop {
                    let spaces = self.chars[k..].iter().take_while(|&&c| c == ' ').count();
                    most = most.max(spaces);
                    match self.chars.get(k + spaces) {
                        Some(&c) if is_break(c) => k += spaces + 1,
                        _ => break,
                    }
                }
                min.max(most)
            }
        };
        // Content lines: at least `indent` spaces, then anything to the break.
        loop {
            let spaces = self.leading_spaces();
            match self.chars.get(self.i + spaces) {
                None => {
                    (0..spaces).for_each(|_| self.forward());
                    return Ok(());
                }
                Some(&c) if is_break(c) => {
                    (0..=spaces).for_each(|_| self.forward());
                }
                Some(_) if spaces >= indent => {
                    while self.peek(0).is_some_and(|c| !is_break(c)) {
                        self.forward();
                    }
                    if self.peek(0).is_some() {
                        self.forward();
                    }
                }
                Some(_) => return Ok(()),
            }
        }
    }
}
