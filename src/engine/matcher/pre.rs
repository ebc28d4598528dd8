//! Pre-classification by address (IPv4): per address (peer, local), the address space cut
//! into intervals, each with the set of tables that hold an entry whose network of that
//! address meets it; a lookup intersects the two sets and probes only those tables (still
//! in order, still with early termination). Exact: a table left out has no entry whose
//! networks hold the packet's addresses. Intervals whose sets are equal are merged; when
//! there are too many for the memory allowance, neighbours are merged by uniting their sets
//! (fewer tables skipped, still exact).
//!
//! **Search.** A jump table of the address's top 4–12 bits gives the block's first
//! interval; then a fixed number of halving steps per classifier (the largest number of
//! intervals one block meets, rounded up to a power of two, the starts padded so no step
//! reads past the end), each a conditional move (`select_unpredictable`: without it LLVM
//! turned the select into a data-dependent branch). The jump-table size is chosen per
//! address by an estimate (35 per table probe left, 8 per step, 8 per search).
//!
//! **Choice.** Per classifier, of no cuts, the peer cuts, the local cuts, or both (the room
//! shared ¼–¾), the one whose sample lookups do the least counted work (4 per table probed,
//! 1 per entry checked) plus 12 per address searched — about three probes the Bloom filter
//! rules out. That weight is set by wall-clock time, not instructions: the search is a
//! chain of dependent loads the probes wait for, while the probes it spares are mostly
//! filter tests whose independent hashes overlap; so cuts pay only where they spare many
//! probes.
//!
//! **Measured** (fifth round of issue 11; callgrind instructions per lookup and tables
//! probed per lookup, main (peer cuts, `partition_point`, kept when they spared 3 probes)
//! → this): fw2_1k 449 → 404 (1.74 tables either way: the cheaper search), fw4_1k 740 →
//! 668 (3.72 → 2.82), acl2_1k 862 → 792, acl4_1k 547 → 521, acl2_10k 913 → 823, fw1_10k
//! 460 → 431, ipc1_10k 760 → 601 (5.37 → 1.43, both addresses), ipc2_1k 530 → 516; acl3_1k
//! 508 → 588 (4.59 → 1.86: the local cuts, kept by the counted work); the others within
//! 1 %. Wall clock (median of 7 interleaved rounds pinned to one core, ratio to main):
//! ipc1_10k 0.71, fw2_1k 0.76, acl2_10k 0.84, fw1_10k 0.87, fw4_1k 0.91, ipc2_1k and
//! acl2_1k 0.92–0.93, fw1_1k and fw3_1k 0.94, acl3_1k 1.26 (the one loss, seen in every
//! run), the others 0.98–1.05 (noise on this shared machine is ±10 %: fw5_1k, whose
//! classifier is the same, measured 1.12 and then 0.98). Heap 38.4–46.8 B/rule (was
//! 36.7–46.2).
//!
//! **Tried and dropped:** a plain halving loop without a jump table, whose select LLVM
//! turned into a data-dependent branch — two such searches cost more than the probes they
//! spare (acl4_1k 547 → 731 instructions at 3.08 → 1.30 tables; std's `partition_point`
//! is already branch-free, but takes log2 of all the intervals in steps); choosing by table
//! probes at 35–40 instructions each (keeps cuts on fw5_1k, fw3_1k, acl5_1k, 12–30 %
//! slower in wall time although 1.5–2.9 fewer tables are probed: fw5_1k 492 → 502
//! instructions at 4.46 → 1.89 tables); a search weight of a base plus one per step plus
//! two for the second address (keeps both nearly everywhere, slow on the same sets); a
//! weight of 8 or 16 per address (no better overall in a side-by-side run); 4 + 2 per step
//! per address (still keeps acl3_1k's local cuts, drops ipc1_10k's peer cuts); a jump
//! table over the window from the second interval's start to the last (not the whole
//! address space) — the same number of steps on every set (acl3_1k still 6, for 656
//! intervals): the steps are set by the densest block, and the dense clusters are narrower
//! than any affordable block. What is left: fewer steps for the dense blocks (a second
//! level, or a per-block step count at the price of a data-dependent loop branch), which
//! would make the 6-step searches (acl3_1k, acl4_1k, fw4_1k, acl2_10k, ipc1_10k) cheaper.
//!
use super::bits::Bits;
use super::table::{Classifier, Query};

/// Which address of a query a [`Cuts`] (or an interval set, [`super::iset`]) is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    /// The peer address.
    Peer,
    /// The local address.
    Local,
}

/// A network as an inclusive interval of addresses (IPv4).
pub(super) fn span<A: Bits>(net: A, len: u8) -> (u64, u64) {
    // Truncation intended: IPv4 only (checked by the callers), fold is the address.
    let lo = net.fold() & 0xFFFF_FFFF;
    (lo, lo | (!A::mask(len).fold() & 0xFFFF_FFFF))
}

/// One address's intervals: empty when not built (then every table stays).
#[derive(Debug, Clone, Default)]
pub(super) struct Cuts {
    // INVARIANT: starts.len() == sets.len(); the starts strictly increasing from 0 (when
    // not empty), then `2 * step - 1` padding starts of `u32::MAX` whose sets are the last
    // interval's; jump[j] is the interval holding address `j << shift`, and the one holding
    // any address of that block is less than `2 * step` after it.
    /// First address of each interval (then the padding).
    starts: Box<[u32]>,
    /// Tables (bit `i` = `tables[i]`) that can match in each interval (then the padding).
    sets: Box<[u32]>,
    /// Per block of the top address bits, its first interval.
    jump: Box<[u16]>,
    /// The shift that leaves an address's block.
    shift: u32,
    /// The first halving step of the search after the jump (a power of two, or 0).
    step: usize,
}

impl Cuts {
    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        (self.starts.len() + self.sets.len()) * 4 + self.jump.len() * 2
    }

    /// Whether it was built.
    pub(super) fn is_built(&self) -> bool {
        !self.starts.is_empty()
    }

    /// The halving steps of a search after the jump.
    pub(super) fn steps(&self) -> u32 {
        usize::BITS - self.step.leading_zeros()
    }

    /// The estimated cost of a search, in [`PROBE_COST`]'s units.
    fn search_cost(&self) -> u64 {
        SEARCH_BASE_COST + SEARCH_STEP_COST * u64::from(self.steps())
    }

    /// The tables that can match an address (all when not built): the jump table's block
    /// start, then a branch-free lower bound in the block — a fixed number of halving steps
    /// for the classifier (its loop branch is predictable), each a conditional move.
    #[inline(always)]
    pub(super) fn set(&self, x: u32) -> u32 {
        let s = &*self.starts;
        let mut base = self
            .jump
            .get((x >> self.shift) as usize)
            .map_or(0, |&b| usize::from(b));
        let mut step = self.step;
        while step != 0 {
            let mid = base + step;
            // Never past the end, by the padding (it would give every table: still exact).
            let v = s.get(mid).copied().unwrap_or(u32::MAX);
            base = std::hint::select_unpredictable(v <= x, mid, base);
            step >>= 1;
        }
        self.sets.get(base).copied().unwrap_or(u32::MAX)
    }

    /// The cuts of an exact interval list in at most `max_bytes`, with a jump table of
    /// `bits` top address bits (1 to 16); empty when fewer than 2 intervals fit or every
    /// interval keeps every table (`all`).
    fn fit(exact: &[(u32, u32)], max_bytes: usize, bits: u32, all: u32) -> Cuts {
        let bits = bits.clamp(1, 16);
        let jump_len = (1usize << bits) + 1;
        // Room for the intervals, less some padding (checked at the end).
        let Some(room) = max_bytes.checked_sub(jump_len * 2 + 64) else {
            return Cuts::default();
        };
        let max_len = room / 8;
        if max_len < 2 {
            return Cuts::default();
        }
        // Coarsen uniformly (neighbours' sets united) until the allowance holds.
        let mut out: Vec<(u32, u32)> = exact.to_vec();
        while out.len() > max_len {
            let mut next: Vec<(u32, u32)> = Vec::with_capacity(out.len() / 2 + 1);
            for pair in out.chunks(2) {
                let start = pair.first().map_or(0, |p| p.0);
                let set = pair.iter().fold(0, |a, p| a | p.1);
                push_merged(&mut next, (start, set));
            }
            out = next;
        }
        if out.iter().all(|p| p.1 & all == all) {
            return Cuts::default();
        }
        let cuts = Cuts::from_intervals(&out, bits);
        if cuts.heap_bytes() > max_bytes {
            return Cuts::default();
        }
        cuts
    }

    /// The cuts of intervals as they are (`(start, value)`, the starts strictly increasing
    /// from 0), with a jump table of `bits` top address bits (1 to 16); empty when there are
    /// none or more than `u16::MAX`.
    pub(super) fn from_intervals(out: &[(u32, u32)], bits: u32) -> Cuts {
        let bits = bits.clamp(1, 16);
        if out.is_empty() || out.len() > usize::from(u16::MAX) {
            return Cuts::default();
        }
        let jump_len = (1usize << bits) + 1;
        let mut starts: Vec<u32> = out.iter().map(|p| p.0).collect();
        let mut sets: Vec<u32> = out.iter().map(|p| p.1).collect();
        let shift = 32 - bits;
        // The interval holding an address (starts[0] == 0).
        let at = |a: u64| {
            starts
                .partition_point(|&s| u64::from(s) <= a)
                .saturating_sub(1)
        };
        let mut jump = Vec::with_capacity(jump_len);
        let mut span = 1;
        for j in 0..(1u64 << bits) {
            let first = at(j << shift);
            let last = at(((j + 1) << shift) - 1);
            span = span.max(last - first + 1);
            // At most u16::MAX intervals (checked above).
            jump.push(first as u16);
        }
        jump.push(jump.last().copied().unwrap_or(0));
        let step = span.next_power_of_two() / 2;
        // Reached only by the last address, which the last interval holds.
        let pad = (2 * step).saturating_sub(1);
        let last_set = sets.last().copied().unwrap_or(u32::MAX);
        starts.extend(std::iter::repeat_n(u32::MAX, pad));
        sets.extend(std::iter::repeat_n(last_set, pad));
        Cuts {
            starts: starts.into(),
            sets: sets.into(),
            jump: jump.into(),
            shift,
            step,
        }
    }
}

/// One address's exact intervals of a built IPv4 classifier: the start of each and the
/// tables holding an entry whose network of that address meets it, equal neighbours merged.
fn exact<A: Bits>(c: &Classifier<A>, field: Field) -> Vec<(u32, u32)> {
    // Per table, its entries' intervals [lo, hi] (as u64, hi inclusive).
    let mut ivs: Vec<(u64, u64, u32)> = Vec::new();
    for (ti, t) in c.tables.iter().enumerate() {
        let lanes = t
            .groups
            .iter()
            .flat_map(|g| g.starts.iter().zip(&g.lens).map(|(&s, &l)| (s, l)));
        for (start, len) in lanes.chain(t.stash.iter().map(|s| (s.start, s.len))) {
            let (s, l) = (start as usize, usize::from(len));
            for e in c.entries.get(s..s + l).unwrap_or(&[]) {
                let (net, plen) = match field {
                    Field::Peer => (e.peer, e.peer_len),
                    Field::Local => (e.local, e.local_len),
                };
                let (lo, hi) = span(net, plen);
                ivs.push((lo, hi, ti as u32));
            }
        }
    }
    let mut bounds: Vec<u64> = ivs.iter().flat_map(|&(lo, hi, _)| [lo, hi + 1]).collect();
    bounds.push(0);
    bounds.sort_unstable();
    bounds.dedup();
    bounds.retain(|&b| b <= 0xFFFF_FFFF);
    // Each table's intervals are merged and its bit set over the covered range.
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
    let mut out: Vec<(u32, u32)> = Vec::new();
    for (&b, &s) in bounds.iter().zip(&sets) {
        // Truncation intended: bounds above 2^32 - 1 were dropped.
        push_merged(&mut out, (b as u32, s));
    }
    out
}

/// The bit set of the first `n` tables (`n` ≤ 32).
fn all_tables(n: usize) -> u32 {
    if n >= 32 {
        u32::MAX
    } else {
        (1u32 << n) - 1
    }
}

/// Appends an interval, merged into the last when their sets are equal.
fn push_merged(out: &mut Vec<(u32, u32)>, p: (u32, u32)) {
    match out.last() {
        Some(l) if l.1 == p.1 => {}
        _ => out.push(p),
    }
}

/// A classifier's pre-classification: the peer-address and the local-address cuts, either
/// or both empty when not kept (IPv6, more than 32 tables, no room, or not worth it).
#[derive(Debug, Clone, Default)]
pub(super) struct Pre {
    peer: Cuts,
    local: Cuts,
}

/// The cost of a table probe the cuts spare, in rough instructions: most are tables the
/// Bloom filter rules out (~31), a few would have scanned a bucket (~90).
const PROBE_COST: u64 = 35;

/// The cost of an address search's jump-table read and final set, and of each halving step
/// (a load and its bound check, a compare, a conditional move and the loop's own).
const SEARCH_BASE_COST: u64 = 8;
const SEARCH_STEP_COST: u64 = 8;

/// The jump-table sizes tried (top address bits).
const JUMP_BITS: [u32; 5] = [4, 6, 8, 10, 12];

/// What searching one address's cuts costs a lookup, in the counted work's units (4 per
/// table probed). Its latency is what counts — a chain of dependent loads the probes wait
/// for —: measured side by side, about what three probes the filter rules out cost, whose
/// independent hashes overlap. (Tried: a base plus one per step of the longer search plus
/// two for the second address, which keeps both addresses nearly everywhere: slower on
/// fw5_1k, fw3_1k, acl5_1k than no cuts at all.)
const SEARCH_WORK: u64 = 12;

/// The shares of the room tried for the peer cuts when both are kept (in eighths).
const PEER_SHARES: [usize; 3] = [2, 4, 6];

impl Pre {
    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.peer.heap_bytes() + self.local.heap_bytes()
    }

    /// The counted work of its searches (4 per table probed, about 35 instructions): 1 per
    /// address searched plus 1 per halving step (8 instructions each).
    pub(super) fn search_work(&self) -> u64 {
        [&self.peer, &self.local]
            .iter()
            .filter(|c| c.is_built())
            .map(|c| 1 + u64::from(c.steps()))
            .sum()
    }

    /// Whether either address's cuts were kept.
    #[inline(always)]
    pub(super) fn is_built(&self) -> bool {
        self.peer.is_built() || self.local.is_built()
    }

    /// Its shape, for statistics: per address, its intervals, jump-table bits and search
    /// steps (`-` when not kept).
    #[cfg(test)]
    pub(super) fn describe(&self) -> String {
        let one = |c: &Cuts| {
            if c.is_built() {
                let bits = 32 - c.shift;
                format!("{}i/{bits}b/{}s", c.starts.len(), c.steps())
            } else {
                "-".to_string()
            }
        };
        format!("peer {} local {}", one(&self.peer), one(&self.local))
    }

    /// The tables that can match a packet of these addresses (all when not built).
    #[inline(always)]
    pub(super) fn tables_for(&self, peer: u32, local: u32) -> u32 {
        self.peer.set(peer) & self.local.set(local)
    }

    /// Sets the pre-classification of a built classifier (whose own is empty), in at most
    /// `max_bytes`: of the peer cuts, the local cuts, both (in a few shares of the room) or
    /// none, the one whose sample lookups do the least counted work plus
    /// [`SEARCH_WORK`] per address searched. Each address's jump-table size is the one whose
    /// estimate — table probes left (of best order below the sample's best match's) at
    /// [`PROBE_COST`] against the search steps — is least.
    pub(super) fn choose<A: Bits>(c: &mut Classifier<A>, max_bytes: usize, samples: &[Query<A>]) {
        let n = c.tables.len();
        c.pre = Pre::default();
        if A::WIDTH != 32 || !(2..=32).contains(&n) || samples.is_empty() {
            return;
        }
        let all = all_tables(n);
        // Per sample: its addresses and the tables a lookup without cuts would probe (a
        // prefix, tables being by best order; the best match does not depend on `c.pre`).
        let probe: Vec<(u32, u32, u32)> = samples
            .iter()
            .map(|q| {
                let best = c.search::<false>(q, &[]).0.map_or(u32::MAX, |b| b.0);
                let k = c.tables.partition_point(|t| t.min_order < best);
                // Truncation intended: IPv4 only (checked above), fold is the address.
                (q.peer.fold() as u32, q.local.fold() as u32, all_tables(k))
            })
            .collect();
        let cost = |p: &Pre| -> u64 {
            let searches: u64 = [&p.peer, &p.local]
                .iter()
                .filter(|x| x.is_built())
                .map(|x| x.search_cost())
                .sum();
            probe
                .iter()
                .map(|&(pe, lo, left)| {
                    PROBE_COST * u64::from((p.tables_for(pe, lo) & left).count_ones()) + searches
                })
                .sum()
        };
        let exact_peer = exact(c, Field::Peer);
        let exact_local = exact(c, Field::Local);
        // The cheapest cuts of one address in `room`, alone (then compared as such).
        let cheapest = |ex: &[(u32, u32)], room: usize, local: bool| -> Cuts {
            let mut best: Option<(u64, Cuts)> = None;
            for bits in JUMP_BITS {
                let cuts = Cuts::fit(ex, room, bits, all);
                if !cuts.is_built() {
                    continue;
                }
                let p = if local {
                    Pre {
                        peer: Cuts::default(),
                        local: cuts,
                    }
                } else {
                    Pre {
                        peer: cuts,
                        local: Cuts::default(),
                    }
                };
                let k = cost(&p);
                if best.as_ref().is_none_or(|(b, _)| k < *b) {
                    best = Some((k, if local { p.local } else { p.peer }));
                }
            }
            best.map(|b| b.1).unwrap_or_default()
        };
        let mut candidates = vec![
            Pre::default(),
            Pre {
                peer: cheapest(&exact_peer, max_bytes, false),
                local: Cuts::default(),
            },
            Pre {
                peer: Cuts::default(),
                local: cheapest(&exact_local, max_bytes, true),
            },
        ];
        for eighths in PEER_SHARES {
            let room_peer = max_bytes / 8 * eighths;
            let peer = cheapest(&exact_peer, room_peer, false);
            let room_local = max_bytes.saturating_sub(peer.heap_bytes());
            let local = cheapest(&exact_local, room_local, true);
            candidates.push(Pre { peer, local });
        }
        // The counted work of the sample lookups with each candidate (4 per table probed,
        // 1 per entry checked) plus `SEARCH_WORK` per address searched.
        let mut best: Option<(u64, Pre)> = None;
        for p in candidates {
            let fields = u64::from(p.peer.is_built()) + u64::from(p.local.is_built());
            c.pre = p;
            let work: u64 = samples.iter().map(|q| c.search::<true>(q, &[]).1).sum();
            let k = work + fields * SEARCH_WORK * samples.len() as u64;
            if best.as_ref().is_none_or(|(b, _)| k < *b) {
                best = Some((k, std::mem::take(&mut c.pre)));
            }
        }
        c.pre = best.map(|b| b.1).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_free_search_finds_the_interval() {
        for n in 1..40u32 {
            let starts: Vec<u32> = (0..n).map(|i| i * 7).collect();
            let exact: Vec<(u32, u32)> = starts.iter().zip(1..).map(|(&s, i)| (s, i)).collect();
            let cuts = Cuts::fit(&exact, usize::MAX / 2, 1, u32::MAX);
            for x in 0..n * 7 + 10 {
                let i = starts.partition_point(|&s| s <= x) - 1;
                assert_eq!(cuts.set(x), i as u32 + 1, "n {n} x {x}");
            }
            assert_eq!(cuts.set(u32::MAX), n);
        }
        assert_eq!(Cuts::default().set(5), u32::MAX);
    }

    #[test]
    fn jump_tables_find_the_interval() {
        // Starts clustered at a few blocks and spread elsewhere, up to the last address.
        let mut starts: Vec<u32> = vec![0, 1, 2, 3, 0x0100_0000, 0x0A00_0000, 0x0A00_0001];
        let mut x: u32 = 12345;
        for _ in 0..300 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            starts.push(x);
        }
        starts.extend([0xFFFF_FFFE, 0xFFFF_FFFF]);
        starts.sort_unstable();
        starts.dedup();
        let exact: Vec<(u32, u32)> = starts.iter().zip(1..).map(|(&s, i)| (s, i)).collect();
        let mut probes: Vec<u32> = starts
            .iter()
            .flat_map(|&s| [s, s.wrapping_sub(1), s | 0xFF])
            .collect();
        probes.extend([0, u32::MAX, 0x8000_0000]);
        for bits in [1, 2, 6, 8, 12, 16] {
            let cuts = Cuts::fit(&exact, usize::MAX / 2, bits, u32::MAX);
            for &p in &probes {
                let i = starts.partition_point(|&s| s <= p) - 1;
                assert_eq!(cuts.set(p), i as u32 + 1, "bits {bits} x {p:#x}");
            }
        }
        // Coarsened to fit: a superset of the exact set, for every address.
        let cuts = Cuts::fit(&exact, 64 * 8 + 200, 6, u32::MAX);
        assert!(cuts.is_built() && cuts.heap_bytes() <= 64 * 8 + 200);
        for &p in &probes {
            let i = starts.partition_point(|&s| s <= p) - 1;
            let want = i as u32 + 1;
            assert_eq!(cuts.set(p) & want, want, "x {p:#x}");
        }
    }

    #[test]
    fn address_cuts_keep_the_answers() {
        use crate::engine::matcher::layout::Index;
        let rules = crate::generate::generate(1500, 5);
        let packets = crate::generate::packets(&rules, 3000, 6);
        // Exact and coarse cuts, on one address or both, forced on every classifier.
        for (room, both) in [(usize::MAX / 2, true), (usize::MAX / 2, false), (700, true)] {
            let mut m = crate::engine::matcher::Matcher::compile(&rules).unwrap();
            let mut forced = 0;
            let parts: Vec<&mut Classifier<u32>> = match &mut m.v4 {
                Index::One(c) => vec![c],
                Index::ByProto(p) => p.iter_mut().collect(),
            };
            for c in parts {
                if c.tables.len() > 32 {
                    continue;
                }
                let all = all_tables(c.tables.len());
                let peer = Cuts::fit(&exact(c, Field::Peer), room, 8, all);
                let local = if both {
                    Cuts::fit(&exact(c, Field::Local), room, 4, all)
                } else {
                    Cuts::default()
                };
                forced += usize::from(peer.is_built()) + usize::from(local.is_built());
                c.pre = Pre { peer, local };
            }
            assert!(forced > 0, "no classifier took cuts");
            for p in &packets {
                assert_eq!(
                    m.lookup(p),
                    crate::engine::rule::linear_scan(&rules, p),
                    "{p:?}"
                );
            }
        }
    }
}
