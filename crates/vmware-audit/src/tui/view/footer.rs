//! The filter bar (what is filtered, always visible) and the footer (the keys
//! of the current context, read from the keymap).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use vmware_policy::safe_text::term_safe;

use super::theme::Theme;
use crate::tui::keymap::{bindings, hints};
use crate::tui::state::{App, Overlay};

pub fn draw_filters(f: &mut Frame, area: Rect, app: &App, t: Theme) {
    let mut spans = vec![Span::styled(" filters ", t.dim())];
    if let Overlay::Search(spec) = &app.overlay {
        spans = vec![
            Span::styled(
                format!(
                    " {} ({}) › ",
                    if spec.find { "find" } else { "search" },
                    spec.mode.label()
                ),
                t.key(),
            ),
            Span::raw(term_safe(&spec.query).into_owned()),
            Span::styled("█", t.accent()),
            Span::styled(
                "  (tool, params, result; Ctrl-r fuzzy/substring/regex; Ctrl-f filter/find)",
                t.dim(),
            ),
        ];
    } else if let Overlay::Jump(text) | Overlay::Range(text) = &app.overlay {
        let (label, help) = if matches!(app.overlay, Overlay::Jump(_)) {
            (
                " jump to › ",
                "  (10:30, 2h, 2026-11-22T10:30: the last row at or before it)",
            )
        } else {
            (
                " range › ",
                "  (SINCE [UNTIL] as log takes them; empty: all)",
            )
        };
        spans = vec![
            Span::styled(label, t.key()),
            Span::raw(term_safe(text).into_owned()),
            Span::styled("█", t.accent()),
            Span::styled(help, t.dim()),
        ];
    } else if let Overlay::Export(name) = &app.overlay {
        spans = vec![
            Span::styled(" export to › ", t.key()),
            Span::raw(term_safe(name).into_owned()),
            Span::styled("█", t.accent()),
            Span::styled(
                "  (.json, .jsonl or .csv; Enter writes, Esc cancels)",
                t.dim(),
            ),
        ];
    } else if app.filters.is_empty() {
        spans.push(Span::styled("none", t.dim()));
    } else {
        for (k, v) in app.filters.describe() {
            spans.push(Span::styled(format!("{k}="), t.dim()));
            spans.push(Span::styled(term_safe(&v).into_owned(), t.key()));
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled("(c clears)", t.dim()));
    }
    if let Some(find) = &app.find {
        // A find keeps every row: said beside the filters, not among them.
        spans.push(Span::styled("  find=", t.dim()));
        spans.push(Span::styled(
            term_safe(&find.spec().query).into_owned(),
            t.highlight(),
        ));
        spans.push(Span::styled(" (n N)", t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: Theme) {
    let map = bindings();
    let mut spans = Vec::new();
    if let Some(n) = &app.notice {
        spans.push(Span::styled(format!(" {} ", term_safe(n)), t.warn()));
    }
    let mut seen = Vec::new();
    for (key, word) in hints(&map, app.context()) {
        if seen.contains(&word) {
            continue;
        }
        seen.push(word);
        spans.push(Span::styled(format!(" {key}"), t.key()));
        spans.push(Span::styled(format!(" {word}"), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
