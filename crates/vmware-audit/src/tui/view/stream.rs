//! The live stream: only the rows on screen are turned into cells.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use vmware_policy::safe_text::term_safe;

use super::columns::{COMPACT_BELOW, Col, fit, layout};
use super::theme::Theme;
use crate::tui::data::DbProblem;
use crate::tui::state::App;

/// `2026-11-22T10:04:05.123+00:00` as `11-22 10:04:05` (UTC, as stored).
pub fn short_ts(ts: &str) -> String {
    match ts.get(5..19) {
        Some(s) if ts.is_char_boundary(5) => term_safe(&s.replacen('T', " ", 1)).into_owned(),
        _ => term_safe(ts).into_owned(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: Theme) {
    let s = &app.stream;
    let mut title = vec![Span::styled(" Stream ", t.title())];
    if s.loading.is_some() {
        title.push(Span::styled(
            if app.filters.search.is_some() {
                "searching… "
            } else {
                "loading… "
            },
            t.warn(),
        ));
    }
    let right = match app.last_page_ms {
        Some(ms) if !s.initial => format!(" newest page in {ms} ms "),
        _ => String::new(),
    };
    let block = Block::default()
        .borders(Borders::TOP | Borders::BOTTOM)
        .title(Line::from(title))
        .title_bottom(Line::styled(right, t.dim()).right_aligned());
    if let Some(p) = &app.problem {
        let (text, style) = match p {
            DbProblem::Missing(m) => (m.clone(), t.warn()),
            DbProblem::Unreadable(m) => (m.clone(), t.bad()),
        };
        f.render_widget(
            Paragraph::new(Line::styled(term_safe(&text).into_owned(), style))
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    if s.rows.is_empty() {
        let msg = if s.initial || s.loading.is_some() {
            "Reading the audit log…"
        } else if app.filters.is_empty() {
            "No audit rows yet: they appear here as agents call tools."
        } else {
            "No rows match the filters (c clears them). New matching rows appear here."
        };
        f.render_widget(
            Paragraph::new(Line::styled(msg, t.dim())).block(block),
            area,
        );
        return;
    }
    let cols = layout(area.width, app.fleet);
    let header: Vec<&str> = cols.iter().map(|(c, _)| c.title()).collect();
    let widths: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let compact = area.width < COMPACT_BELOW;
    let end = (s.top + s.height).min(s.rows.len());
    let rows = s.rows.range(s.top..end).enumerate().map(|(i, r)| {
        let cells = cols.iter().map(|&(c, w)| {
            let text = |v: &str| fit(&term_safe(v), w);
            match c {
                Col::Time if compact => Cell::from(Span::styled(
                    short_ts(&r.ts).get(6..).unwrap_or("").to_string(),
                    t.dim(),
                )),
                Col::Time => Cell::from(Span::styled(short_ts(&r.ts), t.dim())),
                Col::Host => Cell::from(Span::styled(text(&r.host), t.accent())),
                Col::Skill => Cell::from(Span::styled(text(&r.skill), t.accent())),
                Col::Tool => Cell::from(super::highlight::spans(
                    &text(&r.tool),
                    app.search.as_ref().or(app.find.as_ref()),
                    ratatui::style::Style::default(),
                    t.highlight(),
                )),
                Col::Status => Cell::from(Span::styled(text(&r.status), t.status(&r.status))),
                Col::Rule => Cell::from(Span::styled(text(&rule_of(r)), t.bad())),
                Col::Risk => Cell::from(text(&r.risk_level)),
                Col::Agent => Cell::from(Span::styled(text(&r.agent), t.dim())),
                Col::User => Cell::from(Span::styled(text(&r.user), t.dim())),
                Col::Took => {
                    Cell::from(Line::from(fit(&format!("{}ms", r.duration_ms), w)).right_aligned())
                }
                Col::Params => Cell::from(super::highlight::spans(
                    &text(&r.params),
                    app.search.as_ref().or(app.find.as_ref()),
                    t.dim(),
                    t.highlight(),
                )),
            }
        });
        let row = Row::new(cells);
        let marked = app.marks.contains_key(&r.pos);
        match (s.top + i == s.selected, marked) {
            (true, true) => row.style(t.selected().patch(t.marked())),
            (true, false) => row.style(t.selected()),
            (false, true) => row.style(t.marked()),
            (false, false) => row,
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.title()))
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
}

/// The rule that refused the call, from its result (`{"error", "rule"}`);
/// `""` for a call that ran. Only rows on screen are read, and a huge result
/// is not parsed to find it.
fn rule_of(r: &vmware_policy::audit::AuditRow) -> String {
    if r.status.starts_with("ok") || r.status.starts_with("dry_run") || r.result.len() > 64 * 1024 {
        return String::new();
    }
    serde_json::from_str::<serde_json::Value>(&r.result)
        .ok()
        .and_then(|v| v.get("rule")?.as_str().map(str::to_string))
        .unwrap_or_default()
}
