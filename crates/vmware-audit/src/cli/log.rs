//! `vmware-audit log`: recent entries as a table (oldest first, newest at the
//! bottom), JSON or JSON lines; `--follow` keeps printing new ones, across a
//! rotation of the database, until Ctrl-C.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let tool_fixed = ctx
        .width
        .saturating_sub(14 + 10 + 12 + 8 + 6 + 7 + 10 + 6 + 16)
        .clamp(12, 40);
    Table {
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
    }
}

pub fn run(ctx: &Ctx, a: &LogArgs) -> i32 {
    let filter = match a.filter.to_filter() {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    if a.follow && !ctx.db.exists() {
        // As `tail -F` and the TUI: wait for the first skill to create it.
        eprintln!(
            "vmware-audit: {} does not exist yet; waiting for it (Ctrl-C ends)",
            vmware_policy::safe_text::term_safe(&ctx.db.display().to_string())
        );
        let format = if a.json {
            Format::Jsonl
        } else {
            Format::of(a.json, a.jsonl)
        };
        return follow(ctx, &filter, 0, format, true);
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
    // Followed rows arrive one at a time: with --follow, JSON is JSON lines.
    let format = if a.follow && a.json {
        Format::Jsonl
    } else {
        Format::of(a.json, a.jsonl)
    };
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => output::json_array(&mut out, &rows),
        Format::Jsonl => rows.iter().try_for_each(|r| output::json_line(&mut out, r)),
        Format::Table if rows.is_empty() && !a.follow => writeln!(out, "No audit records found."),
        Format::Table if rows.is_empty() => Ok(()),
        Format::Table => out.write_all(
            table(ctx, &rows, a.follow)
                .render(ctx.width, ctx.color)
                .as_bytes(),
        ),
    };
    if written.is_err() {
        return 0; // a closed pipe (`| head`) is not an error
    }
    drop(out);
    if a.follow {
        return follow(ctx, &filter, start_id.unwrap_or(0), format, rows.is_empty());
    }
    0
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Ctrl-C (and SIGTERM) end the follow cleanly: the current batch is finished.
fn catch_interrupt() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

fn follow(ctx: &Ctx, filter: &Filter, start: i64, format: Format, need_header: bool) -> i32 {
    catch_interrupt();
    let mut tail = Tail::new(&ctx.db, start);
    let mut header = need_header;
    while !STOP.load(Ordering::Relaxed) {
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

fn print_rows(
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
