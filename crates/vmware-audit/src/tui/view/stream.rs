//! The live stream: only the rows on screen are turned into cells.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use vmware_policy::safe_text::term_safe;

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
    let narrow = area.width < 100;
    // Beside the rule editor: time, tool and status only.
    let compact = area.width < 70;
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
        (
            vec!["Time", "Tool", "Status"],
            vec![
                Constraint::Length(8),
                Constraint::Min(8),
                Constraint::Length(12),
            ],
        )
    } else {
        let mut header = vec!["Time (UTC)", "Skill", "Tool", "Status", "Risk", "Agent"];
        let mut widths = vec![
            Constraint::Length(14),
            Constraint::Length(if narrow { 10 } else { 14 }),
            Constraint::Min(8),
            Constraint::Length(if narrow { 12 } else { 14 }),
            Constraint::Length(8),
            Constraint::Length(if narrow { 8 } else { 10 }),
        ];
        if !narrow {
            header.push("User");
            widths.push(Constraint::Length(12));
        }
        header.push("Took");
        widths.push(Constraint::Length(8));
        (header, widths)
    };
    let end = (s.top + s.height).min(s.rows.len());
    let rows = s.rows.range(s.top..end).enumerate().map(|(i, r)| {
        let safe = |v: &str| term_safe(v).into_owned();
        let cells = if compact {
            vec![
                Cell::from(Span::styled(
                    short_ts(&r.ts).get(6..).unwrap_or("").to_string(),
                    t.dim(),
                )),
                Cell::from(safe(&r.tool)),
                Cell::from(Span::styled(safe(&r.status), t.status(&r.status))),
            ]
        } else {
            let mut cells = vec![
                Cell::from(Span::styled(short_ts(&r.ts), t.dim())),
                Cell::from(Span::styled(safe(&r.skill), t.accent())),
                Cell::from(safe(&r.tool)),
                Cell::from(Span::styled(safe(&r.status), t.status(&r.status))),
                Cell::from(safe(&r.risk_level)),
                Cell::from(Span::styled(safe(&r.agent), t.dim())),
            ];
            if !narrow {
                cells.push(Cell::from(Span::styled(safe(&r.user), t.dim())));
            }
            cells.push(Cell::from(
                Line::from(format!("{}ms", r.duration_ms)).right_aligned(),
            ));
            cells
        };
        let row = Row::new(cells);
        if s.top + i == s.selected {
            row.style(t.selected())
        } else {
            row
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.title()))
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
}
