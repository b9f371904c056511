//! The free-text search over a row's tool, params and result: fuzzy (fzf's
//! scoring, via helix's nucleo-matcher: `delpool` finds `delete_pool`),
//! substring, or regex; and where it matched, for highlighting.

use std::cell::RefCell;

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use vmware_policy::audit::{AuditRow, Filter};

/// How the text typed is matched: `Ctrl-r` in the prompt cycles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Characters in order (`delpool` finds `delete_pool`), as fzf.
    #[default]
    Fuzzy,
    /// The text as typed, ASCII case ignored.
    Substring,
    /// A regular expression (the `regex` crate's syntax; `(?i)` ignores case).
    Regex,
}

impl Mode {
    pub fn next(self) -> Mode {
        match self {
            Mode::Fuzzy => Mode::Substring,
            Mode::Substring => Mode::Regex,
            Mode::Regex => Mode::Fuzzy,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Fuzzy => "fuzzy",
            Mode::Substring => "substring",
            Mode::Regex => "regex",
        }
    }
}

/// A search as the operator gave it: what is compiled, sent to the data
/// worker and shown in the filter bar.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchSpec {
    pub query: String,
    pub mode: Mode,
    /// Find (highlight, `n`/`N` move between matches, every row kept)
    /// instead of filtering the rows that do not match away. `Ctrl-f`.
    pub find: bool,
}

impl SearchSpec {
    #[cfg(test)]
    pub fn new(query: &str, mode: Mode) -> SearchSpec {
        SearchSpec {
            query: query.to_string(),
            mode,
            find: false,
        }
    }

    /// `filter` with what SQLite (and the sidecar's trigrams) can skip with:
    /// the characters in order for a fuzzy search, the text itself for a
    /// substring (a regex says nothing that simple about its matches). Only
    /// ASCII, where SQLite's case folding is the search's.
    pub fn prefilter(&self, filter: &Filter) -> Filter {
        let mut f = filter.clone();
        let query = (self.query.is_ascii() && !self.query.is_empty()).then(|| self.query.clone());
        match self.mode {
            Mode::Fuzzy => f.in_order = query,
            Mode::Substring => f.contains = query,
            Mode::Regex => {}
        }
        f
    }
}

pub struct Search {
    spec: SearchSpec,
    how: How,
    /// The fuzzy matcher's scratch space, reused for every row.
    matcher: RefCell<(Matcher, Vec<char>, Vec<u32>)>,
}

enum How {
    Fuzzy(Atom),
    Regex(regex::Regex),
}

/// The query as one fuzzy atom, case ignored: typed text is searched for as
/// typed (no `^`, `'` or `!` syntax), and `e` does not match `é`, as the SQL
/// prefilter that reads rows from the file would not let it.
fn atom(query: &str) -> Atom {
    Atom::new(
        query,
        CaseMatching::Ignore,
        Normalization::Never,
        AtomKind::Fuzzy,
        false,
    )
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Search({:?})", self.spec)
    }
}

/// Longest text of one field that is searched: a 10 MB result must not make
/// one row cost seconds.
const FIELD_MAX: usize = 64 * 1024;

impl Search {
    /// A fuzzy search.
    #[cfg(test)]
    pub fn new(query: &str) -> Search {
        Search::compile(&SearchSpec::new(query, Mode::Fuzzy))
            .expect("a fuzzy query always compiles")
    }

    /// The search `spec` asks for, or why its regex does not compile.
    pub fn compile(spec: &SearchSpec) -> Result<Search, String> {
        let how = match spec.mode {
            Mode::Fuzzy => How::Fuzzy(atom(&spec.query)),
            Mode::Substring => How::Regex(
                regex::RegexBuilder::new(&regex::escape(&spec.query))
                    .case_insensitive(true)
                    .unicode(false)
                    .build()
                    .map_err(|e| e.to_string())?,
            ),
            Mode::Regex => How::Regex(
                regex::RegexBuilder::new(&spec.query)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("not a regex: {e}"))?,
            ),
        };
        Ok(Search {
            spec: spec.clone(),
            how,
            matcher: RefCell::new((Matcher::new(Config::DEFAULT), Vec::new(), Vec::new())),
        })
    }

    pub fn spec(&self) -> &SearchSpec {
        &self.spec
    }

    fn hits(&self, text: &str) -> bool {
        match &self.how {
            How::Regex(re) => re.is_match(text),
            How::Fuzzy(atom) => {
                let mut guard = self.matcher.borrow_mut();
                let (matcher, buf, _) = &mut *guard;
                atom.score(Utf32Str::new(text, buf), matcher).is_some()
            }
        }
    }

    pub fn matches(&self, r: &AuditRow) -> bool {
        [&r.tool, &r.params, &r.result]
            .iter()
            .any(|field| self.hits(cut(field, FIELD_MAX)))
    }

    /// The byte ranges of `text` to highlight: each match of a substring or
    /// regex, each character a fuzzy match used.
    pub fn highlights(&self, text: &str) -> Vec<(usize, usize)> {
        let text = cut(text, FIELD_MAX);
        match &self.how {
            How::Regex(re) => re
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| (m.start(), m.end()))
                .collect(),
            How::Fuzzy(atom) => {
                let mut guard = self.matcher.borrow_mut();
                let (matcher, buf, indices) = &mut *guard;
                indices.clear();
                if atom
                    .indices(Utf32Str::new(text, buf), matcher, indices)
                    .is_none()
                {
                    return Vec::new();
                }
                let wanted: std::collections::BTreeSet<u32> = indices.iter().copied().collect();
                text.char_indices()
                    .enumerate()
                    .filter(|(i, _)| wanted.contains(&(*i as u32)))
                    .map(|(_, (b, c))| (b, b + c.len_utf8()))
                    .collect()
            }
        }
    }
}

/// The first `max` bytes of `s`, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Values narrowed by a fuzzy query, best match first (all, in order, when
/// the query is empty). Returns indexes into `values`.
pub fn rank(values: &[String], query: &str) -> Vec<usize> {
    if query.is_empty() {
        return (0..values.len()).collect();
    }
    let needle = atom(query);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u16, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            needle
                .score(Utf32Str::new(v, &mut buf), &mut matcher)
                .map(|s| (s, i))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_abbreviations_in_tool_and_params() {
        let row = AuditRow {
            tool: "delete_pool".into(),
            params: r#"{"pool": "web-01"}"#.into(),
            result: "{}".into(),
            ..AuditRow::default()
        };
        assert!(Search::new("delpool").matches(&row));
        assert!(Search::new("WEB-01").matches(&row));
        assert!(!Search::new("vm_power").matches(&row));
    }

    #[test]
    fn ranks_the_closest_value_first() {
        let values: Vec<String> = ["list_pools", "delete_pool", "delete_vm"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(rank(&values, "delpo")[0], 1);
        assert_eq!(rank(&values, ""), vec![0, 1, 2]);
        assert!(!rank(&values, "zzz").contains(&0));
    }

    #[test]
    fn matches_as_the_sql_prefilter_would_let_rows_through() {
        let row = |tool: &str| AuditRow {
            tool: tool.into(),
            params: "{}".into(),
            result: "{}".into(),
            ..AuditRow::default()
        };
        // ASCII case is ignored, as LIKE ignores it...
        assert!(Search::new("CAFE").matches(&row("cafe_menu")));
        // ...but `e` is not `é`: LIKE would not have read that row.
        assert!(!Search::new("cafe").matches(&row("café")));
        assert!(Search::new("café").matches(&row("CAFÉ")));
        // `!` and `^` are text, not syntax.
        assert!(Search::new("!x").matches(&row("a!bx")));
        assert!(!Search::new("^del").matches(&row("delete")));
    }

    #[test]
    fn three_modes_and_where_each_matched() {
        let row = AuditRow {
            tool: "delete_pool".into(),
            params: r#"{"pool": "web-01", "vm": "WEB-02"}"#.into(),
            result: "{}".into(),
            ..AuditRow::default()
        };
        let s = |q: &str, m| Search::compile(&SearchSpec::new(q, m)).unwrap();
        // Substring: as typed, ASCII case ignored; no fuzzy gaps.
        assert!(s("web-0", Mode::Substring).matches(&row));
        assert!(!s("delpool", Mode::Substring).matches(&row));
        assert!(s("delpool", Mode::Fuzzy).matches(&row));
        // A regex, case as written.
        assert!(s(r"web-0[12]", Mode::Regex).matches(&row));
        assert!(!s(r"^WEB", Mode::Regex).matches(&row));
        assert!(Search::compile(&SearchSpec::new("(", Mode::Regex)).is_err());
        // Highlights: every occurrence, byte ranges of the text.
        let text = r#"{"pool": "web-01", "vm": "WEB-02"}"#;
        assert_eq!(
            s("web-0", Mode::Substring).highlights(text),
            [(10, 15), (26, 31)]
        );
        assert_eq!(s(r"WEB-\d+", Mode::Regex).highlights(text), [(26, 32)]);
        let fuzzy = s("dlp", Mode::Fuzzy).highlights("delete_pool");
        assert_eq!(fuzzy.len(), 3, "{fuzzy:?}");
        assert_eq!(fuzzy[0], (0, 1));
        // The SQL prefilter only where it is sound.
        let none = Filter::default();
        let sub = SearchSpec::new("web", Mode::Substring).prefilter(&none);
        assert_eq!((sub.contains.as_deref(), sub.in_order), (Some("web"), None));
        let fz = SearchSpec::new("dlp", Mode::Fuzzy).prefilter(&none);
        assert_eq!((fz.in_order.as_deref(), fz.contains), (Some("dlp"), None));
        assert_eq!(SearchSpec::new("w.b", Mode::Regex).prefilter(&none), none);
        assert_eq!(SearchSpec::new("é", Mode::Substring).prefilter(&none), none);
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        let s = "é".repeat(10);
        assert_eq!(cut(&s, 5), "éé");
    }
}
