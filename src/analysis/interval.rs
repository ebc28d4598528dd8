//! Canonical sets of integers as sorted, disjoint, non-adjacent inclusive intervals (the
//! interval sets of regex-syntax, over `u128` so one type holds ports, IPv4 and IPv6
//! addresses alike).
//!
//! | operation | cost |
//! |---|---|
//! | `union`, `intersect`, `difference` | O(n + m) |
//! | `contains` | O(log n) |
//! | `count` | O(n), saturating at `u128::MAX` |

use std::cmp::{max, min};

/// A set of `u128` values as canonical intervals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IntervalSet {
    // INVARIANT: sorted, each lo <= hi, and hi + 1 < next lo (no overlap, no adjacency).
    ivs: Vec<(u128, u128)>,
}

impl IntervalSet {
    /// The empty set.
    pub fn empty() -> IntervalSet {
        IntervalSet { ivs: Vec::new() }
    }

    /// The interval `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: u128, hi: u128) -> IntervalSet {
        if lo > hi {
            IntervalSet::empty()
        } else {
            IntervalSet {
                ivs: vec![(lo, hi)],
            }
        }
    }

    /// The set of any intervals, in any order, overlapping or not.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> IntervalSet {
        let mut v: Vec<(u128, u128)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = max(last.1, hi),
                _ => out.push((lo, hi)),
            }
        }
        IntervalSet { ivs: out }
    }

    /// The intervals, sorted and disjoint.
    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ivs
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ivs.is_empty()
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: u128) -> bool {
        let i = self.ivs.partition_point(|&(_, hi)| hi < v);
        self.ivs.get(i).is_some_and(|&(lo, _)| lo <= v)
    }

    /// How many values the set holds (saturating).
    pub fn count(&self) -> u128 {
        self.ivs.iter().fold(0u128, |acc, &(lo, hi)| {
            acc.saturating_add((hi - lo).saturating_add(1))
        })
    }

    /// The union.
    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        IntervalSet::from_ranges(self.ivs.iter().chain(other.ivs.iter()).copied())
    }

    /// The intersection.
    pub fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while let (Some(&(a0, a1)), Some(&(b0, b1))) = (self.ivs.get(i), other.ivs.get(j)) {
            let (lo, hi) = (max(a0, b0), min(a1, b1));
            if lo <= hi {
                out.push((lo, hi));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet { ivs: out }
    }

    /// The values of `self` not in `other`.
    pub fn difference(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in &self.ivs {
            let mut cur = lo;
            let mut done = false;
            while let Some(&(b0, b1)) = other.ivs.get(j) {
                if b1 < cur {
                    j += 1;
                    continue;
                }
                if b0 > hi {
                    break;
                }
                if b0 > cur {
                    out.push((cur, b0 - 1));
                }
                if b1 >= hi {
                    done = true;
                    break;
                }
                cur = b1 + 1;
                j += 1;
            }
            if !done {
                out.push((cur, hi));
            }
        }
        IntervalSet { ivs: out }
    }

    /// The smallest value, if any.
    pub fn first(&self) -> Option<u128> {
        self.ivs.first().map(|r| r.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[(u128, u128)]) -> IntervalSet {
        IntervalSet::from_ranges(v.iter().copied())
    }

    #[test]
    fn canonical_forms() {
        let s = set(&[(5, 9), (1, 3), (4, 4), (20, 30), (25, 26)]);
        assert_eq!(s.ranges(), &[(1, 9), (20, 30)]);
        assert_eq!(s.count(), 20);
        assert!(s.contains(9) && !s.contains(10) && s.contains(20));
        let d = s.difference(&set(&[(2, 2), (8, 21)]));
        assert_eq!(d.ranges(), &[(1, 1), (3, 7), (22, 30)]);
        let full = IntervalSet::range(0, u128::MAX);
        assert_eq!(full.count(), u128::MAX);
        assert!(full.difference(&full).is_empty());
        assert_eq!(full.difference(&set(&[(0, 0)])).ranges(), &[(1, u128::MAX)]);
    }

    fn ranges() -> impl Strategy<Value = Vec<(u128, u128)>> {
        prop::collection::vec((0u128..64, 0u128..8), 0..6)
            .prop_map(|v| v.into_iter().map(|(a, l)| (a, a + l)).collect())
    }

    proptest! {
        #[test]
        fn operations_agree_with_membership(a in ranges(), b in ranges()) {
            let (sa, sb) = (set(&a), set(&b));
            let inside = |v: &[(u128, u128)], x: u128| v.iter().any(|&(lo, hi)| lo <= x && x <= hi);
            let (u, i, d) = (sa.union(&sb), sa.intersect(&sb), sa.difference(&sb));
            for x in 0..80u128 {
                let (ina, inb) = (inside(&a, x), inside(&b, x));
                prop_assert_eq!(sa.contains(x), ina);
                prop_assert_eq!(u.contains(x), ina || inb);
                prop_assert_eq!(i.contains(x), ina && inb);
                prop_assert_eq!(d.contains(x), ina && !inb);
            }
            for s in [&u, &i, &d] {
                for w in s.ranges().windows(2) {
                    prop_assert!(w[0].1 + 1 < w[1].0);
                }
            }
        }
    }
}
