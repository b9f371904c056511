//! Where a search matched, as styled spans: the same `Search` that selects
//! rows says which characters of the text shown matched.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::search::Search;

/// `text` (already safe to show) with the ranges `search` matches in
/// `highlight` and the rest in `base`.
pub fn spans(text: &str, search: Option<&Search>, base: Style, highlight: Style) -> Line<'static> {
    let ranges = search.map(|s| s.highlights(text)).unwrap_or_default();
    if ranges.is_empty() {
        return Line::from(Span::styled(text.to_string(), base));
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end) in ranges {
        if start < at || end > text.len() {
            continue;
        }
        if start > at {
            out.push(Span::styled(text[at..start].to_string(), base));
        }
        out.push(Span::styled(text[start..end].to_string(), highlight));
        at = end;
    }
    if at < text.len() {
        out.push(Span::styled(text[at..].to_string(), base));
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::search::{Mode, SearchSpec};

    #[test]
    fn the_matched_parts_are_their_own_spans() {
        let s = Search::compile(&SearchSpec::new("web", Mode::Substring)).unwrap();
        let hl = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let line = spans("a web and a WEB", Some(&s), Style::default(), hl);
        let parts: Vec<(&str, bool)> = line
            .spans
            .iter()
            .map(|sp| (sp.content.as_ref(), sp.style == hl))
            .collect();
        assert_eq!(
            parts,
            [
                ("a ", false),
                ("web", true),
                (" and a ", false),
                ("WEB", true)
            ]
        );
        assert_eq!(spans("plain", None, Style::default(), hl).spans.len(), 1);
    }
}
