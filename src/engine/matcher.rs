//! The compiled packet matcher over engine rules: an immutable, `Send + Sync` index that
//! answers exactly what [`linear_scan`](crate::engine::rule::linear_scan) answers — the
//! index of the deciding rule — in a few hash probes instead of a scan.
//!
//! # Design: tuple-space partitioning with rank-ordered early termination
//!
//! Every rule's decision key is first turned into one number, its **order**: rules are
//! sorted (stably) by `(rank, accept after drop, id as bytes)`, and the order is the position
//! in that sort. The deciding rule of a packet is then simply the matching rule of smallest
//! order, which is exactly what [`beats`](crate::engine::rule::beats) plus the first-index
//! tie-break of the linear scan define. Ties at equal rank (drop wins, then the smallest id)
//! cost nothing at lookup time.
//!
//! Each rule is lowered to one **entry** per peer network (a group or prefix-list peer
//! expands to many), per address family. Entries are grouped into **tables** in the manner
//! of TupleMerge (Daly, Liu, Torng 2019): a table has a *tuple* — a peer prefix length, a
//! local prefix length, and whether the protocol and the destination port take part in the
//! key — and holds entries at least that specific. Its hash key is the packet's peer and local
//! addresses masked to the table's lengths plus (when the tuple says so) the exact protocol
//! and destination port; each bucket lists its entries by order, each entry checked against
//! its own full prefixes, protocol and port intervals.
//!
//! Building: entries are taken in increasing order; each goes to the most specific existing
//! table that admits it and whose bucket for its key holds fewer than a cap of entries. An
//! entry that fits nowhere opens a table with the first free tuple of: its prefix lengths
//! rounded down to a multiple of the layout's step, its exact lengths, then either of these
//! with its exact protocol and destination port in the key (this is what keeps thousands of
//! `/0` rules on distinct ports in a few tables). The compiler builds a few layouts — step
//! 8 / cap 32 (the default), step 16 / cap 64, step 12 / cap 32 (IPv6 steps are doubled) —
//! and keeps the one whose lookups do the least counted work (4 per table probed, 1 per
//! entry checked) on up to 512 packets at corners of its own entries, the way ClassBench's
//! trace generator makes packets. Deterministic; sets under 64 entries use the default, sets
//! over 20,000 entries try only the first two. In the same way, for rule sets up to 20,000
//! entries, each family's index may be **split by the packet's protocol class** (TCP, UDP,
//! other): three classifiers, each with the entries of its protocol plus the any-protocol
//! ones, kept when their counted work is lower and the copies add at most half the entries.
//! Protocol correlates with the shape of the rules, so each part has fewer tuples.
//!
//! Lookup: entries were inserted by increasing order, so tables are created in increasing
//! order of their best (smallest) order; a lookup visits them in that order and **stops as
//! soon as a table's best order cannot beat the match it already has**. Each bucket's key
//! sits in one of two candidate slots (cuckoo hashing at build time, with a rarely used
//! stash), so a probe is one hash, two slot reads and a branch-free select — preceded by a
//! per-table one-hash Bloom filter of the bucket keys (16–32 bits per key, in L1 for the
//! ClassBench sets) that rules out most probes before the slot reads; the bucket is
//! scanned only when its best entry can still improve the match, and its first matching entry
//! is its best. IPv4 and IPv6 packets use separate classifiers (`u32` and `u128` keys). A
//! query whose peer and local addresses differ in family (never a valid packet) falls back to
//! a linear pass, so even then the answer equals the scan's.
//!
//! # Why this design
//!
//! * A bit-vector scheme (Lucent BV, ABV) costs O(N/64) words per field per lookup: ~8,000
//!   word operations at 100k rules, far from the 5 M lookups/s target.
//! * Decision trees (HiCuts, HyperSplit, CutSplit) are fast on ClassBench but replicate rules
//!   whose ranges straddle cuts; security-group rule sets are dominated by wildcards on one
//!   side (a `/0` peer, any port), which replicate badly, and their build times grow quickly.
//! * Tuple-space search has linear memory (one entry per rule per peer network), builds in
//!   one pass of hash inserts (≈1 ms at 10k rules, ≈45 ms at 100k), handles IPv6 with the
//!   same code, and its weak point — probing every tuple — is what the rank ordering
//!   attacks: a packet whose best match is strong stops after the first few tables. The
//!   synthetic security-group sets (many /32 and /24 peers, common ports, priorities that tie
//!   heavily) need ~4 probes per lookup even at 100k rules (101 IPv4 tables).
//!
//! Tuning, measured on the fifteen ClassBench traces (sum of ns per lookup): bucket cap 8 was
//! 40 % slower than 32 (more tables); /4 rounding of prefix lengths gave 2–3× more tables
//! than /8 rounding and was slower; putting protocol and port in every tuple (not only as
//! the fallback) doubled the tables; /16 rounding halves the tables probed on the 10k sets
//! but fills buckets, so which layout wins depends on the set — hence the per-set choice,
//! worth ~20 % over the best single layout; the protocol split another ~10 %; a column of
//! destination ports scanned before the bucket entries ~3 %. Two-slot cuckoo probing and the bucket's best
//! order kept in its slot gave ~10 % over linear probing; a cheaper one-multiply hash gave
//! nothing measurable and worse cuckoo placement. The Bloom filter lets only 1.1–2.8 probes
//! per lookup through on the ClassBench traces (nearly all of them find their bucket) and
//! gave 4–40 % per set; 64 bits per key instead of 16 gained ~2 %, 4 bits per key lost
//! ~10 %. Tried and dropped (slower or even, details in `benches/README.md`): a per-field
//! top-byte table of candidate tables, the order in the port column, a branch-free
//! `matches`, a bit-mask bucket scan, more layouts with smaller buckets.
//!
//! **Limits** (honest): on ClassBench the lookup visits 3.5–9 tables (the sets keep 6–27
//! tuples and spread their best matches uniformly over the rule list, so early termination
//! helps less than on security-group sets), about 3 ns per table the filter rules out plus
//! the bucket scans (4–28 entries iterated per lookup): 19–51 M lookups/s on the 1k sets
//! and 11–34 M/s on the 10k sets on this machine, mostly below the 50 M/s (1k) target and
//! around the 20 M/s (10k) one.
//! Getting there would need a pre-filter that rules out tuples per packet (tuple pruning by
//! per-field prefix lookups) or a decision tree in front of the tables. Medians are in
//! `benches/README.md`.
//!
//! # Complexity
//!
//! | operation | cost |
//! |---|---|
//! | [`Matcher::compile`] | O(E · T) hash operations (E entries, T tables, T small) |
//! | [`Matcher::lookup`] | O(T) probes worst case, usually a few; no allocation |
//! | memory | O(E): a 28-byte (IPv4) or 64-byte (IPv6) entry per peer network, a 4-byte port word, plus 24-byte (IPv4) slots at ≤ 50 % load and 2–4 filter bytes per bucket; ~93 bytes per rule at 100k generated rules |

use crate::engine::rule::EngineRule;
use crate::model::{Family, Packet, Policy};
use ipnet::IpNet;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

/// How tables are formed: the granularity new tables round prefix lengths down to, and the
/// most entries one bucket may hold before an entry must look for (or open) another table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Params {
    /// Prefix-length step of a new table's tuple (IPv4; IPv6 uses twice this).
    step: u8,
    /// Bucket capacity.
    cap: usize,
}

/// The layouts the compiler tries, cheapest-estimated wins; the first is the default.
const LAYOUTS: [Params; 3] = [
    Params { step: 8, cap: 32 },
    Params { step: 16, cap: 64 },
    Params { step: 12, cap: 32 },
];

/// Entry counts up to which all [`LAYOUTS`] are tried (above: the first two).
const TRY_ALL_UP_TO: usize = 20_000;

/// Entry counts below which only the default layout is built.
const TRY_NONE_BELOW: usize = 64;

/// Why a rule set cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// More rules (or peer networks) than the matcher's 32-bit indexes can address.
    TooManyRules(usize),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::TooManyRules(n) => {
                write!(
                    f,
                    "too many rules to compile: {n} (at most {})",
                    u32::MAX - 1
                )
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// An address's bits as an unsigned integer: `u32` for IPv4, `u128` for IPv6.
trait Bits: Copy + Eq + std::hash::Hash + Default + Send + Sync + fmt::Debug + 'static {
    /// Address width in bits.
    const WIDTH: u8;
    /// Zero.
    const ZERO: Self;
    /// The mask of a prefix of `len` bits (`len` ≤ WIDTH).
    fn mask(len: u8) -> Self;
    /// Bitwise and.
    fn and(self, other: Self) -> Self;
    /// Bitwise or.
    fn or(self, other: Self) -> Self;
    /// Bitwise not.
    fn not(self) -> Self;
    /// A 64-bit mix of the value, for hashing.
    fn fold(self) -> u64;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    const ZERO: u32 = 0;
    #[inline(always)]
    fn mask(len: u8) -> u32 {
        u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(len)))
            .unwrap_or(0)
    }
    #[inline(always)]
    fn and(self, other: u32) -> u32 {
        self & other
    }
    fn or(self, other: u32) -> u32 {
        self | other
    }
    fn not(self) -> u32 {
        !self
    }
    #[inline(always)]
    fn fold(self) -> u64 {
        u64::from(self)
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    const ZERO: u128 = 0;
    #[inline(always)]
    fn mask(len: u8) -> u128 {
        u128::MAX
            .checked_shl(128u32.saturating_sub(u32::from(len)))
            .unwrap_or(0)
    }
    #[inline(always)]
    fn and(self, other: u128) -> u128 {
        self & other
    }
    fn or(self, other: u128) -> u128 {
        self | other
    }
    fn not(self) -> u128 {
        !self
    }
    #[inline(always)]
    fn fold(self) -> u64 {
        // Truncations intended: the two halves are mixed.
        let hi = (self >> 64) as u64;
        let lo = self as u64;
        hi.rotate_left(29) ^ lo
    }
}

/// One rule's peer network (of one family) with the rest of its fields, ready to match.
#[derive(Debug, Clone, Copy)]
struct Entry<A: Bits> {
    /// The rule's position in the total decision order: smaller wins.
    order: u32,
    /// The rule's index in the slice given to [`Matcher::compile`].
    rule: u32,
    /// Peer network (canonical).
    peer: A,
    /// Local network (canonical; length 0 when the rule has none).
    local: A,
    /// Destination port interval.
    dport_lo: u16,
    dport_hi: u16,
    /// Source port interval.
    sport_lo: u16,
    sport_hi: u16,
    /// Peer prefix length.
    peer_len: u8,
    /// Local prefix length.
    local_len: u8,
    /// The protocol number, unless `flags` has [`ANY_PROTO`].
    proto: u8,
    /// [`ANY_PROTO`], [`HAS_LOCAL`], [`FAMILY_FIXED`].
    flags: u8,
}

/// Entry flag: the rule matches every protocol.
const ANY_PROTO: u8 = 1;
/// Entry flag: the rule has a local CIDR (of the entry's family).
const HAS_LOCAL: u8 = 2;
/// Entry flag: the rule is confined to the entry's family (ICMP, ICMPv6).
const FAMILY_FIXED: u8 = 4;

impl<A: Bits> Entry<A> {
    #[inline(always)]
    fn matches(&self, k: &Query<A>) -> bool {
        (self.flags & ANY_PROTO != 0 || self.proto == k.proto)
            && self.dport_lo <= k.dport
            && k.dport <= self.dport_hi
            && self.sport_lo <= k.sport
            && k.sport <= self.sport_hi
            && k.peer.and(A::mask(self.peer_len)) == self.peer
            && k.local.and(A::mask(self.local_len)) == self.local
    }

    fn proto_exact(&self) -> bool {
        self.flags & ANY_PROTO == 0
    }

    fn dport_exact(&self) -> bool {
        self.dport_lo == self.dport_hi
    }
}

/// A packet's fields as one classifier sees them.
#[derive(Debug, Clone, Copy)]
struct Query<A: Bits> {
    peer: A,
    local: A,
    proto: u8,
    sport: u16,
    dport: u16,
}

/// A tuple: what part of a packet a table's hash key covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Tuple {
    peer_len: u8,
    local_len: u8,
    proto_exact: bool,
    dport_exact: bool,
}

impl Tuple {
    /// Whether an entry can live in a table of this tuple (it is at least as specific).
    fn admits<A: Bits>(&self, e: &Entry<A>) -> bool {
        self.peer_len <= e.peer_len
            && self.local_len <= e.local_len
            && (!self.proto_exact || e.proto_exact())
            && (!self.dport_exact || e.dport_exact())
    }

    fn pd_mask(&self) -> u32 {
        (if self.proto_exact { 0xFF_0000 } else { 0 }) | (if self.dport_exact { 0xFFFF } else { 0 })
    }

    fn specificity(&self) -> u32 {
        u32::from(self.peer_len)
            + u32::from(self.local_len)
            + if self.proto_exact { 8 } else { 0 }
            + if self.dport_exact { 16 } else { 0 }
    }
}

/// The protocol and destination port folded into one key word.
#[inline(always)]
fn pd_word(proto: u8, dport: u16) -> u32 {
    (u32::from(proto) << 16) | u32::from(dport)
}

#[inline(always)]
fn hash_key<A: Bits>(peer: A, local: A, pd: u32) -> u64 {
    // Multiply-shift hashing: the caller takes the high bits.
    let x = peer.fold().rotate_left(32)
        ^ local.fold()
        ^ u64::from(pd).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (x ^ (x >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One hash slot: a bucket's key and its entries' range. Empty when `end == 0` (every
/// bucket has an entry, so an occupied slot has `end > start >= 0`).
#[derive(Debug, Clone, Copy)]
struct Slot<A: Bits> {
    peer: A,
    local: A,
    pd: u32,
    /// The order of the bucket's first (best) entry.
    first: u32,
    start: u32,
    end: u32,
}

impl<A: Bits> Slot<A> {
    /// An empty slot: no entries, and a key no query has (a query's `pd` fits in 24 bits).
    const EMPTY: Slot<A> = Slot {
        peer: A::ZERO,
        local: A::ZERO,
        pd: u32::MAX,
        first: u32::MAX,
        start: 0,
        end: 0,
    };
}

/// All ones when `b`, else zero.
#[inline(always)]
fn mask_of(b: bool) -> u32 {
    0u32.wrapping_sub(u32::from(b))
}

/// A key's two candidate slots in a table of `2^(64 - shift)` slots.
#[inline(always)]
fn slot_pair(h: u64, shift: u32) -> (usize, usize) {
    let h2 = (h ^ (h >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    ((h >> shift) as usize, (h2 >> shift) as usize)
}

/// Places the buckets' slots by cuckoo hashing (each key in one of its two candidate
/// slots), changing the seed and growing the table a few times until every key has a place;
/// keys that still find none go to a small stash searched linearly. Returns the slots, the
/// stash, the shift and the seed.
#[allow(clippy::type_complexity)]
fn cuckoo_place<A: Bits>(filled: &[Slot<A>]) -> (Vec<Slot<A>>, Vec<Slot<A>>, u32, u64) {
    let n = filled.len().max(1);
    let mut cap = (n * if n <= 512 { 4 } else { 2 })
        .next_power_of_two()
        .max(4);
    const ATTEMPTS: u64 = 8;
    let mut attempt: u64 = 0;
    loop {
        let shift = 64 - cap.trailing_zeros();
        let seed = attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let last = attempt + 1 == ATTEMPTS;
        let (slots, stash) = cuckoo_try(filled, cap, shift, seed);
        if stash.is_empty() || last {
            return (slots, stash, shift, seed);
        }
        attempt += 1;
        if attempt.is_multiple_of(4) {
            cap *= 2;
        }
    }
}

fn cuckoo_try<A: Bits>(
    filled: &[Slot<A>],
    cap: usize,
    shift: u32,
    seed: u64,
) -> (Vec<Slot<A>>, Vec<Slot<A>>) {
    let mut slots = vec![Slot::<A>::EMPTY; cap];
    let mut stash = Vec::new();
    let pair = |s: &Slot<A>| slot_pair(hash_key(s.peer, s.local, s.pd) ^ seed, shift);
    for item in filled {
        let mut cur = *item;
        let (a, b) = pair(&cur);
        let mut pos = if slots.get(a).is_some_and(|s| s.end == 0) {
            a
        } else {
            b
        };
        let mut placed = false;
        for _ in 0..64 {
            let Some(slot) = slots.get_mut(pos) else {
                break;
            };
            if slot.end == 0 {
                *slot = cur;
                placed = true;
                break;
            }
            std::mem::swap(slot, &mut cur);
            let (a, b) = pair(&cur);
            pos = if pos == a { b } else { a };
        }
        if !placed {
            stash.push(cur);
        }
    }
    (slots, stash)
}

/// One tuple's hash table.
#[derive(Debug, Clone)]
struct Table<A: Bits> {
    /// The smallest order among the table's entries.
    min_order: u32,
    peer_mask: A,
    local_mask: A,
    pd_mask: u32,
    /// `64 - log2(slots.len())`.
    shift: u32,
    /// Hash seed (changed at build time until cuckoo placement succeeds).
    seed: u64,
    // INVARIANT: slots.len() is a power of two 2^(64 - shift); every bucket's key sits in
    // one of its two candidate slots (`slot_pair`) or in the stash, and in one place only.
    slots: Vec<Slot<A>>,
    /// Keys cuckoo placement found no slot for (almost always empty).
    stash: Vec<Slot<A>>,
    /// A one-hash Bloom filter of the bucket keys (about 16 bits per key), indexed by the
    /// top bits of the unseeded key hash: a probe whose bit is clear skips the slot reads.
    // INVARIANT: filter.len() << 6 == 1 << (64 - fshift), and every bucket key's bit is set.
    filter: Vec<u64>,
    /// `64 - log2(filter bits)`.
    fshift: u32,
}

/// The Bloom filter of a table's bucket keys: the words and the shift (see [`Table`]).
fn build_filter<A: Bits>(filled: &[Slot<A>]) -> (Vec<u64>, u32) {
    let bits = (filled.len() * 16).next_power_of_two().max(64);
    let fshift = 64 - bits.trailing_zeros();
    let mut filter = vec![0u64; bits / 64];
    for s in filled {
        let b = hash_key(s.peer, s.local, s.pd) >> fshift;
        if let Some(w) = filter.get_mut((b >> 6) as usize) {
            *w |= 1 << (b & 63);
        }
    }
    (filter, fshift)
}

/// Whether a key hash's bit is set in a table's filter.
#[inline(always)]
fn filter_has(filter: &[u64], fshift: u32, h: u64) -> bool {
    let b = h >> fshift;
    filter
        .get((b >> 6) as usize)
        .is_some_and(|w| (w >> (b & 63)) & 1 != 0)
}

/// The classifier of one address family.
#[derive(Debug, Clone)]
struct Classifier<A: Bits> {
    // INVARIANT: sorted by min_order.
    tables: Vec<Table<A>>,
    // INVARIANT: every slot's range lies inside `entries`, sorted by order within a range.
    entries: Vec<Entry<A>>,
    // INVARIANT: `dports[i]` is `entries[i]`'s destination ports as `start << 16 | (end -
    // start)`: a compact column scanned before the entries themselves.
    dports: Vec<u32>,
}

/// An entry's destination-port interval packed for the pre-scan.
fn pack_dports<A: Bits>(e: &Entry<A>) -> u32 {
    (u32::from(e.dport_lo) << 16) | u32::from(e.dport_hi.wrapping_sub(e.dport_lo))
}

/// Whether `port` lies in a packed interval.
#[inline(always)]
fn in_packed(d: u32, port: u16) -> bool {
    // Truncations intended: the two halves of the packed word.
    port.wrapping_sub((d >> 16) as u16) <= d as u16
}

/// A fast hasher for build-time maps (keys are already well-mixed integers).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let x = self.0 ^ (self.0 >> 29);
        x.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(23) ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u128(&mut self, i: u128) {
        // Truncations intended: both halves are written.
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

/// A table under construction.
struct TableBuild<A: Bits> {
    tuple: Tuple,
    min_order: u32,
    buckets: FastMap<(A, A, u32), Vec<u32>>,
}

impl<A: Bits> TableBuild<A> {
    fn key(&self, e: &Entry<A>) -> (A, A, u32) {
        (
            e.peer.and(A::mask(self.tuple.peer_len)),
            e.local.and(A::mask(self.tuple.local_len)),
            pd_word(e.proto, e.dport_lo) & self.tuple.pd_mask(),
        )
    }
}

/// Up to 512 queries at corners of entries spread over the list (first or last address of
/// each prefix, first or last port), as ClassBench's trace generator makes them.
fn sample_queries<A: Bits>(entries: &[Entry<A>]) -> Vec<Query<A>> {
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

/// Rounds a prefix length down for a new table's tuple, so that neighbouring lengths share it.
fn relax(len: u8, width: u8, step: u8) -> u8 {
    let step = if width == 32 {
        step
    } else {
        step.saturating_mul(2)
    }
    .max(1);
    if len == width {
        len
    } else {
        len - len % step
    }
}

/// The tuple of a table opened for an entry that fits nowhere: the first of these not yet
/// taken — the entry's prefix lengths relaxed, then exact, then either with the exact
/// protocol and destination port in the key (when the entry has them) — else a second table
/// of the last.
fn new_tuple<A: Bits>(e: &Entry<A>, step: u8, taken: impl Fn(&Tuple) -> bool) -> Tuple {
    let relaxed = Tuple {
        peer_len: relax(e.peer_len, A::WIDTH, step),
        local_len: relax(e.local_len, A::WIDTH, step),
        proto_exact: false,
        dport_exact: false,
    };
    let exact = Tuple {
        peer_len: e.peer_len,
        local_len: e.local_len,
        ..relaxed
    };
    let keyed = |t: Tuple| Tuple {
        proto_exact: e.proto_exact(),
        dport_exact: e.dport_exact(),
        ..t
    };
    let candidates = [relaxed, exact, keyed(relaxed), keyed(exact)];
    candidates
        .iter()
        .copied()
        .find(|t| !taken(t))
        .unwrap_or(keyed(exact))
}

impl<A: Bits> Classifier<A> {
    /// Builds with each candidate layout and keeps the one whose lookups cost least on
    /// sample packets drawn from the entries' own corners (counted work, deterministic).
    fn build(mut entries: Vec<Entry<A>>) -> Classifier<A> {
        entries.sort_by_key(|e| e.order);
        let layouts: &[Params] = if entries.len() < TRY_NONE_BELOW {
            &LAYOUTS[..1]
        } else if entries.len() <= TRY_ALL_UP_TO {
            &LAYOUTS
        } else {
            &LAYOUTS[..2]
        };
        let samples = sample_queries(&entries);
        let mut best: Option<(u64, Classifier<A>)> = None;
        for &p in layouts {
            let c = Self::build_with(&entries, p);
            let cost = if layouts.len() == 1 {
                0
            } else {
                samples.iter().map(|q| c.work(q)).sum()
            };
            if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                best = Some((cost, c));
            }
        }
        match best {
            Some((_, c)) => c,
            None => Self::build_with(&entries, LAYOUTS[0]),
        }
    }

    /// The work a lookup does, in rough cycles: 4 per table probed, 1 per entry checked.
    fn work(&self, q: &Query<A>) -> u64 {
        let mut best_order = u32::MAX;
        let mut work = 0u64;
        let pd_full = pd_word(q.proto, q.dport);
        for t in &self.tables {
            if t.min_order >= best_order {
                break;
            }
            work += 4;
            let kp = q.peer.and(t.peer_mask);
            let kl = q.local.and(t.local_mask);
            let pd = pd_full & t.pd_mask;
            let h = hash_key(kp, kl, pd);
            if !filter_has(&t.filter, t.fshift, h) {
                continue;
            }
            let (i1, i2) = slot_pair(h ^ t.seed, t.shift);
            let found = [t.slots.get(i1), t.slots.get(i2)]
                .into_iter()
                .flatten()
                .chain(t.stash.iter())
                .find(|s| s.end != 0 && s.peer == kp && s.local == kl && s.pd == pd);
            let Some(s) = found else { continue };
            if s.first >= best_order {
                continue;
            }
            for e in self
                .entries
                .get(s.start as usize..s.end as usize)
                .unwrap_or(&[])
            {
                work += 1;
                if e.order >= best_order {
                    break;
                }
                if e.matches(q) {
                    best_order = e.order;
                    break;
                }
            }
        }
        work
    }

    fn build_with(entries: &[Entry<A>], params: Params) -> Classifier<A> {
        let mut builds: Vec<TableBuild<A>> = Vec::new();
        // Table indexes by decreasing specificity, for choosing where an entry goes.
        let mut by_spec: Vec<usize> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let idx = i as u32; // INVARIANT: entries.len() < u32::MAX (checked by compile).
            let mut placed = false;
            for &t in &by_spec {
                let Some(tb) = builds.get_mut(t) else {
                    continue;
                };
                if !tb.tuple.admits(e) {
                    continue;
                }
                let key = tb.key(e);
                let bucket = tb.buckets.entry(key).or_default();
                if bucket.len() < params.cap {
                    bucket.push(idx);
                    placed = true;
                    break;
                }
            }
            if !placed {
                let tuple = new_tuple(e, params.step, |t| builds.iter().any(|b| b.tuple == *t));
                let mut tb = TableBuild {
                    tuple,
                    min_order: e.order,
                    buckets: FastMap::default(),
                };
                let key = tb.key(e);
                tb.buckets.insert(key, vec![idx]);
                builds.push(tb);
                let new = builds.len() - 1;
                let spec = tuple.specificity();
                let pos = by_spec
                    .iter()
                    .position(|&t| builds.get(t).is_some_and(|b| b.tuple.specificity() < spec))
                    .unwrap_or(by_spec.len());
                by_spec.insert(pos, new);
            }
        }
        // Lay out: entries grouped by bucket, tables in creation (= min order) order.
        let mut out_entries: Vec<Entry<A>> = Vec::with_capacity(entries.len());
        let mut tables = Vec::with_capacity(builds.len());
        for tb in builds {
            // Deterministic layout: buckets by their first entry's order.
            let mut buckets: Vec<((A, A, u32), Vec<u32>)> = tb.buckets.into_iter().collect();
            buckets.sort_by_key(|(_, v)| v.first().copied().unwrap_or(u32::MAX));
            let mut filled: Vec<Slot<A>> = Vec::with_capacity(buckets.len());
            for ((peer, local, pd), members) in buckets {
                let start = out_entries.len() as u32;
                for m in members {
                    if let Some(e) = entries.get(m as usize) {
                        out_entries.push(*e);
                    }
                }
                filled.push(Slot {
                    peer,
                    local,
                    pd,
                    first: out_entries
                        .get(start as usize)
                        .map_or(u32::MAX, |e| e.order),
                    start,
                    end: out_entries.len() as u32,
                });
            }
            let (slots, stash, shift, seed) = cuckoo_place(&filled);
            let (filter, fshift) = build_filter(&filled);
            tables.push(Table {
                min_order: tb.min_order,
                peer_mask: A::mask(tb.tuple.peer_len),
                local_mask: A::mask(tb.tuple.local_len),
                pd_mask: tb.tuple.pd_mask(),
                shift,
                seed,
                slots,
                stash,
                filter,
                fshift,
            });
        }
        tables.sort_by_key(|t| t.min_order);
        Classifier {
            tables,
            dports: out_entries.iter().map(pack_dports).collect(),
            entries: out_entries,
        }
    }

    /// The best (smallest order) matching entry: `(order, rule)`.
    ///
    /// Per table: mask the packet, hash once, read the key's two candidate slots and select
    /// the matching one without branching; only a bucket that exists and can still improve
    /// the match is scanned.
    #[inline]
    fn lookup(&self, q: &Query<A>) -> Option<(u32, u32)> {
        let mut best_order = u32::MAX;
        let mut best_rule = u32::MAX;
        let pd_full = pd_word(q.proto, q.dport);
        let empty = Slot::<A>::EMPTY;
        for t in &self.tables {
            if t.min_order >= best_order {
                break;
            }
            let kp = q.peer.and(t.peer_mask);
            let kl = q.local.and(t.local_mask);
            let pd = pd_full & t.pd_mask;
            let h = hash_key(kp, kl, pd);
            if !filter_has(&t.filter, t.fshift, h) {
                continue;
            }
            let (i1, i2) = slot_pair(h ^ t.seed, t.shift);
            let s1 = t.slots.get(i1).unwrap_or(&empty);
            let s2 = t.slots.get(i2).unwrap_or(&empty);
            let m1 = mask_of((s1.peer == kp) & (s1.local == kl) & (s1.pd == pd));
            let m2 = mask_of((s2.peer == kp) & (s2.local == kl) & (s2.pd == pd));
            let (s1, m1) = match t
                .stash
                .iter()
                .find(|s| s.peer == kp && s.local == kl && s.pd == pd)
            {
                Some(s) => (s, u32::MAX),
                None => (s1, m1),
            };
            let first = (s1.first & m1) | (s2.first & m2) | !(m1 | m2);
            if first >= best_order {
                continue;
            }
            let start = ((s1.start & m1) | (s2.start & m2)) as usize;
            let end = ((s1.end & m1) | (s2.end & m2)) as usize;
            // Entries are by order: the first that matches is the bucket's best, and once one
            // cannot beat the match, none after it can. The port column skips most entries
            // without touching them.
            let ports = self.dports.get(start..end).unwrap_or(&[]);
            let bucket = self.entries.get(start..end).unwrap_or(&[]);
            for (&d, e) in ports.iter().zip(bucket) {
                if !in_packed(d, q.dport) {
                    continue;
                }
                if e.order >= best_order {
                    break;
                }
                if e.matches(q) {
                    best_order = e.order;
                    best_rule = e.rule;
                    break;
                }
            }
        }
        (best_rule != u32::MAX).then_some((best_order, best_rule))
    }

    /// The linear fallback for mixed-family queries: `local` is `None` when the local
    /// address is of the other family; `same_family` says whether the packet's family is
    /// this classifier's.
    fn scan_mixed(
        &self,
        peer: A,
        local: Option<A>,
        proto: u8,
        sport: u16,
        dport: u16,
        same_family: bool,
    ) -> Option<(u32, u32)> {
        self.entries
            .iter()
            .filter(|e| {
                let local_ok = match local {
                    Some(l) => l.and(A::mask(e.local_len)) == e.local,
                    None => e.flags & HAS_LOCAL == 0,
                };
                let family_ok = same_family || e.flags & FAMILY_FIXED == 0;
                let q = Query {
                    peer,
                    local: e.local,
                    proto,
                    sport,
                    dport,
                };
                local_ok && family_ok && e.matches(&q)
            })
            .map(|e| (e.order, e.rule))
            .min()
    }

    fn heap_bytes(&self) -> usize {
        self.tables.capacity() * std::mem::size_of::<Table<A>>()
            + self
                .tables
                .iter()
                .map(|t| {
                    (t.slots.capacity() + t.stash.capacity()) * std::mem::size_of::<Slot<A>>()
                        + t.filter.capacity() * std::mem::size_of::<u64>()
                })
                .sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<Entry<A>>()
            + self.dports.capacity() * std::mem::size_of::<u32>()
    }
}

/// One family's index: a single classifier, or one per packet protocol class.
#[derive(Debug, Clone)]
enum Index<A: Bits> {
    /// Every entry in one classifier.
    One(Classifier<A>),
    /// By the packet's protocol — TCP, UDP, any other — each classifier holding the entries
    /// of that protocol and those of any protocol. Chosen when its counted work is smaller
    /// and the copies of any-protocol entries cost at most half the entries again.
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
    /// `split_ok`: whether splitting by protocol may be tried (the caller keeps it for sets
    /// small enough that the copies do not matter).
    fn build(mut entries: Vec<Entry<A>>, split_ok: bool) -> Index<A> {
        entries.sort_by_key(|e| e.order);
        let n = entries.len();
        let in_class =
            |e: &Entry<A>, class: usize| e.flags & ANY_PROTO != 0 || proto_class(e.proto) == class;
        let copies: usize = (0..3)
            .map(|c| entries.iter().filter(|e| in_class(e, c)).count())
            .sum();
        if !split_ok || n < TRY_NONE_BELOW || copies > n + n / 2 {
            return Index::One(Classifier::build(entries));
        }
        let samples = sample_queries(&entries);
        let parts: [Classifier<A>; 3] = [0, 1, 2].map(|c| {
            Classifier::build(entries.iter().filter(|e| in_class(e, c)).copied().collect())
        });
        let one = Classifier::build(entries);
        let cost_one: u64 = samples.iter().map(|q| one.work(q)).sum();
        let cost_parts: u64 = samples
            .iter()
            .map(|q| parts.get(proto_class(q.proto)).map_or(0, |c| c.work(q)))
            .sum();
        if cost_parts < cost_one {
            Index::ByProto(Box::new(parts))
        } else {
            Index::One(one)
        }
    }

    /// The classifier for packets of a protocol.
    #[inline(always)]
    fn part(&self, proto: u8) -> &Classifier<A> {
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

    #[inline]
    fn lookup(&self, q: &Query<A>) -> Option<(u32, u32)> {
        self.part(q.proto).lookup(q)
    }

    fn tables(&self) -> usize {
        match self {
            Index::One(c) => c.tables.len(),
            Index::ByProto(parts) => parts.iter().map(|c| c.tables.len()).sum(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Index::One(c) => c.heap_bytes(),
            Index::ByProto(parts) => {
                std::mem::size_of::<[Classifier<A>; 3]>()
                    + parts.iter().map(|c| c.heap_bytes()).sum::<usize>()
            }
        }
    }
}

/// The compiled matcher of a rule list: immutable, `Send + Sync`, cheap to query.
///
/// [`Matcher::lookup`] returns the same rule index as
/// [`linear_scan`](crate::engine::rule::linear_scan) on the slice it was compiled from, for
/// every packet; the matcher does not keep the rules themselves, only their index.
///
/// ```
/// use sgsim::engine::matcher::Matcher;
/// use sgsim::engine::rule::{linear_scan, EngineRule};
/// use sgsim::model::{Packet, Policy, PortRange};
///
/// let rule = EngineRule {
///     id: "r1".into(), group: "sg-a".into(), rank: 1, policy: Policy::Accept,
///     protocol: Some(6), family: None, dst_ports: PortRange::single(22),
///     src_ports: PortRange::ANY, peer: vec!["10.0.0.0/8".parse().unwrap()], local: None,
/// };
/// let rules = vec![rule];
/// let m = Matcher::compile(&rules).unwrap();
/// let pkt = Packet { protocol: 6, src: "10.1.2.3".parse().unwrap(), src_port: 40000,
///                    dst: "192.168.0.1".parse().unwrap(), dst_port: 22 };
/// assert_eq!(m.lookup(&pkt), Some(0));
/// assert_eq!(m.lookup(&pkt), linear_scan(&rules, &pkt));
/// ```
#[derive(Debug, Clone)]
pub struct Matcher {
    v4: Index<u32>,
    v6: Index<u128>,
    /// Peer networks whose rule's local CIDR is of the other family: they match only
    /// mixed-family queries, answered by a linear pass.
    cross: Vec<CrossEntry>,
    rules: usize,
}

/// A peer network of a rule whose local CIDR, or whose confined family, is the other family.
#[derive(Debug, Clone)]
struct CrossEntry {
    order: u32,
    rule: u32,
    peer: IpNet,
    local: Option<IpNet>,
    protocol: Option<u8>,
    family: Option<Family>,
    dst_ports: crate::model::PortRange,
    src_ports: crate::model::PortRange,
}

impl CrossEntry {
    fn matches(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> bool {
        self.protocol.is_none_or(|p| p == pkt.protocol)
            && self.family.is_none_or(|f| f == pkt.family())
            && self.dst_ports.contains(pkt.dst_port)
            && self.src_ports.contains(pkt.src_port)
            && self.peer.contains(&peer)
            && self.local.is_none_or(|l| l.contains(&local))
    }
}

fn lower_entry<A: Bits>(
    order: u32,
    rule: u32,
    r: &EngineRule,
    peer: A,
    peer_len: u8,
    local: A,
    local_len: u8,
) -> Entry<A> {
    Entry {
        order,
        rule,
        peer,
        local,
        dport_lo: r.dst_ports.start(),
        dport_hi: r.dst_ports.end(),
        sport_lo: r.src_ports.start(),
        sport_hi: r.src_ports.end(),
        peer_len,
        local_len,
        proto: r.protocol.unwrap_or(0),
        flags: (if r.protocol.is_none() { ANY_PROTO } else { 0 })
            | (if r.local.is_some() { HAS_LOCAL } else { 0 })
            | (if r.family.is_some() { FAMILY_FIXED } else { 0 }),
    }
}

impl Matcher {
    /// Compiles a rule list. Fails only when the list (or its peer networks) exceeds what
    /// 32-bit indexes address.
    pub fn compile(rules: &[EngineRule]) -> Result<Matcher, CompileError> {
        let too_many = || CompileError::TooManyRules(rules.len());
        if rules.len() >= u32::MAX as usize {
            return Err(too_many());
        }
        // The total decision order: rank, drop before accept, id bytes, then index.
        let mut idx: Vec<u32> = (0..rules.len() as u32).collect();
        idx.sort_by(|&a, &b| {
            let key = |i: u32| {
                rules
                    .get(i as usize)
                    .map(|r| (r.rank, r.policy != Policy::Drop, r.id.as_bytes()))
            };
            key(a).cmp(&key(b))
        });
        let mut order = vec![0u32; rules.len()];
        for (pos, &i) in idx.iter().enumerate() {
            if let Some(o) = order.get_mut(i as usize) {
                *o = pos as u32;
            }
        }
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut cross = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let o = order.get(i).copied().unwrap_or(u32::MAX);
            let i = i as u32;
            for net in &r.peer {
                let fam = Family::of_net(net);
                if r.local.is_some_and(|l| Family::of_net(&l) != fam)
                    || r.family.is_some_and(|f| f != fam)
                {
                    {
                        cross.push(CrossEntry {
                            order: o,
                            rule: i,
                            peer: *net,
                            local: r.local,
                            protocol: r.protocol,
                            family: r.family,
                            dst_ports: r.dst_ports,
                            src_ports: r.src_ports,
                        });
                        continue;
                    }
                }
                match (net, r.local) {
                    (IpNet::V4(p), local) => {
                        if r.family == Some(Family::V6) {
                            continue;
                        }
                        let (l, ll) = match local {
                            None => (0, 0),
                            Some(IpNet::V4(l)) => (u32::from(l.network()), l.prefix_len()),
                            Some(IpNet::V6(_)) => continue,
                        };
                        v4.push(lower_entry(
                            o,
                            i,
                            r,
                            u32::from(p.network()),
                            p.prefix_len(),
                            l,
                            ll,
                        ));
                    }
                    (IpNet::V6(p), local) => {
                        if r.family == Some(Family::V4) {
                            continue;
                        }
                        let (l, ll) = match local {
                            None => (0, 0),
                            Some(IpNet::V6(l)) => (u128::from(l.network()), l.prefix_len()),
                            Some(IpNet::V4(_)) => continue,
                        };
                        v6.push(lower_entry(
                            o,
                            i,
                            r,
                            u128::from(p.network()),
                            p.prefix_len(),
                            l,
                            ll,
                        ));
                    }
                }
            }
        }
        if v4.len() >= u32::MAX as usize || v6.len() >= u32::MAX as usize {
            return Err(too_many());
        }
        // Splitting by protocol copies any-protocol entries: only for sets up to 20k entries.
        let split_ok = v4.len() + v6.len() <= TRY_ALL_UP_TO;
        Ok(Matcher {
            v4: Index::build(v4, split_ok),
            v6: Index::build(v6, split_ok),
            cross,
            rules: rules.len(),
        })
    }

    /// The index of the deciding rule for a packet decided at ingress (peer = source, local
    /// = destination), or `None` when no rule matches; same as
    /// [`linear_scan`](crate::engine::rule::linear_scan).
    #[inline]
    pub fn lookup(&self, pkt: &Packet) -> Option<usize> {
        self.lookup_dir(pkt, pkt.src, pkt.dst)
    }

    /// [`Matcher::lookup`] with the peer and local addresses given (egress swaps them); same
    /// as [`linear_scan_dir`](crate::engine::rule::linear_scan_dir). Addresses of different
    /// families match nothing.
    #[inline]
    pub fn lookup_dir(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<usize> {
        let (proto, sport, dport) = (pkt.protocol, pkt.src_port, pkt.dst_port);
        // The rule's family (ICMP: IPv4 …) follows the packet's, i.e. its source address.
        let found = match (pkt.src, peer, local) {
            (IpAddr::V4(_), IpAddr::V4(p), IpAddr::V4(l)) => self.v4.lookup(&Query {
                peer: u32::from(p),
                local: u32::from(l),
                proto,
                sport,
                dport,
            }),
            (IpAddr::V6(_), IpAddr::V6(p), IpAddr::V6(l)) => self.v6.lookup(&Query {
                peer: u128::from(p),
                local: u128::from(l),
                proto,
                sport,
                dport,
            }),
            _ => self.lookup_mixed(pkt, peer, local),
        };
        found.map(|(_, rule)| rule as usize)
    }

    /// Queries whose addresses are not all of one family (never produced by valid
    /// packets): a linear pass over the peer family's entries, checked field by field.
    #[cold]
    fn lookup_mixed(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<(u32, u32)> {
        let fam = pkt.family();
        let (proto, sport, dport) = (pkt.protocol, pkt.src_port, pkt.dst_port);
        let cross = self
            .cross
            .iter()
            .filter(|c| c.matches(pkt, peer, local))
            .map(|c| (c.order, c.rule))
            .min();
        let indexed = match peer {
            IpAddr::V4(p) => {
                let local = match local {
                    IpAddr::V4(l) => Some(u32::from(l)),
                    IpAddr::V6(_) => None,
                };
                self.v4.part(proto).scan_mixed(
                    u32::from(p),
                    local,
                    proto,
                    sport,
                    dport,
                    fam == Family::V4,
                )
            }
            IpAddr::V6(p) => {
                let local = match local {
                    IpAddr::V6(l) => Some(u128::from(l)),
                    IpAddr::V4(_) => None,
                };
                self.v6.part(proto).scan_mixed(
                    u128::from(p),
                    local,
                    proto,
                    sport,
                    dport,
                    fam == Family::V6,
                )
            }
        };
        match (indexed, cross) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many hash tables a lookup of this packet (ingress orientation) probes: those
    /// whose best order is below the best match's. A measure of the early termination.
    pub fn tables_probed(&self, pkt: &Packet) -> usize {
        let best = |o: Option<(u32, u32)>| o.map_or(u32::MAX, |b| b.0);
        match (pkt.src, pkt.dst) {
            (IpAddr::V4(p), IpAddr::V4(l)) => {
                let q = Query {
                    peer: u32::from(p),
                    local: u32::from(l),
                    proto: pkt.protocol,
                    sport: pkt.src_port,
                    dport: pkt.dst_port,
                };
                let c = self.v4.part(q.proto);
                let b = best(c.lookup(&q));
                c.tables.iter().filter(|t| t.min_order < b).count()
            }
            (IpAddr::V6(p), IpAddr::V6(l)) => {
                let q = Query {
                    peer: u128::from(p),
                    local: u128::from(l),
                    proto: pkt.protocol,
                    sport: pkt.src_port,
                    dport: pkt.dst_port,
                };
                let c = self.v6.part(q.proto);
                let b = best(c.lookup(&q));
                c.tables.iter().filter(|t| t.min_order < b).count()
            }
            _ => 0,
        }
    }

    /// The number of rules compiled.
    pub fn len(&self) -> usize {
        self.rules
    }

    /// Whether no rule was compiled.
    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }

    /// The number of hash tables (tuples) of the IPv4 and the IPv6 classifier.
    pub fn table_counts(&self) -> (usize, usize) {
        (self.v4.tables(), self.v6.tables())
    }

    /// Heap bytes the matcher owns (capacities of its arrays), computed from its layout.
    pub fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.cross.capacity() * std::mem::size_of::<CrossEntry>()
    }

    /// Decides many packets (ingress orientation) on all of rayon's threads; the answers are
    /// in the packets' order.
    pub fn lookup_batch(&self, packets: &[Packet]) -> Vec<Option<usize>> {
        packets.par_iter().map(|p| self.lookup(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(peer: u32, first: u32) -> Slot<u32> {
        Slot {
            peer,
            local: 7,
            pd: 0,
            first,
            start: first,
            end: first + 1,
        }
    }

    #[test]
    fn cuckoo_places_every_key_once_and_stashes_the_rest() {
        let filled: Vec<Slot<u32>> = (0..10).map(|i| slot(i * 7919, i)).collect();
        // Four slots for ten keys: at least six go to the stash.
        let (slots, stash) = cuckoo_try(&filled, 4, 62, 0);
        let (filter, fshift) = build_filter(&filled);
        assert!(stash.len() >= 6);
        let mut seen: Vec<u32> = slots
            .iter()
            .filter(|s| s.end != 0)
            .chain(stash.iter())
            .map(|s| s.first)
            .collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        // A table built this way answers for every key, stashed or not.
        let entries: Vec<Entry<u32>> = (0..10)
            .map(|i| Entry {
                order: i,
                rule: 100 + i,
                peer: i * 7919,
                local: 7,
                dport_lo: 0,
                dport_hi: u16::MAX,
                sport_lo: 0,
                sport_hi: u16::MAX,
                peer_len: 32,
                local_len: 32,
                proto: 0,
                flags: ANY_PROTO | HAS_LOCAL,
            })
            .collect();
        let c = Classifier {
            tables: vec![Table {
                min_order: 0,
                peer_mask: u32::MAX,
                local_mask: u32::MAX,
                pd_mask: 0,
                shift: 62,
                seed: 0,
                slots,
                stash,
                filter,
                fshift,
            }],
            dports: entries.iter().map(pack_dports).collect(),
            entries,
        };
        for i in 0..10u32 {
            let q = Query {
                peer: i * 7919,
                local: 7,
                proto: 6,
                sport: 1,
                dport: 2,
            };
            assert_eq!(c.lookup(&q), Some((i, 100 + i)));
        }
        let miss = Query {
            peer: 1,
            local: 7,
            proto: 6,
            sport: 1,
            dport: 2,
        };
        assert_eq!(c.lookup(&miss), None);
    }

    #[test]
    fn compiled_objects_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Matcher>();
        assert_send_sync::<crate::engine::compile::WorldMatcher>();
        assert_send_sync::<crate::engine::compile::CompiledRules>();
    }

    #[test]
    fn split_by_protocol_answers_as_the_scan() {
        let rules = crate::generate::generate(3000, 9);
        let mut m = Matcher::compile(&rules).unwrap();
        // Force the split whatever the cost model chose, then compare with the scan.
        let mut v4: Vec<Entry<u32>> = match &m.v4 {
            Index::One(c) => c.entries.clone(),
            Index::ByProto(parts) => parts.iter().flat_map(|c| c.entries.clone()).collect(),
        };
        v4.sort_by_key(|e| (e.order, e.peer, e.peer_len));
        v4.dedup_by_key(|e| (e.order, e.peer, e.peer_len));
        let class_of =
            |e: &Entry<u32>, c: usize| e.flags & ANY_PROTO != 0 || proto_class(e.proto) == c;
        let parts = [0, 1, 2]
            .map(|c| Classifier::build(v4.iter().filter(|e| class_of(e, c)).copied().collect()));
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
    fn masks() {
        assert_eq!(u32::mask(0), 0);
        assert_eq!(u32::mask(8), 0xFF00_0000);
        assert_eq!(u32::mask(32), u32::MAX);
        assert_eq!(u128::mask(0), 0);
        assert_eq!(u128::mask(128), u128::MAX);
        assert_eq!(u128::mask(1), 1 << 127);
    }
}
