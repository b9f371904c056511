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
use super::vals::ValBits;
use super::{Sidecar, build, column, plain_chunk, raw, text};

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
    pub(super) fn row(self, value: &str) -> AuditRow {
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
    pub(super) fn part_of(self, f: &Filter) -> Filter {
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

#[derive(Default)]
struct HourAcc {
    min_id: i64,
    max_id: i64,
    /// Per column, the count of each value, by its number in [`Values`].
    counts: [Vec<u64>; 5],
}

/// The values of one column seen in a chunk, numbered. The last one is
/// remembered: neighbouring rows often share it, and then a row costs a
/// comparison instead of a hash. Keyed by the stored bytes, with a fast
/// seeded hasher: hashing with SipHash and checking each value's UTF-8 cost
/// a first build about a tenth of its time; a value is made text once, when first
/// seen (two invalid byte strings may then share a name: their counts and
/// bitmaps add up when stored, as one value's would).
#[derive(Default)]
pub(super) struct Values {
    index: HashMap<Box<[u8]>, usize, foldhash::fast::RandomState>,
    pub(super) names: Vec<String>,
    last: Option<usize>,
}

impl Values {
    pub(super) fn number(&mut self, v: &[u8]) -> usize {
        // (A value that is not UTF-8 never equals its name: it is looked up.)
        if let Some(i) = self.last
            && self.names[i].as_bytes() == v
        {
            return i;
        }
        let i = match self.index.get(v) {
            Some(i) => *i,
            None => {
                let i = self.names.len();
                self.names.push(String::from_utf8_lossy(v).into_owned());
                self.index.insert(v.into(), i);
                i
            }
        };
        self.last = Some(i);
        i
    }
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
            let mut hour_names = Values::default();
            let mut hours: Vec<HourAcc> = Vec::new();
            let mut values: [Values; 5] = Default::default();
            let mut vals = ValBits::default();
            let mut rows = read.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let h = hour_names.number(&raw(r.get_ref(1)?));
                if h == hours.len() {
                    hours.push(HourAcc {
                        min_id: id,
                        max_id: id,
                        ..HourAcc::default()
                    });
                }
                let acc = &mut hours[h];
                acc.min_id = acc.min_id.min(id);
                acc.max_id = acc.max_id.max(id);
                for (i, counts) in acc.counts.iter_mut().enumerate() {
                    let v = values[i].number(&raw(r.get_ref(2 + i)?));
                    vals.add(id, i, v);
                    if counts.len() <= v {
                        counts.resize(v + 1, 0);
                    }
                    counts[v] += 1;
                }
            }
            let mut hour_st = c.prepare_cached(
                "INSERT INTO hours VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET \
                 min_id = min(min_id, excluded.min_id), max_id = max(max_id, excluded.max_id)",
            )?;
            let mut count_st = c.prepare_cached(
                "INSERT INTO cols VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET n = n + excluded.n",
            )?;
            for (hour, acc) in hour_names.names.iter().zip(&hours) {
                hour_st.execute(params![hour, acc.min_id, acc.max_id])?;
                for (i, counts) in acc.counts.iter().enumerate() {
                    for (v, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                        let value = &values[i].names[v];
                        count_st.execute(params![hour, i as i64, value, *n as i64])?;
                    }
                }
            }
            vals.save(c, &values)
        },
    )
}

impl Sidecar {
    /// The counts of the hours after `hour` (all with `None`), each lent to
    /// `visit(hour, col, value, n)`: a month holds tens of thousands of
    /// counts, and two strings allocated for each were a third of a later
    /// `stats` run.
    pub fn for_each_count_after(
        &self,
        hour: Option<&str>,
        mut visit: impl FnMut(&str, Col, &str, u64),
    ) -> rusqlite::Result<()> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT hour, col, value, n FROM cols WHERE hour > ?1")?;
        let mut rows = st.query([hour.unwrap_or("")])?;
        while let Some(r) = rows.next()? {
            if let Some(col) = Col::from_i64(r.get(1)?) {
                let n = r.get::<_, i64>(3)?.max(0) as u64;
                visit(&text(r.get_ref(0)?), col, &text(r.get_ref(2)?), n);
            }
        }
        Ok(())
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

    /// The id ranges of the hours from `since`'s hour on: the only rows up
    /// to [`Sidecar::indexed_to`] a filter with `since` can select (ids are
    /// not in time order across writers, hours are kept whole). `None`
    /// without a `since`.
    pub(super) fn hour_ranges(&self, filter: &Filter) -> rusqlite::Result<Option<Ranges>> {
        let Some(since) = filter.since.as_deref() else {
            return Ok(None);
        };
        let from: String = since.chars().take(13).collect();
        let mut st = self
            .conn()
            .prepare_cached("SELECT min_id, max_id FROM hours WHERE hour >= ?1")?;
        let mut ranges: Vec<(i64, i64)> = st
            .query_map([&from], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        ranges.sort_unstable();
        Ok(Some(Ranges::merged(ranges, 0)))
    }
}
