//! Step 2 of a rotation: the archived rows leave the live file, with SQLite's
//! write lock held for tens of milliseconds at any size.
//!
//! Emptying the table frees its pages in one walk of every page, under the
//! lock: 51-89 ms for a file at the usual threshold (130 MB), but 672-720 ms
//! for a 1.6 GB file adopted from a Python package that never rotated it. So
//! above [`STEP_BYTES`] the table is swapped instead, in one short
//! transaction: renamed aside (`audit_log_cut`, which no reader reads), and a
//! fresh `audit_log` made from the same `CREATE TABLE`, with the rows newer
//! than the copy and the AUTOINCREMENT sequence. The old table is then
//! emptied in steps of about 20 ms, each followed by an equal pause so that a
//! waiting writer's busy handler finds the lock free, and dropped once empty.
//! Deleting row by row writes every page of the old table to the WAL once:
//! about 10 s for a 1.4 GB table. So no one call drains it all: each call
//! that finds it (the rotation, a writer's open, a write's rotation check
//! while it is there) drains for at most [`BUDGET`], and no rotation starts
//! until it is gone. Its rows are in the archive already: a crash or a
//! process exit in between loses nothing.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

/// Live bytes above which the table is swapped, not emptied in place: 128 MiB,
/// above the 100 MiB at which both packages rotate by default.
/// `VMWARE_POLICY_STEP_CUT_BYTES` sets another (the tests use 0).
const STEP_BYTES: u64 = 128 << 20;

/// Where the old rows wait to be deleted in steps.
const ASIDE: &str = "audit_log_cut";

/// The time one step of the drain aims to hold the write lock.
const STEP: Duration = Duration::from_millis(20);

/// The longest one call drains (steps and pauses), then leaves the rest.
pub(super) const BUDGET: Duration = Duration::from_millis(200);

fn step_bytes() -> u64 {
    std::env::var("VMWARE_POLICY_STEP_CUT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STEP_BYTES)
}

/// Remove rows `..= last` from the live file (`size` live bytes) in one
/// transaction. `Ok(false)` when the path no longer names the file we hold.
/// The caller runs [`drain`] after naming the archive.
pub(super) fn cut(c: &Connection, last: i64, size: u64) -> rusqlite::Result<bool> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    if super::conn::has_moved(c) {
        c.execute_batch("ROLLBACK")?;
        return Ok(false);
    }
    let result = (|| {
        if size > step_bytes() && swappable(c)? {
            swap(c, last)
        } else {
            empty_in_place(c, last)
        }?;
        // The archive copy keeps the file's uuid; what stays is a new file.
        super::db_uuid::renew(c)
    })();
    match result {
        Ok(()) => c.execute_batch("COMMIT").map(|_| true),
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The table can be swapped when nothing else hangs on it (no index, no
/// trigger: an earlier version's, or a table left from a swap not drained).
fn swappable(c: &Connection) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM sqlite_master
             WHERE (tbl_name = 'audit_log' AND type != 'table') OR name = ?1)",
        [ASIDE],
        |r| r.get(0),
    )
}

/// The whole table emptied (no WHERE and no DELETE trigger: SQLite frees its
/// pages wholesale) and the few newer rows put back with their ids.
fn empty_in_place(c: &Connection, last: i64) -> rusqlite::Result<()> {
    let rollups: i64 = c.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_rollup_status'",
        [],
        |r| r.get(0),
    )?;
    c.execute_batch(
        "DROP TABLE IF EXISTS temp.rotate_keep;
         CREATE TEMP TABLE rotate_keep AS SELECT * FROM main.audit_log WHERE 0;",
    )?;
    c.execute(
        "INSERT INTO temp.rotate_keep SELECT * FROM main.audit_log WHERE id > ?1",
        [last],
    )?;
    c.execute_batch("DELETE FROM main.audit_log")?;
    if rollups > 0 {
        // Every row left is re-inserted below, and the trigger counts it.
        c.execute_batch(
            "DELETE FROM audit_rollup_status; DELETE FROM audit_rollup_tool; DELETE FROM audit_rollup_agent;",
        )?;
    }
    c.execute_batch(
        "INSERT INTO main.audit_log SELECT * FROM temp.rotate_keep;
         DROP TABLE temp.rotate_keep;",
    )
}

/// The table renamed aside and made again from its own `CREATE TABLE`, with
/// the rows after `last` and the sequence (ids go on increasing).
fn swap(c: &Connection, last: i64) -> rusqlite::Result<()> {
    let ddl: String = c.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'",
        [],
        |r| r.get(0),
    )?;
    let seq: Option<i64> = c
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    // `ASIDE` is a constant.
    c.execute_batch(&format!("ALTER TABLE main.audit_log RENAME TO {ASIDE}"))?;
    // One statement (rusqlite refuses more): the table's definition as SQLite
    // keeps it, columns added later included.
    c.execute(&ddl, [])?;
    c.execute(
        &format!("INSERT INTO main.audit_log SELECT * FROM main.{ASIDE} WHERE id > ?1"),
        [last],
    )?;
    if let Some(seq) = seq {
        c.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'audit_log'",
            [seq],
        )?;
        c.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_log', ?1
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'audit_log')",
            [seq],
        )?;
    }
    Ok(())
}

/// Whether a swapped-aside table waits to be drained.
pub(super) fn pending(c: &Connection) -> bool {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [ASIDE],
        |r| r.get(0),
    )
    .unwrap_or(false)
}

/// Delete the swapped-aside table in short steps for up to `budget`, then
/// drop it once empty. True when nothing is left aside. Best effort: stops
/// when the file is renamed under us or a step fails, and the next call that
/// finds the table goes on from there.
pub(super) fn drain(c: &Connection, budget: Duration) -> bool {
    let begun = Instant::now();
    let mut rows: i64 = 2_000;
    loop {
        if super::conn::has_moved(c) {
            return false;
        }
        let started = Instant::now();
        let Ok(done) = drain_step(c, rows) else {
            let _ = c.execute_batch("ROLLBACK");
            return false;
        };
        if done {
            return true;
        }
        super::rotate::crash_point("drained-once");
        if begun.elapsed() >= budget {
            return false;
        }
        let took = started.elapsed();
        // Aim each step at STEP; rows vary (a result can span pages).
        let ratio = STEP.as_secs_f64() / took.as_secs_f64().max(1e-4);
        rows = ((rows as f64 * ratio.clamp(0.5, 2.0)) as i64).clamp(100, 200_000);
        std::thread::sleep(took.max(Duration::from_millis(5)));
    }
}

/// One step: `rows` of the oldest rows aside deleted, or the table dropped
/// when none are left (true).
fn drain_step(c: &Connection, rows: i64) -> rusqlite::Result<bool> {
    let present: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [ASIDE],
        |r| r.get(0),
    )?;
    if !present {
        return Ok(true);
    }
    c.execute_batch("BEGIN IMMEDIATE")?;
    let first: Option<i64> =
        c.query_row(&format!("SELECT MIN(id) FROM main.{ASIDE}"), [], |r| {
            r.get(0)
        })?;
    let done = match first {
        Some(first) => {
            c.execute(
                &format!("DELETE FROM main.{ASIDE} WHERE id < ?1"),
                [first.saturating_add(rows)],
            )?;
            false
        }
        None => {
            c.execute_batch(&format!("DROP TABLE main.{ASIDE}"))?;
            true
        }
    };
    c.execute_batch("COMMIT")?;
    Ok(done)
}
