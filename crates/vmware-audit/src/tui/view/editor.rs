//! The rule editor pane: the buffer with line numbers, YAML highlighting and
//! the lines with diagnostics marked; the diagnostics and the state of the
//! rules in force under it; the stream beside it; and its panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use vmware_policy::policy::{Explanation, Severity, StepOutcome};
use vmware_policy::safe_text::term_safe;

use super::layout::{EDITOR_FOOT, GUTTER, centered, editor_split};
use super::theme::Theme;
use crate::tui::editor::highlight::{classify, style};
use crate::tui::editor::panels::FIELD_NAMES;
use crate::tui::editor::{Editor, Mode, ReplayRange};
use crate::tui::state::App;

pub fn draw(f: &mut Frame, body: Rect, app: &App, t: Theme) {
    let (left, right) = editor_split(body);
    super::stream::draw(f, right, app, t);
    let Some(e) = &app.editor else {
        return;
    };
    let errors = e.errors();
    let warnings = e.diagnostics.len() - errors;
    let title = Line::from(vec![
        Span::styled(" Rules ", t.title()),
        Span::raw(format!("{} ", term_safe(&e.path.display().to_string()))),
        if e.dirty() {
            Span::styled("● modified ", t.warn())
        } else {
            Span::styled("saved ", t.dim())
        },
        if errors > 0 {
            Span::styled(
                format!("{errors} error{} ", if errors == 1 { "" } else { "s" }),
                t.bad(),
            )
        } else {
            Span::styled("valid ", t.good())
        },
        Span::styled(
            if warnings > 0 {
                format!(
                    "{warnings} warning{} ",
                    if warnings == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            },
            t.warn(),
        ),
    ]);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(left);
    f.render_widget(block, left);
    let text_h = inner.height.saturating_sub(EDITOR_FOOT);
    let text_area = Rect::new(inner.x, inner.y, inner.width, text_h);
    let foot = Rect::new(
        inner.x,
        inner.y + text_h,
        inner.width,
        inner.height - text_h,
    );
    f.render_widget(Paragraph::new(text_lines(e, text_area, t)), text_area);
    f.render_widget(
        Paragraph::new(foot_lines(e, app, t)).wrap(Wrap { trim: false }),
        foot,
    );
    match &e.mode {
        Mode::WhatIf(w) => {
            let lines = whatif_lines(w, t);
            popup(
                f,
                left,
                " What if… (Tab next field · Enter decide · Esc close) ",
                lines,
                t,
            );
        }
        Mode::Replay(p) => popup(
            f,
            left,
            " Replay (Tab range · Enter run · ↑↓ scroll · Esc close) ",
            replay_lines(p, t),
            t,
        ),
        Mode::ConfirmLeave => popup(
            f,
            left,
            " Unsaved changes ",
            vec![Line::raw(
                "Leave and drop them?  y: drop and leave   s: save and leave   n: stay",
            )],
            t,
        ),
        Mode::ConfirmFreeze { freeze } => popup(
            f,
            left,
            " Emergency freeze ",
            vec![Line::styled(
                if *freeze {
                    "Put a deny-all rule first in the rules on disk and save now? Every skill, Rust or Python, is denied from its next call.  y / n"
                } else {
                    "Remove the emergency freeze from the rules on disk and save now?  y / n"
                },
                t.warn(),
            )],
            t,
        ),
        Mode::Conflict { diff, scroll, .. } => {
            let mut lines = vec![Line::styled(
                "The file changed on disk since it was opened. r: reload it (drop the buffer's edits) · o: overwrite it with the buffer · Esc: keep editing",
                t.warn(),
            )];
            lines.push(Line::styled(
                "- on disk only   + in the buffer only   (↑/↓ PgUp/PgDn scroll: read every line before o)",
                t.dim(),
            ));
            lines.extend(diff.iter().map(|l| {
                let s = match l.as_bytes().first() {
                    Some(b'+') => t.good(),
                    Some(b'-') => t.bad(),
                    _ => t.dim(),
                };
                Line::styled(term_safe(l).into_owned(), s)
            }));
            scrolling_popup(f, left, " Conflict ", lines, *scroll, t);
        }
        _ => {}
    }
}

fn text_lines(e: &Editor, area: Rect, t: Theme) -> Vec<Line<'static>> {
    let ratatui_textarea::DataCursor(crow, ccol) = e.area.cursor();
    let width = area.width.saturating_sub(GUTTER) as usize;
    e.area
        .lines()
        .iter()
        .enumerate()
        .skip(e.top)
        .take(area.height as usize)
        .map(|(i, line)| {
            let diag = e
                .diagnostics
                .iter()
                .filter(|d| d.line == i + 1)
                .max_by_key(|d| d.severity == Severity::Error);
            let (mark, mstyle) = match diag {
                Some(d) if d.severity == Severity::Error => ("▶", t.bad()),
                Some(_) => ("▶", t.warn()),
                None => (" ", t.dim()),
            };
            let mut spans = vec![
                Span::styled(
                    format!("{:>4}", i + 1),
                    if diag.is_some() { mstyle } else { t.dim() },
                ),
                Span::styled(mark, mstyle),
                Span::raw(" "),
            ];
            let kinds = classify(line);
            for (j, c) in line.chars().enumerate().skip(e.left).take(width) {
                let mut s = style(kinds[j], t);
                if diag.is_some_and(|d| d.column == j + 1) {
                    s = s.add_modifier(ratatui::style::Modifier::UNDERLINED);
                }
                if i == crow && j == ccol {
                    s = t.selected();
                }
                spans.push(Span::styled(term_safe(&c.to_string()).into_owned(), s));
            }
            if i == crow && ccol >= line.chars().count() && ccol >= e.left && ccol - e.left < width
            {
                spans.push(Span::styled(" ", t.selected()));
            }
            Line::from(spans)
        })
        .collect()
}

fn foot_lines(e: &Editor, app: &App, t: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Mode::Search(q) = &e.mode {
        out.push(Line::from(vec![
            Span::styled(" find › ", t.key()),
            Span::raw(term_safe(q).into_owned()),
            Span::styled("█", t.accent()),
        ]));
    }
    match &e.message {
        Some((m, true)) => out.push(Line::styled(format!(" {}", term_safe(m)), t.bad())),
        Some((m, false)) => out.push(Line::styled(format!(" {}", term_safe(m)), t.good())),
        None => {}
    }
    // What the engine has in force, against what was saved.
    let r = &app.rules;
    let in_force = format!(
        "in force: {} #{} loaded {} UTC",
        r.source,
        r.hash,
        r.loaded_at.format("%H:%M:%S")
    );
    match &e.last_saved {
        Some(s) if s.hash == r.hash && r.unreadable.is_none() => out.push(Line::styled(
            format!(
                " saved {} UTC → {in_force} ✓ the engine loaded it",
                s.at.format("%H:%M:%S")
            ),
            t.good(),
        )),
        Some(s) => out.push(Line::styled(
            format!(
                " saved {} UTC (#{}) → waiting for the engine to reload… ({in_force})",
                s.at.format("%H:%M:%S"),
                s.hash
            ),
            t.warn(),
        )),
        None => out.push(Line::styled(format!(" {in_force}"), t.dim())),
    }
    let mut diags: Vec<_> = e.diagnostics.iter().collect();
    diags.sort_by_key(|d| (d.severity != Severity::Error, d.line, d.column));
    for d in diags
        .iter()
        .take(EDITOR_FOOT as usize - out.len().min(EDITOR_FOOT as usize))
    {
        let s = if d.severity == Severity::Error {
            t.bad()
        } else {
            t.warn()
        };
        out.push(Line::styled(
            format!(
                " {}:{}: {}: {}",
                d.line,
                d.column,
                d.severity,
                term_safe(&d.message)
            ),
            s,
        ));
    }
    out
}

fn popup(f: &mut Frame, over: Rect, title: &str, lines: Vec<Line<'static>>, t: Theme) {
    scrolling_popup(f, over, title, lines, 0, t);
}

/// Rows `lines` take once wrapped to `width` columns, by the same word
/// wrapping the popup draws with (a count by characters is too low).
fn wrapped_rows(lines: &[Line<'static>], width: u16) -> usize {
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width.max(1))
}

/// A popup as tall as its text *after wrapping* (so no last line is hidden),
/// up to the space there is; past that it starts at line `scroll` of `lines`
/// and says, in its bottom border, how many rows are above and below.
fn scrolling_popup(
    f: &mut Frame,
    over: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: u16,
    t: Theme,
) {
    let width = over.width.saturating_sub(4);
    let rows = wrapped_rows(&lines, width.saturating_sub(2));
    let max_h = over.height.saturating_sub(2).max(3);
    let h = u16::try_from(rows + 2).unwrap_or(u16::MAX).clamp(3, max_h);
    let visible = usize::from(h.saturating_sub(2));
    let max_scroll = rows.saturating_sub(visible);
    let skipped = &lines[..usize::from(scroll).min(lines.len())];
    let scroll = wrapped_rows(skipped, width.saturating_sub(2)).min(max_scroll);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Line::styled(title.to_string(), t.title()));
    if max_scroll > 0 {
        let below = max_scroll - scroll;
        block = block.title_bottom(Line::styled(
            format!(" ↑ {scroll} more · ↓ {below} more "),
            t.warn(),
        ));
    }
    let area = centered(over, width, h);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(block),
        area,
    );
}

fn explanation(label: &str, x: &Explanation, t: Theme) -> Vec<Line<'static>> {
    let d = &x.decision;
    let mut out = vec![Line::from(vec![
        Span::styled(format!("{label}: "), t.title()),
        if d.allowed {
            Span::styled(format!("ALLOWED ({})", term_safe(&d.rule)), t.good())
        } else {
            Span::styled(
                format!("DENIED by {}: {}", term_safe(&d.rule), term_safe(&d.reason)),
                t.bad(),
            )
        },
    ])];
    for s in &x.steps {
        let mark = match s.outcome {
            StepOutcome::Matched => "✔",
            StepOutcome::NotMatched => "·",
            StepOutcome::Invalid => "!",
            StepOutcome::NotReached => " ",
        };
        out.push(Line::styled(
            format!(
                "  {mark} {}: {}",
                term_safe(&s.subject),
                term_safe(&s.detail)
            ),
            t.dim(),
        ));
    }
    out
}

fn whatif_lines(w: &crate::tui::editor::WhatIf, t: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, name) in FIELD_NAMES.iter().enumerate() {
        out.push(Line::from(vec![
            Span::styled(
                format!("{name:>12}: "),
                if i == w.focus { t.key() } else { t.dim() },
            ),
            Span::raw(term_safe(&w.fields[i]).into_owned()),
            Span::styled(if i == w.focus { "█" } else { "" }, t.accent()),
        ]));
    }
    out.push(Line::raw(""));
    match &w.result {
        None => out.push(Line::styled(
            "Enter decides with the rules in force and with this buffer.",
            t.dim(),
        )),
        Some((now, edited)) => {
            out.extend(explanation("rules in force", now, t));
            out.extend(explanation("this buffer", edited, t));
            if now.decision.allowed != edited.decision.allowed {
                out.push(Line::styled(
                    "→ saving this buffer changes the decision",
                    t.warn(),
                ));
            }
        }
    }
    out
}

fn replay_lines(p: &crate::tui::editor::ReplayPanel, t: Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(vec![
        Span::styled("calls: ", t.dim()),
        Span::styled(p.range.label(), t.key()),
        Span::styled(
            match p.range {
                ReplayRange::CurrentFilter => " (newest 100,000 at most)",
                _ => "",
            },
            t.dim(),
        ),
    ])];
    if p.running {
        out.push(Line::styled("replaying…", t.warn()));
        return out;
    }
    match &p.result {
        None => out.push(Line::styled(
            "Enter evaluates these calls under the rules in force and under this buffer, and lists the calls whose decision would change.",
            t.dim(),
        )),
        Some(Err(e)) => out.push(Line::styled(format!("replay failed: {}", term_safe(e)), t.bad())),
        Some(Ok((r, ms))) => {
            out.push(Line::from(vec![
                Span::raw(format!("{} calls in {ms} ms: ", r.rows)),
                Span::styled(format!("{} newly denied", r.denied_count), t.bad()),
                Span::raw(", "),
                Span::styled(format!("{} newly allowed", r.allowed_count), t.good()),
                Span::styled(if r.truncated { " (500 of each listed)" } else { "" }, t.dim()),
            ]));
            if !r.by_tool.is_empty() {
                out.push(Line::styled("by tool (newly denied / newly allowed):", t.title()));
            }
            let mut rest: Vec<Line<'static>> = Vec::new();
            for (tool, d, a) in &r.by_tool {
                rest.push(Line::raw(format!("  {:<32} {:>7} {:>7}", term_safe(tool), d, a)));
            }
            for (label, list, s) in [("newly denied", &r.newly_denied, t.bad()), ("newly allowed", &r.newly_allowed, t.good())] {
                if !list.is_empty() {
                    rest.push(Line::styled(format!("{label}:"), t.title()));
                }
                for c in list.iter().take(50) {
                    rest.push(Line::from(vec![
                        Span::styled(format!("  {} ", super::stream::short_ts(&c.row.ts)), t.dim()),
                        Span::raw(format!("{:<28} ", term_safe(&c.row.tool))),
                        Span::styled(term_safe(&c.rule).into_owned(), s),
                    ]));
                }
            }
            out.extend(rest.into_iter().skip(p.scroll));
        }
    }
    out
}
