//! Which blocks of 16 ids hold each trigram of a row's tool, params and
//! result (ASCII case folded): a substring search reads only the blocks that
//! hold every trigram of what it looks for. Stored bit-sliced: one bitmap of
//! blocks per (segment of 2^17 ids, trigram hash), 1 KB each, so a search
//! reads a few rows per segment and the whole costs 32 bytes per row. A
//! trigram is hashed to 12 bits: a block can be read for nothing, a block
//! holding a match is never skipped. Blocks are small because what operators
//! search for rarely (an object id, a name with digits) is made of trigrams
//! that are common one by one: in blocks of 256 rows every digit trigram is
//! everywhere. Built when a search first needs it.

use rusqlite::{OptionalExtension, params};

use super::super::query::Reader;
use super::blocks::{self, SEG_SHIFT};

/// Blocks of 16 ids.
const SHIFT: u32 = 4;
const WORDS: usize = blocks::words(SHIFT);
use super::ranges::Ranges;
use super::{Sidecar, build, column, text};

const HASH_BITS: u32 = 12;
const HASHES: usize = 1 << HASH_BITS;

fn hash(trigram: u32) -> usize {
    (trigram.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

fn key(seg: i64, h: usize) -> i64 {
    seg * HASHES as i64 + h as i64
}

/// The hash of every trigram of `bytes`, ASCII case folded.
fn each_hash(bytes: &[u8], mut f: impl FnMut(usize)) {
    let mut t: u32 = 0;
    for (i, b) in bytes.iter().enumerate() {
        t = ((t << 8) | u32::from(b.to_ascii_lowercase())) & 0x00FF_FFFF;
        if i >= 2 {
            f(hash(t));
        }
    }
}

fn segment_end(from: i64, _newest: i64) -> i64 {
    (((from + 1) >> SEG_SHIFT) + 1).saturating_mul(1 << SEG_SHIFT) - 1
}

const GET: &str = "SELECT bits FROM grams WHERE key = ?1";
const PUT: &str = "INSERT OR REPLACE INTO grams VALUES (?1, ?2)";

impl Sidecar {
    /// The blocks of ids that can hold a row whose tool, params or result
    /// contains `needle` (ASCII case ignored), and the id up to which that is
    /// known. `None` when `needle` is too short to have a trigram.
    pub(super) fn gram_ranges(
        &self,
        reader: &Reader,
        needle: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> rusqlite::Result<Option<(Ranges, i64)>> {
        let mut wanted: Vec<usize> = Vec::new();
        each_hash(needle.as_bytes(), |h| wanted.push(h));
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(None);
        }
        let to = self.update_grams(reader, progress)?;
        let Some(first) = reader.id_bounds()?.0 else {
            return Ok(Some((Ranges::merged([], 0), to)));
        };
        let mut st = self
            .conn()
            .prepare_cached("SELECT bits FROM grams WHERE key = ?1")?;
        let mut found = Vec::new();
        for seg in (first >> SEG_SHIFT)..=(to >> SEG_SHIFT) {
            let mut acc = [u64::MAX; WORDS];
            for h in &wanted {
                let bits: Option<Vec<u8>> =
                    st.query_row([key(seg, *h)], |r| r.get(0)).optional()?;
                let mut w = [0u64; WORDS];
                if let Some(b) = bits {
                    blocks::read_blob(&b, &mut w);
                }
                for (a, x) in acc.iter_mut().zip(w) {
                    *a &= x;
                }
                if acc.iter().all(|a| *a == 0) {
                    break;
                }
            }
            blocks::ranges_of(seg, &acc, SHIFT, &mut found);
        }
        Ok(Some((Ranges::merged(found, 0), to)))
    }

    fn update_grams(
        &self,
        reader: &Reader,
        progress: &mut dyn FnMut(u64, u64),
    ) -> rusqlite::Result<i64> {
        // Column names are constants (or '' for one an old database lacks).
        let sql = format!(
            "SELECT id, {}, {}, {} FROM audit_log WHERE id > ?1 AND id <= ?2",
            column(reader, "tool"),
            column(reader, "params"),
            column(reader, "result"),
        );
        let mut read = reader.conn().prepare(&sql)?;
        // One segment's bitmaps, reused: 4 MB.
        let mut matrix = vec![[0u64; WORDS]; HASHES];
        let mut touched = vec![false; HASHES];
        build(
            self.conn(),
            reader,
            "grams_to",
            segment_end,
            progress,
            |c, from, to| {
                matrix.iter_mut().for_each(|m| *m = [0; WORDS]);
                touched.iter_mut().for_each(|t| *t = false);
                let seg = (from + 1) >> SEG_SHIFT;
                let mut rows = read.query(params![from, to])?;
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    for i in 1..=3 {
                        each_hash(text(r.get_ref(i)?).as_bytes(), |h| {
                            blocks::set(&mut matrix[h], id, SHIFT);
                            touched[h] = true;
                        });
                    }
                }
                // An earlier run folded in the segment's earlier ids.
                let continued: bool = c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM grams WHERE key BETWEEN ?1 AND ?2)",
                    [key(seg, 0), key(seg, HASHES - 1)],
                    |r| r.get(0),
                )?;
                for h in (0..HASHES).filter(|h| touched[*h]) {
                    let k = key(seg, h);
                    if continued {
                        blocks::merge_into(c, GET, PUT, &[&k], &matrix[h])?;
                    } else {
                        c.prepare_cached(PUT)?
                            .execute(params![k, blocks::to_blob(&matrix[h])])?;
                    }
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_fold_ascii_case_and_segments_end_on_their_boundary() {
        let mut a = Vec::new();
        each_hash(b"VM-Delete", |h| a.push(h));
        let mut b = Vec::new();
        each_hash(b"vm-delete", |h| b.push(h));
        assert_eq!(a, b);
        assert_eq!(a.len(), 7);
        assert_eq!(segment_end(0, 10), (1 << SEG_SHIFT) - 1);
        assert_eq!(segment_end((1 << SEG_SHIFT) - 1, 10), (2 << SEG_SHIFT) - 1);
        assert_eq!(segment_end(5, 10), (1 << SEG_SHIFT) - 1);
    }
}
