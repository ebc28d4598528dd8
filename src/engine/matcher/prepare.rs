//! Preparing a rule list for the classifiers: the total decision order, the rules lowered
//! to entries (one per peer network, by family), and the entries put in decision order.
//! From [`PARALLEL_FROM`] rules each step runs on all cores; the result is the serial one.

use super::bits::{Bits, V6};
use super::table::{Entry, ANY_PROTO};
use crate::engine::rule::EngineRule;
use crate::model::{Family, Policy};
use ipnet::IpNet;
use rayon::prelude::*;

/// Rule counts from which the build sorts, lowers and builds the two families on all cores
/// (below, handing work to the threads costs more than it saves).
pub(super) const PARALLEL_FROM: usize = 50_000;

/// Rules per lowered chunk on the parallel path.
const CHUNK: usize = 1 << 16;

/// One peer network of a rule as an entry of its family's classifier.
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
        flags: if r.protocol.is_none() { ANY_PROTO } else { 0 },
    }
}

/// Each rule's position in the total decision order: rank, drop before accept, id bytes,
/// then index; and the rules' indexes in that order.
///
/// The keys are gathered first and sorted in place, with the id's first sixteen bytes as two
/// numbers (zero-padded, which orders as the bytes do; a generated id, `sgr-` and twelve
/// digits, fits whole), so that the comparisons touch neither the rules nor the ids' heap
/// bytes: sorting indexes that point back into a million rules was most of the build at
/// that size, for the cache misses. Rules whose ids tie on those bytes are ordered by their
/// whole ids afterwards. The index makes the keys unique, so an unstable (or parallel) sort
/// gives the one order.
pub(super) fn decision_order(rules: &[EngineRule]) -> (Vec<u32>, Vec<u32>) {
    let prefix = |id: &[u8]| {
        let mut b = [0u8; 16];
        for (d, s) in b.iter_mut().zip(id) {
            *d = *s;
        }
        u128::from_be_bytes(b)
    };
    // (rank and policy, id bytes 0..8, id bytes 8..16, index).
    let key = |(i, r): (usize, &EngineRule)| {
        let p = prefix(r.id.as_bytes());
        // Truncations intended: the two halves of the prefix.
        (
            (u64::from(r.rank) << 1) | u64::from(r.policy != Policy::Drop),
            (p >> 64) as u64,
            p as u64,
            i as u32,
        )
    };
    let mut keyed: Vec<(u64, u64, u64, u32)>;
    if rules.len() >= PARALLEL_FROM {
        keyed = rules.par_iter().enumerate().map(key).collect();
        keyed.par_sort_unstable();
    } else {
        keyed = rules.iter().enumerate().map(key).collect();
        keyed.sort_unstable();
    }
    // Runs that tie on rank, policy and the first sixteen id bytes: by whole id, then index.
    let mut at = 0;
    while at < keyed.len() {
        let head = keyed.get(at).map(|k| (k.0, k.1, k.2));
        let len = keyed
            .get(at..)
            .map_or(1, |rest| {
                rest.iter()
                    .take_while(|k| Some((k.0, k.1, k.2)) == head)
                    .count()
            })
            .max(1);
        if len > 1 {
            if let Some(run) = keyed.get_mut(at..at + len) {
                let id = |i: u32| rules.get(i as usize).map(|r| r.id.as_bytes());
                run.sort_unstable_by(|a, b| (id(a.3), a.3).cmp(&(id(b.3), b.3)));
            }
        }
        at += len;
    }
    let mut order = vec![0u32; rules.len()];
    for (pos, &(.., i)) in keyed.iter().enumerate() {
        if let Some(o) = order.get_mut(i as usize) {
            *o = pos as u32;
        }
    }
    (order, keyed.iter().map(|k| k.3).collect())
}

/// The entries of a run of rules, by family, with where each rule's start.
struct Chunk {
    v4: Vec<Entry<u32>>,
    v6: Vec<Entry<V6>>,
    /// Rule `i` of the chunk has `v4[s4[i]..s4[i + 1]]` (and the same in `v6`).
    s4: Vec<u32>,
    s6: Vec<u32>,
}

/// A rule list lowered to entries, in rule order, in chunks of rules.
pub(super) struct Lowered {
    /// Rules per chunk (the last may have fewer).
    chunk: usize,
    chunks: Vec<Chunk>,
}

/// Lowers rules `base..base + rules.len()` (`order`: their positions in decision order).
fn lower_chunk(rules: &[EngineRule], order: &[u32], base: usize) -> Chunk {
    // Most rules have one IPv4 peer network.
    let mut c = Chunk {
        v4: Vec::with_capacity(rules.len()),
        v6: Vec::new(),
        s4: Vec::with_capacity(rules.len() + 1),
        s6: Vec::with_capacity(rules.len() + 1),
    };
    for (k, r) in rules.iter().enumerate() {
        // Truncations harmless: more than u32::MAX entries is refused by the caller (a
        // chunk has fewer than its whole family), and fewer than u32::MAX rules.
        c.s4.push(c.v4.len() as u32);
        c.s6.push(c.v6.len() as u32);
        let o = order.get(k).copied().unwrap_or(u32::MAX);
        let i = (base + k) as u32;
        // A peer network lowers only when the rule's confined family and local CIDR (if
        // any) are of its family: otherwise no packet (of one family) can match it.
        for net in &r.peer {
            if r.family.is_some_and(|f| f != Family::of_net(net)) {
                continue;
            }
            match (net, r.local) {
                (IpNet::V4(p), None) => c.v4.push(lower_entry(
                    o,
                    i,
                    r,
                    u32::from(p.network()),
                    p.prefix_len(),
                    0,
                    0,
                )),
                (IpNet::V4(p), Some(IpNet::V4(l))) => c.v4.push(lower_entry(
                    o,
                    i,
                    r,
                    u32::from(p.network()),
                    p.prefix_len(),
                    u32::from(l.network()),
                    l.prefix_len(),
                )),
                (IpNet::V6(p), None) => c.v6.push(lower_entry(
                    o,
                    i,
                    r,
                    V6::new(u128::from(p.network())),
                    p.prefix_len(),
                    V6::default(),
                    0,
                )),
                (IpNet::V6(p), Some(IpNet::V6(l))) => c.v6.push(lower_entry(
                    o,
                    i,
                    r,
                    V6::new(u128::from(p.network())),
                    p.prefix_len(),
                    V6::new(u128::from(l.network())),
                    l.prefix_len(),
                )),
                (IpNet::V4(_), Some(IpNet::V6(_))) | (IpNet::V6(_), Some(IpNet::V4(_))) => {}
            }
        }
    }
    c.s4.push(c.v4.len() as u32);
    c.s6.push(c.v6.len() as u32);
    c
}

/// Lowers every rule (`order`: each rule's position in decision order), in chunks on all
/// cores for large lists.
pub(super) fn lower(rules: &[EngineRule], order: &[u32]) -> Lowered {
    if rules.len() < PARALLEL_FROM {
        return Lowered {
            chunk: rules.len().max(1),
            chunks: vec![lower_chunk(rules, order, 0)],
        };
    }
    Lowered {
        chunk: CHUNK,
        chunks: rules
            .par_chunks(CHUNK)
            .zip(order.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (rs, os))| lower_chunk(rs, os, c * CHUNK))
            .collect(),
    }
}

/// Rule runs of a family's entries in decision order: rule `i`'s run (in chunk `i / chunk`)
/// copied in the order `sorted` gives — what a stable sort by order gives (a rule's peer
/// networks keep their order), without the sort's passes over the entries.
fn in_order<A: Bits>(
    parts: &[(&[Entry<A>], &[u32])],
    chunk: usize,
    sorted: &[u32],
) -> Vec<Entry<A>> {
    let n = parts.iter().map(|p| p.0.len()).sum();
    let mut out = Vec::with_capacity(n);
    for &i in sorted {
        let i = i as usize;
        let Some((entries, starts)) = parts.get(i / chunk) else {
            continue;
        };
        let k = i % chunk;
        if let (Some(&a), Some(&b)) = (starts.get(k), starts.get(k + 1)) {
            if let Some(run) = entries.get(a as usize..b as usize) {
                out.extend_from_slice(run);
            }
        }
    }
    out
}

impl Lowered {
    /// The number of IPv4 and of IPv6 entries.
    pub(super) fn counts(&self) -> (usize, usize) {
        self.chunks
            .iter()
            .fold((0, 0), |(a, b), c| (a + c.v4.len(), b + c.v6.len()))
    }

    /// The IPv4 entries in decision order (`sorted`: the rules' indexes in that order).
    pub(super) fn v4_in_order(&self, sorted: &[u32]) -> Vec<Entry<u32>> {
        let parts: Vec<_> = self.chunks.iter().map(|c| (&c.v4[..], &c.s4[..])).collect();
        in_order(&parts, self.chunk, sorted)
    }

    /// The IPv6 entries in decision order.
    pub(super) fn v6_in_order(&self, sorted: &[u32]) -> Vec<Entry<V6>> {
        let parts: Vec<_> = self.chunks.iter().map(|c| (&c.v6[..], &c.s6[..])).collect();
        in_order(&parts, self.chunk, sorted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rule::order_key;
    use crate::model::PortRange;

    fn rule(id: &str, rank: u32, policy: Policy) -> EngineRule {
        EngineRule {
            id: id.into(),
            group: "sg".into(),
            rank,
            policy,
            protocol: None,
            family: None,
            dst_ports: PortRange::ANY,
            src_ports: PortRange::ANY,
            peer: vec!["10.0.0.0/8".parse().unwrap()],
            local: None,
        }
    }

    /// The order by comparing whole keys: rank, drop first, id bytes, index.
    fn naive(rules: &[EngineRule]) -> Vec<u32> {
        let mut idx: Vec<u32> = (0..rules.len() as u32).collect();
        idx.sort_by(|&a, &b| {
            let k = |i: u32| {
                let r = &rules[i as usize];
                (order_key(r.rank, r.policy, &r.id), i)
            };
            k(a).cmp(&k(b))
        });
        idx
    }

    #[test]
    fn decision_order_breaks_ties_past_sixteen_bytes_and_on_padding() {
        // Ids tying on their first sixteen bytes, ids that are prefixes of others, a NUL
        // byte where the padding has zeros, duplicates (the index decides), both policies.
        let ids = [
            "sgr-0123456789abZ",
            "sgr-0123456789ab",
            "sgr-0123456789abA",
            "sgr-0123456789ab\0",
            "sgr-0123456789abA",
            "sgr",
            "sgr\0",
            "",
            "sgr-0123456789abAA",
            "sgr-0123456789aa",
        ];
        let mut rules = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            for rank in [1, 2] {
                for policy in [Policy::Accept, Policy::Drop] {
                    rules.push(rule(id, rank + (k as u32 % 2), policy));
                }
            }
        }
        let (order, sorted) = decision_order(&rules);
        assert_eq!(sorted, naive(&rules));
        for (pos, &i) in sorted.iter().enumerate() {
            assert_eq!(order[i as usize], pos as u32);
        }
    }

    #[test]
    fn the_parallel_path_gives_the_serial_order_and_entries() {
        // Past PARALLEL_FROM and one chunk: the parallel sort, chunked lowering and the runs copied in
        // order equal a stable sort of the serially lowered entries by order.
        let rules = crate::generate::generate(PARALLEL_FROM.max(CHUNK) + 5_000, 4);
        let (order, sorted) = decision_order(&rules);
        assert_eq!(sorted, naive(&rules));
        let low = lower(&rules, &order);
        assert!(low.chunks.len() > 1);
        let one = lower_chunk(&rules, &order, 0);
        let mut v4 = one.v4.clone();
        v4.sort_by_key(|e| e.order);
        let got = low.v4_in_order(&sorted);
        assert_eq!(got.len(), v4.len());
        for (a, b) in got.iter().zip(&v4) {
            assert_eq!(
                (a.order, a.rule, a.peer, a.peer_len),
                (b.order, b.rule, b.peer, b.peer_len)
            );
        }
        let mut v6 = one.v6.clone();
        v6.sort_by_key(|e| e.order);
        let got6 = low.v6_in_order(&sorted);
        assert_eq!(got6.len(), v6.len());
        assert!(!v6.is_empty());
        for (a, b) in got6.iter().zip(&v6) {
            assert_eq!((a.order, a.rule, a.peer_len), (b.order, b.rule, b.peer_len));
        }
        // And the matcher built on the parallel path answers as the scan.
        let m = crate::engine::matcher::Matcher::compile(&rules).unwrap();
        for p in crate::generate::packets(&rules, 200, 5) {
            assert_eq!(
                m.lookup(&p),
                crate::engine::rule::linear_scan(&rules, &p),
                "{p:?}"
            );
        }
    }
}
