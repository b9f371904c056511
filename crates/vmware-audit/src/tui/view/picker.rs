//! A filter picker over the pane: the query, then the values with their
//! counts, chosen ones ticked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use vmware_policy::safe_text::term_safe;

use super::header::thousands;
use super::layout::centered;
use super::theme::Theme;
use crate::tui::state::Picker;

pub fn draw(f: &mut Frame, body: Rect, p: &Picker, t: Theme) {
    let area = centered(body, 60, body.height.saturating_sub(2).max(8));
    let name = p.column.map_or("saved filter", |c| c.label());
    let title = if p.inverse() {
        format!(" Exclude by {name} (the values chosen are hidden) ")
    } else {
        format!(" Filter by {name} ")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Line::styled(title, t.title()))
        .title_bottom(Line::styled(
            " type to narrow · ! first: exclude · Space toggles ",
            t.dim(),
        ));
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block, area);
    let mut lines = vec![Line::from(vec![
        Span::styled(" › ", t.key()),
        Span::raw(term_safe(&p.query).into_owned()),
        Span::styled("█", t.accent()),
    ])];
    let room = inner.height.saturating_sub(1) as usize;
    if p.loading && p.values.is_empty() {
        lines.push(Line::styled(" counting values…", t.dim()));
    } else if p.shown.is_empty() {
        lines.push(Line::styled(" no value matches", t.dim()));
    }
    // Keep the cursor in view.
    let first = p.cursor.saturating_sub(room.saturating_sub(1));
    for (i, &vi) in p.shown.iter().enumerate().skip(first).take(room) {
        let (value, n) = &p.values[vi];
        let mark = if p.chosen.contains(value) {
            "[x]"
        } else {
            "[ ]"
        };
        let w = inner.width.saturating_sub(16) as usize;
        let text: String = term_safe(value).chars().take(w).collect();
        let line = Line::from(vec![
            Span::raw(format!(" {mark} ")),
            Span::styled(
                format!("{text:<w$}"),
                if name == "status" {
                    t.status(value)
                } else {
                    Default::default()
                },
            ),
            Span::styled(format!(" {:>9}", thousands(*n)), t.dim()),
        ]);
        lines.push(if i == p.cursor {
            line.style(t.selected())
        } else {
            line
        });
    }
    f.render_widget(Paragraph::new(lines), inner);
}
