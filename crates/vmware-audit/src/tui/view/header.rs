//! The header: which database, how many rows, live or paused, the rule set in
//! force and where it came from, and the maintenance window.

use chrono::Timelike;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use vmware_policy::policy::Window;
use vmware_policy::safe_text::term_safe;

use super::theme::Theme;
use crate::seal::status::SealState;
use crate::tui::state::{App, WindowInfo};

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: Theme) {
    let sep = || Span::styled(" │ ", t.dim());
    let rows = match app.total_rows {
        Some(n) => format!("{} rows", thousands(n)),
        None => "… rows".into(),
    };
    // The count and the stream cover the archives too.
    let rows = if app.archives {
        format!("{rows} +archives")
    } else {
        rows
    };
    let rows = match app.indexing {
        Some((done, total)) => format!("{rows} · indexing {}%", done * 100 / total.max(1)),
        None => rows,
    };
    let state = if app.problem.is_some() {
        Span::styled("◌ NO DATA", t.warn())
    } else if app.stream.follow {
        Span::styled("● LIVE", t.good())
    } else if app.stream.pending > 0 {
        Span::styled(
            format!(
                "❚❚ PAUSED · {} new (End follows)",
                thousands(app.stream.pending)
            ),
            t.warn(),
        )
    } else {
        Span::styled("❚❚ PAUSED (End follows)", t.warn())
    };
    let r = &app.rules;
    // LIVE/PAUSED first, the database path last and cut to what is left: at
    // 70 columns the state must not fall off the line.
    let mut line1 = vec![
        Span::styled(" vmware-audit", t.title()),
        sep(),
        state,
        sep(),
        Span::raw(rows),
    ];
    if let Some(s) = &r.seal {
        line1.push(sep());
        line1.push(seal(s, t));
    }
    line1.push(sep());
    let left = area
        .width
        .saturating_sub(Line::from(line1.clone()).width() as u16 + 3);
    line1.push(Span::raw(format!(
        "db {}",
        super::columns::fit(&term_safe(&app.db_path), left)
    )));
    let line1 = Line::from(line1);
    let mut line2 = vec![Span::raw(" rules ")];
    if let Some(w) = r.warnings.first() {
        line2.push(Span::styled(format!("⚠ {} │ ", term_safe(w)), t.bad()));
    }
    if let Some(fz) = &r.frozen {
        line2.push(Span::styled(
            format!("{} → EVERY CALL IS DENIED │ ", term_safe(&fz.words())),
            t.bad(),
        ));
    }
    if let Some(why) = &r.unreadable {
        line2.push(Span::styled(
            format!("{} → EVERY CALL IS DENIED: {}", r.source, term_safe(why)),
            t.bad(),
        ));
    } else {
        line2.push(Span::styled(r.source.clone(), t.accent()));
        line2.push(Span::raw(format!(" #{}", r.hash)));
        if let Some(rev) = &r.revision {
            let style = if rev.ends_with(" signed") {
                t.good()
            } else {
                t.warn()
            };
            line2.push(Span::styled(format!(" {}", term_safe(rev)), style));
        }
        line2.push(sep());
        line2.extend(window(&r.window, app, t));
        line2.push(sep());
        line2.push(Span::raw(format!(
            "{} deny rule{} · loaded {} UTC",
            r.deny_rules,
            if r.deny_rules == 1 { "" } else { "s" },
            r.loaded_at.format("%H:%M:%S")
        )));
        if r.change_limits {
            line2.push(sep());
            line2.push(Span::styled("change_limits: not enforced", t.warn()));
        }
        line2.push(sep());
        line2.push(Span::styled(term_safe(&r.path).into_owned(), t.dim()));
    }
    f.render_widget(Paragraph::new(vec![line1, Line::from(line2)]), area);
}

fn seal(s: &SealState, t: Theme) -> Span<'static> {
    match s {
        SealState::Alarm(why) => Span::styled(format!("⚠ TAMPERED: {}", term_safe(why)), t.bad()),
        SealState::Unverified => Span::styled("sealed, never verified", t.warn()),
        SealState::Verified { up_to_id, at } => Span::styled(
            format!(
                "sealed up to id {} · verified {} UTC",
                up_to_id.map_or("-".to_string(), |i| i.to_string()),
                at.format("%H:%M")
            ),
            t.good(),
        ),
    }
}

fn window(w: &WindowInfo, app: &App, t: Theme) -> Vec<Span<'static>> {
    match w {
        WindowInfo::Absent => vec![Span::styled("no maintenance window", t.dim())],
        WindowInfo::Malformed(why) => vec![Span::styled(
            format!("maintenance window malformed: {}", term_safe(why)),
            t.bad(),
        )],
        WindowInfo::Valid { start, end, text } => {
            let minute = i64::from(app.now.hour() * 60 + app.now.minute());
            let open = Window::contains(*start, *end, minute);
            let change = Window::minutes_until_change(*start, *end, minute);
            let label = format!("window {} UTC ", term_safe(text));
            let (state, style) = if open {
                ("OPEN", t.good())
            } else {
                ("CLOSED", t.warn())
            };
            let mut v = vec![Span::raw(label), Span::styled(state, style)];
            if let Some(m) = change {
                v.push(Span::raw(format!(
                    ", {} in {}",
                    if open { "closes" } else { "opens" },
                    hours_minutes(m)
                )));
            }
            v
        }
    }
}

pub fn hours_minutes(m: i64) -> String {
    if m >= 60 {
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{m}m")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
