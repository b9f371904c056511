//! The free-text search: fuzzy (fzf's scoring, via helix's nucleo-matcher)
//! over a row's tool, params and result, so `delpool` finds `delete_pool`
//! and `web-01` finds it inside the params JSON.

use std::cell::RefCell;

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use vmware_policy::audit::AuditRow;

pub struct Search {
    query: String,
    atom: Atom,
    /// The matcher's scratch space, reused for every row.
    matcher: RefCell<(Matcher, Vec<char>)>,
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
        write!(f, "Search({:?})", self.query)
    }
}

/// Longest text of one field that is searched: a 10 MB result must not make
/// one row cost seconds.
const FIELD_MAX: usize = 64 * 1024;

impl Search {
    pub fn new(query: &str) -> Search {
        Search {
            query: query.to_string(),
            atom: atom(query),
            matcher: RefCell::new((Matcher::new(Config::DEFAULT), Vec::new())),
        }
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn matches(&self, r: &AuditRow) -> bool {
        let mut guard = self.matcher.borrow_mut();
        let (matcher, buf) = &mut *guard;
        [&r.tool, &r.params, &r.result].iter().any(|field| {
            let text = cut(field, FIELD_MAX);
            self.atom.score(Utf32Str::new(text, buf), matcher).is_some()
        })
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
    fn cuts_on_a_character_boundary() {
        let s = "é".repeat(10);
        assert_eq!(cut(&s, 5), "éé");
    }
}
