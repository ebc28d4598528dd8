//! Pre-classification by the peer address (IPv4): the address space cut into intervals,
//! each with the set of tables that hold an entry whose peer network meets it, so that a
//! lookup probes only those tables (still in order, still with early termination). Exact:
//! a table left out has no entry whose peer network holds the packet's peer address.
//! Intervals whose sets are equal are merged; when there are too many for the memory
//! allowance, neighbours are merged by uniting their sets (fewer tables skipped, still
//! exact).

use super::bits::Bits;
use super::table::Classifier;

/// A classifier's peer-address pre-classification: empty when not built (IPv6, more than
/// 32 tables, or no room).
#[derive(Debug, Clone, Default)]
pub(super) struct Pre {
    // INVARIANT: sorted, starts[0] == 0 when not empty, starts.len() == sets.len().
    /// First address of each interval.
    pub(super) starts: Box<[u32]>,
    /// Tables (bit `i` = `tables[i]`) that can match in each interval.
    pub(super) sets: Box<[u32]>,
}

impl Pre {
    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        (self.starts.len() + self.sets.len()) * 4
    }

    /// The tables that can match a peer address (all when not built).
    #[inline(always)]
    pub(super) fn tables_for(&self, peer: u32) -> u32 {
        let i = self.starts.partition_point(|&s| s <= peer);
        i.checked_sub(1)
            .and_then(|i| self.sets.get(i))
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// The pre-classification of a built IPv4 classifier in at most `max_bytes` (empty when
    /// it has more than 32 tables or none fits in 2 intervals).
    pub(super) fn build<A: Bits>(c: &Classifier<A>, max_bytes: usize) -> Pre {
        let max_len = max_bytes / 8;
        if A::WIDTH != 32 || c.tables.len() > 32 || c.tables.len() < 2 || max_len < 2 {
            return Pre::default();
        }
        // Per table, its entries' peer intervals [lo, hi] (as u64, hi inclusive).
        let mut ivs: Vec<(u64, u64, u32)> = Vec::new();
        for (ti, t) in c.tables.iter().enumerate() {
            let lanes = t
                .groups
                .iter()
                .flat_map(|g| g.starts.iter().zip(&g.lens).map(|(&s, &l)| (s, l)));
            for (start, len) in lanes.chain(t.stash.iter().map(|s| (s.start, s.len))) {
                let (s, l) = (start as usize, usize::from(len));
                for e in c.entries.get(s..s + l).unwrap_or(&[]) {
                    // Truncation intended: IPv4 only (checked above), fold is the address.
                    let lo = e.peer.fold() & 0xFFFF_FFFF;
                    let hi = lo | (!A::mask(e.peer_len).fold() & 0xFFFF_FFFF);
                    ivs.push((lo, hi, ti as u32));
                }
            }
        }
        let mut bounds: Vec<u64> = ivs.iter().flat_map(|&(lo, hi, _)| [lo, hi + 1]).collect();
        bounds.push(0);
        bounds.sort_unstable();
        bounds.dedup();
        bounds.retain(|&b| b <= 0xFFFF_FFFF);
        // Per elementary interval, a difference count per table would be large; instead
        // each table's intervals are merged and their bits set over the covered range.
        let mut sets = vec![0u32; bounds.len()];
        ivs.sort_unstable_by_key(|&(lo, hi, t)| (t, lo, hi));
        let mut k = 0;
        while k < ivs.len() {
            let (lo, mut hi, t) = ivs.get(k).copied().unwrap_or_default();
            k += 1;
            while let Some(&(l2, h2, t2)) = ivs.get(k) {
                if t2 != t || l2 > hi + 1 {
                    break;
                }
                hi = hi.max(h2);
                k += 1;
            }
            let a = bounds.partition_point(|&b| b < lo);
            let b = bounds.partition_point(|&b| b <= hi);
            for s in sets.get_mut(a..b).unwrap_or(&mut []) {
                *s |= 1 << t;
            }
        }
        // Merge equal neighbours, then coarsen uniformly until the allowance holds.
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (&b, &s) in bounds.iter().zip(&sets) {
            push_merged(&mut out, (b as u32, s));
        }
        while out.len() > max_len {
            let mut next: Vec<(u32, u32)> = Vec::with_capacity(out.len() / 2 + 1);
            for pair in out.chunks(2) {
                let start = pair.first().map_or(0, |p| p.0);
                let set = pair.iter().fold(0, |a, p| a | p.1);
                push_merged(&mut next, (start, set));
            }
            out = next;
        }
        // Worth it only when some interval leaves a table out.
        let all = if c.tables.len() == 32 {
            u32::MAX
        } else {
            (1u32 << c.tables.len()) - 1
        };
        if out.iter().all(|p| p.1 == all) {
            return Pre::default();
        }
        Pre {
            starts: out.iter().map(|p| p.0).collect(),
            sets: out.iter().map(|p| p.1).collect(),
        }
    }
}

/// Appends an interval, merged into the last when their sets are equal.
fn push_merged(out: &mut Vec<(u32, u32)>, p: (u32, u32)) {
    match out.last() {
        Some(l) if l.1 == p.1 => {}
        _ => out.push(p),
    }
}
