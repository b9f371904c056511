//! `vmware-audit stats`: totals by status, skill, tool, agent and risk, the
//! denied rate, and calls over time as a bar chart.

use std::fmt::Write as _;
use std::io::Write;

use chrono::Utc;
use serde_json::json;
use vmware_policy::audit::{Bucket, Stats, python_ts};
use vmware_policy::safe_text::{term_safe, to_json};

use super::args::{By, StatsArgs};
use super::common::Ctx;
use super::output;
use super::style::Paint;

pub fn run(ctx: &Ctx, a: &StatsArgs) -> i32 {
    let mut filter = match a.filter.to_filter() {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    let since = match super::common::days_ago(Utc::now(), a.days, "--days") {
        Ok(t) => python_ts(t),
        Err(e) => return output::fail(&e),
    };
    if filter
        .since
        .as_ref()
        .is_none_or(|s| s.as_str() < since.as_str())
    {
        filter.since = Some(since.clone());
    }
    let bucket = match a.by {
        Some(By::Minute) => Bucket::Minute,
        Some(By::Hour) => Bucket::Hour,
        Some(By::Day) => Bucket::Day,
        None if a.days <= 2 => Bucket::Hour,
        None => Bucket::Day,
    };
    let source = match ctx.open_source(a.filter.archives, &filter) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    source.warn_unknown_values(&filter);
    let s = match source.stats(&filter, bucket) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    let mut doc = json!({
        "days": a.days,
        "since": filter.since,
        "total": s.total,
        "denied": s.denied,
        "denied_rate": s.denied_rate(),
        "errors": s.errors,
        "by_status": pairs(&s.by_status, usize::MAX),
        "by_skill": pairs(&s.by_skill, usize::MAX),
        "by_tool": pairs(&s.by_tool, a.top),
        "by_agent": pairs(&s.by_agent, usize::MAX),
        "by_risk": pairs(&s.by_risk, usize::MAX),
        "bucket": bucket,
        "series": s.series.iter().map(|(b, n, d)| json!({"bucket": b, "calls": n, "denied": d})).collect::<Vec<_>>(),
    });
    if source.is_fleet()
        && let Some(o) = doc.as_object_mut()
    {
        o.insert("by_host".into(), pairs(&s.by_host, usize::MAX));
    }
    let text = if a.json {
        to_json(&doc, true) + "\n"
    } else if a.jsonl {
        let mut t = String::new();
        for (b, n, d) in &s.series {
            t += &to_json(&json!({"bucket": b, "calls": n, "denied": d}), false);
            t.push('\n');
        }
        let mut totals = doc.clone();
        if let Some(o) = totals.as_object_mut() {
            o.remove("series");
        }
        t + &to_json(&totals, false) + "\n"
    } else {
        render(ctx, a, &s, bucket, &since)
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}

fn pairs(c: &[(String, u64)], top: usize) -> serde_json::Value {
    json!(
        c.iter()
            .take(top)
            .map(|(k, n)| json!({"name": k, "count": n}))
            .collect::<Vec<_>>()
    )
}

fn bar(n: u64, max: u64, width: usize) -> String {
    if max == 0 || n == 0 {
        return String::new();
    }
    let eighths = (n as f64 / max as f64 * width as f64 * 8.0)
        .round()
        .max(1.0) as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
    }
    s
}

fn section(
    ctx: &Ctx,
    out: &mut String,
    title: &str,
    counts: &[(String, u64)],
    top: usize,
    status_colors: bool,
) {
    let _ = writeln!(out, "\n{}", Paint::Bold.apply(title, ctx.color));
    let shown: Vec<_> = counts.iter().take(top).collect();
    let max = shown.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let label_w = shown
        .iter()
        .map(|(k, _)| term_safe(k).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 28);
    let bar_w = ctx.width.saturating_sub(label_w + 16).clamp(5, 50);
    for (k, n) in shown {
        let name: String = term_safe(if k.is_empty() { "(none)" } else { k })
            .chars()
            .take(label_w)
            .collect();
        let paint = if status_colors {
            Paint::for_status(k)
        } else {
            Paint::Cyan
        };
        let _ = writeln!(
            out,
            "  {}  {n:>9}  {}",
            paint.apply(&format!("{name:<label_w$}"), ctx.color),
            bar(*n, max, bar_w)
        );
    }
    if counts.len() > top {
        let _ = writeln!(out, "  … {} more", counts.len() - top);
    }
}

fn render(ctx: &Ctx, a: &StatsArgs, s: &Stats, bucket: Bucket, since: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (last {} days, since {} UTC)",
        Paint::Bold.apply("Audit statistics", ctx.color),
        a.days,
        since.get(..16).unwrap_or(since).replace('T', " ")
    );
    let rate = s.denied_rate() * 100.0;
    let _ = writeln!(
        out,
        "  Total operations: {}   denied: {} ({rate:.1}%)   errors: {}",
        Paint::Bold.apply(&s.total.to_string(), ctx.color),
        Paint::Red.apply(&s.denied.to_string(), ctx.color),
        s.errors
    );
    if s.total == 0 {
        out.push_str("\nNo audit records in this period.\n");
        return out;
    }
    section(ctx, &mut out, "By status", &s.by_status, usize::MAX, true);
    section(ctx, &mut out, "By skill", &s.by_skill, usize::MAX, false);
    section(
        ctx,
        &mut out,
        &format!("Top {} tools", a.top),
        &s.by_tool,
        a.top,
        false,
    );
    section(ctx, &mut out, "By agent", &s.by_agent, usize::MAX, false);
    section(ctx, &mut out, "By risk", &s.by_risk, usize::MAX, false);
    if !s.by_host.is_empty() {
        section(ctx, &mut out, "By host", &s.by_host, usize::MAX, false);
    }
    let unit = match bucket {
        Bucket::Minute => "minute",
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    let _ = writeln!(
        out,
        "\n{}",
        Paint::Bold.apply(&format!("Calls per {unit} (denied)"), ctx.color)
    );
    let max = s.series.iter().map(|(_, n, _)| *n).max().unwrap_or(0);
    let bar_w = ctx.width.saturating_sub(40).clamp(5, 60);
    for (b, n, d) in &s.series {
        let label = term_safe(b.get(5..).unwrap_or(b)).replace('T', " ");
        let denied = if *d > 0 {
            Paint::Red.apply(&format!(" ({d})"), ctx.color)
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {label:<11} {n:>8}{denied}  {}", bar(*n, max, bar_w));
    }
    out
}
