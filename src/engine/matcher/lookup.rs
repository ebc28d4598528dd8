//! Lookup: probing a classifier's tables in order with early termination, and the
//! matcher's public queries.

use super::bits::{Bits, V6};
use super::layout::Index;
use super::table::{
    filter_has, hash_folded, pd_word, place, Classifier, Group, Query, Table, COLUMN_LANES, LANES,
};
use super::Matcher;
use crate::model::Packet;
use rayon::prelude::*;
use std::net::IpAddr;

/// Whether a rule index is marked in a bit set (an empty set marks nothing).
#[inline(always)]
pub(super) fn marked(set: &[u64], rule: u32) -> bool {
    set.get((rule >> 6) as usize)
        .is_some_and(|w| (w >> (rule & 63)) & 1 != 0)
}

/// The lanes of a group whose tag is `tag`, as the top bit of each matching lane's 16 bits
/// (exact: no carries cross lanes).
#[inline(always)]
fn tagged_lanes(tags: [u16; LANES], tag: u16) -> u64 {
    const LOW: u64 = 0x7FFF_7FFF_7FFF_7FFF;
    const HIGH: u64 = 0x8000_8000_8000_8000;
    let [a, b, c, d] = tags;
    let word = u64::from(a) | u64::from(b) << 16 | u64::from(c) << 32 | u64::from(d) << 48;
    let x = word ^ (u64::from(tag) * 0x0001_0001_0001_0001);
    // A lane's top bit ends up set exactly when the lane is non-zero.
    let nonzero = (((x & LOW) + LOW) | x) & HIGH;
    !nonzero & HIGH
}

/// The best match so far, and the counted work when asked for.
struct Best {
    order: u32,
    rule: u32,
    work: u64,
}

impl<A: Bits> Classifier<A> {
    /// The best (smallest order) matching entry: `(order, rule)`.
    #[inline]
    pub(super) fn lookup(&self, q: &Query<A>) -> Option<(u32, u32)> {
        self.search::<false>(q, &[]).0
    }

    /// [`Classifier::lookup`] that ignores entries of the rules marked in `dead` (see
    /// [`marked`]), and the work it did in rough cycles (4 per table probed, 1 per entry
    /// checked) when `COUNT`.
    ///
    /// Per table: mask the packet, hash once, test the Bloom filter, then scan the buckets
    /// of its two candidate groups whose tag is the key's (almost always one) — only when
    /// their best entry can still improve the match.
    #[inline]
    pub(super) fn search<const COUNT: bool>(
        &self,
        q: &Query<A>,
        dead: &[u64],
    ) -> (Option<(u32, u32)>, u64) {
        if self.isets.is_built() {
            self.search_in::<COUNT, true>(q, dead)
        } else {
            self.search_in::<COUNT, false>(q, dead)
        }
    }

    /// The search, with the interval sets' candidates first when `SETS`: the head and the
    /// tables then run only while they can still beat the sets' match.
    #[inline(always)]
    fn search_in<const COUNT: bool, const SETS: bool>(
        &self,
        q: &Query<A>,
        dead: &[u64],
    ) -> (Option<(u32, u32)>, u64) {
        let mut best = Best {
            order: u32::MAX,
            rule: u32::MAX,
            work: 0,
        };
        if SETS {
            best.work += self
                .isets
                .search::<COUNT>(q, dead, &mut best.order, &mut best.rule);
            // The sets' match may already beat every table (then neither the head nor the
            // cuts need a search).
            if self
                .tables
                .first()
                .is_none_or(|t| t.min_order >= best.order)
            {
                let found = (best.rule != u32::MAX).then_some((best.order, best.rule));
                return (found, best.work);
            }
        }
        if self.head.is_built() {
            if COUNT {
                best.work += self.head.work();
            }
            // The head is a prefix of the tables' order: its match beats every table's, and
            // the sets' when it is better.
            if let Some(found) = self.head.first(q, dead) {
                if SETS && found.0 > best.order {
                    return (Some((best.order, best.rule)), best.work);
                }
                return (Some(found), best.work);
            }
        }
        let pd_full = pd_word(q.proto, q.dport);
        let pair = A::pair(q.peer, q.local);
        if !self.pre.is_built() {
            for t in &self.tables {
                if t.min_order >= best.order {
                    break;
                }
                self.probe::<COUNT>(t, pair, pd_full, q, dead, &mut best);
            }
        } else {
            // Truncation intended: the pre-classification is built for IPv4 only, whose
            // fold is the address.
            let mut set = self
                .pre
                .tables_for(q.peer.fold() as u32, q.local.fold() as u32);
            while set != 0 {
                let i = set.trailing_zeros() as usize;
                set &= set - 1;
                let Some(t) = self.tables.get(i) else { break };
                if t.min_order >= best.order {
                    break;
                }
                self.probe::<COUNT>(t, pair, pd_full, q, dead, &mut best);
            }
        }
        let found = (best.rule != u32::MAX).then_some((best.order, best.rule));
        (found, best.work)
    }

    /// Probes one table: mask, hash, filter, then the candidate groups and the stash.
    #[inline(always)]
    fn probe<const COUNT: bool>(
        &self,
        t: &Table<A>,
        pair: A::Pair,
        pd_full: u32,
        q: &Query<A>,
        dead: &[u64],
        best: &mut Best,
    ) {
        if COUNT {
            best.work += 4;
        }
        let pd = pd_full & t.pd_mask;
        let h = hash_folded(A::masked_fold(pair, t.mask), pd);
        if !filter_has(&t.filter, t.fshift, h) {
            return;
        }
        let (g1, g2, tag) = place(h, t.seed, t.ngroups);
        if let Some(g) = t.groups.get(g1) {
            self.scan_group::<COUNT>(g, tag, q, dead, best);
        }
        if g2 != g1 {
            if let Some(g) = t.groups.get(g2) {
                self.scan_group::<COUNT>(g, tag, q, dead, best);
            }
        }
        for s in &t.stash {
            if s.tag == tag {
                self.scan::<COUNT>(s.start, s.len, q, dead, best);
            }
        }
    }

    /// The tables a lookup of `q` may probe: none when the head decides it, else those the
    /// pre-classification leaves, whose best order is below `best`.
    pub(super) fn probed(&self, q: &Query<A>, best: u32) -> usize {
        if self.head.first(q, &[]).is_some() {
            return 0;
        }
        let set = if self.pre.is_built() {
            // Truncation intended: IPv4 only, as in `search`.
            self.pre
                .tables_for(q.peer.fold() as u32, q.local.fold() as u32)
        } else {
            u32::MAX
        };
        self.tables
            .iter()
            .enumerate()
            .take_while(|(_, t)| t.min_order < best)
            .filter(|(i, _)| *i >= 32 || set >> i & 1 == 1)
            .count()
    }

    /// Scans the buckets of a group's lanes tagged `tag`: the four tags compared at once
    /// as one 64-bit word (a lane is tagged when its 16 bits of `tags ^ tag×4` are zero).
    #[inline(always)]
    fn scan_group<const COUNT: bool>(
        &self,
        g: &Group,
        tag: u16,
        q: &Query<A>,
        dead: &[u64],
        best: &mut Best,
    ) {
        let mut hits = tagged_lanes(g.tags, tag);
        while hits != 0 {
            let lane = (hits.trailing_zeros() >> 4) as usize;
            hits &= hits - 1;
            if let (Some(&start), Some(&len)) = (g.starts.get(lane), g.lens.get(lane)) {
                self.scan::<COUNT>(start, len, q, dead, best);
            }
        }
    }

    /// Scans one bucket. Entries are by order: the first that matches is the bucket's best,
    /// and once one cannot beat the match, none after it can. The columns of protocols and
    /// destination ports, tested eight at a time
    /// ([`Columns::admits`](super::table::Columns::admits)), skip most entries
    /// without touching them.
    #[inline(always)]
    fn scan<const COUNT: bool>(
        &self,
        start: u32,
        len: u16,
        q: &Query<A>,
        dead: &[u64],
        best: &mut Best,
    ) {
        let start = start as usize;
        // Most buckets found cannot improve the match: one read of the first entry's order
        // decides that before the ranges are formed.
        if len == 0
            || self
                .entries
                .get(start)
                .is_none_or(|e| e.order >= best.order)
        {
            return;
        }
        let end = start + usize::from(len);
        // The counted work is one per column word up to where the scan stops, as if they
        // were tested one at a time (the model the layout choices were tuned on).
        let stop = |at: usize, best: &mut Best| {
            if COUNT {
                best.work += (at + 1 - start) as u64;
            }
        };
        // Whether the admitted entry `at` ends the scan, and the match it makes.
        let ends = |at: usize, best: &mut Best| {
            let Some(e) = self.entries.get(at) else {
                return true;
            };
            if e.order >= best.order {
                return true;
            }
            if e.matches_rest(q) && !marked(dead, e.rule) {
                best.order = e.order;
                best.rule = e.rule;
                return true;
            }
            false
        };
        // The first entry alone (its order is read already, and it often decides), then
        // the rest eight columns at a time.
        if self.columns.admits_one(start, q.proto, q.dport) && ends(start, best) {
            return stop(start, best);
        }
        let mut i = start + 1;
        while i < end {
            let mut admitted = self.columns.admits(i, end, q.proto, q.dport);
            while admitted != 0 {
                let at = i + admitted.trailing_zeros() as usize;
                admitted &= admitted - 1;
                if ends(at, best) {
                    return stop(at, best);
                }
            }
            i += COLUMN_LANES;
        }
        stop(end - 1, best);
    }
}

impl<A: Bits> Index<A> {
    /// [`Index::lookup`] ignoring the rules marked in `dead`.
    #[inline]
    pub(super) fn search(&self, q: &Query<A>, dead: &[u64]) -> Option<(u32, u32)> {
        self.part(q.proto).search::<false>(q, dead).0
    }
}

impl Matcher {
    /// The index of the deciding rule for a packet decided at ingress (peer = source, local
    /// = destination), or `None` when no rule matches; same as
    /// [`linear_scan`](crate::engine::rule::linear_scan).
    #[inline]
    pub fn lookup(&self, pkt: &Packet) -> Option<usize> {
        self.lookup_dir(pkt, pkt.src(), pkt.dst())
    }

    /// [`Matcher::lookup`] with the peer and local addresses given (egress swaps them); same
    /// as [`linear_scan_dir`](crate::engine::rule::linear_scan_dir) for every valid packet.
    ///
    /// A query whose packet, peer and local addresses are not all of one family (no valid
    /// packet makes one) matches nothing: the answer is `None`, never a panic.
    #[inline]
    pub fn lookup_dir(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<usize> {
        self.search_dir(pkt, peer, local, &[])
            .map(|(_, rule)| rule as usize)
    }

    /// The best matching `(order, rule index)` ignoring the rules whose index is marked in
    /// the bit set `dead` (word `i / 64`, bit `i % 64`), for [`super::LiveMatcher`].
    #[inline]
    pub(super) fn search_dir(
        &self,
        pkt: &Packet,
        peer: IpAddr,
        local: IpAddr,
        dead: &[u64],
    ) -> Option<(u32, u32)> {
        let (proto, sport, dport) = (pkt.protocol, pkt.src_port, pkt.dst_port);
        // The rule's family (ICMP: IPv4 …) follows the packet's, i.e. its source address.
        match (pkt.src(), peer, local) {
            (IpAddr::V4(_), IpAddr::V4(p), IpAddr::V4(l)) => self.v4.search(
                &Query {
                    peer: u32::from(p),
                    local: u32::from(l),
                    proto,
                    sport,
                    dport,
                },
                dead,
            ),
            (IpAddr::V6(_), IpAddr::V6(p), IpAddr::V6(l)) => self.v6.search(
                &Query {
                    peer: V6::new(u128::from(p)),
                    local: V6::new(u128::from(l)),
                    proto,
                    sport,
                    dport,
                },
                dead,
            ),
            _ => None,
        }
    }

    /// How many hash tables a lookup of this packet (ingress orientation) probes: those
    /// the peer-address pre-classification leaves whose best order is below the best
    /// match's. A measure of the early termination.
    pub fn tables_probed(&self, pkt: &Packet) -> usize {
        let best = |o: Option<(u32, u32)>| o.map_or(u32::MAX, |b| b.0);
        match (pkt.src(), pkt.dst()) {
            (IpAddr::V4(p), IpAddr::V4(l)) => {
                let q = Query {
                    peer: u32::from(p),
                    local: u32::from(l),
                    proto: pkt.protocol,
                    sport: pkt.src_port,
                    dport: pkt.dst_port,
                };
                let c = self.v4.part(q.proto);
                c.probed(&q, best(c.lookup(&q)))
            }
            (IpAddr::V6(p), IpAddr::V6(l)) => {
                let q = Query {
                    peer: V6::new(u128::from(p)),
                    local: V6::new(u128::from(l)),
                    proto: pkt.protocol,
                    sport: pkt.src_port,
                    dport: pkt.dst_port,
                };
                let c = self.v6.part(q.proto);
                c.probed(&q, best(c.lookup(&q)))
            }
            _ => 0,
        }
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

    #[test]
    fn tagged_lanes_marks_exactly_the_equal_tags() {
        let tags = [0x0000, 0x8001, 0xFFFF, 0x8001];
        let lanes =
            |m: u64| -> Vec<u32> { (0..4).filter(|l| m >> (16 * l + 15) & 1 == 1).collect() };
        assert_eq!(lanes(tagged_lanes(tags, 0x8001)), vec![1, 3]);
        assert_eq!(lanes(tagged_lanes(tags, 0)), vec![0]);
        assert_eq!(lanes(tagged_lanes(tags, 0xFFFF)), vec![2]);
        assert_eq!(lanes(tagged_lanes(tags, 0x0001)), Vec::<u32>::new());
        assert_eq!(lanes(tagged_lanes(tags, 0x8000)), Vec::<u32>::new());
        // Every tag against every lane value, compared one lane at a time.
        for lane_tag in [0u16, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF] {
            for tag in [0u16, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF] {
                let m = tagged_lanes([lane_tag, tag, lane_tag, 0], tag);
                assert_eq!(m >> 15 & 1 == 1, lane_tag == tag);
                assert_eq!(m >> 31 & 1, 1);
                assert_eq!(m >> 47 & 1 == 1, lane_tag == tag);
                assert_eq!(m >> 63 & 1 == 1, tag == 0);
            }
        }
    }
}
