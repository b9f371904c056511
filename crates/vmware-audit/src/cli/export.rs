//! `vmware-audit export`: rows for machines, newest first (as the Python CLI),
//! streamed in constant memory whatever the row count.

use std::io::{BufWriter, Write};

use vmware_policy::audit::Order;

use super::args::{ExportArgs, ExportFormat};
use super::common::{Ctx, sqlite_error};
use super::output::{self, CSV_HEADER, JsonArray};

pub fn run(ctx: &Ctx, a: &ExportArgs) -> i32 {
    let filter = match a.filter.to_filter() {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    let history = match ctx.open_history(a.filter.archives) {
        Ok(h) => h,
        Err(e) => return output::fail(&e),
    };
    super::common::warn_unknown_values(&filter, &history);
    let limit = (a.limit > 0).then_some(a.limit);
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut io: std::io::Result<()> = Ok(());
    let mut array = JsonArray::default();
    if a.format == ExportFormat::Csv {
        io = out.write_all(CSV_HEADER.as_bytes());
    }
    let read = history.for_each(&filter, Order::NewestFirst, limit, |row| {
        io = match a.format {
            ExportFormat::Json => array.push(&mut out, &row),
            ExportFormat::Jsonl => output::json_line(&mut out, &row),
            ExportFormat::Csv => output::csv_row(&mut out, &row, ctx.tty),
        };
        io.is_ok()
    });
    if let Err(e) = read {
        let _ = out.flush();
        return output::fail(&sqlite_error(&e, &ctx.db));
    }
    if io.is_ok() && a.format == ExportFormat::Json {
        io = array.finish(&mut out);
    }
    // A closed pipe (`| head`) is the reader's choice, not an error.
    let _ = io.and_then(|_| out.flush());
    0
}
