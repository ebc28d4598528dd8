//! The head: a classifier's first entries in decision order, looked up all at once by bit
//! vectors (Lakshman and Stiliadis's scheme, on a few hundred entries) before any table.
//!
//! Per field — peer address, local address, protocol and destination port as one number,
//! source port — the head's entries cut the field's values into elementary intervals, each
//! with the bit set of the head entries that cover it. A lookup finds its interval in each
//! field (a branch-free binary search over a few hundred sorted starts), ANDs the four sets
//! and takes the lowest set bit: the head entry of smallest order that matches, which beats
//! every entry of the tables outside the head (the head is a prefix of the decision
//! order). Only when no head entry matches are the tables probed (the head's entries are in
//! them too, so that lookup is the plain one).
//!
//! Why: on rule sets whose strongest rules are broad, most packets are decided by one of
//! them. The generated security-group sets are like that — at 100,000 rules about forty
//! rank-1 drops match every IPv4 packet, and every aimed packet is decided by one of the
//! first 115 orders — yet those entries lie in tables of every shape, so a lookup probed
//! four tables and scanned 32 column words of their long buckets (1,465 instructions per
//! lookup). The head is kept per classifier only when the sample lookups' counted work
//! falls, within the memory left (see [`Head::choose`]).

use super::bits::{Bits, Value};
use super::layout::sample_queries;
use super::lookup::marked;
use super::table::{pd_word, unpack, Classifier, Entry, Query};

/// The head sizes tried, in entries (1 to 8 words of bits), up to [`LARGEST`].
const SIZES: [usize; 4] = [64, 128, 256, LARGEST];

/// The largest head, in entries.
const LARGEST: usize = 512;

/// The fixed cost of a head lookup in the counted work's units (4 per table probed, 1 per
/// entry checked): the four searches' starts and the sets' reads.
const BASE_WORK: u64 = 4;

/// One field's elementary intervals over the head's entries.
#[derive(Debug, Clone, Default)]
struct Cuts<T> {
    // INVARIANT: starts strictly increasing, starts[0] the field's least value, and
    // sets.len() == starts.len() * words.
    /// First value of each interval.
    starts: Box<[T]>,
    /// Per interval, `words` words: bit `i` set when head entry `i` covers the interval.
    sets: Box<[u64]>,
}

impl<T: Value> Cuts<T> {
    /// The cuts of the inclusive intervals `spans` (one per head entry, by bit), whose least
    /// value is `min` and whose `succ` gives the value after one (`None` after the largest).
    fn new(spans: &[(T, T)], min: T, succ: impl Fn(T) -> Option<T>, words: usize) -> Cuts<T> {
        let mut starts: Vec<T> = std::iter::once(min)
            .chain(spans.iter().map(|s| s.0))
            .chain(spans.iter().filter_map(|s| succ(s.1)))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let mut sets = vec![0u64; starts.len() * words];
        for (bit, &(lo, hi)) in spans.iter().enumerate() {
            // The intervals whose start lies in `lo..=hi`: elementary, so they lie wholly
            // inside.
            let first = starts.partition_point(|&s| s < lo);
            let end = starts.partition_point(|&s| s <= hi);
            for i in first..end {
                if let Some(w) = sets.get_mut(i * words + bit / 64) {
                    *w |= 1 << (bit % 64);
                }
            }
        }
        Cuts {
            starts: starts.into_boxed_slice(),
            sets: sets.into_boxed_slice(),
        }
    }

    /// The interval holding `x`: the last whose start is at most `x` (branch-free halving;
    /// the loop's own branch depends only on the length). Tried: Shar's search over the
    /// starts as if padded to a power of two, 6–8 % fewer instructions but 1.6–1.8× slower
    /// on the generated sets — the compiler made its conditional move a branch.
    #[inline(always)]
    fn find(&self, x: T) -> usize {
        let s = &*self.starts;
        let mut base = 0;
        let mut len = s.len();
        while len > 1 {
            let half = len / 2;
            let mid = base + half;
            // `mid` is always in range; were it not, the largest value keeps `base` (exact
            // still: an interval's set never holds an entry that does not cover it).
            let v = s.get(mid).copied().unwrap_or(T::TOP);
            base = std::hint::select_unpredictable(v <= x, mid, base);
            len -= half;
        }
        base
    }

    /// Interval `i`'s set, of `words` words.
    #[inline(always)]
    fn row(&self, i: usize, words: usize) -> &[u64] {
        self.sets.get(i * words..i * words + words).unwrap_or(&[])
    }

    /// The halving steps of a search (rounded up: one more at a power of two).
    fn steps(&self) -> u64 {
        u64::from(usize::BITS - self.starts.len().leading_zeros())
    }

    /// Heap bytes.
    fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[T]>(&self.starts) + std::mem::size_of_val::<[u64]>(&self.sets)
    }
}

/// A classifier's head (empty when not kept).
#[derive(Debug, Clone, Default)]
pub(super) struct Head<A: Bits> {
    /// Words per bit set (0: not built).
    words: usize,
    peer: Cuts<A>,
    local: Cuts<A>,
    /// The protocol and destination port as [`pd_word`].
    pd: Cuts<u32>,
    sport: Cuts<u16>,
    /// Per head entry (bit): its order and rule.
    orders: Box<[u32]>,
    rules: Box<[u32]>,
}

/// An entry's protocol and destination ports as one interval of [`pd_word`], when they
/// are one: an exact protocol, or any protocol with every port.
fn pd_span<A: Bits>(e: &Entry<A>) -> Option<(u32, u32)> {
    if e.dport_lo > e.dport_hi {
        return None;
    }
    if e.proto_exact() {
        Some((pd_word(e.proto, e.dport_lo), pd_word(e.proto, e.dport_hi)))
    } else if e.dport_lo == 0 && e.dport_hi == u16::MAX {
        Some((0, pd_word(u8::MAX, u16::MAX)))
    } else {
        None
    }
}

/// A prefix's addresses as an inclusive interval.
fn net_span<A: Bits>(net: A, len: u8) -> (A, A) {
    let mask = A::mask(len);
    (net.and(mask), net.or(mask.not()))
}

impl<A: Bits> Head<A> {
    /// The head of the first entries of `in_order` (sorted by order), at most `size` of
    /// them: fewer when an entry's protocol and ports are not one interval ([`pd_span`]) —
    /// the head must be a prefix of the order.
    fn new(in_order: &[Entry<A>], size: usize) -> Head<A> {
        let mut spans = Vec::new();
        for e in in_order.iter().take(size) {
            let (Some(pd), true) = (pd_span(e), e.sport_lo <= e.sport_hi) else {
                break;
            };
            spans.push((e, pd));
        }
        let n = spans.len();
        if n == 0 {
            return Head::default();
        }
        let words = n.div_ceil(64);
        let peer: Vec<(A, A)> = spans
            .iter()
            .map(|(e, _)| net_span(e.peer, e.peer_len))
            .collect();
        let local: Vec<(A, A)> = spans
            .iter()
            .map(|(e, _)| net_span(e.local, e.local_len))
            .collect();
        let pd: Vec<(u32, u32)> = spans.iter().map(|s| s.1).collect();
        let sport: Vec<(u16, u16)> = spans
            .iter()
            .map(|(e, _)| (e.sport_lo, e.sport_hi))
            .collect();
        Head {
            words,
            peer: Cuts::new(&peer, A::default(), A::succ, words),
            local: Cuts::new(&local, A::default(), A::succ, words),
            pd: Cuts::new(&pd, 0, |x| x.checked_add(1), words),
            sport: Cuts::new(&sport, 0, |x| x.checked_add(1), words),
            orders: spans.iter().map(|(e, _)| e.order).collect(),
            rules: spans.iter().map(|(e, _)| e.rule).collect(),
        }
    }

    /// Whether it was built.
    #[inline(always)]
    pub(super) fn is_built(&self) -> bool {
        self.words != 0
    }

    /// Its entries.
    pub(super) fn len(&self) -> usize {
        self.orders.len()
    }

    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.peer.heap_bytes()
            + self.local.heap_bytes()
            + self.pd.heap_bytes()
            + self.sport.heap_bytes()
            + (self.orders.len() + self.rules.len()) * 4
    }

    /// The counted work of a lookup (see [`BASE_WORK`]): one per halving step of the
    /// longest search (the four are independent, so their latencies overlap) and one per
    /// word of the sets.
    pub(super) fn work(&self) -> u64 {
        let steps = [
            self.peer.steps(),
            self.local.steps(),
            self.pd.steps(),
            self.sport.steps(),
        ];
        BASE_WORK + steps.into_iter().max().unwrap_or(0) + self.words as u64
    }

    /// The best (smallest order) matching head entry whose rule is not marked in `dead`:
    /// `(order, rule)`.
    #[inline(always)]
    pub(super) fn first(&self, q: &Query<A>, dead: &[u64]) -> Option<(u32, u32)> {
        let peer = self.peer.row(self.peer.find(q.peer), self.words);
        let local = self.local.row(self.local.find(q.local), self.words);
        let pd = self
            .pd
            .row(self.pd.find(pd_word(q.proto, q.dport)), self.words);
        let sport = self.sport.row(self.sport.find(q.sport), self.words);
        for (i, (((&a, &b), &c), &d)) in peer.iter().zip(local).zip(pd).zip(sport).enumerate() {
            let mut m = a & b & c & d;
            while m != 0 {
                let bit = i * 64 + m.trailing_zeros() as usize;
                m &= m - 1;
                if let (Some(&order), Some(&rule)) = (self.orders.get(bit), self.rules.get(bit)) {
                    if !marked(dead, rule) {
                        return Some((order, rule));
                    }
                }
            }
        }
        None
    }

    /// Sets the head of a built classifier (whose own is empty), in at most `max_bytes`: of
    /// the [`SIZES`] that fit, the one whose sample lookups do the least counted work — the
    /// head's [`Head::work`], plus the tables' work when the head has no match — when that
    /// is less than without a head. The samples are corners of about 512 of its entries
    /// spread over the layout, as ClassBench's trace generator makes packets.
    pub(super) fn choose(c: &mut Classifier<A>, max_bytes: usize) {
        c.head = Head::default();
        // Only the entries used are unpacked (at 1M rules, unpacking them all was most of
        // this choice's time). `sample_queries` of the entries it would pick, spread over
        // the layout, picks them all again in the same order (their count is below 1,024).
        let n = c.entries.len();
        let unpacked = |i: usize| {
            c.entries
                .get(i)
                .zip(c.columns.word(i))
                .map(|(s, w)| unpack(s, w))
        };
        // With interval sets, the packets their entries make count too (the tables hold
        // only the entries the sets leave, often a few wildcards).
        let sets = c.isets.entries();
        let all = n + sets.len();
        let spread: Vec<Entry<A>> = (0..n)
            .step_by((all / 512).max(1))
            .filter_map(unpacked)
            .chain(sets.iter().step_by((all / 512).max(1)).copied())
            .collect();
        let samples = sample_queries(&spread);
        if samples.is_empty() {
            return;
        }
        // The first entries in order: the largest head's, sorted.
        let order = |i: &usize| c.entries.get(*i).map_or(u32::MAX, |e| e.order);
        let mut firsts: Vec<usize> = (0..n).collect();
        if n > LARGEST {
            firsts.select_nth_unstable_by_key(LARGEST, order);
            firsts.truncate(LARGEST);
        }
        firsts.sort_by_key(order);
        let first: Vec<Entry<A>> = firsts.into_iter().filter_map(unpacked).collect();
        let plain: Vec<u64> = samples.iter().map(|q| c.search::<true>(q, &[]).1).collect();
        // The interval sets are searched before the head in any case: their work per sample.
        let set_work: Vec<u64> = samples
            .iter()
            .map(|q| {
                let (mut order, mut rule) = (u32::MAX, u32::MAX);
                c.isets.search::<true>(q, &[], &mut order, &mut rule)
            })
            .collect();
        let mut best: (u64, Head<A>) = (plain.iter().sum(), Head::default());
        let mut last = 0;
        for size in SIZES {
            let head = Head::new(&first, size);
            // Sizes past the entries, or past the prefix a head can hold, repeat the last.
            if head.len() <= last || head.heap_bytes() > max_bytes {
                break;
            }
            last = head.len();
            let work: u64 = samples
                .iter()
                .zip(plain.iter().zip(&set_work))
                .map(|(q, (&p, &s))| head.work() + if head.first(q, &[]).is_some() { s } else { p })
                .sum();
            if work < best.0 {
                best = (work, head);
            }
        }
        c.head = best.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::SplitMix64;

    fn entry(order: u32, peer: (u32, u8), proto: Option<u8>, dport: (u16, u16)) -> Entry<u32> {
        let (net, len) = peer;
        Entry {
            order,
            rule: order,
            peer: net & u32::mask(len),
            local: 0,
            dport_lo: dport.0,
            dport_hi: dport.1,
            sport_lo: 0,
            sport_hi: u16::MAX,
            peer_len: len,
            local_len: 0,
            proto: proto.unwrap_or(0),
            flags: if proto.is_none() {
                super::super::table::ANY_PROTO
            } else {
                0
            },
        }
    }

    fn matches(e: &Entry<u32>, q: &Query<u32>) -> bool {
        (e.flags != 0 || e.proto == q.proto)
            && (e.dport_lo..=e.dport_hi).contains(&q.dport)
            && (e.sport_lo..=e.sport_hi).contains(&q.sport)
            && q.peer & u32::mask(e.peer_len) == e.peer
            && q.local & u32::mask(e.local_len) == e.local
    }

    #[test]
    fn first_is_the_scan_of_the_head() {
        let mut r = SplitMix64::new(7);
        for round in 0..40 {
            let n = 1 + r.below(300) as usize;
            let entries: Vec<Entry<u32>> = (0..n)
                .map(|i| {
                    let proto = [Some(6), Some(17), Some(1), None][r.below(4) as usize];
                    let lo = r.below(4) as u16 * 1000;
                    let dport = match proto {
                        Some(6 | 17) if r.percent(70) => (lo, lo + r.below(2000) as u16),
                        _ => (0, u16::MAX),
                    };
                    let len = [0, 8, 16, 24, 32][r.below(5) as usize];
                    let net = if r.percent(5) {
                        u32::MAX
                    } else {
                        0x0A00_0000 | r.below(1 << 16) as u32
                    };
                    let mut e = entry(i as u32, (net, len), proto, dport);
                    if r.percent(20) {
                        e.local_len = 24;
                        e.local = 0x0A00_0000 | (r.below(16) as u32) << 8;
                    }
                    if r.percent(10) {
                        e.sport_lo = 1024;
                    }
                    e
                })
                .collect();
            let head = Head::new(&entries, SIZES[round % SIZES.len()]);
            assert_eq!(head.len(), n.min(SIZES[round % SIZES.len()]));
            let dead: Vec<u64> = (0..n.div_ceil(64))
                .map(|_| r.next_u64() & r.next_u64())
                .collect();
            for _ in 0..2000 {
                let mut q = Query {
                    peer: 0x0A00_0000 | r.below(1 << 16) as u32,
                    local: 0x0A00_0000 | r.below(1 << 12) as u32,
                    proto: [6, 17, 1, 47][r.below(4) as usize],
                    sport: r.below(2048) as u16,
                    dport: r.below(5000) as u16,
                };
                // The largest and least values, which end the searches at their edges.
                if r.percent(5) {
                    q.peer = [0, u32::MAX][r.below(2) as usize];
                    q.local = [0, u32::MAX][r.below(2) as usize];
                    q.proto = [0, u8::MAX, 6][r.below(3) as usize];
                    q.sport = [0, u16::MAX][r.below(2) as usize];
                    q.dport = [0, u16::MAX][r.below(2) as usize];
                }
                let scan = |dead: &[u64]| {
                    entries[..head.len()]
                        .iter()
                        .find(|e| matches(e, &q) && !marked(dead, e.rule))
                        .map(|e| (e.order, e.rule))
                };
                assert_eq!(head.first(&q, &[]), scan(&[]), "{q:?}");
                assert_eq!(head.first(&q, &dead), scan(&dead), "{q:?}");
            }
        }
    }

    /// Each classifier's head of size `size` (none for 0), from its entries in order.
    fn force_heads<A: Bits>(index: &mut super::super::layout::Index<A>, size: usize) {
        for c in index.parts_mut() {
            let mut entries = c.unpacked_entries();
            entries.sort_by_key(|e| e.order);
            c.head = Head::new(&entries, size);
        }
    }

    /// A generated set's matcher, with every classifier given each head size in turn,
    /// answers as with no head, rules marked dead or not.
    #[test]
    fn heads_of_a_generated_set_answer_as_its_tables() {
        use super::super::Matcher;
        let rules = crate::generate::generate(3000, 5);
        let packets = crate::generate::packets(&rules, 3000, 6);
        let mut plain = Matcher::compile(&rules).unwrap();
        force_heads(&mut plain.v4, 0);
        force_heads(&mut plain.v6, 0);
        let mut r = SplitMix64::new(11);
        let dead: Vec<u64> = (0..=rules.len() / 64)
            .map(|_| r.next_u64() & r.next_u64() & r.next_u64())
            .collect();
        for size in SIZES {
            let mut with = plain.clone();
            force_heads(&mut with.v4, size);
            force_heads(&mut with.v6, size);
            for p in &packets {
                for d in [&[][..], &dead] {
                    assert_eq!(
                        with.search_dir(p, p.src(), p.dst(), d),
                        plain.search_dir(p, p.src(), p.dst(), d),
                        "head of {size}: {p:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_head_stops_before_an_entry_it_cannot_hold() {
        let entries = vec![
            entry(0, (0, 0), Some(6), (22, 22)),
            entry(1, (0, 0), None, (0, u16::MAX)),
            // Any protocol, some ports: not one interval of the protocol-and-port word.
            entry(2, (0, 0), None, (80, 80)),
            entry(3, (0, 0), Some(17), (53, 53)),
        ];
        assert_eq!(Head::new(&entries, 64).len(), 2);
        assert!(!Head::new(&entries[2..], 64).is_built());
    }
}
