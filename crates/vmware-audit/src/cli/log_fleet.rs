//! `log --source postgres://`: the fleet's newest rows, then (`--follow`)
//! rows as they are committed, in ingest order, through the same filter and
//! the same table and JSON as a local `log`, with a Host column.

use std::time::Duration;

use vmware_policy::audit::Filter;

use super::args::LogArgs;
use super::common::Ctx;
use super::log::{format_of, print_first, print_rows};
use super::{output, signals};
use crate::fleet::connect::Target;
use crate::fleet::reader::FleetReader;

/// Rows read per follow query.
const FOLLOW_BATCH: usize = 1000;

pub fn run(ctx: &Ctx, a: &LogArgs, filter: &Filter, target: &Target) -> i32 {
    let fleet = match FleetReader::open(target) {
        Ok(f) => f,
        Err(e) => return output::fail(&e),
    };
    // The newest ingest sequence first, then rows up to it: the follow starts
    // after it, so no row is both printed and followed, and none is missed.
    let start = match fleet.max_seq() {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    let first = Filter {
        before_id: Some(start + 1),
        ..filter.clone()
    };
    let mut rows = match fleet.latest(&first, a.last) {
        Ok(r) => r,
        Err(e) => return output::fail(&e),
    };
    rows.reverse();
    let format = format_of(a);
    if print_first(ctx, a, &rows, format).is_err() {
        return 0; // a closed pipe
    }
    if !a.follow {
        return 0;
    }
    signals::catch();
    let mut seq = start;
    let mut header = rows.is_empty();
    let mut down = false;
    while !signals::stopping() {
        signals::sleep(Duration::from_millis(250));
        loop {
            let batch = match fleet.after(seq, filter, FOLLOW_BATCH) {
                Ok(b) => {
                    if std::mem::take(&mut down) {
                        eprintln!("vmware-audit: {} reachable again", target.shown);
                    }
                    b
                }
                Err(e) => {
                    if !std::mem::replace(&mut down, true) {
                        eprintln!("vmware-audit: {e}; retrying");
                    }
                    break;
                }
            };
            let full = batch.len() >= FOLLOW_BATCH;
            if let Some((s, _)) = batch.last() {
                seq = *s;
            }
            let rows: Vec<_> = batch.into_iter().map(|(_, r)| r).collect();
            if print_rows(ctx, &rows, format, &mut header).is_err() {
                return 0;
            }
            if !full {
                break;
            }
        }
    }
    0
}
