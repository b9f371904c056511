//! Stats under the current filters: bars by status, skill and top tools, and
//! calls and denials over the chosen range.

use chrono::{Duration, NaiveDateTime};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};
use vmware_policy::audit::{Bucket, Stats};
use vmware_policy::safe_text::term_safe;

use super::header::thousands;
use super::theme::Theme;
use crate::tui::state::App;

const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// Horizontal bars: `label ████▌ 1,234`, scaled to the largest value.
pub fn bars(
    items: &[(String, u64)],
    width: u16,
    rows: usize,
    style: &dyn Fn(&str) -> Style,
    t: Theme,
) -> Vec<Line<'static>> {
    let items = &items[..items.len().min(rows)];
    let label_w = items
        .iter()
        .map(|(l, _)| term_safe(l).chars().count())
        .max()
        .unwrap_or(0)
        .min(width as usize / 3);
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let count_w = items
        .iter()
        .map(|(_, n)| thousands(*n).len())
        .max()
        .unwrap_or(1);
    let bar_w = (width as usize).saturating_sub(label_w + count_w + 3);
    items
        .iter()
        .map(|(label, n)| {
            let label: String = term_safe(label).chars().take(label_w).collect();
            let eighths = (*n as u128 * bar_w as u128 * 8 / max as u128) as usize;
            let mut bar = "█".repeat(eighths / 8);
            bar.push_str(EIGHTHS[eighths % 8]);
            if *n > 0 && bar.is_empty() {
                bar.push('▏');
            }
            Line::from(vec![
                Span::raw(format!("{label:<label_w$} ")),
                Span::styled(bar, style(label.as_str())),
                Span::styled(format!(" {}", thousands(*n)), t.dim()),
            ])
        })
        .collect()
}

/// The series with empty buckets filled in (the stats list only buckets with
/// calls), oldest first.
pub fn dense(series: &[(String, u64, u64)], bucket: Bucket) -> Vec<(String, u64, u64)> {
    let parse = |l: &str| {
        let full = match bucket {
            Bucket::Minute => format!("{l}:00"),
            Bucket::Hour => format!("{l}:00:00"),
            Bucket::Day => format!("{l}T00:00:00"),
        };
        NaiveDateTime::parse_from_str(&full, "%Y-%m-%dT%H:%M:%S").ok()
    };
    let step = match bucket {
        Bucket::Minute => Duration::minutes(1),
        Bucket::Hour => Duration::hours(1),
        Bucket::Day => Duration::days(1),
    };
    let fmt = |t: NaiveDateTime| match bucket {
        Bucket::Minute => t.format("%Y-%m-%dT%H:%M").to_string(),
        Bucket::Hour => t.format("%Y-%m-%dT%H").to_string(),
        Bucket::Day => t.format("%Y-%m-%d").to_string(),
    };
    let (Some(first), Some(last)) = (
        series.first().and_then(|s| parse(&s.0)),
        series.last().and_then(|s| parse(&s.0)),
    ) else {
        return series.to_vec();
    };
    if (last - first).num_seconds() / step.num_seconds().max(1) > 100_000 {
        return series.to_vec(); // foreign timestamps far apart: do not fill years
    }
    let mut out = Vec::new();
    let mut i = 0;
    let mut t = first;
    while t <= last {
        let label = fmt(t);
        if let Some(s) = series.get(i).filter(|s| s.0 == label) {
            out.push(s.clone());
            i += 1;
        } else {
            out.push((label, 0, 0));
        }
        t += step;
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: Theme) {
    let total = app.stats.as_ref().map_or(String::new(), |s| {
        format!(
            "{} calls · {} denied ({:.1}%) · {} errors ",
            thousands(s.total),
            thousands(s.denied),
            s.denied_rate() * 100.0,
            thousands(s.errors)
        )
    });
    let mut title = vec![
        Span::styled(" Stats ", t.title()),
        Span::raw(format!("(range {}) ", app.filters.range.label())),
        Span::raw(total),
    ];
    if app.stats_loading {
        title.push(Span::styled("computing… ", t.warn()));
    }
    if app.filters.search.is_some() {
        title.push(Span::styled("(text search not applied to stats) ", t.dim()));
    }
    let block = Block::default()
        .borders(Borders::TOP | Borders::BOTTOM)
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(s) = &app.stats else {
        f.render_widget(Paragraph::new(Line::styled("Computing…", t.dim())), inner);
        return;
    };
    if s.total == 0 {
        f.render_widget(
            Paragraph::new(Line::styled("No calls under these filters.", t.dim())),
            inner,
        );
        return;
    }
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
    let [status_a, skill_a] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    let [tools_a, series_a] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let plain = |_: &str| t.accent();
    let by_status = |l: &str| t.status_bar(l);
    section(
        f,
        status_a,
        "By status",
        bars(&s.by_status, status_a.width, rows(status_a), &by_status, t),
        t,
    );
    section(
        f,
        skill_a,
        "By skill",
        bars(&s.by_skill, skill_a.width, rows(skill_a), &plain, t),
        t,
    );
    section(
        f,
        tools_a,
        "Top tools",
        bars(&s.by_tool, tools_a.width, rows(tools_a), &plain, t),
        t,
    );
    series(f, series_a, s, app, t);
}

fn rows(a: Rect) -> usize {
    a.height.saturating_sub(1) as usize
}

fn section(f: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>, t: Theme) {
    let mut all = vec![Line::styled(title.to_string(), t.title())];
    all.extend(lines);
    f.render_widget(Paragraph::new(all), area);
}

fn series(f: &mut Frame, area: Rect, s: &Stats, app: &App, t: Theme) {
    let bucket = app.filters.range.bucket();
    let per = match bucket {
        Bucket::Minute => "minute",
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    let data = dense(&s.series, bucket);
    let shown = &data[data.len().saturating_sub(area.width as usize)..];
    let calls: Vec<u64> = shown.iter().map(|x| x.1).collect();
    let denied: Vec<u64> = shown.iter().map(|x| x.2).collect();
    let peak = calls.iter().max().copied().unwrap_or(0);
    let span = match (shown.first(), shown.last()) {
        (Some(a), Some(b)) => format!("{} → {} UTC", term_safe(&a.0), term_safe(&b.0)),
        _ => String::new(),
    };
    let [h1, c, h2, d, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(Line::styled(
            format!("Calls per {per} (peak {})", thousands(peak)),
            t.title(),
        )),
        h1,
    );
    f.render_widget(Sparkline::default().data(&calls).style(t.accent()), c);
    f.render_widget(
        Paragraph::new(Line::styled(format!("Denied per {per}"), t.title())),
        h2,
    );
    f.render_widget(
        Sparkline::default()
            .data(&denied)
            .max(peak.max(1))
            .style(t.status_bar("denied")),
        d,
    );
    f.render_widget(Paragraph::new(Line::styled(span, t.dim())), foot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_fills_empty_minutes() {
        let s = vec![
            ("2026-11-22T10:00".to_string(), 3, 1),
            ("2026-11-22T10:03".to_string(), 2, 0),
        ];
        let d = dense(&s, Bucket::Minute);
        assert_eq!(d.len(), 4);
        assert_eq!(d[1], ("2026-11-22T10:01".to_string(), 0, 0));
        assert_eq!(d[3].1, 2);
    }
}
