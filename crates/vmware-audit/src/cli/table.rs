//! Tables that fit the terminal: columns at their natural width, the flexible
//! one giving way first, then the others, truncated with an ellipsis. Cells are
//! terminal-safe text; colour is applied after the layout, never counted.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::style::Paint;

pub struct Column {
    pub header: &'static str,
    /// Narrowest it may become.
    pub min: usize,
    /// Widest it is ever shown.
    pub max: usize,
    /// Gives way first when the table is too wide.
    pub flex: bool,
    pub right: bool,
}

pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<(String, Paint)>>,
}

/// `s` in at most `width` cells: cut with `…` when it is longer (the CLI's
/// tables and the TUI's stream alike).
pub fn truncate(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

impl Table {
    /// The table as lines no wider than `width` columns.
    pub fn render(&self, width: usize, color: bool) -> String {
        let n = self.columns.len();
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let natural = self
                    .rows
                    .iter()
                    .map(|r| r[i].0.width())
                    .max()
                    .unwrap_or(0)
                    .max(c.header.width());
                natural.clamp(c.min, c.max.max(c.min))
            })
            .collect();
        let gaps = 2 * n.saturating_sub(1);
        let mut total: usize = widths.iter().sum::<usize>() + gaps;
        // Shrink the flexible column first, then the widest others, down to their minimums.
        for pass in [true, false] {
            while total > width {
                let candidate = (0..n)
                    .filter(|&i| self.columns[i].flex == pass && widths[i] > self.columns[i].min)
                    .max_by_key(|&i| widths[i]);
                let Some(i) = candidate else { break };
                widths[i] -= 1;
                total -= 1;
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<(String, Paint)>, out: &mut String| {
            let mut parts = Vec::with_capacity(n);
            for (i, (text, paint)) in cells.into_iter().enumerate() {
                let t = truncate(&text, widths[i]);
                let pad = widths[i].saturating_sub(t.width());
                let padded = if self.columns[i].right {
                    format!("{}{t}", " ".repeat(pad))
                } else {
                    format!("{t}{}", " ".repeat(pad))
                };
                parts.push(paint.apply(&padded, color));
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(
            self.columns
                .iter()
                .map(|c| (c.header.to_string(), Paint::Bold))
                .collect(),
            &mut out,
        );
        for row in &self.rows {
            line(row.clone(), &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flexible_column_gives_way_and_lines_fit() {
        let t = Table {
            columns: vec![
                Column {
                    header: "Time",
                    min: 14,
                    max: 14,
                    flex: false,
                    right: false,
                },
                Column {
                    header: "Tool",
                    min: 6,
                    max: 60,
                    flex: true,
                    right: false,
                },
                Column {
                    header: "Status",
                    min: 6,
                    max: 12,
                    flex: false,
                    right: false,
                },
            ],
            rows: vec![vec![
                ("11-21 20:18:00".into(), Paint::Plain),
                (
                    "a_really_long_tool_name_that_will_not_fit".into(),
                    Paint::Plain,
                ),
                ("denied".into(), Paint::Plain),
            ]],
        };
        let out = t.render(40, false);
        assert!(out.lines().all(|l| l.width() <= 40), "{out}");
        assert!(out.contains('…') && out.contains("denied"), "{out}");
    }
}
