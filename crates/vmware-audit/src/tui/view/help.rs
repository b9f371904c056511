//! `?`: every key, listed from the keymap the app itself uses.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::layout::centered;
use super::theme::Theme;
use crate::tui::keymap::{Context, bindings, help_lines};

pub fn lines(t: Theme) -> Vec<Line<'static>> {
    let map = bindings();
    let mut out = Vec::new();
    let mut last: Option<Context> = None;
    for (ctx, keys, help) in help_lines(&map) {
        if last != Some(ctx) {
            if last.is_some() {
                out.push(Line::raw(""));
            }
            out.push(Line::styled(ctx.title().to_string(), t.title()));
            last = Some(ctx);
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<18}"), t.key()),
            Span::raw(help),
        ]));
    }
    out
}

pub fn draw(f: &mut Frame, body: Rect, scroll: usize, t: Theme) {
    let area = centered(body, 64, body.height);
    let all = lines(t);
    let visible = area.height.saturating_sub(2) as usize;
    let scroll = scroll.min(all.len().saturating_sub(visible));
    let block = Block::default().borders(Borders::ALL).title(Line::styled(
        " Keys (↑↓ scroll, Esc or ? closes) ",
        t.title(),
    ));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(
            all.into_iter()
                .skip(scroll)
                .take(visible)
                .collect::<Vec<_>>(),
        )
        .block(block),
        area,
    );
}
