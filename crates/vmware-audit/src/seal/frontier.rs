//! The RFC 6962 Merkle tree hash of a growing list of leaves, in O(log n)
//! memory: the roots of its perfect subtrees, left to right (a compact range).
//! Leaf and node hashing are tlog_tiles' (`record_hash`, `node_hash`).

use tlog_tiles::{EMPTY_HASH, Hash, node_hash};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    /// Perfect subtrees, largest (leftmost) first; one per bit set in `size`.
    stack: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf's hash (`record_hash` of its encoding).
    pub fn push(&mut self, leaf: Hash) {
        self.stack.push(leaf);
        self.size += 1;
        let mut n = self.size;
        while n & 1 == 0 {
            let right = self.stack.pop().expect("two subtrees of equal size");
            let left = self.stack.pop().expect("two subtrees of equal size");
            self.stack.push(node_hash(left, right));
            n >>= 1;
        }
    }

    /// The tree hash of every leaf pushed (RFC 6962 MTH; of none, SHA-256 of "").
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(last) = it.next() else {
            return EMPTY_HASH;
        };
        it.fold(*last, |right, left| node_hash(*left, right))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.size.to_be_bytes().to_vec();
        for h in &self.stack {
            out.extend_from_slice(&h.0);
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Frontier> {
        let size = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let rest = &b[8..];
        if rest.len() != size.count_ones() as usize * 32 {
            return None;
        }
        let stack = rest
            .chunks(32)
            .map(|c| Hash(c.try_into().expect("32 bytes")))
            .collect();
        Some(Frontier { size, stack })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog_tiles::{Error, HashReader, record_hash, stored_hashes, tree_hash};

    /// tlog_tiles' own tree hash, from its stored hashes, as the reference.
    struct Stored(Vec<Hash>);
    impl HashReader for Stored {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
            Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
        }
    }

    #[test]
    fn the_root_is_tlog_tiles_tree_hash_at_every_size() {
        let mut stored = Stored(Vec::new());
        let mut f = Frontier::default();
        for n in 0..300u64 {
            let data = format!("row {n}");
            let more = stored_hashes(n, data.as_bytes(), &stored).unwrap();
            stored.0.extend(more);
            f.push(record_hash(data.as_bytes()));
            assert_eq!(
                f.root(),
                tree_hash(n + 1, &stored).unwrap(),
                "size {}",
                n + 1
            );
            assert_eq!(Frontier::from_bytes(&f.to_bytes()), Some(f.clone()));
        }
    }
}
