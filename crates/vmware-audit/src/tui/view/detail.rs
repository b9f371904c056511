//! One row, whole: every field, params and result as indented JSON, and a
//! denial's rule and reason on top where they cannot be missed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde::Serialize;
use vmware_policy::audit::AuditRow;
use vmware_policy::audit::status::{Kind, kind};
use vmware_policy::safe_text::{SafeJson, term_safe};

use super::theme::Theme;
use crate::tui::search::Search;
use crate::tui::state::Detail;
use ratatui::style::Style;

/// Larger fields are shown cut, as text (see [`pretty`]).
const SHOWN_BYTES: usize = 64 * 1024;

/// JSON text indented for reading, every character terminal-safe; text that is
/// not JSON is shown as it is, escaped.
pub fn pretty(text: &str) -> Vec<String> {
    // A field of megabytes (a foreign writer's 10 MB result) would be parsed,
    // escaped and laid out again on every frame; its start is what fits on a
    // screen anyway. The export has the whole of it.
    if text.len() > SHOWN_BYTES {
        let mut cut = SHOWN_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return vec![
            format!(
                "({} bytes, too large to lay out: the first {cut} are shown, as text; `vmware-audit export` has all of it)",
                text.len()
            ),
            term_safe(&text[..cut]).into_owned(),
        ];
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return vec![format!("(not JSON) {}", term_safe(text))];
    };
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeJson::pretty());
    if v.serialize(&mut ser).is_err() {
        return vec![term_safe(text).into_owned()];
    }
    // SafeJson escapes every unsafe character, but a line must still hold
    // no raw control character: escape once more, as the rest of the UI.
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| term_safe(l).into_owned())
        .collect()
}

/// The rule and reason of a denial, from the result the guard wrote
/// (`{"error": reason, "rule": name}`).
pub fn denial(row: &AuditRow) -> Option<(String, String)> {
    if kind(&row.status) != Kind::Denied {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&row.result).unwrap_or_default();
    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let reason = match get("error") {
        e if e.is_empty() => get("reason"),
        e => e,
    };
    Some((get("rule"), reason))
}

pub fn lines(row: &AuditRow, search: Option<&Search>, t: Theme) -> Vec<Line<'static>> {
    let safe = |v: &str| term_safe(v).into_owned();
    let mut out = Vec::new();
    if let Some((rule, reason)) = denial(row) {
        out.push(Line::styled(
            format!(
                " DENIED by rule {}",
                if rule.is_empty() {
                    "(none named)".into()
                } else {
                    safe(&rule)
                }
            ),
            t.bad(),
        ));
        out.push(Line::styled(format!(" reason: {}", safe(&reason)), t.bad()));
        out.push(Line::raw(""));
    }
    let field = |name: &str, value: String, style| {
        Line::from(vec![
            Span::styled(format!(" {name:<15}"), t.dim()),
            Span::styled(value, style),
        ])
    };
    let plain = ratatui::style::Style::default();
    out.push(field("id", row.id.to_string(), plain));
    out.push(field("time (UTC)", safe(&row.ts), plain));
    out.push(field("skill", safe(&row.skill), t.accent()));
    out.push(field("tool", safe(&row.tool), t.title()));
    out.push(field("status", safe(&row.status), t.status(&row.status)));
    out.push(field("duration", format!("{} ms", row.duration_ms), plain));
    for (name, v) in [
        ("risk level", &row.risk_level),
        ("risk tier", &row.risk_tier),
        ("agent", &row.agent),
        ("user", &row.user),
        ("role", &row.role),
        ("surface", &row.surface),
        ("workflow id", &row.workflow_id),
        ("correlation id", &row.correlation_id),
        ("approved by", &row.approved_by),
        ("rationale", &row.rationale),
    ] {
        if !v.is_empty() {
            out.push(field(name, safe(v), plain));
        }
    }
    for (name, text) in [("params", &row.params), ("result", &row.result)] {
        out.push(Line::raw(""));
        out.push(Line::styled(format!(" {name}"), t.title()));
        // What the search matched, highlighted where it is.
        out.extend(pretty(text).into_iter().map(|l| {
            super::highlight::spans(&format!("   {l}"), search, Style::default(), t.highlight())
        }));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, d: &Detail, search: Option<&Search>, t: Theme) {
    let lines = lines(&d.row, search, t);
    let visible = area.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(visible);
    let scroll = d.scroll.min(max_scroll);
    let title = format!(
        " Detail · row {} · line {}/{} ",
        d.row.id,
        (scroll + 1).min(lines.len()),
        lines.len()
    );
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(visible).collect();
    f.render_widget(
        Paragraph::new(shown).block(
            Block::default()
                .borders(Borders::TOP | Borders::BOTTOM)
                .title(Line::styled(title, t.title())),
        ),
        area,
    );
}
