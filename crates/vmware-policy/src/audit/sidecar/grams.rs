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
use super::ranges::Ranges;
use super::{Sidecar, build, column, text};

const BLOCK_SHIFT: u32 = 4;
const SEG_SHIFT: u32 = 17;
const BLOCKS: usize = 1 << (SEG_SHIFT - BLOCK_SHIFT);
const WORDS: usize = BLOCKS / 64;
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

fn to_words(blob: &[u8]) -> [u64; WORDS] {
    let mut w = [0u64; WORDS];
    for (i, chunk) in blob.chunks_exact(8).take(WORDS).enumerate() {
        w[i] = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    }
    w
}

fn to_blob(w: &[u64; WORDS]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

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
        let mut blocks = Vec::new();
        for seg in (first >> SEG_SHIFT)..=(to >> SEG_SHIFT) {
            let mut acc = [u64::MAX; WORDS];
            for h in &wanted {
                let bits: Option<Vec<u8>> =
                    st.query_row([key(seg, *h)], |r| r.get(0)).optional()?;
                let w = bits.map_or([0; WORDS], |b| to_words(&b));
                for (a, x) in acc.iter_mut().zip(w) {
                    *a &= x;
                }
                if acc.iter().all(|a| *a == 0) {
                    break;
                }
            }
            for (i, word) in acc.iter().enumerate() {
                let mut bits = *word;
                while bits != 0 {
                    let b = bits.trailing_zeros() as i64;
                    bits &= bits - 1;
                    let block = seg * BLOCKS as i64 + i as i64 * 64 + b;
                    let lo = block << BLOCK_SHIFT;
                    blocks.push((lo, lo + (1 << BLOCK_SHIFT) - 1));
                }
            }
        }
        Ok(Some((Ranges::merged(blocks, 0), to)))
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
                    let b = ((id >> BLOCK_SHIFT) as usize) & (BLOCKS - 1);
                    let (word, bit) = (b / 64, 1u64 << (b % 64));
                    for i in 1..=3 {
                        each_hash(text(r.get_ref(i)?).as_bytes(), |h| {
                            matrix[h][word] |= bit;
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
                let mut get = c.prepare_cached("SELECT bits FROM grams WHERE key = ?1")?;
                let mut put = c.prepare_cached("INSERT OR REPLACE INTO grams VALUES (?1, ?2)")?;
                for h in (0..HASHES).filter(|h| touched[*h]) {
                    let mut w = matrix[h];
                    if continued
                        && let Some(old) = get
                            .query_row([key(seg, h)], |r| r.get::<_, Vec<u8>>(0))
                            .optional()?
                    {
                        for (x, o) in w.iter_mut().zip(to_words(&old)) {
                            *x |= o;
                        }
                    }
                    put.execute(params![key(seg, h), to_blob(&w)])?;
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
