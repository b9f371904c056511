//! Sets of row ids as sorted, disjoint, inclusive ranges: what each part of
//! a sidecar says a filter can select, intersected.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges(Vec<(i64, i64)>);

impl Ranges {
    /// `sorted` (by start) merged where they overlap or lie within `gap` ids
    /// of each other (reading a few ids more costs less than one more query).
    pub fn merged(sorted: impl IntoIterator<Item = (i64, i64)>, gap: i64) -> Ranges {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for (lo, hi) in sorted {
            if lo > hi {
                continue;
            }
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(gap).saturating_add(1) => {
                    last.1 = last.1.max(hi)
                }
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }

    /// The ids in both.
    pub fn intersect(&self, other: &Ranges) -> Ranges {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Ranges(out)
    }

    /// Only the ids up to `max`.
    pub fn up_to(&self, max: i64) -> Ranges {
        Ranges(
            self.0
                .iter()
                .filter(|(lo, _)| *lo <= max)
                .map(|(lo, hi)| (*lo, (*hi).min(max)))
                .collect(),
        )
    }

    pub fn as_slice(&self) -> &[(i64, i64)] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_and_intersecting_keep_exactly_the_common_ids() {
        let a = Ranges::merged([(1, 5), (3, 9), (20, 30), (33, 40)], 2);
        assert_eq!(a.as_slice(), &[(1, 9), (20, 40)]);
        let b = Ranges::merged([(0, 2), (8, 25), (39, 100)], 0);
        assert_eq!(
            a.intersect(&b).as_slice(),
            &[(1, 2), (8, 9), (20, 25), (39, 40)]
        );
        assert_eq!(a.up_to(22).as_slice(), &[(1, 9), (20, 22)]);
        // Brute force over a small universe.
        let x = Ranges::merged([(2, 4), (7, 7), (9, 15)], 0);
        let y = Ranges::merged([(1, 3), (5, 10), (14, 20)], 0);
        let inside = |r: &Ranges, v: i64| r.as_slice().iter().any(|(l, h)| *l <= v && v <= *h);
        let both = x.intersect(&y);
        for v in 0..25 {
            assert_eq!(inside(&both, v), inside(&x, v) && inside(&y, v), "{v}");
        }
    }
}
