//! Interval sets in front of the tables (IPv4), after NuevoMatch's iSets (Rashelbach,
//! Rottenstreich, Silberstein 2020): a set of entries whose networks of one address (peer
//! or local) are pairwise disjoint holds at most one entry that can match a packet — the
//! one whose network holds the packet's address — so one search of that address finds the
//! set's only candidate, checked against its full fields. Each address keeps up to two
//! sets, searched together: the cuts of their networks' bounds ([`Cuts`], the search of the
//! address pre-classification), each interval carrying the candidate of either set as two
//! 16-bit entry indexes. The entries left over are the classifier's tables, probed after
//! the sets with the sets' best match as the bound of their early termination.
//!
//! **Building.** Greedily: the largest pairwise-disjoint subset of the entries left, of the
//! address that gives the larger one (interval scheduling by end: maximal), up to
//! [`MAX_SETS`] sets and two per address. For each count of sets that leaves at most 10 %
//! of the entries (at 70–90 % in the sets every ClassBench set measured did more work than
//! without them), the leftover entries are built as a classifier of their own, and of those
//! and the classifier without sets the one whose sample lookups do the least counted work
//! within the memory budget is kept. ClassBench's firewall-like sets suit them: fw1_10k's
//! two largest sets hold 97 % of its entries and acl2_10k's three 94 %, and the entries
//! left over are their last, wildcard rules, whose tables the sets' matches end before.
//! (fw2_1k's three hold 97.6 %, but the estimate keeps it without them.)

use super::bits::Bits;
use super::lookup::marked;
use super::pre::{span, Cuts, Field};
use super::table::{Entry, Query};

/// The most sets a classifier keeps (two per address).
pub(super) const MAX_SETS: usize = 4;

/// No candidate, in a 16-bit half of an interval's value.
const NONE: u32 = 0xFFFF;

/// The jump-table sizes tried (top address bits).
const JUMP_BITS: [u32; 5] = [4, 6, 8, 10, 12];

/// The counted work (4 per table probed, about 35 instructions) of checking one candidate
/// (about 15 instructions); a search counts 1 plus 1 per halving step (8 instructions
/// each), as [`super::pre`] estimates its own in instructions.
const CANDIDATE_WORK: u64 = 2;

/// One interval set: the address its networks are disjoint in, and its entries.
pub(super) type Set<A> = (Field, Vec<Entry<A>>);

/// A classifier's interval sets, boxed: a classifier without them carries one word.
#[derive(Debug, Clone)]
pub(super) struct ISets<A: Bits> {
    sets: Option<Box<Sets<A>>>,
}

impl<A: Bits> Default for ISets<A> {
    fn default() -> Self {
        ISets { sets: None }
    }
}

/// Per address, its cuts (empty when it has no set), and the entries of all sets.
#[derive(Debug, Clone)]
struct Sets<A: Bits> {
    // INVARIANT: every value of `peer` and `local` is two 16-bit indexes into `entries` or
    // `NONE`; the entry an interval names is its set's last entry starting at or below the
    // interval's start.
    peer: Cuts,
    local: Cuts,
    entries: Box<[Entry<A>]>,
}

/// An entry's network of an address as an inclusive interval (IPv4).
fn entry_span<A: Bits>(e: &Entry<A>, field: Field) -> (u64, u64) {
    match field {
        Field::Peer => span(e.peer, e.peer_len),
        Field::Local => span(e.local, e.local_len),
    }
}

/// The entries' networks of `field` as `(end, start, index)`, by increasing end: what
/// [`disjoint`] takes from.
pub(super) fn by_end<A: Bits>(entries: &[Entry<A>], field: Field) -> Vec<(u64, u64, usize)> {
    let mut by_end: Vec<(u64, u64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (lo, hi) = entry_span(e, field);
            (hi, lo, i)
        })
        .collect();
    // By end, then start, as one word (IPv4 addresses), stably: of equal networks the
    // strongest entry comes first and is the one taken. Half the time of sorting the
    // triples, and the sort is most of the sets' build.
    by_end.sort_by_key(|t| t.0 << 32 | t.1);
    by_end
}

/// The largest subset of the entries not marked in `skip` whose networks (`by_end`, from
/// [`by_end`]) are pairwise disjoint: by increasing end, each that starts after the last
/// taken ends. By index.
pub(super) fn disjoint(by_end: &[(u64, u64, usize)], skip: &[bool]) -> Vec<usize> {
    let mut taken = Vec::new();
    let mut last: Option<u64> = None;
    for &(hi, lo, i) in by_end {
        if skip.get(i).copied().unwrap_or(true) {
            continue;
        }
        if last.is_none_or(|l| lo > l) {
            taken.push(i);
            last = Some(hi);
        }
    }
    taken.sort_unstable();
    taken
}

impl<A: Bits> ISets<A> {
    /// The sets `sets` (each a field and its entries, at most two per field, all of them
    /// disjoint in their field); empty when they hold more than `NONE - 1` entries, when
    /// an address has more than two sets, or for IPv6.
    pub(super) fn new(sets: &[Set<A>]) -> ISets<A> {
        let total: usize = sets.iter().map(|s| s.1.len()).sum();
        let per_field = |f: Field| sets.iter().filter(|s| s.0 == f).count();
        if total == 0
            || total >= NONE as usize
            || A::WIDTH != 32
            || per_field(Field::Peer) > 2
            || per_field(Field::Local) > 2
        {
            return ISets::default();
        }
        let mut entries: Vec<Entry<A>> = Vec::with_capacity(total);
        let cuts = |field: Field, entries: &mut Vec<Entry<A>>| -> Cuts {
            // The first address of each entry of this field's sets (at most two): the
            // candidate of a set for an address is its last entry starting at or below it
            // (checked in full, so the gaps between its networks need no intervals).
            let mut starts: Vec<(u64, usize, u32)> = Vec::new();
            let mut k = 0;
            for (f, set) in sets {
                if *f != field {
                    continue;
                }
                for e in set {
                    // Fewer than NONE entries (checked above).
                    starts.push((entry_span(e, field).0, k, entries.len() as u32));
                    entries.push(*e);
                }
                k += 1;
            }
            if starts.is_empty() {
                return Cuts::default();
            }
            starts.sort_unstable();
            let mut out: Vec<(u32, u32)> = vec![(0, NONE << 16 | NONE)];
            for (lo, k, idx) in starts {
                let shift = 16 * k as u32;
                let last = out.last().map_or(NONE << 16 | NONE, |l| l.1);
                let value = last & !(0xFFFF << shift) | idx << shift;
                // Truncation intended: IPv4 starts.
                match out.last_mut() {
                    Some(l) if u64::from(l.0) == lo => l.1 = value,
                    _ => out.push((lo as u32, value)),
                }
            }
            // The jump table of the fewest search steps in about two bytes per entry.
            let mut best = Cuts::default();
            for bits in JUMP_BITS {
                if bits > JUMP_BITS[0] && (1usize << bits) > 2 * out.len() {
                    break;
                }
                let c = Cuts::from_intervals(&out, bits);
                if !best.is_built() || c.steps() < best.steps() {
                    best = c;
                }
            }
            best
        };
        let peer = cuts(Field::Peer, &mut entries);
        let local = cuts(Field::Local, &mut entries);
        ISets {
            sets: Some(Box::new(Sets {
                peer,
                local,
                entries: entries.into(),
            })),
        }
    }

    /// Whether it holds any set.
    #[inline(always)]
    pub(super) fn is_built(&self) -> bool {
        self.sets.is_some()
    }

    /// Its entries (those of every set).
    pub(super) fn entries(&self) -> &[Entry<A>] {
        self.sets.as_ref().map_or(&[], |s| &s.entries)
    }

    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.sets.as_ref().map_or(0, |s| {
            std::mem::size_of::<Sets<A>>()
                + s.peer.heap_bytes()
                + s.local.heap_bytes()
                + std::mem::size_of_val::<[Entry<A>]>(&s.entries)
        })
    }

    /// Improves `(order, rule)` by the sets' candidates for `q` not marked in `dead`; the
    /// counted work when `COUNT` (1 per address searched plus 1 per halving step, and
    /// [`CANDIDATE_WORK`] per candidate).
    #[inline(always)]
    pub(super) fn search<const COUNT: bool>(
        &self,
        q: &Query<A>,
        dead: &[u64],
        order: &mut u32,
        rule: &mut u32,
    ) -> u64 {
        let mut work = 0;
        let Some(s) = &self.sets else {
            return work;
        };
        // Truncations intended: IPv4 only, whose fold is the address.
        for (cuts, x) in [
            (&s.peer, q.peer.fold() as u32),
            (&s.local, q.local.fold() as u32),
        ] {
            if !cuts.is_built() {
                continue;
            }
            let value = cuts.set(x);
            if COUNT {
                work += 1 + u64::from(cuts.steps());
            }
            for idx in [value & NONE, value >> 16] {
                let Some(e) = s.entries.get(idx as usize) else {
                    continue;
                };
                if COUNT {
                    work += CANDIDATE_WORK;
                }
                // Without a branch: whether a candidate wins is unpredictable.
                let take = (e.order < *order) & entry_matches(e, q) & !marked(dead, e.rule);
                *order = std::hint::select_unpredictable(take, e.order, *order);
                *rule = std::hint::select_unpredictable(take, e.rule, *rule);
            }
        }
        work
    }
}

/// Whether an entry matches a query on every field, without branches (a candidate fails on
/// any field, unpredictably).
#[inline(always)]
pub(super) fn entry_matches<A: Bits>(e: &Entry<A>, q: &Query<A>) -> bool {
    (q.dport.wrapping_sub(e.dport_lo) <= e.dport_hi.wrapping_sub(e.dport_lo))
        & (!e.proto_exact() | (e.proto == q.proto))
        & (q.peer.and(A::mask(e.peer_len)) == e.peer)
        & (q.local.and(A::mask(e.local_len)) == e.local)
        & (q.sport.wrapping_sub(e.sport_lo) <= e.sport_hi.wrapping_sub(e.sport_lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matcher::layout::Index;
    use crate::engine::matcher::table::Classifier;
    use crate::engine::matcher::Matcher;
    use crate::engine::rule::linear_scan;
    use crate::generate::SplitMix64;

    /// The IPv4 entries of a matcher, each once, by order.
    fn v4_entries(m: &Matcher) -> Vec<Entry<u32>> {
        let mut v4: Vec<Entry<u32>> = match &m.v4 {
            Index::One(c) => c.unpacked_entries(),
            Index::ByProto(parts) => parts.iter().flat_map(|c| c.unpacked_entries()).collect(),
        };
        v4.sort_by_key(|e| (e.order, e.peer, e.peer_len));
        v4.dedup_by_key(|e| (e.order, e.peer, e.peer_len));
        v4
    }

    #[test]
    fn disjoint_takes_a_maximal_disjoint_subset() {
        let mut r = SplitMix64::new(5);
        for _ in 0..200 {
            let n = 1 + r.below(60) as usize;
            let entries: Vec<Entry<u32>> = (0..n)
                .map(|i| {
                    let len = [0, 4, 8, 12, 16, 24, 32][r.below(7) as usize];
                    let peer = (r.next_u64() as u32 & 0xF0F0_0000) & u32::mask(len);
                    Entry {
                        order: i as u32,
                        rule: i as u32,
                        peer,
                        local: 0,
                        dport_lo: 0,
                        dport_hi: u16::MAX,
                        sport_lo: 0,
                        sport_hi: u16::MAX,
                        peer_len: len,
                        local_len: 0,
                        proto: 0,
                        flags: super::super::table::ANY_PROTO,
                    }
                })
                .collect();
            let skip: Vec<bool> = (0..n).map(|_| r.percent(20)).collect();
            let taken = disjoint(&by_end(&entries, Field::Peer), &skip);
            let meets = |a: usize, b: usize| {
                let (x, y) = (
                    entry_span(&entries[a], Field::Peer),
                    entry_span(&entries[b], Field::Peer),
                );
                x.0 <= y.1 && y.0 <= x.1
            };
            for (k, &a) in taken.iter().enumerate() {
                for &b in &taken[k + 1..] {
                    assert!(!meets(a, b), "{a} and {b} overlap");
                }
            }
            // Maximal: every entry left out meets one taken (and prefixes nest, so the
            // greedy choice by end is also the largest).
            for (i, &skipped) in skip.iter().enumerate() {
                assert!(!(skipped && taken.contains(&i)), "{i} was to be skipped");
                if !skipped && !taken.contains(&i) {
                    assert!(taken.iter().any(|&t| meets(i, t)), "{i} could be added");
                }
            }
        }
    }

    #[test]
    fn more_than_two_sets_of_an_address_are_refused() {
        let rules = crate::generate::generate(300, 4);
        let v4 = v4_entries(&Matcher::compile(&rules).unwrap());
        let one = |i: usize| (Field::Peer, v4.get(i..i + 1).unwrap().to_vec());
        assert!(ISets::new(&[one(0), one(1)]).is_built());
        assert!(!ISets::new(&[one(0), one(1), one(2)]).is_built());
        assert!(!ISets::<u32>::new(&[]).is_built());
    }

    /// Classifiers of 1 to 4 sets in front of the tables answer as the linear scan, with
    /// and without rules marked dead.
    #[test]
    fn sets_in_front_answer_as_the_scan() {
        for seed in [3, 8] {
            let rules = crate::generate::generate(2500, seed);
            let mut m = Matcher::compile(&rules).unwrap();
            let v4 = v4_entries(&m);
            let packets = crate::generate::packets(&rules, 2500, seed + 1);
            let mut r = SplitMix64::new(seed);
            let dead: Vec<u64> = (0..rules.len().div_ceil(64))
                .map(|_| r.next_u64() & r.next_u64() & r.next_u64())
                .collect();
            let is_dead = |i: usize| dead[i / 64] >> (i % 64) & 1 == 1;
            let alive: Vec<usize> = (0..rules.len()).filter(|&i| !is_dead(i)).collect();
            let alive_rules: Vec<_> = alive.iter().map(|&i| rules[i].clone()).collect();
            for k in 1..=MAX_SETS {
                let c = Classifier::with_sets(&v4, k);
                assert!(c.isets.is_built());
                assert!(c.isets.entries().len() + c.entries.len() >= v4.len() / 2);
                m.v4 = Index::One(c);
                for p in &packets {
                    assert_eq!(m.lookup(p), linear_scan(&rules, p), "{k} sets, {p:?}");
                    let want = linear_scan(&alive_rules, p).map(|i| alive[i] as u32);
                    let got = m.search_dir(p, p.src(), p.dst(), &dead).map(|f| f.1);
                    assert_eq!(got, want, "{k} sets, dead marked, {p:?}");
                }
            }
        }
    }
}
