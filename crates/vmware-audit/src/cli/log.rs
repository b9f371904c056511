//! `vmware-audit log`: recent entries as a table (oldest first, newest at the
//! bottom), JSON or JSON lines; `--follow` keeps printing new ones, across a
//! rotation of the database, until Ctrl-C.

use std::io::Write;
use std::time::Duration;

use vmware_policy::audit::tail::{BATCH, Tail};
use vmware_policy::audit::{AuditRow, Filter, ReadError, Reader};
use vmware_policy::safe_text::term_safe;

use super::args::LogArgs;
use super::common::{Ctx, read_error, sqlite_error};
use super::output::{self, Format};
use super::style::Paint;
use super::table::{Column, Table};

/// The columns of a log table; in `fixed` mode (follow) every width is set, so
/// batches printed one after another line up.
pub fn table(ctx: &Ctx, rows: &[AuditRow], fixed: bool) -> Table {
    let col = |header, min, max, flex, right| Column {
        header,
        min,
        max: if fixed { min } else { max },
        flex,
        right,
    };
    // Fleet rows (`--source postgres://`) say which host they came from.
    let hosts = rows.iter().any(|r| !r.host.is_empty());
    let host_w = if hosts { 12 } else { 0 };
    let tool_fixed = ctx
        .width
        .saturating_sub(14 + 10 + 12 + 8 + 6 + 7 + 10 + 6 + 16 + host_w)
        .clamp(12, 40);
    let mut t = Table {
        columns: vec![
            col(
                if ctx.local {
                    "Time (local)"
                } else {
                    "Time (UTC)"
                },
                14,
                14,
                false,
                false,
            ),
            col("Skill", 10, 14, false, false),
            col("Tool", if fixed { tool_fixed } else { 12 }, 48, true, false),
            col("Status", 12, 20, false, false),
            col("Risk", 8, 8, false, false),
            col("Via", 6, 10, false, false),
            col("Agent", 7, 9, false, false),
            col("User", 10, 16, false, false),
            col("Took", 6, 9, false, true),
        ],
        rows: rows
            .iter()
            .map(|r| {
                let s = |v: &str| term_safe(v).into_owned();
                vec![
                    (ctx.show_time(&s(&r.ts)), Paint::Dim),
                    (s(&r.skill), Paint::Cyan),
                    (s(&r.tool), Paint::Plain),
                    (s(&r.status), Paint::for_status(&r.status)),
                    (s(&r.risk_level), Paint::Plain),
                    (
                        s(if r.surface.is_empty() {
                            "-"
                        } else {
                            r.surface.trim_start_matches("mcp-")
                        }),
                        Paint::Dim,
                    ),
                    (s(&r.agent), Paint::Dim),
                    (s(&r.user), Paint::Dim),
                    (format!("{}ms", r.duration_ms), Paint::Plain),
                ]
            })
            .collect(),
    };
    if hosts {
        t.columns.insert(1, col("Host", 12, 16, false, false));
        for (row, r) in t.rows.iter_mut().zip(rows) {
            row.insert(1, (term_safe(&r.host).into_owned(), Paint::Cyan));
        }
    }
    t
}

pub fn run(ctx: &Ctx, a: &LogArgs) -> i32 {
    let filter = match a.filter.to_filter() {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    match ctx.fleet_target() {
        Ok(Some(target)) => return super::log_fleet::run(ctx, a, &filter, &target),
        Ok(None) => {}
        Err(e) => return output::fail(&e),
    }
    if let Err(e) = ctx.local_filter(&filter) {
        return output::fail(&e);
    }
    if a.follow && !ctx.db.exists() {
        // As `tail -F` and the TUI: wait for the first skill to create it.
        eprintln!(
            "vmware-audit: {} does not exist yet; waiting for it (Ctrl-C ends)",
            vmware_policy::safe_text::term_safe(&ctx.db.display().to_string())
        );
        return follow(ctx, &filter, 0, format_of(a), true);
    }
    let history = match ctx.open_history(a.filter.archives) {
        Ok(h) => h,
        Err(e) => return output::fail(&e),
    };
    super::common::warn_unknown_values(&filter, &history);
    // The newest id of the live file first, then rows up to it: the follow
    // starts after it, so no row is both printed and followed, and none missed.
    let live = history
        .readers()
        .last()
        .filter(|r| r.path() == ctx.db.as_path());
    let start_id = match live.map(Reader::max_id).transpose() {
        Ok(id) => id,
        Err(e) => return output::fail(&sqlite_error(&e, &ctx.db)),
    };
    let initial = Filter {
        before_id: start_id.map(|id| id + 1),
        ..filter.clone()
    };
    // (`before_id` applies per file; archives have their own ids, all older.)
    let mut rows = match history.latest(if a.filter.archives { &filter } else { &initial }, a.last)
    {
        Ok(r) => r,
        Err(e) => return output::fail(&sqlite_error(&e, &ctx.db)),
    };
    rows.reverse();
    let format = format_of(a);
    if print_first(ctx, a, &rows, format).is_err() {
        return 0; // a closed pipe (`| head`) is not an error
    }
    if a.follow {
        return follow(ctx, &filter, start_id.unwrap_or(0), format, rows.is_empty());
    }
    0
}

fn follow(ctx: &Ctx, filter: &Filter, start: i64, format: Format, need_header: bool) -> i32 {
    // Ctrl-C (and SIGTERM) end the follow cleanly: the current batch is finished.
    super::signals::catch();
    let mut tail = Tail::new(&ctx.db, start);
    let mut header = need_header;
    while !super::signals::stopping() {
        std::thread::sleep(Duration::from_millis(150));
        loop {
            let rows = match tail.poll(filter) {
                Ok(p) => p.rows,
                Err(ReadError::Missing(_)) => break,
                Err(e) => {
                    eprintln!("vmware-audit: {}", read_error(&e, &ctx.db));
                    break;
                }
            };
            let full = rows.len() >= BATCH;
            if print_rows(ctx, &rows, format, &mut header).is_err() {
                return 0; // a closed pipe
            }
            if !full {
                break;
            }
        }
    }
    0
}

/// Followed rows arrive one at a time: with --follow, JSON is JSON lines.
pub(super) fn format_of(a: &LogArgs) -> Format {
    if a.follow && a.json {
        Format::Jsonl
    } else {
        Format::of(a.json, a.jsonl)
    }
}

/// The rows before the follow (oldest first), or that there are none.
pub(super) fn print_first(
    ctx: &Ctx,
    a: &LogArgs,
    rows: &[AuditRow],
    format: Format,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => output::json_array(&mut out, rows),
        Format::Jsonl => rows.iter().try_for_each(|r| output::json_line(&mut out, r)),
        Format::Table if rows.is_empty() && !a.follow => writeln!(out, "No audit records found."),
        Format::Table if rows.is_empty() => Ok(()),
        Format::Table => out.write_all(
            table(ctx, rows, a.follow)
                .render(ctx.width, ctx.color)
                .as_bytes(),
        ),
    }
}

pub(super) fn print_rows(
    ctx: &Ctx,
    rows: &[AuditRow],
    format: Format,
    header: &mut bool,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json | Format::Jsonl => rows
            .iter()
            .try_for_each(|r| output::json_line(&mut out, r))?,
        Format::Table => {
            let text = table(ctx, rows, true).render(ctx.width, ctx.color);
            let body = if *header {
                text.as_str()
            } else {
                text.split_once('\n').map_or("", |(_, rest)| rest)
            };
            out.write_all(body.as_bytes())?;
            *header = false;
        }
    }
    out.flush()
}
