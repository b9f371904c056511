//! Bitmaps of blocks of ids, one per segment of 2^17 ids: the shape the
//! trigram and value parts share (the trigrams in blocks of 16 ids, 1 KB a
//! bitmap; the values in blocks of 4, 4 KB). A set bit says the block can
//! hold a row; a clear bit, that it cannot.

use rusqlite::{Connection, OptionalExtension};

pub(super) const SEG_SHIFT: u32 = 17;

/// The words of one segment's bitmap for blocks of 2^`shift` ids.
pub(super) const fn words(shift: u32) -> usize {
    (1usize << (SEG_SHIFT - shift)) / 64
}

/// The segment an id lies in.
pub(super) fn segment(id: i64) -> i64 {
    id >> SEG_SHIFT
}

/// Set the bit of `id`'s block (blocks of 2^`shift` ids).
pub(super) fn set(bits: &mut [u64], id: i64, shift: u32) {
    let b = ((id >> shift) as usize) & ((1usize << (SEG_SHIFT - shift)) - 1);
    bits[b / 64] |= 1u64 << (b % 64);
}

/// A stored bitmap into `into` (zeros past its end).
pub(super) fn read_blob(blob: &[u8], into: &mut [u64]) {
    into.fill(0);
    for (w, chunk) in into.iter_mut().zip(blob.chunks_exact(8)) {
        *w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    }
}

pub(super) fn to_blob(w: &[u64]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Store `bits` under `key` with `get`/`put` statements, OR'd into what an
/// earlier chunk of the same segment stored there.
pub(super) fn merge_into(
    conn: &Connection,
    get: &str,
    put: &str,
    key: &[&dyn rusqlite::ToSql],
    bits: &[u64],
) -> rusqlite::Result<()> {
    let mut w = bits.to_vec();
    let old: Option<Vec<u8>> = conn
        .prepare_cached(get)?
        .query_row(key, |r| r.get(0))
        .optional()?;
    if let Some(old) = old {
        let mut o = vec![0u64; w.len()];
        read_blob(&old, &mut o);
        for (x, o) in w.iter_mut().zip(o) {
            *x |= o;
        }
    }
    let mut args: Vec<&dyn rusqlite::ToSql> = key.to_vec();
    let blob = to_blob(&w);
    args.push(&blob);
    conn.prepare_cached(put)?.execute(args.as_slice())?;
    Ok(())
}

/// The id ranges of the set blocks of segment `seg`, in order.
pub(super) fn ranges_of(seg: i64, bits: &[u64], shift: u32, out: &mut Vec<(i64, i64)>) {
    let per_seg = 1i64 << (SEG_SHIFT - shift);
    for (i, word) in bits.iter().enumerate() {
        let mut w = *word;
        while w != 0 {
            let b = w.trailing_zeros() as i64;
            w &= w - 1;
            let block = seg * per_seg + i as i64 * 64 + b;
            let lo = block << shift;
            out.push((lo, lo + (1 << shift) - 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_sets_its_blocks_bit_and_reads_back_as_its_block() {
        for shift in [2, 4] {
            let id = (3 << SEG_SHIFT) + 37;
            let mut bits = vec![0; words(shift)];
            set(&mut bits, id, shift);
            let mut back = vec![0; words(shift)];
            read_blob(&to_blob(&bits), &mut back);
            assert_eq!(back, bits);
            let mut out = Vec::new();
            ranges_of(segment(id), &bits, shift, &mut out);
            let lo = (3 << SEG_SHIFT) + (37 >> shift << shift);
            assert_eq!(out, vec![(lo, lo + (1 << shift) - 1)]);
        }
    }
}
