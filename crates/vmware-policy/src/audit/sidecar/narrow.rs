//! A filter as the few stretches of ids that can hold its rows: what every
//! part of the sidecar says, intersected, then everything written since.

use super::super::filter::Filter;
use super::super::query::Reader;
use super::Sidecar;
use super::ranges::Ranges;

/// At most this many ranges, each one query: past it, the nearest are
/// merged (reading the few ids between costs less than more queries).
const MAX_RANGES: usize = 1_000;

/// The id ranges of the file `reader` reads that can hold rows `filter`
/// selects, as filters, oldest first; together they select exactly the rows
/// `filter` does. `filter` as it is when no part of the sidecar can narrow it,
/// or no sidecar can be used.
///
/// - `since`: the hours from its hour on;
/// - lists of status, skill, tool, agent or risk values: the blocks of 4
///   ids in which each column has a value selected;
/// - workflow and correlation ids: the ids listed for them;
/// - `contains` (3 characters or more): the blocks holding its trigrams;
/// - and the rows written since the parts used were brought up to date.
pub fn narrow(reader: &Reader, filter: &Filter) -> Vec<Filter> {
    narrow_with_progress(reader, filter, &mut |_, _| {})
}

/// [`narrow`], telling `progress(done, total)` while a part is first built.
pub fn narrow_with_progress(
    reader: &Reader,
    filter: &Filter,
    progress: &mut dyn FnMut(u64, u64),
) -> Vec<Filter> {
    if !could_narrow(filter) {
        return vec![filter.clone()];
    }
    let Some(side) = Sidecar::refreshed(reader, progress) else {
        return vec![filter.clone()];
    };
    match ranges(&side, reader, filter, progress) {
        Ok(Some((ranges, upto))) => as_filters(filter, &ranges, upto),
        _ => vec![filter.clone()],
    }
}

fn could_narrow(f: &Filter) -> bool {
    f.since.is_some()
        || !f.workflow_ids.is_empty()
        || !f.correlation_ids.is_empty()
        || f.contains.as_ref().is_some_and(|c| c.len() >= 3)
        || [
            &f.statuses,
            &f.skills,
            &f.tools,
            &f.agents,
            &f.risks,
            &f.not_statuses,
            &f.not_skills,
            &f.not_tools,
            &f.not_agents,
            &f.not_risks,
        ]
        .iter()
        .any(|l| !l.is_empty())
}

/// The ids up to the returned mark that can hold `filter`'s rows. `None`:
/// no part narrows it.
fn ranges(
    side: &Sidecar,
    reader: &Reader,
    filter: &Filter,
    progress: &mut dyn FnMut(u64, u64),
) -> rusqlite::Result<Option<(Ranges, i64)>> {
    let mut parts: Vec<(Ranges, i64)> = Vec::new();
    if let Some(r) = side.hour_ranges(filter)? {
        parts.push((r, side.indexed_to()));
    }
    if let Some(r) = side.value_ranges(filter)? {
        parts.push((r, side.indexed_to()));
    }
    if let Some(p) = side.keyed_ranges(reader, filter, progress)? {
        parts.push(p);
    }
    if let Some(needle) = &filter.contains
        && let Some(p) = side.gram_ranges(reader, needle, progress)?
    {
        parts.push(p);
    }
    let Some(upto) = parts.iter().map(|(_, to)| *to).min() else {
        return Ok(None);
    };
    let mut parts = parts.into_iter().map(|(r, _)| r.up_to(upto));
    let first = parts.next().unwrap_or_else(|| Ranges::merged([], 0));
    let all = parts.fold(first, |acc, r| acc.intersect(&r));
    Ok(Some((all, upto)))
}

fn as_filters(filter: &Filter, ranges: &Ranges, upto: i64) -> Vec<Filter> {
    let mut ranges = ranges.clone();
    let mut gap = 16;
    while ranges.len() > MAX_RANGES {
        ranges = Ranges::merged(ranges.as_slice().iter().copied(), gap);
        gap *= 2;
    }
    let bounded = |lo: i64, hi: Option<i64>| Filter {
        after_id: Some(filter.after_id.map_or(lo - 1, |a| a.max(lo - 1))),
        before_id: match (filter.before_id, hi) {
            (Some(b), Some(h)) => Some(b.min(h + 1)),
            (b, h) => b.or(h.map(|h| h + 1)),
        },
        ..filter.clone()
    };
    let mut out: Vec<Filter> = ranges
        .as_slice()
        .iter()
        .map(|(lo, hi)| bounded(*lo, Some(*hi)))
        .collect();
    // What the parts have not seen yet.
    out.push(bounded(upto.saturating_add(1), None));
    out.retain(|r| match (r.after_id, r.before_id) {
        (Some(a), Some(b)) => a.saturating_add(1) < b,
        _ => true,
    });
    out
}
