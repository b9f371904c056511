//! Where each part of the screen goes; `update` asks it how many rows the
//! stream shows, so scrolling and drawing agree.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest terminal the TUI draws in; below it, it says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Whether a terminal of `w`x`h` shows only the "too small" message.
pub fn too_small(w: u16, h: u16) -> bool {
    w < MIN_WIDTH || h < MIN_HEIGHT
}

pub struct Areas {
    pub header: Rect,
    pub filters: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [header, filters, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        filters,
        body,
        footer,
    }
}

/// Rows of the stream table that fit a `w`x`h` terminal (body minus its
/// border and the column header).
pub fn stream_rows(w: u16, h: u16) -> usize {
    let body = areas(Rect::new(0, 0, w, h)).body;
    body.height.saturating_sub(3) as usize
}

/// Which row of the stream's window a click on terminal row `y` lands on
/// (0: the first row shown), if on one: below the border and column header.
pub fn stream_row_at(w: u16, h: u16, y: u16) -> Option<usize> {
    let body = areas(Rect::new(0, 0, w, h)).body;
    let first = body.y + 2;
    (y >= first && y < body.y + body.height.saturating_sub(1)).then(|| (y - first) as usize)
}

/// The editor pane and the stream beside it.
pub fn editor_split(body: Rect) -> (Rect, Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
    (left, right)
}

/// Rows of diagnostics and status under the editor's text.
pub const EDITOR_FOOT: u16 = 6;
/// Columns of the line-number gutter.
pub const GUTTER: u16 = 6;

/// Lines and columns of text the editor shows on a `w`x`h` terminal.
pub fn editor_text_size(w: u16, h: u16) -> (usize, usize) {
    let (left, _) = editor_split(areas(Rect::new(0, 0, w, h)).body);
    (
        left.height.saturating_sub(2 + EDITOR_FOOT) as usize,
        left.width.saturating_sub(GUTTER + 1) as usize,
    )
}

/// A rectangle of `w`x`h` centred in `r` (clamped to it).
pub fn centered(r: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(r.width);
    let h = h.min(r.height);
    Rect::new(r.x + (r.width - w) / 2, r.y + (r.height - h) / 2, w, h)
}
