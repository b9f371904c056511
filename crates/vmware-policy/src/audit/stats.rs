//! Aggregates over a filtered history: what `stats` prints and the TUI charts.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use rusqlite::types::ValueRef;

use super::filter::Filter;
use super::history::History;
use super::query::Reader;
use super::sidecar::{Col, Sidecar};

/// Time buckets of the calls-over-time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

impl Bucket {
    /// Characters of the `ts` text that name the bucket (`2026-11-21T20` for an hour).
    pub fn prefix_len(self) -> i64 {
        match self {
            Bucket::Minute => 16,
            Bucket::Hour => 13,
            Bucket::Day => 10,
        }
    }
}

/// Counts by one dimension, largest first (ties by name).
pub type Counts = Vec<(String, u64)>;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub total: u64,
    /// Rows whose status starts with `denied`.
    pub denied: u64,
    pub errors: u64,
    pub by_status: Counts,
    pub by_skill: Counts,
    pub by_tool: Counts,
    pub by_agent: Counts,
    pub by_risk: Counts,
    /// (bucket label, calls, denied), oldest first; only buckets with calls.
    pub series: Vec<(String, u64, u64)>,
    /// By host: the fleet's rows only (a local file's rows have no host).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_host: Counts,
}

impl Stats {
    /// Denied calls as a fraction of all calls (0 when there are none).
    pub fn denied_rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.denied as f64 / self.total as f64
        }
    }
}

#[derive(Default)]
struct Acc {
    status: HashMap<String, u64>,
    skill: HashMap<String, u64>,
    tool: HashMap<String, u64>,
    agent: HashMap<String, u64>,
    risk: HashMap<String, u64>,
    series: HashMap<String, (u64, u64)>,
    host: HashMap<String, u64>,
}

/// One group of rows as a store other than SQLite counts them (the fleet's
/// PostgreSQL groups by these columns too).
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    pub status: &'a str,
    pub skill: &'a str,
    pub tool: &'a str,
    pub agent: &'a str,
    pub risk: &'a str,
    /// The first [`Bucket::prefix_len`] characters of `ts`.
    pub bucket: &'a str,
    pub host: &'a str,
    pub n: u64,
}

/// [`Stats`] built from groups, so another store's counts mean exactly what
/// the local file's do (the same denied/error rules, the same ordering).
#[derive(Default)]
pub struct Tally(Acc);

impl Tally {
    pub fn add(&mut self, g: Group<'_>) {
        add_group(
            &mut self.0,
            g.status,
            g.skill,
            g.tool,
            g.agent,
            g.risk,
            g.bucket,
            g.host,
            g.n,
        );
    }

    pub fn finish(self) -> Stats {
        finish(self.0)
    }
}

/// Aggregate the rows `filter` selects across `history`.
///
/// By hour or day, with no filter but `since`, each file's sidecar is brought
/// up to date and its per-hour counts read, with the raw rows of the first,
/// partial hour and of what was written since. With a filter, the rows of
/// the stretches of ids the sidecar says can hold them are grouped in
/// SQLite; without a usable sidecar, all of them, one pass per file.
pub fn compute(history: &History, filter: &Filter, bucket: Bucket) -> rusqlite::Result<Stats> {
    compute_with_progress(history, filter, bucket, &mut |_, _| {})
}

/// [`compute`], telling `progress(done, total)` while a sidecar's backlog is
/// built (the first run on a large file).
pub fn compute_with_progress(
    history: &History,
    filter: &Filter,
    bucket: Bucket,
    progress: &mut dyn FnMut(u64, u64),
) -> rusqlite::Result<Stats> {
    let mut acc = Acc::default();
    let by_counts = bucket != Bucket::Minute
        && *filter
            == (Filter {
                since: filter.since.clone(),
                ..Filter::default()
            });
    for reader in history.readers() {
        if by_counts && let Some(side) = Sidecar::refreshed(reader, progress) {
            from_sidecar(reader, &side, filter, bucket, &mut acc)?;
        } else {
            for part in super::sidecar::narrow_with_progress(reader, filter, progress) {
                scan(reader, &part, bucket, &mut acc)?;
            }
        }
    }
    Ok(finish(acc))
}

/// One file's share from its sidecar: the counts of the hours after the
/// first, the raw rows of that first (partial) hour, found by its id range,
/// and the raw rows written since the sidecar was brought up to date.
fn from_sidecar(
    reader: &Reader,
    side: &Sidecar,
    filter: &Filter,
    bucket: Bucket,
    acc: &mut Acc,
) -> rusqlite::Result<()> {
    let upto = side.indexed_to();
    let first_hour: Option<String> = filter.since.as_ref().map(|s| s.chars().take(13).collect());
    if let Some(h) = &first_hour
        && let Some((lo, hi)) = side.hour_ids(h)?
        && lo <= upto
    {
        let partial = Filter {
            // Every row of that hour, and no row of the next (';' sorts after ':').
            until: Some(format!("{h};")),
            after_id: Some(lo - 1),
            before_id: Some(hi.min(upto) + 1),
            ..filter.clone()
        };
        scan(reader, &partial, bucket, acc)?;
    }
    let len = bucket.prefix_len() as usize;
    // Counts come ordered by hour: the series label is cut once per hour.
    let mut hour_seen = String::new();
    let mut label = String::new();
    side.for_each_count_after(first_hour.as_deref(), |hour, col, value, n| {
        let map = match col {
            Col::Status => {
                if hour != hour_seen {
                    hour_seen.replace_range(.., hour);
                    label = hour.chars().take(len).collect();
                }
                let e = match acc.series.get_mut(&label) {
                    Some(e) => e,
                    None => acc.series.entry(label.clone()).or_default(),
                };
                e.0 += n;
                if value.starts_with("denied") {
                    e.1 += n;
                }
                &mut acc.status
            }
            Col::Skill => &mut acc.skill,
            Col::Tool => &mut acc.tool,
            Col::Agent => &mut acc.agent,
            Col::Risk => &mut acc.risk,
        };
        match map.get_mut(value) {
            Some(c) => *c += n,
            None => {
                map.insert(value.to_string(), n);
            }
        }
    })?;
    let newer = Filter {
        after_id: Some(upto),
        ..filter.clone()
    };
    scan(reader, &newer, bucket, acc)
}

#[allow(clippy::too_many_arguments)]
fn add_group(
    acc: &mut Acc,
    status: &str,
    skill: &str,
    tool: &str,
    agent: &str,
    risk: &str,
    bucket: &str,
    host: &str,
    n: u64,
) {
    let denied = if status.starts_with("denied") { n } else { 0 };
    *acc.status.entry(status.to_string()).or_default() += n;
    *acc.skill.entry(skill.to_string()).or_default() += n;
    *acc.tool.entry(tool.to_string()).or_default() += n;
    *acc.agent.entry(agent.to_string()).or_default() += n;
    *acc.risk.entry(risk.to_string()).or_default() += n;
    if !host.is_empty() {
        *acc.host.entry(host.to_string()).or_default() += n;
    }
    let e = acc.series.entry(bucket.to_string()).or_default();
    e.0 += n;
    e.1 += denied;
}

/// Count one grouped row: status, skill, tool, agent, risk, bucket, count.
fn add_row(acc: &mut Acc, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    let n = r.get::<_, i64>(6)?.max(0) as u64;
    let status = text(r, 0)?;
    let denied = if status.starts_with("denied") { n } else { 0 };
    *acc.status.entry(status).or_default() += n;
    *acc.skill.entry(text(r, 1)?).or_default() += n;
    *acc.tool.entry(text(r, 2)?).or_default() += n;
    *acc.agent.entry(text(r, 3)?).or_default() += n;
    *acc.risk.entry(text(r, 4)?).or_default() += n;
    let e = acc.series.entry(text(r, 5)?).or_default();
    e.0 += n;
    e.1 += denied;
    Ok(())
}

fn text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Null => String::new(),
        ValueRef::Integer(v) => v.to_string(),
        ValueRef::Real(v) => v.to_string(),
        ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    })
}

/// Group the raw rows in SQLite by every dimension at once, so only distinct
/// combinations cross into Rust.
fn scan(reader: &Reader, filter: &Filter, bucket: Bucket, acc: &mut Acc) -> rusqlite::Result<()> {
    let present = reader.columns();
    let col = |c: &str| {
        if present.iter().any(|p| p == c) {
            c.to_string()
        } else {
            "''".to_string()
        }
    };
    let (clause, mut values) = filter.to_sql(present);
    // Column names are constants (or '' for a column an old database lacks).
    let sql = format!(
        "SELECT status, skill, tool, {}, {}, substr(ts, 1, ?), COUNT(*) FROM audit_log{clause} GROUP BY 1, 2, 3, 4, 5, 6",
        col("agent"),
        col("risk_level")
    );
    values.insert(0, SqlValue::Integer(bucket.prefix_len()));
    let mut stmt = reader.conn().prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    while let Some(r) = rows.next()? {
        add_row(acc, r)?;
    }
    Ok(())
}

fn finish(acc: Acc) -> Stats {
    let sorted = |m: HashMap<String, u64>| -> Counts {
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut series: Vec<(String, u64, u64)> = acc
        .series
        .into_iter()
        .map(|(k, (n, d))| (k, n, d))
        .collect();
    series.sort();
    let by_status = sorted(acc.status);
    let total = by_status.iter().map(|(_, n)| n).sum();
    let denied = by_status
        .iter()
        .filter(|(s, _)| s.starts_with("denied"))
        .map(|(_, n)| n)
        .sum();
    let errors = by_status
        .iter()
        .filter(|(s, _)| s.starts_with("error"))
        .map(|(_, n)| n)
        .sum();
    Stats {
        total,
        denied,
        errors,
        by_status,
        by_skill: sorted(acc.skill),
        by_tool: sorted(acc.tool),
        by_agent: sorted(acc.agent),
        by_risk: sorted(acc.risk),
        series,
        by_host: sorted(acc.host),
    }
}
