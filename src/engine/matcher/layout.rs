//! Layout choice: the candidate layouts, the sample packets and counted work that pick one
//! per classifier, and the optional split of a family's index by protocol class.

use super::bits::Bits;
use super::iset::{by_end, disjoint, ISets, Set, MAX_SETS};
use super::pre::Field;
use super::table::{Classifier, Entry, Query, ANY_PROTO};

/// Entry counts up to which interval sets ([`ISets`]) are tried (their entries are
/// indexed by 16 bits; each count tried is a build of the tables left).
const ISETS_UP_TO: usize = 60_000;

/// How tables are formed: the granularity new tables round prefix lengths down to, and the
/// most entries one bucket may hold before an entry must look for (or open) another table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Params {
    /// Prefix-length step of a new table's tuple (IPv4; IPv6 uses twice this).
    pub(super) step: u8,
    /// Bucket capacity.
    pub(super) cap: usize,
}

/// The layouts the compiler tries on classifiers up to [`TRY_ALL_UP_TO`] entries,
/// cheapest-estimated wins; the first is the default.
const LAYOUTS: [Params; 3] = [
    Params { step: 8, cap: 32 },
    Params { step: 16, cap: 64 },
    Params { step: 12, cap: 32 },
];

/// The layouts tried on classifiers of more than [`TRY_ALL_UP_TO`] entries, up to
/// [`TRY_LARGE_UP_TO`]: the default, the coarse one, and coarse tuples with the default's
/// buckets. On the generated 100k set (IPv4, 91k entries) the last has 115 tables but its
/// lookups end after 3.8 of them, against 7.1 of the default's 120 (counted work 26,600
/// against 34,259 on the samples; 258 against 351 ns per aimed lookup, fifth round of issue
/// 11 in `benches/README.md`).
const LARGE_LAYOUTS: [Params; 3] = [LAYOUTS[0], LAYOUTS[1], Params { step: 16, cap: 32 }];

/// Entry counts up to which all [`LAYOUTS`] are tried (above: [`LARGE_LAYOUTS`]).
pub(super) const TRY_ALL_UP_TO: usize = 20_000;

/// Entry counts above which only the default layout is built: each layout is a full build.
/// On the generated sets the default is what IPv4 chose from 100k rules up (at 1M rules,
/// 823 tables against the second layout's 445: 4.0 tables probed per lookup against 3.0, but
/// 39 entries scanned against 53); at 1M the IPv6 classifier (174k entries) had chosen the
/// second layout (104 tables; the default makes 182), with the same 3.57 tables probed per
/// aimed lookup over both families either way.
const TRY_LARGE_UP_TO: usize = 150_000;

/// The memory budget of a matcher, in heap bytes per rule, shared among its classifiers by
/// their entries: a layout (or the protocol split) above its share is kept only when nothing
/// fits (then the smallest).
pub(super) const BYTES_PER_RULE: usize = 44;

/// What the peer-address pre-classification ([`super::pre::Pre`]) may add to a
/// classifier's budget, in heap bytes per rule (the matcher's target is 48 in all).
const PRE_BYTES_PER_RULE: usize = 3;

/// The matcher's memory target in heap bytes per rule: the heads ([`super::head::Head`])
/// take what the classifiers leave of it, so that they never take the matcher past it.
pub(super) const TARGET_BYTES_PER_RULE: usize = 48;

/// Entry counts below which only the default layout is built.
const TRY_NONE_BELOW: usize = 64;

/// Up to 512 queries at corners of entries spread over the list (first or last address of
/// each prefix, first or last port), as ClassBench's trace generator makes them.
pub(super) fn sample_queries<A: Bits>(entries: &[Entry<A>]) -> Vec<Query<A>> {
    let step = (entries.len() / 512).max(1);
    entries
        .iter()
        .step_by(step)
        .enumerate()
        .map(|(i, e)| {
            let hi = |bit: usize| (i >> bit) & 1 == 1;
            let corner = |net: A, len: u8, high: bool| {
                if high {
                    A::or(net, A::not(A::mask(len)))
                } else {
                    net
                }
            };
            Query {
                peer: corner(e.peer, e.peer_len, hi(0)),
                local: corner(e.local, e.local_len, hi(1)),
                proto: if e.flags & ANY_PROTO != 0 { 6 } else { e.proto },
                sport: if hi(2) { e.sport_hi } else { e.sport_lo },
                dport: if hi(3) { e.dport_hi } else { e.dport_lo },
            }
        })
        .collect()
}

/// Up to `k` interval sets of `entries` (sorted by order), taken greedily: each the largest
/// subset of the entries left whose networks of one address are pairwise disjoint
/// ([`disjoint`]), of the address that gives the larger (at most two sets per address), as
/// indexes into `entries`.
/// With `prune`, none when even the largest sets left could not hold 90 % of the entries.
fn greedy_sets<A: Bits>(entries: &[Entry<A>], k: usize, prune: bool) -> Vec<(Field, Vec<usize>)> {
    let mut sets: Vec<(Field, Vec<usize>)> = Vec::new();
    let mut is_taken = vec![false; entries.len()];
    let ends = [Field::Peer, Field::Local].map(|f| (f, by_end(entries, f)));
    while sets.len() < k {
        let per_field = |f: Field| sets.iter().filter(|s| s.0 == f).count();
        let Some((field, taken)) = ends
            .iter()
            .filter(|(f, _)| per_field(*f) < 2)
            .map(|(f, ends)| (*f, disjoint(ends, &is_taken)))
            .max_by_key(|(f, t)| (t.len(), *f == Field::Peer))
        else {
            break;
        };
        if taken.is_empty() {
            break;
        }
        // No later set is larger (each is the largest among fewer entries), so when even
        // sets of this size cannot cover 90 % of the entries, none is worth taking.
        let covered: usize = sets.iter().map(|s| s.1.len()).sum();
        if prune && (covered + (k - sets.len()) * taken.len()) * 10 < entries.len() * 9 {
            return Vec::new();
        }
        for &i in &taken {
            if let Some(t) = is_taken.get_mut(i) {
                *t = true;
            }
        }
        sets.push((field, taken));
    }
    sets
}

/// The first sets of [`greedy_sets`] as entries, and the entries they leave, in order.
fn split_sets<A: Bits>(
    entries: &[Entry<A>],
    sets: &[(Field, Vec<usize>)],
) -> (Vec<Set<A>>, Vec<Entry<A>>) {
    let mut in_set = vec![false; entries.len()];
    let sets = sets
        .iter()
        .map(|(f, taken)| {
            for &i in taken {
                if let Some(t) = in_set.get_mut(i) {
                    *t = true;
                }
            }
            (
                *f,
                taken
                    .iter()
                    .filter_map(|&i| entries.get(i).copied())
                    .collect(),
            )
        })
        .collect();
    let rest = entries
        .iter()
        .zip(&in_set)
        .filter(|(_, &taken)| !taken)
        .map(|(e, _)| *e)
        .collect();
    (sets, rest)
}

impl<A: Bits> Classifier<A> {
    /// Builds with each candidate layout and keeps the one whose lookups cost least on
    /// sample packets drawn from the entries' own corners (counted work, deterministic)
    /// among those within `budget` heap bytes; when none fits, the smallest.
    ///
    /// IPv4 classifiers of at least [`TRY_NONE_BELOW`] entries may also keep interval sets
    /// ([`ISets`]) in front, the tables built of the entries they leave: of 0 to
    /// [`MAX_SETS`] sets taken greedily, the count whose sample lookups cost least within
    /// the budget.
    fn build(mut entries: Vec<Entry<A>>, budget: usize) -> Classifier<A> {
        entries.sort_by_key(|e| e.order);
        if A::WIDTH != 32 || entries.len() < TRY_NONE_BELOW || entries.len() > ISETS_UP_TO {
            return Self::build_tables(entries, budget);
        }
        let samples = sample_queries(&entries);
        // The pre-classification's searches count too: the leftover tables' may differ.
        let cost = |c: &Classifier<A>| -> u64 {
            samples
                .iter()
                .map(|q| c.work(q) + c.pre.search_work())
                .sum()
        };
        let plain = Self::build_tables(entries.clone(), budget);
        let mut best = (cost(&plain), plain);
        let greedy = greedy_sets(&entries, MAX_SETS, true);
        for k in 1..=greedy.len() {
            let (sets, rest) = split_sets(&entries, greedy.get(..k).unwrap_or(&[]));
            // The last set holds a few entries: its search would save little.
            if sets.last().is_some_and(|s| s.1.len() * 20 < entries.len()) {
                break;
            }
            // Only sets that leave few entries to the tables pay for their searches
            // (measured: at 70–90 % of the entries in the sets, lookups did more work than
            // without them, on every ClassBench set tried).
            if rest.len() * 10 > entries.len() {
                continue;
            }
            let isets = ISets::new(&sets);
            if !isets.is_built() {
                break;
            }
            let mut c = Self::build_tables(rest, budget.saturating_sub(isets.heap_bytes()));
            c.isets = isets;
            if c.heap_bytes() > budget {
                break;
            }
            let work = cost(&c);
            if work < best.0 {
                best = (work, c);
            }
        }
        best.1
    }

    /// A classifier of `k` interval sets taken greedily ([`greedy_sets`]) and tables of
    /// the rest, whatever its cost (for tests).
    #[cfg(test)]
    pub(super) fn with_sets(entries: &[Entry<A>], k: usize) -> Classifier<A> {
        let (sets, rest) = split_sets(entries, &greedy_sets(entries, k, false));
        let mut c = Self::build_tables(rest, usize::MAX);
        c.isets = ISets::new(&sets);
        c
    }

    /// [`Classifier::build`] without interval sets: the tables and the pre-classification.
    fn build_tables(entries: Vec<Entry<A>>, budget: usize) -> Classifier<A> {
        let layouts: &[Params] =
            if entries.len() < TRY_NONE_BELOW || entries.len() > TRY_LARGE_UP_TO {
                &LAYOUTS[..1]
            } else if entries.len() <= TRY_ALL_UP_TO {
                &LAYOUTS
            } else {
                &LARGE_LAYOUTS
            };
        let samples = sample_queries(&entries);
        // (over budget, cost): within budget first, then the cheapest (or, over budget, the
        // smallest).
        let mut best: Option<((bool, u64), Classifier<A>)> = None;
        for &p in layouts {
            let c = Self::build_with(&entries, p);
            let bytes = c.heap_bytes();
            let cost = if layouts.len() == 1 {
                0
            } else if bytes > budget {
                bytes as u64
            } else {
                samples.iter().map(|q| c.work(q)).sum()
            };
            let key = (bytes > budget, cost);
            if best.as_ref().is_none_or(|(b, _)| key < *b) {
                best = Some((key, c));
            }
        }
        let mut c = match best {
            Some((_, c)) => c,
            None => Self::build_with(&entries, LAYOUTS[0]),
        };
        // The address pre-classification, in what the allowance leaves: the peer cuts,
        // the local cuts, both or none, whichever the sample lookups estimate cheapest.
        let allowance = budget.saturating_add(budget / BYTES_PER_RULE * PRE_BYTES_PER_RULE);
        let room = allowance.saturating_sub(c.heap_bytes());
        super::pre::Pre::choose(&mut c, room, &samples);
        c
    }

    /// The work a lookup does, in rough cycles: 4 per table probed, 1 per entry checked.
    fn work(&self, q: &Query<A>) -> u64 {
        self.search::<true>(q, &[]).1
    }
}

/// One family's index: a single classifier, or one per packet protocol class.
// The single classifier is inline, not boxed: it is the common case, each family holds one
// index, and a box would add a dependent load to every lookup.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(super) enum Index<A: Bits> {
    /// Every entry in one classifier.
    One(Classifier<A>),
    /// By the packet's protocol — TCP, UDP, any other — each classifier holding the entries
    /// of that protocol and those of any protocol. Chosen when its counted work is smaller,
    /// the copies of any-protocol entries cost at most half the entries again and the three
    /// fit the memory budget ([`BYTES_PER_RULE`]).
    ByProto(Box<[Classifier<A>; 3]>),
}

/// Protocol classes of [`Index::ByProto`].
#[inline(always)]
fn proto_class(proto: u8) -> usize {
    match proto {
        crate::model::PROTO_TCP => 0,
        crate::model::PROTO_UDP => 1,
        _ => 2,
    }
}

impl<A: Bits> Index<A> {
    /// Builds a family's index from its entries. `split_ok`: whether splitting by protocol may be tried (the caller keeps it for sets
    /// small enough that the copies do not matter).
    /// `budget`: the heap bytes it may take (see [`BYTES_PER_RULE`]).
    pub(super) fn build(mut entries: Vec<Entry<A>>, split_ok: bool, budget: usize) -> Index<A> {
        entries.sort_by_key(|e| e.order);
        let n = entries.len();
        let in_class =
            |e: &Entry<A>, class: usize| e.flags & ANY_PROTO != 0 || proto_class(e.proto) == class;
        let copies: usize = (0..3)
            .map(|c| entries.iter().filter(|e| in_class(e, c)).count())
            .sum();
        if !split_ok || n < TRY_NONE_BELOW || copies > n + n / 2 {
            return Index::One(Classifier::build(entries, budget));
        }
        let samples = sample_queries(&entries);
        let parts: [Classifier<A>; 3] = [0, 1, 2].map(|c| {
            let part: Vec<Entry<A>> = entries.iter().filter(|e| in_class(e, c)).copied().collect();
            let share = budget / copies.max(1) * part.len();
            Classifier::build(part, share)
        });
        let one = Classifier::build(entries, budget);
        let cost_one: u64 = samples.iter().map(|q| one.work(q)).sum();
        let cost_parts: u64 = samples
            .iter()
            .map(|q| parts.get(proto_class(q.proto)).map_or(0, |c| c.work(q)))
            .sum();
        // Without their pre-classifications, which take their own allowance.
        let bytes_parts = std::mem::size_of::<[Classifier<A>; 3]>()
            + parts
                .iter()
                .map(|c| c.heap_bytes() - c.pre.heap_bytes())
                .sum::<usize>();
        if cost_parts < cost_one && bytes_parts <= budget {
            Index::ByProto(Box::new(parts))
        } else {
            Index::One(one)
        }
    }

    /// The classifier for packets of a protocol.
    #[inline(always)]
    pub(super) fn part(&self, proto: u8) -> &Classifier<A> {
        match self {
            Index::One(c) => c,
            Index::ByProto(parts) => {
                let [tcp, udp, other] = &**parts;
                match proto_class(proto) {
                    0 => tcp,
                    1 => udp,
                    _ => other,
                }
            }
        }
    }

    /// Its classifiers.
    pub(super) fn parts_mut(&mut self) -> &mut [Classifier<A>] {
        match self {
            Index::One(c) => std::slice::from_mut(c),
            Index::ByProto(parts) => &mut **parts,
        }
    }

    /// Chooses each of its classifiers' heads ([`super::head::Head::choose`]) in at most
    /// `room` heap bytes, less what they take.
    pub(super) fn choose_heads(&mut self, room: &mut usize) {
        for c in self.parts_mut() {
            super::head::Head::choose(c, *room);
            *room = room.saturating_sub(c.head.heap_bytes());
        }
    }

    /// The number of tables of all its classifiers.
    pub(super) fn tables(&self) -> usize {
        match self {
            Index::One(c) => c.tables.len(),
            Index::ByProto(parts) => parts.iter().map(|c| c.tables.len()).sum(),
        }
    }

    /// Heap bytes of its classifiers.
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Index::One(c) => c.heap_bytes(),
            Index::ByProto(parts) => {
                std::mem::size_of::<[Classifier<A>; 3]>()
                    + parts.iter().map(|c| c.heap_bytes()).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matcher::Matcher;

    #[test]
    fn split_by_protocol_answers_as_the_scan() {
        let rules = crate::generate::generate(3000, 9);
        let mut m = Matcher::compile(&rules).unwrap();
        // Force the split whatever the cost model chose, then compare with the scan.
        let mut v4: Vec<Entry<u32>> = match &m.v4 {
            Index::One(c) => c.unpacked_entries(),
            Index::ByProto(parts) => parts.iter().flat_map(|c| c.unpacked_entries()).collect(),
        };
        v4.sort_by_key(|e| (e.order, e.peer, e.peer_len));
        v4.dedup_by_key(|e| (e.order, e.peer, e.peer_len));
        let class_of =
            |e: &Entry<u32>, c: usize| e.flags & ANY_PROTO != 0 || proto_class(e.proto) == c;
        let parts = [0, 1, 2].map(|c| {
            let part = v4.iter().filter(|e| class_of(e, c)).copied().collect();
            Classifier::build(part, usize::MAX)
        });
        m.v4 = Index::ByProto(Box::new(parts));
        for p in crate::generate::packets(&rules, 3000, 10) {
            assert_eq!(
                m.lookup(&p),
                crate::engine::rule::linear_scan(&rules, &p),
                "{p:?}"
            );
        }
    }

    #[test]
    fn every_layout_answers_as_the_scan() {
        // Past TRY_ALL_UP_TO IPv4 entries, so that the large sets' choice is the one made.
        let rules = crate::generate::generate(30_000, 11);
        let mut m = Matcher::compile(&rules).unwrap();
        let v4 = match &m.v4 {
            Index::One(c) => c.unpacked_entries(),
            Index::ByProto(_) => panic!("large sets are not split by protocol"),
        };
        assert!(v4.len() > TRY_ALL_UP_TO);
        let mut v4_sorted = v4.clone();
        v4_sorted.sort_by_key(|e| e.order);
        let packets = crate::generate::packets(&rules, 1500, 12);
        let want: Vec<Option<usize>> = packets
            .iter()
            .map(|p| crate::engine::rule::linear_scan(&rules, p))
            .collect();
        for p in LAYOUTS.iter().chain(&LARGE_LAYOUTS) {
            m.v4 = Index::One(Classifier::build_with(&v4_sorted, *p));
            for (pkt, want) in packets.iter().zip(&want) {
                assert_eq!(m.lookup(pkt), *want, "{p:?} {pkt:?}");
            }
        }
    }
}
