//! Lookup: probing a classifier's tables in order with early termination, and the
//! matcher's public queries.

use super::bits::Bits;
use super::layout::Index;
use super::table::{filter_has, hash_key, pd_word, slot_pair, Classifier, Query, Slot};
use super::Matcher;
use crate::model::Packet;
use rayon::prelude::*;
use std::net::IpAddr;

/// All ones when `b`, else zero.
#[inline(always)]
fn mask_of(b: bool) -> u32 {
    0u32.wrapping_sub(u32::from(b))
}

/// Whether `port` lies in a packed interval.
#[inline(always)]
fn in_packed(d: u32, port: u16) -> bool {
    // Truncations intended: the two halves of the packed word.
    port.wrapping_sub((d >> 16) as u16) <= d as u16
}

impl<A: Bits> Classifier<A> {
    /// The best (smallest order) matching entry: `(order, rule)`.
    ///
    /// Per table: mask the packet, hash once, read the key's two candidate slots and select
    /// the matching one without branching; only a bucket that exists and can still improve
    /// the match is scanned.
    #[inline]
    pub(super) fn lookup(&self, q: &Query<A>) -> Option<(u32, u32)> {
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
}

impl<A: Bits> Index<A> {
    /// The best matching entry of the classifier for the query's protocol.
    #[inline]
    pub(super) fn lookup(&self, q: &Query<A>) -> Option<(u32, u32)> {
        self.part(q.proto).lookup(q)
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
        let (proto, sport, dport) = (pkt.protocol, pkt.src_port, pkt.dst_port);
        // The rule's family (ICMP: IPv4 …) follows the packet's, i.e. its source address.
        let found = match (pkt.src(), peer, local) {
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
            _ => None,
        };
        found.map(|(_, rule)| rule as usize)
    }

    /// How many hash tables a lookup of this packet (ingress orientation) probes: those
    /// whose best order is below the best match's. A measure of the early termination.
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

    /// Decides many packets (ingress orientation) on all of rayon's threads; the answers are
    /// in the packets' order.
    pub fn lookup_batch(&self, packets: &[Packet]) -> Vec<Option<usize>> {
        packets.par_iter().map(|p| self.lookup(p)).collect()
    }
}
