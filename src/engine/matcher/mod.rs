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
//! over 20,000 entries try the first two and step 16 / cap 32 (on the generated 100k set it
//! halves the tables a lookup probes), over 150,000 only the default (each layout is a full
//! build; at 1M generated rules the default was the fastest). In the same way, for rule sets up to 20,000
//! entries, each family's index may be **split by the packet's protocol class** (TCP, UDP,
//! other): three classifiers, each with the entries of its protocol plus the any-protocol
//! ones, kept when their counted work is lower and the copies add at most half the entries.
//! Protocol correlates with the shape of the rules, so each part has fewer tuples.
//!
//! Lookup: entries were inserted by increasing order, so tables are created in increasing
//! order of their best (smallest) order; a lookup visits them in that order and **stops as
//! soon as a table's best order cannot beat the match it already has**. Buckets sit in
//! groups of four lanes (bucketized cuckoo hashing at build time, ~90 % of the lanes used,
//! with a rarely used stash); a lane holds a 16-bit tag of the key's hash and the bucket's
//! entry range, not the key — every entry is checked against its own full fields anyway, so
//! a tag collision costs a scan, never a wrong answer. A probe is one hash and a per-table
//! one-hash Bloom filter of the bucket keys (8–16 bits per key, in L1 for the ClassBench
//! sets) that rules out most tables before the two candidate groups are read (their four
//! tags compared at once as one 64-bit word); a bucket is
//! scanned only when its first (best) entry can still improve the match, and its first
//! matching entry is its best. A bucket's protocols and destination ports sit in three
//! parallel `u16` columns: its first entry is tested alone (it often decides), the rest
//! eight at a time with 128-bit vector operations (the `wide` crate: safe code, SSE2 on
//! x86-64, NEON on Arm, scalar elsewhere), so a long bucket costs a few instructions per
//! eight entries. IPv4 and IPv6 packets use separate classifiers (`u32` and
//! `u128` keys, stored as two `u64` halves). A
//! packet is of one family, so a peer network whose rule's local CIDR or confined family
//! (ICMP, ICMPv6) is of the other family can match nothing and is not lowered; a query whose
//! addresses differ in family (no valid packet makes one) matches nothing.
//!
//! In front of the tables, an IPv4 classifier of at most 32 tables may keep a
//! **pre-classification by address** (`pre`): per address (peer, local), the address space
//! cut into intervals, each with the bit set of the tables holding an entry whose network
//! of that address meets it; a lookup finds its two intervals (a jump table of the top
//! address bits, then a few branch-free halving steps), intersects the sets and probes
//! only those tables, in order, with the same early termination. Each address's cuts are
//! kept per classifier when the sample lookups' counted work falls by more than 12 per
//! address searched (about three filtered probes: the search's latency is what the probes
//! wait for), within 3 bytes per rule beyond the budget below. fw2_1k: 8.56 → 1.74 tables
//! probed per lookup (peer), ipc1_10k 12.0 → 1.43 (both addresses: −21 % instructions and
//! −29 % wall time against the peer cuts alone); figures and what was tried in `pre`.
//!
//! Before all of this, a classifier may keep a **head** (`head`): its first 64–512 entries
//! in decision order as bit vectors, per field (peer, local, protocol and destination port
//! as one number, source port) the intervals their entries cut with the set of entries
//! covering each. A lookup does the four branch-free binary searches, ANDs the sets and
//! takes the lowest bit; a match there is the answer (the head is a prefix of the order, so
//! it beats every table), and only a packet no head entry matches probes the tables. Kept
//! per classifier when the sample lookups' counted work falls, in what the classifiers
//! leave of the memory target (48 bytes per rule). On the generated sets, whose strongest
//! rules include drops that match every packet, every aimed packet is decided in the head:
//! at 100,000 rules 3.81 → 0 tables probed per lookup and 1,465 → 522 instructions (callgrind).
//!
//! In front of everything, an IPv4 classifier may keep **interval sets** (`iset`, after
//! NuevoMatch's iSets): up to four sets of entries (two per address) whose networks of one
//! address, peer or local, are pairwise disjoint, so that each holds at most one entry that
//! can match a packet — found by one search of that address (the cuts' search above, each
//! interval naming the candidate of either set of that address as two 16-bit indexes) and
//! checked in full without branches. The tables, head and cuts are built of the entries
//! the sets leave, and probed after them with the sets' match as the bound of their early
//! termination; when no table's best order can beat it, nothing else is read. Kept only
//! when the sets hold at least 90 % of the classifier's entries (at 70–90 % every
//! ClassBench set measured did more work with them) and the sample lookups' counted work
//! (a search 1 plus 1 per halving step, a candidate 2, the cuts' searches counted alike) is
//! lower. On ClassBench they are kept by fw1_10k (two sets of 97 % of its entries: 0.20
//! tables probed per lookup, 419 → 350 instructions) and acl2_10k (three, 94 %: 711 →
//! 656), firewall-like sets whose leftover entries are their last, wildcard rules.
//!
//! # Modules
//!
//! `bits` (the address-width trait), `table` (the compiled layout and its hashing), `pre`
//! (the peer-address pre-classification), `iset` (the interval sets), `head` (the first
//! entries as bit vectors),
//! `prepare` (the decision order and the rules lowered to entries), `build` (building one
//! layout's tables), `layout` (choosing the layout and the protocol split within the memory
//! budget, and the heads in what is left), `lookup` (the probes and the public queries),
//! `update` ([`LiveMatcher`]: online inserts and removals).
//!
//! # Memory budget
//!
//! The layout choice and the protocol split keep a matcher within 44 heap bytes per rule
//! (shared by the families in proportion to their entries; the address cuts may add 3, the
//! heads take what is left of 48): among the layouts within budget
//! the cheapest counted work wins; when none fits, the smallest. Per entry: 24 bytes (IPv4)
//! plus 6 bytes of columns (protocol and destination ports); per bucket ~9 bytes of
//! lanes and 1–2 of filter; per table ~80 bytes. Measured by the counting allocator: 37–46
//! B/rule (38–47 with the fifth round's address cuts) on the fifteen ClassBench sets
//! (fw2_1k was 212 with 24-byte full-key slots at ≤ 50 % load), 45.4 at 100k generated
//! rules (fourth round).
//!
//! # Online updates
//!
//! [`LiveMatcher`] keeps a compiled base and applies single-rule changes beside it: a removal
//! sets the rule's bit in a set the base's lookup skips on a match (tables' and buckets' best
//! orders stay lower bounds, so early termination stays exact); an insert goes to an overlay
//! sorted by decision key, each rule tagged with its position among the base's rules in
//! decision order (binary search), so that it beats the base's match of order `b` exactly
//! when its position is at most `b` — the overlay is read only up to that point, protocol and
//! destination port checked first. Past max(32, n/256) pending changes the live rules are
//! compiled afresh. Median ~1.5–2 µs per update at 10,000 rules; the rebuild every ~36
//! updates makes the mean ~0.8–0.9 ms (see `benches/README.md`). The compiled base is
//! shared behind an `Arc`: a clone copies only the pending changes, which is how
//! [`WorldMatcher::update`](crate::engine::compile::WorldMatcher::update) patches a set
//! while the old world matcher stays usable.
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
//! Tried in the round of issue 11 (callgrind instructions per lookup, which stay stable on
//! the shared machine; side-by-side wall-clock rounds for the ratios): 4-lane tagged groups
//! instead of full-key slots — same instruction count (acl1_1k 639 → 659, fw2_1k 613 → 612),
//! memory 2–5× smaller, kept; the memory budget — it forbids the protocol split on some sets
//! (ipc2_1k then probes 5.3 tables instead of 2.9) and costs up to ~10 % there, kept for the
//! 48 B/rule target; a Bloom filter of 8–16 instead of 16–32 bits per key — +1–6 %
//! instructions, needed for generated 100k to stay under 48 B/rule, kept.
//!
//! **Limits** (honest): on ClassBench the lookup visits 1.4–4.3 tables and costs 420–760
//! instructions (the sets keep 6–27 tuples and spread their best matches uniformly over the
//! rule list, so early termination helps less than on security-group sets): ~31 per table
//! the filter rules out, ~90 per table it lets through, the rest the bucket scans (the port
//! columns first). Side by side with TupleMerge, PartitionSort and CutSplit it is 1.09–2.43×
//! the best of them (median 1.45×, seventh round in `benches/README.md`), 1.00–2.72×
//! (median 1.37×, eighth round) and 1.16–2.83× (median 1.39×, ninth round, each round on
//! another machine of the same kind; the fifth round's 3.6–5.2× on the 10k sets came from a
//! loaded machine, which slows the peers' cache-hungry trees more), short of 3× on every
//! set: CutSplit's decision tree is close behind on the 1k sets (fw2_1k 1.00–1.16×). The
//! fourth round's peer-address pre-classification cut the tables probed by half or more
//! (fw2_1k 8.56 → 1.74) but its binary search cost about what the skipped probes did; the fifth round's cheaper search
//! and local-address cuts take 6–29 % off the wall time on 9 of the 15 sets, within noise on
//! 5, acl3_1k 26 % slower (see `pre`). Before the head, on the generated sets a lookup probed
//! ~4 tables and scanned 30–40 column words (the first tables hold the strongest rules, and a
//! bucket of a /16 peer or of wildcards is long): 4.4 M lookups/s at 100k, 5.4 M/s at 1M;
//! with it, 22 M/s and 19 M/s (seventh round). Tried and dropped in the fifth round (slower on
//! every set measured, `benches/README.md`): a branch-free chunked column scan in scalar code
//! (the vector one of the seventh round is what the scan now does), lookups of 8
//! packets in lockstep with staged probes, the order in a 12-byte column to stop scans early.
//! Tried in the third round and dropped: sorting the lowered entries by counting (fewer build
//! instructions, no less CPU time), a refitted work model for the layout choice (mixed
//! estimates), other tuple policies for the generated sets.
//!
//! # Complexity
//!
//! | operation | cost |
//! |---|---|
//! | [`Matcher::compile`] | O(E · T) hash operations (E entries, T tables, T small) |
//! | [`Matcher::lookup`] | O(T) probes worst case, usually a few; no allocation |
//! | [`LiveMatcher::insert`], [`LiveMatcher::remove`] | O(log n + overlay) (a binary search, a sorted insert); a rebuild every max(32, n/256) changes |
//! | memory | O(E): a 24-byte (IPv4) or 48-byte (IPv6) entry per peer network, 6 bytes of columns, ~9 bytes of lanes and 1–2 filter bytes per bucket; within 44 bytes per rule when a layout fits |

mod bits;
mod build;
mod head;
mod iset;
mod layout;
mod lookup;
mod pre;
mod prepare;
#[cfg(test)]
mod stats;
mod table;
mod update;

use crate::engine::rule::EngineRule;
use bits::V6;
use layout::{Index, BYTES_PER_RULE, TARGET_BYTES_PER_RULE, TRY_ALL_UP_TO};
use std::fmt;
pub use update::{LiveMatcher, UpdateError};

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
/// let pkt = Packet::new(6, "10.1.2.3".parse().unwrap(), 40000, "192.168.0.1".parse().unwrap(), 22)
///     .unwrap();
/// assert_eq!(m.lookup(&pkt), Some(0));
/// assert_eq!(m.lookup(&pkt), linear_scan(&rules, &pkt));
/// ```
#[derive(Debug, Clone)]
pub struct Matcher {
    v4: Index<u32>,
    v6: Index<V6>,
    rules: usize,
}

impl Matcher {
    /// Compiles a rule list. Fails only when the list (or its peer networks) exceeds what
    /// 32-bit indexes address.
    pub fn compile(rules: &[EngineRule]) -> Result<Matcher, CompileError> {
        Matcher::compile_in_order(rules).map(|(m, _)| m)
    }

    /// [`Matcher::compile`], with the rules' indexes in decision order (rank, drop before
    /// accept, id bytes, then index), which the compiler sorts anyway.
    pub(super) fn compile_in_order(
        rules: &[EngineRule],
    ) -> Result<(Matcher, Vec<u32>), CompileError> {
        let too_many = || CompileError::TooManyRules(rules.len());
        if rules.len() >= u32::MAX as usize {
            return Err(too_many());
        }
        let (order, sorted) = prepare::decision_order(rules);
        let low = prepare::lower(rules, &order);
        let (n4, n6) = low.counts();
        if n4 >= u32::MAX as usize || n6 >= u32::MAX as usize {
            return Err(too_many());
        }
        // Splitting by protocol copies any-protocol entries: only for sets up to 20k entries.
        let split_ok = n4 + n6 <= TRY_ALL_UP_TO;
        // The memory budget, shared by the families in proportion to their entries.
        let budget = BYTES_PER_RULE.saturating_mul(rules.len());
        let share = |n: usize| budget / (n4 + n6).max(1) * n;
        let (b4, b6) = (share(n4), share(n6));
        // The entries in decision order (`Index::build`'s sort by order then finds one run);
        // large sets build the two families at once. The result is the serial one.
        let build4 = || Index::build(low.v4_in_order(&sorted), split_ok, b4);
        let build6 = || Index::build(low.v6_in_order(&sorted), split_ok, b6);
        let (mut v4, mut v6) = if rules.len() >= prepare::PARALLEL_FROM {
            rayon::join(build4, build6)
        } else {
            (build4(), build6())
        };
        // The heads, in what the classifiers leave of the memory target (IPv4 first).
        let mut room = TARGET_BYTES_PER_RULE
            .saturating_mul(rules.len())
            .saturating_sub(v4.heap_bytes() + v6.heap_bytes());
        v4.choose_heads(&mut room);
        v6.choose_heads(&mut room);
        let m = Matcher {
            v4,
            v6,
            rules: rules.len(),
        };
        Ok((m, sorted))
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
        self.v4.heap_bytes() + self.v6.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_objects_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Matcher>();
        assert_send_sync::<crate::engine::compile::WorldMatcher>();
        assert_send_sync::<crate::engine::compile::CompiledRules>();
    }
}
