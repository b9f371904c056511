//! Simple YAML highlighting for the editor: comments, keys, list dashes,
//! quoted strings. Line by line, no state: rules files are small and flat.

use ratatui::style::Style;

use crate::tui::view::theme::Theme;

/// What a run of characters is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Comment,
    Key,
    Dash,
    Str,
}

/// Kinds for each character of `line`.
pub fn classify(line: &str) -> Vec<Kind> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = vec![Kind::Plain; chars.len()];
    let mut i = 0;
    // Indentation and list dashes.
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '-') {
        if chars[i] == '-' {
            out[i] = Kind::Dash;
        }
        i += 1;
    }
    // A key: a plain word up to `:` followed by a space or the end.
    let start = i;
    let mut j = i;
    while j < chars.len() && !matches!(chars[j], ':' | '#' | '"' | '\'' | '[' | '{') {
        j += 1;
    }
    if j < chars.len()
        && chars[j] == ':'
        && (j + 1 == chars.len() || chars[j + 1] == ' ')
        && j > start
    {
        for k in out.iter_mut().take(j).skip(start) {
            *k = Kind::Key;
        }
        i = j + 1;
    }
    // Strings and comments in the rest.
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                out[i] = Kind::Str;
                if c == q {
                    quote = None;
                } else if c == '\\' && q == '"' && i + 1 < chars.len() {
                    i += 1;
                    out[i] = Kind::Str;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out[i] = Kind::Str;
            }
            None if c == '#' && (i == 0 || chars[i - 1] == ' ') => {
                for k in out.iter_mut().skip(i) {
                    *k = Kind::Comment;
                }
                break;
            }
            None => {}
        }
        i += 1;
    }
    out
}

pub fn style(kind: Kind, t: Theme) -> Style {
    match kind {
        Kind::Plain => Style::default(),
        Kind::Comment => t.dim(),
        Kind::Key => t.accent(),
        Kind::Dash => t.key(),
        Kind::Str => t.good().remove_modifier(ratatui::style::Modifier::BOLD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;

    #[test]
    fn keys_dashes_strings_and_comments() {
        let k = classify("  - name: \"a # b\" # why");
        assert_eq!(k[2], Dash);
        assert_eq!(&k[4..8], &[Key; 4]);
        assert!(
            k[10..17].iter().all(|&x| x == Str),
            "a # inside a string is not a comment"
        );
        assert_eq!(*k.last().unwrap(), Comment);
        assert_eq!(classify("# only")[0], Comment);
        assert_eq!(classify("url: http://x")[5], Plain);
    }
}
