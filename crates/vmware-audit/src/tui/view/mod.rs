//! Drawing: pure functions of [`App`]; nothing here changes state or reads a
//! file. Every text that comes from a row goes through `term_safe` first.

pub mod columns;
pub mod detail;
pub mod editor;
pub mod footer;
pub mod header;
pub mod help;
pub mod highlight;
pub mod layout;
pub mod picker;
pub mod stats;
pub mod stream;
pub mod theme;

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::state::{App, Overlay, Pane};
use theme::Theme;

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    let theme = Theme {
        color: app.color,
        palette: app.palette,
    };
    if layout::too_small(area.width, area.height) {
        let unsaved = app.editor.as_ref().is_some_and(|e| e.dirty());
        let msg = format!(
            "Terminal too small: {}x{}; vmware-audit tui needs at least {}x{}. {}",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            if unsaved {
                "Enlarge it: the rule editor has unsaved changes (no key acts until then)."
            } else {
                "Enlarge it, or press q to quit (no other key acts until then)."
            }
        );
        f.render_widget(
            Paragraph::new(Line::styled(msg, theme.warn())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let a = layout::areas(area);
    header::draw(f, a.header, app, theme);
    footer::draw_filters(f, a.filters, app, theme);
    match &app.overlay {
        Overlay::Detail(d) => detail::draw(
            f,
            a.body,
            d,
            app.search.as_ref().or(app.find.as_ref()),
            theme,
        ),
        _ => match app.pane {
            Pane::Stream => stream::draw(f, a.body, app, theme),
            Pane::Stats => stats::draw(f, a.body, app, theme),
            Pane::Editor => editor::draw(f, a.body, app, theme),
        },
    }
    footer::draw(f, a.footer, app, theme);
    match &app.overlay {
        Overlay::Help { scroll } => help::draw(f, a.body, *scroll, theme),
        Overlay::Picker(p) => picker::draw(f, a.body, p, theme),
        _ => {}
    }
}

#[cfg(test)]
pub mod tests;
