//! `vmware-audit export`: rows for machines, newest first (as the Python CLI),
//! streamed in constant memory whatever the row count.

use std::io::{BufWriter, Write};

use vmware_policy::audit::{AuditRow, Filter, Order};

use super::args::{ExportArgs, ExportFormat};
use super::common::Ctx;
use super::output::{self, CSV_HEADER, JsonArray};
use super::source::Source;

/// What is written to the output at a time.
const CHUNK: usize = 1 << 16;

/// Stream the rows `filter` selects (newest first, at most `limit`, those
/// `keep` accepts) to `out` in `format`: `export` and the TUI's export both
/// write through here. Returns the rows written.
pub fn write_rows(
    source: &Source,
    filter: &Filter,
    format: ExportFormat,
    limit: Option<usize>,
    tty: bool,
    keep: &dyn Fn(&AuditRow) -> bool,
    out: &mut impl Write,
) -> Result<u64, WriteError> {
    let mut io: std::io::Result<()> = Ok(());
    let mut array = JsonArray::default();
    let mut n = 0u64;
    if format == ExportFormat::Csv {
        io = out.write_all(if source.is_fleet() {
            output::CSV_HEADER_FLEET.as_bytes()
        } else {
            CSV_HEADER.as_bytes()
        });
    }
    // Rows are composed straight into one chunk, written out when it is full:
    // the output (840 MB for a million rows) is copied once less.
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + (CHUNK >> 2));
    let read = source.for_each(filter, Order::NewestFirst, limit, |row| {
        if !keep(row) {
            return true;
        }
        n += 1;
        match format {
            ExportFormat::Json => array.push_into(&mut chunk, row),
            ExportFormat::Jsonl => output::json_line_into(&mut chunk, row),
            ExportFormat::Csv => {
                // A Vec takes every write.
                let _ = output::csv_row(&mut chunk, row, tty);
            }
        }
        if chunk.len() >= CHUNK {
            io = out.write_all(&chunk);
            chunk.clear();
            // A huge row grew it: back to its size, not kept for the rest.
            chunk.shrink_to(CHUNK + (CHUNK >> 2));
        }
        io.is_ok()
    });
    read.map_err(WriteError::Read)?;
    if io.is_ok() {
        io = out.write_all(&chunk);
    }
    if io.is_ok() && format == ExportFormat::Json {
        io = array.finish(out);
    }
    io.and_then(|_| out.flush()).map_err(WriteError::Write)?;
    Ok(n)
}

#[derive(Debug)]
pub enum WriteError {
    /// Reading failed: said as an operator should read it.
    Read(String),
    Write(std::io::Error),
}

pub fn run(ctx: &Ctx, a: &ExportArgs) -> i32 {
    let filter = match a.filter.to_filter() {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    let source = match ctx.open_source(a.filter.archives, &filter) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    source.warn_unknown_values(&filter);
    let limit = (a.limit > 0).then_some(a.limit);
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write_rows(
        &source,
        &filter,
        a.format,
        limit,
        ctx.tty,
        &|_| true,
        &mut out,
    ) {
        Err(WriteError::Read(e)) => output::fail(&e),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(WriteError::Write(_)) | Ok(_) => 0,
    }
}
