//! Which blocks of 4 ids hold each value of status, skill, tool, agent and
//! risk: per (column, segment, value) a bitmap of blocks. A filter on two
//! common values (a rare tool's denied calls, a skill's errors) reads only
//! the blocks holding both, where the hourly counts would read every hour
//! that holds each. Folded in with the counts, in the same pass; a month of a
//! million rows is under a megabyte.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::super::filter::Filter;
use super::Sidecar;
use super::blocks;

/// Blocks of 4 ids: a value is stored for few enough combinations that
/// finer blocks cost little (4 KB a bitmap), and a block of 16 rows holding
/// both of two values usually holds neither together.
const SHIFT: u32 = 2;
const WORDS: usize = blocks::words(SHIFT);
type Bits = [u64; WORDS];
/// Per column, per value's number, its bitmap if the value was seen.
type SegBits = [Vec<Option<Box<Bits>>>; 5];
use super::rollup::{Col, Values};

const GET: &str = "SELECT bits FROM vals WHERE col = ?1 AND value = ?2 AND seg = ?3";
const PUT: &str = "INSERT OR REPLACE INTO vals (col, value, seg, bits) VALUES (?1, ?2, ?3, ?4)";

/// One chunk's bitmaps, before they are stored.
#[derive(Default)]
pub(super) struct ValBits {
    /// Per segment (ascending, as ids are read), per column, per value's
    /// number in its [`Values`].
    segs: Vec<(i64, SegBits)>,
}

impl ValBits {
    /// Note that row `id` has value number `value` in column `col`.
    pub(super) fn add(&mut self, id: i64, col: usize, value: usize) {
        let seg = blocks::segment(id);
        if self.segs.last().is_none_or(|(s, _)| *s != seg) {
            self.segs.push((seg, Default::default()));
        }
        let Some((_, cols)) = self.segs.last_mut() else {
            return;
        };
        let list = &mut cols[col];
        if list.len() <= value {
            list.resize_with(value + 1, || None);
        }
        blocks::set(
            list[value]
                .get_or_insert_with(|| Box::new([0u64; WORDS]))
                .as_mut_slice(),
            id,
            SHIFT,
        );
    }

    /// Store them, OR'd into what earlier chunks stored.
    pub(super) fn save(self, conn: &Connection, values: &[Values; 5]) -> rusqlite::Result<()> {
        for (seg, cols) in &self.segs {
            for (col, list) in cols.iter().enumerate() {
                let c = col as i64;
                for (v, bits) in list.iter().enumerate() {
                    if let Some(bits) = bits {
                        let value = &values[col].names[v];
                        blocks::merge_into(conn, GET, PUT, &[&c, value, seg], &bits[..])?;
                        conn.prepare_cached("INSERT OR IGNORE INTO vnames VALUES (?1, ?2)")?
                            .execute(params![c, value])?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sidecar {
    /// The blocks of ids up to [`Sidecar::indexed_to`] in which every column
    /// `filter` names has a value it selects. `None` when it names none.
    pub(super) fn value_ranges(
        &self,
        filter: &Filter,
    ) -> rusqlite::Result<Option<super::ranges::Ranges>> {
        let parts: Vec<(Col, Filter)> = Col::ALL
            .iter()
            .map(|c| (*c, c.part_of(filter)))
            .filter(|(_, f)| !f.is_empty())
            .collect();
        if parts.is_empty() {
            return Ok(None);
        }
        // The values first (a small table), then the bitmaps of those a
        // column selects: a rare tool reads its own bitmaps, not every tool's.
        let mut names = self
            .conn()
            .prepare_cached("SELECT value FROM vnames WHERE col = ?1")?;
        let mut bitmaps = self
            .conn()
            .prepare_cached("SELECT seg, bits FROM vals WHERE col = ?1 AND value = ?2")?;
        // Per segment: the blocks every column so far allows.
        let mut acc: HashMap<i64, Bits> = HashMap::new();
        for (n, (col, part)) in parts.iter().enumerate() {
            let c = *col as i64;
            let selected: Vec<String> = names
                .query_map([c], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter(|v| part.matches(&col.row(v)))
                .collect();
            let mut this: HashMap<i64, Bits> = HashMap::new();
            for value in &selected {
                let mut rows = bitmaps.query(params![c, value])?;
                while let Some(r) = rows.next()? {
                    let seg: i64 = r.get(0)?;
                    if n > 0 && !acc.contains_key(&seg) {
                        continue;
                    }
                    let mut bits = [0u64; WORDS];
                    blocks::read_blob(r.get_ref(1)?.as_blob()?, &mut bits);
                    let into = this.entry(seg).or_insert([0; WORDS]);
                    for (x, b) in into.iter_mut().zip(bits) {
                        *x |= b;
                    }
                }
            }
            if n > 0 {
                for (seg, bits) in this.iter_mut() {
                    if let Some(prev) = acc.get(seg) {
                        for (x, p) in bits.iter_mut().zip(prev) {
                            *x &= p;
                        }
                    }
                }
            }
            acc = this;
        }
        let mut segs: Vec<i64> = acc.keys().copied().collect();
        segs.sort_unstable();
        let mut found = Vec::new();
        for seg in segs {
            blocks::ranges_of(seg, &acc[&seg], SHIFT, &mut found);
        }
        Ok(Some(super::ranges::Ranges::merged(found, 0)))
    }
}
