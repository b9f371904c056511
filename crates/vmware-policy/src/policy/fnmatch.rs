//! Shell-glob patterns with the exact semantics of Python's `fnmatch.fnmatchcase`.
//!
//! Why not globset: it reads `{a,b}` as alternation, `**` and `\` specially, and
//! a rules file shared with the Python family must match the same operations on
//! both sides. This is a port of CPython 3.11's `fnmatch.translate` to a `regex`
//! pattern; the compiled patterns of a rule set go into one `RegexSet`.

/// The regex (anchored, dot-all) equivalent of an fnmatch pattern.
pub fn translate(pattern: &str) -> String {
    let pat: Vec<char> = pattern.chars().collect();
    let n = pat.len();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    let mut last_was_star = false;
    while i < n {
        let c = pat[i];
        i += 1;
        match c {
            '*' => {
                if !last_was_star {
                    out.push_str(".*");
                }
                last_was_star = true;
                continue;
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < n && pat[j] == '!' {
                    j += 1;
                }
                if j < n && pat[j] == ']' {
                    j += 1;
                }
                while j < n && pat[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    out.push_str("\\[");
                } else {
                    out.push_str(&class(&pat[i..j]));
                    i = j + 1;
                }
            }
            c => push_literal(&mut out, c),
        }
        last_was_star = false;
    }
    out.push_str(")$");
    out
}

fn push_literal(out: &mut String, c: char) {
    out.push_str(&format!("\\x{{{:x}}}", c as u32));
}

/// One bracket expression, `body` being what stands between `[` and `]`.
fn class(body: &[char]) -> String {
    if body.is_empty() {
        return NEVER.into();
    }
    if body == ['!'] {
        // A negated empty set matches any character.
        return ".".into();
    }
    let (negate, rest) = match body.first() {
        Some('!') => (true, &body[1..]),
        _ => (false, body),
    };
    // Split at range hyphens as CPython does: a leading hyphen is literal, and
    // after a range the next two characters cannot start another one.
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut start = 0;
    let mut k = 1;
    while let Some(off) = rest.get(k..).and_then(|s| s.iter().position(|&c| c == '-')) {
        let p = k + off;
        chunks.push(rest[start..p].to_vec());
        start = p + 1;
        k = p + 3;
    }
    let tail = rest[start..].to_vec();
    if tail.is_empty() && !chunks.is_empty() {
        chunks.last_mut().expect("non-empty").push('-');
    } else {
        chunks.push(tail);
    }
    // Remove empty ranges (`z-a`), as CPython does, from the right.
    let mut m = chunks.len();
    while m > 1 {
        m -= 1;
        let (prev_last, next_first) = (chunks[m - 1].last().copied(), chunks[m].first().copied());
        if let (Some(a), Some(b)) = (prev_last, next_first)
            && a > b
        {
            let next = chunks.remove(m);
            chunks[m - 1].pop();
            chunks[m - 1].extend_from_slice(&next[1..]);
        }
    }
    let mut items = String::new();
    for (idx, chunk) in chunks.iter().enumerate() {
        if idx > 0 {
            let joinable = !chunks[idx - 1].is_empty() && !chunk.is_empty();
            if joinable {
                items.push('-');
            } else {
                push_literal(&mut items, '-');
            }
        }
        for &c in chunk {
            push_literal(&mut items, c);
        }
    }
    if items.is_empty() {
        return if negate { ".".into() } else { NEVER.into() };
    }
    if negate {
        format!("[^{items}]")
    } else {
        format!("[{items}]")
    }
}

/// A class no character is in (the `regex` crate has no `(?!)`).
const NEVER: &str = "[^\\x{0}-\\x{10FFFF}]";

/// Whether `name` matches `pattern` (compiles the pattern; for one-off use).
pub fn fnmatchcase(name: &str, pattern: &str) -> bool {
    pattern == "*"
        || regex::Regex::new(&translate(pattern))
            .map(|re| re.is_match(name))
            .unwrap_or(false)
}

/// Whether a pattern has glob metacharacters (else it is a literal name).
pub fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::fnmatchcase as m;

    #[test]
    fn matches_like_python_fnmatchcase() {
        assert!(m("delete_vm", "delete_*"));
        assert!(m("vm_delete", "*_delete"));
        assert!(m("vm_x_snapshot", "vm_*_snapshot"));
        assert!(!m("Delete_vm", "delete_*"));
        assert!(m("a", "?"));
        assert!(!m("ab", "?"));
        assert!(m("b", "[abc]"));
        assert!(!m("b", "[!abc]"));
        assert!(m("x", "[!abc]"));
        assert!(m("c", "[a-c]"));
        assert!(!m("b", "[z-a]"));
        assert!(m("]", "[]]"));
        assert!(m("-", "[a-]"));
        assert!(m("[x", "[x"));
        assert!(m("{a,b}", "{a,b}"));
        assert!(!m("a", "{a,b}"));
        assert!(m("a\\b", "a\\b"));
        assert!(m("x.y", "x.y"));
        assert!(!m("xzy", "x.y"));
        assert!(m("line\nbreak", "line*"));
        assert!(m("^", "[^]"));
        assert!(m("[!]x", "[!]*"));
        assert!(!m("x", "[!]*"));
    }
}
