//! Each hour's id range, and per hour the count of each value of the columns
//! `stats` counts by. One table per column would do as well; one table keyed
//! by (hour, column, value) keeps a month of a million rows to a few
//! thousand counts, where counting every combination of the five columns at
//! once took a third of a million groups.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::super::filter::Filter;
use super::super::query::{AuditRow, Reader};
use super::ranges::Ranges;
use super::{Sidecar, build, column, plain_chunk, text};

/// The columns counted, in the order they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    Status = 0,
    Skill = 1,
    Tool = 2,
    Agent = 3,
    Risk = 4,
}

impl Col {
    pub const ALL: [Col; 5] = [Col::Status, Col::Skill, Col::Tool, Col::Agent, Col::Risk];

    fn from_i64(v: i64) -> Option<Col> {
        Col::ALL.get(usize::try_from(v).ok()?).copied()
    }

    /// The table column it counts.
    fn name(self) -> &'static str {
        match self {
            Col::Status => "status",
            Col::Skill => "skill",
            Col::Tool => "tool",
            Col::Agent => "agent",
            Col::Risk => "risk_level",
        }
    }

    /// A row with only this column set to `value` (to ask a filter about it).
    fn row(self, value: &str) -> AuditRow {
        let mut r = AuditRow::default();
        let v = value.to_string();
        match self {
            Col::Status => r.status = v,
            Col::Skill => r.skill = v,
            Col::Tool => r.tool = v,
            Col::Agent => r.agent = v,
            Col::Risk => r.risk_level = v,
        }
        r
    }

    /// What of `f` constrains this column alone: a row this selects may be
    /// one `f` selects; a row it refuses never is. (A tool filter under one
    /// skill reaches fewer renamed names; here it reaches them all.)
    fn part_of(self, f: &Filter) -> Filter {
        match self {
            Col::Status => Filter {
                statuses: f.statuses.clone(),
                not_statuses: f.not_statuses.clone(),
                ..Filter::default()
            },
            Col::Skill => Filter {
                skills: f.skills.clone(),
                not_skills: f.not_skills.clone(),
                ..Filter::default()
            },
            Col::Tool => Filter {
                tools: f.tools.clone(),
                // Excluding every renamed name would refuse too much.
                not_tools: if f.skills.len() == 1 {
                    Vec::new()
                } else {
                    f.not_tools.clone()
                },
                ..Filter::default()
            },
            Col::Agent => Filter {
                agents: f.agents.clone(),
                not_agents: f.not_agents.clone(),
                ..Filter::default()
            },
            Col::Risk => Filter {
                risks: f.risks.clone(),
                not_risks: f.not_risks.clone(),
                ..Filter::default()
            },
        }
    }
}

/// How many rows of one hour have one value in one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColCount {
    pub hour: String,
    pub col: Col,
    pub value: String,
    pub n: u64,
}

#[derive(Default)]
struct HourAcc {
    min_id: i64,
    max_id: i64,
    counts: [HashMap<String, u64>; 5],
}

/// Fold the rows after the rollups' mark in. Returns the mark reached.
pub(super) fn update(
    conn: &Connection,
    reader: &Reader,
    progress: &mut dyn FnMut(u64, u64),
) -> rusqlite::Result<i64> {
    let cols: Vec<String> = Col::ALL.iter().map(|c| column(reader, c.name())).collect();
    // Column names are constants (or '' for one an old database lacks).
    let sql = format!(
        "SELECT id, substr(CAST(ts AS TEXT), 1, 13), {} FROM audit_log WHERE id > ?1 AND id <= ?2",
        cols.join(", ")
    );
    let mut read = reader.conn().prepare(&sql)?;
    build(
        conn,
        reader,
        "rollup_to",
        plain_chunk,
        progress,
        |c, from, to| {
            let mut hours: HashMap<String, HourAcc> = HashMap::new();
            let mut rows = read.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let hour = text(r.get_ref(1)?);
                let acc = match hours.get_mut(hour.as_ref()) {
                    Some(a) => a,
                    None => hours.entry(hour.into_owned()).or_insert(HourAcc {
                        min_id: id,
                        max_id: id,
                        ..HourAcc::default()
                    }),
                };
                acc.min_id = acc.min_id.min(id);
                acc.max_id = acc.max_id.max(id);
                for (i, counts) in acc.counts.iter_mut().enumerate() {
                    let v = text(r.get_ref(2 + i)?);
                    match counts.get_mut(v.as_ref()) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(v.into_owned(), 1);
                        }
                    }
                }
            }
            let mut hour_st = c.prepare_cached(
                "INSERT INTO hours VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET \
                 min_id = min(min_id, excluded.min_id), max_id = max(max_id, excluded.max_id)",
            )?;
            let mut count_st = c.prepare_cached(
                "INSERT INTO cols VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET n = n + excluded.n",
            )?;
            for (hour, acc) in &hours {
                hour_st.execute(params![hour, acc.min_id, acc.max_id])?;
                for (i, counts) in acc.counts.iter().enumerate() {
                    for (value, n) in counts {
                        count_st.execute(params![hour, i as i64, value, *n as i64])?;
                    }
                }
            }
            Ok(())
        },
    )
}

impl Sidecar {
    /// The counts of the hours after `hour` (all with `None`).
    pub fn counts_after(&self, hour: Option<&str>) -> rusqlite::Result<Vec<ColCount>> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT hour, col, value, n FROM cols WHERE hour > ?1")?;
        let rows = st.query_map([hour.unwrap_or("")], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hour, col, value, n) = row?;
            if let Some(col) = Col::from_i64(col) {
                out.push(ColCount {
                    hour,
                    col,
                    value,
                    n: n.max(0) as u64,
                });
            }
        }
        Ok(out)
    }

    /// The lowest id of the rows of `hour` and every later hour, if any.
    pub fn first_id_from(&self, hour: &str) -> rusqlite::Result<Option<i64>> {
        self.conn().query_row(
            "SELECT MIN(min_id) FROM hours WHERE hour >= ?1",
            [hour],
            |r| r.get(0),
        )
    }

    /// The ids of the rows of `hour` (`2026-11-21T20`), if it has any.
    pub fn hour_ids(&self, hour: &str) -> rusqlite::Result<Option<(i64, i64)>> {
        self.conn()
            .query_row(
                "SELECT min_id, max_id FROM hours WHERE hour = ?1",
                [hour],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// The id ranges of the hours from `since`'s hour on in which every
    /// column `filter` names has a value it selects: the only rows up to
    /// [`Sidecar::indexed_to`] it can select. `None` when `filter` names none
    /// of them and has no `since` (every row can).
    pub(super) fn hour_ranges(&self, filter: &Filter) -> rusqlite::Result<Option<Ranges>> {
        let parts: Vec<(Col, Filter)> = Col::ALL
            .iter()
            .map(|c| (*c, c.part_of(filter)))
            .filter(|(_, f)| !f.is_empty())
            .collect();
        if parts.is_empty() && filter.since.is_none() {
            return Ok(None);
        }
        let from: String = filter
            .since
            .as_deref()
            .map(|s| s.chars().take(13).collect())
            .unwrap_or_default();
        // Each hour that can hold such rows, with its ids.
        let mut st = self
            .conn()
            .prepare_cached("SELECT hour, min_id, max_id FROM hours WHERE hour >= ?1")?;
        let mut hours: HashMap<String, (i64, i64, usize)> = st
            .query_map([&from], |r| {
                Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, 0usize)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut values = self
            .conn()
            .prepare_cached("SELECT hour, value FROM cols WHERE col = ?1 AND hour >= ?2")?;
        for (col, part) in &parts {
            let mut verdict: HashMap<String, bool> = HashMap::new();
            let mut rows = values.query(params![*col as i64, &from])?;
            let mut seen_in: std::collections::HashSet<String> = Default::default();
            while let Some(r) = rows.next()? {
                let hour: String = r.get(0)?;
                let value: String = r.get(1)?;
                let ok = *verdict
                    .entry(value)
                    .or_insert_with_key(|v| part.matches(&col.row(v)));
                if ok {
                    seen_in.insert(hour);
                }
            }
            for (hour, h) in hours.iter_mut() {
                if seen_in.contains(hour) {
                    h.2 += 1;
                }
            }
        }
        let mut ranges: Vec<(i64, i64)> = hours
            .into_values()
            .filter(|(_, _, n)| *n == parts.len())
            .map(|(lo, hi, _)| (lo, hi))
            .collect();
        ranges.sort_unstable();
        Ok(Some(Ranges::merged(ranges, 0)))
    }
}
