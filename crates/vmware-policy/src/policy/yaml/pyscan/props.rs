//! PyYAML's anchors and directives: names of `[0-9A-Za-z_-]`, an anchor
//! defined once, `%YAML 1.x` only.

use super::{LoadError, Scan, err, is_blank_or_end, is_break, show};

impl Scan<'_> {
    /// `[0-9A-Za-z_-]*` from here: an anchor's, alias's or directive's name.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self
            .peek(0)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        {
            name.push(c);
            self.forward();
        }
        name
    }

    /// PyYAML's `scan_anchor`: `[0-9A-Za-z_-]+`, then a blank or an indicator;
    /// and its composer: an anchor defined twice is an error.
    pub(super) fn anchor(&mut self, define: bool) -> Result<(), LoadError> {
        let start = self.pos();
        let what = if define { "an anchor" } else { "an alias" };
        self.forward();
        let name = self.name();
        let next = self.peek(0);
        // PyYAML ends the name at `?:%@` and a backtick too, and reads what
        // follows as the next token; YAML 1.2 (yaml-rust2) reads them as part
        // of the name. The two parsers would build different documents (`&a?x
        // [..]` is a string to one, a list to the other), so such a file is
        // refused: never read more permissively than Python reads it.
        if !name.is_empty() && matches!(next, Some('?' | ':' | '%' | '@' | '`')) {
            let found = next.map_or("end of stream".to_string(), show);
            return Err(err(
                format!(
                    "{what} '{name}' is followed by {found} with no space: PyYAML and YAML 1.2 read this differently; put a space after the name"
                ),
                self.pos(),
            ));
        }
        let ok_next = is_blank_or_end(next) || matches!(next, Some(',' | ']' | '}'));
        if name.is_empty() || !ok_next {
            let found = next.map_or("end of stream".to_string(), show);
            return Err(err(
                format!(
                    "while scanning {what}, expected alphabetic or numeric character, but found {found} (PyYAML allows only letters, digits, '-' and '_' in anchor names)"
                ),
                self.pos(),
            ));
        }
        if define {
            if let Some(first) = self.anchors.get(&name) {
                return Err(err(
                    format!(
                        "found duplicate anchor '{name}'; first occurrence at line {}, column {}",
                        first.line, first.column
                    ),
                    start,
                ));
            }
            self.anchors.insert(name, start);
        }
        Ok(())
    }

    /// PyYAML's `scan_directive` and the parser's version check.
    pub(super) fn directive(&mut self) -> Result<(), LoadError> {
        let start = self.pos();
        self.forward();
        let name = self.name();
        if name == "YAML" {
            if self.yaml_directive {
                return Err(err("found duplicate YAML directive", start));
            }
            self.yaml_directive = true;
            while self.peek(0) == Some(' ') {
                self.forward();
            }
            let number = |s: &mut Self| {
                let mut n = String::new();
                while let Some(d) = s.peek(0).filter(char::is_ascii_digit) {
                    n.push(d);
                    s.forward();
                }
                n
            };
            let major = number(self);
            let dot = self.peek(0) == Some('.');
            if dot {
                self.forward();
            }
            let minor = number(self);
            if major.is_empty() || !dot || minor.is_empty() || !is_blank_or_end(self.peek(0)) {
                return Err(err(
                    "while scanning a directive, expected a version number like 1.1",
                    self.pos(),
                ));
            }
            if major.trim_start_matches('0') != "1" {
                return Err(err(
                    format!(
                        "found incompatible YAML document (version 1.* is required, the file says %YAML {major}.{minor})"
                    ),
                    start,
                ));
            }
        } else {
            // Other directives (TAG, reserved) are left to the parser.
            while self.peek(0).is_some_and(|c| !is_break(c)) {
                self.forward();
            }
        }
        // scan_directive_ignored_line: spaces, a comment, a break.
        self.skip_spaces_and_comment();
        match self.peek(0) {
            None => Ok(()),
            Some(c) if is_break(c) => Ok(()),
            Some(c) => Err(err(
                format!(
                    "while scanning a directive, expected a comment or a line break, but found {}",
                    show(c)
                ),
                self.pos(),
            )),
        }
    }
}
