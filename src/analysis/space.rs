//! The packet space of a policy (SPEC §8): boxes over protocol × peer address × peer port ×
//! local address × local port, one family each, and regions as unions of disjoint boxes.
//!
//! A box's protocol field is a set of protocol numbers (a 256-bit set), its other four
//! fields are inclusive intervals of `u128` (addresses of the box's family, ports). Packets
//! of protocols without ports have both ports 0 (as [`Packet`] holds them), so the space of
//! a family is two boxes: TCP and UDP with ports 1–65535, and every other protocol with
//! ports 0–0; every box built here lies inside them, so a box with ports holds no other
//! protocol.

use super::interval::IntervalSet;
use crate::model::{Direction, Family, Packet, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// Field indexes of a box's intervals.
pub const PEER: usize = 0;
/// The peer port.
pub const PEER_PORT: usize = 1;
/// The local address.
pub const LOCAL: usize = 2;
/// The local port.
pub const LOCAL_PORT: usize = 3;

/// A set of IP protocol numbers 0–255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtoSet([u64; 4]);

impl ProtoSet {
    /// No protocol.
    pub const EMPTY: ProtoSet = ProtoSet([0; 4]);
    /// Every protocol.
    pub const ALL: ProtoSet = ProtoSet([u64::MAX; 4]);

    /// One protocol.
    pub fn one(p: u8) -> ProtoSet {
        let mut s = ProtoSet::EMPTY;
        s.insert(p);
        s
    }

    /// TCP and UDP, the protocols with ports.
    pub fn ported() -> ProtoSet {
        ProtoSet::one(PROTO_TCP).or(ProtoSet::one(PROTO_UDP))
    }

    fn insert(&mut self, p: u8) {
        if let Some(w) = self.0.get_mut(usize::from(p >> 6)) {
            *w |= 1u64 << (p & 63);
        }
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: u8) -> bool {
        self.0
            .get(usize::from(p >> 6))
            .is_some_and(|w| w & (1u64 << (p & 63)) != 0)
    }

    /// Intersection.
    pub fn and(self, o: ProtoSet) -> ProtoSet {
        ProtoSet([
            self.0[0] & o.0[0],
            self.0[1] & o.0[1],
            self.0[2] & o.0[2],
            self.0[3] & o.0[3],
        ])
    }

    /// Union.
    pub fn or(self, o: ProtoSet) -> ProtoSet {
        ProtoSet([
            self.0[0] | o.0[0],
            self.0[1] | o.0[1],
            self.0[2] | o.0[2],
            self.0[3] | o.0[3],
        ])
    }

    /// Complement.
    pub fn complement(self) -> ProtoSet {
        ProtoSet([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// Whether no protocol is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == [0; 4]
    }

    /// The protocols in increasing order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0..=255u8).filter(move |p| self.contains(*p))
    }

    /// The set as inclusive ranges of protocol numbers.
    pub fn ranges(self) -> Vec<(u8, u8)> {
        let mut out: Vec<(u8, u8)> = Vec::new();
        for p in self.iter() {
            match out.last_mut() {
                Some(last) if u16::from(last.1) + 1 == u16::from(p) => last.1 = p,
                _ => out.push((p, p)),
            }
        }
        out
    }
}

/// The highest address of a family.
pub fn addr_max(f: Family) -> u128 {
    match f {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// An address as a number.
pub fn addr_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A number as an address of a family (IPv4 takes the low 32 bits).
pub fn num_addr(f: Family, v: u128) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::from((v & u128::from(u32::MAX)) as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// A network as an interval of numbers.
pub fn net_range(n: &IpNet) -> (u128, u128) {
    (addr_num(n.network()), addr_num(n.broadcast()))
}

/// The addresses of some networks of one family, as an interval set.
pub fn nets_set<'a>(f: Family, nets: impl IntoIterator<Item = &'a IpNet>) -> IntervalSet {
    IntervalSet::from_ranges(
        nets.into_iter()
            .filter(|n| Family::of_net(n) == f)
            .map(net_range),
    )
}

fn parse_nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().filter_map(|s| s.parse().ok()).collect()
}

const NOT_INTERNET: [&str; 18] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

const DOCUMENTATION: [&str; 4] = [
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
];

/// The internet addresses of a family (SPEC §8: every address outside the special ranges).
pub fn internet(f: Family) -> IntervalSet {
    static SETS: OnceLock<[IntervalSet; 2]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        [Family::V4, Family::V6].map(|f| {
            IntervalSet::range(0, addr_max(f)).difference(&nets_set(f, &parse_nets(&NOT_INTERNET)))
        })
    });
    pick(sets, f).clone()
}

fn pick(sets: &[IntervalSet; 2], f: Family) -> &IntervalSet {
    let [v4, v6] = sets;
    match f {
        Family::V4 => v4,
        Family::V6 => v6,
    }
}

/// The internet addresses of a family outside the documentation ranges: the peers a
/// witness prefers.
fn good_peers(f: Family) -> &'static IntervalSet {
    static SETS: OnceLock<[IntervalSet; 2]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        [Family::V4, Family::V6]
            .map(|f| internet(f).difference(&nets_set(f, &parse_nets(&DOCUMENTATION))))
    });
    pick(sets, f)
}

/// One box of the packet space: a family, a protocol set and four intervals
/// (peer address, peer port, local address, local port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketBox {
    /// The family of both addresses.
    pub family: Family,
    /// The protocols.
    pub protos: ProtoSet,
    /// Inclusive intervals, indexed by [`PEER`], [`PEER_PORT`], [`LOCAL`], [`LOCAL_PORT`].
    pub iv: [(u128, u128); 4],
}

impl PacketBox {
    /// The intersection, if not empty.
    pub fn intersect(&self, o: &PacketBox) -> Option<PacketBox> {
        if self.family != o.family {
            return None;
        }
        let protos = self.protos.and(o.protos);
        if protos.is_empty() {
            return None;
        }
        let mut iv = self.iv;
        for (d, slot) in iv.iter_mut().enumerate() {
            let b = o.iv.get(d).copied().unwrap_or((1, 0));
            let lo = slot.0.max(b.0);
            let hi = slot.1.min(b.1);
            if lo > hi {
                return None;
            }
            *slot = (lo, hi);
        }
        Some(PacketBox {
            family: self.family,
            protos,
            iv,
        })
    }

    /// Whether the two boxes share a packet.
    pub fn overlaps(&self, o: &PacketBox) -> bool {
        self.family == o.family
            && !self.protos.and(o.protos).is_empty()
            && self
                .iv
                .iter()
                .zip(o.iv.iter())
                .all(|(a, b)| a.0 <= b.1 && b.0 <= a.1)
    }

    /// Pushes the parts of `self` outside `o` onto `out`, as disjoint boxes.
    pub fn subtract_into(&self, o: &PacketBox, out: &mut Vec<PacketBox>) {
        if !self.overlaps(o) {
            out.push(*self);
            return;
        }
        let mut rest = *self;
        let outside = rest.protos.and(o.protos.complement());
        if !outside.is_empty() {
            out.push(PacketBox {
                protos: outside,
                ..rest
            });
            rest.protos = rest.protos.and(o.protos);
        }
        // Split along the address fields first: rules differ most there.
        for d in [PEER, LOCAL, LOCAL_PORT, PEER_PORT] {
            let (a, b) = match (rest.iv.get(d), o.iv.get(d)) {
                (Some(a), Some(b)) => (*a, *b),
                _ => continue,
            };
            if a.0 < b.0 {
                let mut piece = rest;
                if let Some(s) = piece.iv.get_mut(d) {
                    *s = (a.0, b.0 - 1);
                }
                out.push(piece);
            }
            if a.1 > b.1 {
                let mut piece = rest;
                if let Some(s) = piece.iv.get_mut(d) {
                    *s = (b.1 + 1, a.1);
                }
                out.push(piece);
            }
            if let Some(s) = rest.iv.get_mut(d) {
                *s = (a.0.max(b.0), a.1.min(b.1));
            }
        }
    }

    /// Whether the box holds the packet given by its fields.
    pub fn contains(&self, family: Family, proto: u8, fields: [u128; 4]) -> bool {
        self.family == family
            && self.protos.contains(proto)
            && self
                .iv
                .iter()
                .zip(fields.iter())
                .all(|(r, v)| r.0 <= *v && *v <= r.1)
    }

    /// How many packets the box holds (saturating).
    pub fn count(&self) -> u128 {
        let protos = self.protos.iter().count() as u128;
        self.iv.iter().fold(protos, |acc, r| {
            acc.saturating_mul((r.1 - r.0).saturating_add(1))
        })
    }

    /// Whether the box carries ports (its protocols are TCP or UDP).
    pub fn has_ports(&self) -> bool {
        self.protos.and(ProtoSet::ported().complement()).is_empty()
    }
}

/// The fields of a packet for a direction: family, protocol, (peer, peer port, local,
/// local port).
pub fn packet_fields(p: &Packet, direction: Direction) -> (Family, u8, [u128; 4]) {
    let (peer, peer_port, local, local_port) = match direction {
        Direction::Ingress => (p.src(), p.src_port, p.dst(), p.dst_port),
        Direction::Egress => (p.dst(), p.dst_port, p.src(), p.src_port),
    };
    (
        Family::of(&peer),
        p.protocol,
        [
            addr_num(peer),
            u128::from(peer_port),
            addr_num(local),
            u128::from(local_port),
        ],
    )
}

/// A finite union of disjoint boxes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Region {
    // INVARIANT: the boxes are pairwise disjoint.
    boxes: Vec<PacketBox>,
}

impl Region {
    /// The empty region.
    pub fn empty() -> Region {
        Region { boxes: Vec::new() }
    }

    /// A region of one box.
    pub fn from_box(b: PacketBox) -> Region {
        Region { boxes: vec![b] }
    }

    /// A region from boxes already known to be pairwise disjoint.
    pub fn from_disjoint(boxes: Vec<PacketBox>) -> Region {
        Region { boxes }
    }

    /// The whole space of one family with the local addresses given.
    pub fn space(family: Family, local: &IntervalSet) -> Region {
        let port = (1u128, 65535u128);
        let mut boxes = Vec::new();
        for &l in local.ranges() {
            boxes.push(PacketBox {
                family,
                protos: ProtoSet::ported(),
                iv: [(0, addr_max(family)), port, l, port],
            });
            boxes.push(PacketBox {
                family,
                protos: ProtoSet::ported().complement(),
                iv: [(0, addr_max(family)), (0, 0), l, (0, 0)],
            });
        }
        Region { boxes }
    }

    /// The boxes.
    pub fn boxes(&self) -> &[PacketBox] {
        &self.boxes
    }

    /// Whether the region holds no packet.
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// How many packets the region holds (saturating).
    pub fn count(&self) -> u128 {
        self.boxes
            .iter()
            .fold(0u128, |a, b| a.saturating_add(b.count()))
    }

    /// The intersection with a box.
    pub fn intersect_box(&self, b: &PacketBox) -> Region {
        Region {
            boxes: self.boxes.iter().filter_map(|a| a.intersect(b)).collect(),
        }
    }

    /// The intersection.
    pub fn intersect(&self, o: &Region) -> Region {
        let mut boxes = Vec::new();
        if self.boxes.len().saturating_mul(o.boxes.len()) <= 64 {
            for a in &self.boxes {
                for b in &o.boxes {
                    if let Some(c) = a.intersect(b) {
                        boxes.push(c);
                    }
                }
            }
            return Region { boxes };
        }
        let (small, large) = if self.boxes.len() <= o.boxes.len() {
            (self, o)
        } else {
            (o, self)
        };
        let index = PeerIndex::new(&large.boxes);
        for a in &small.boxes {
            index.for_overlapping(a, |b| {
                if let Some(c) = a.intersect(b) {
                    boxes.push(c);
                }
            });
        }
        Region { boxes }
    }

    /// The packets of `self` not in box `b`.
    pub fn subtract_box(&self, b: &PacketBox) -> Region {
        let mut out = Vec::with_capacity(self.boxes.len());
        for a in &self.boxes {
            a.subtract_into(b, &mut out);
        }
        Region { boxes: out }
    }

    /// The packets of `self` not in `o`.
    pub fn difference(&self, o: &Region) -> Region {
        if o.boxes.len() <= 4 {
            let mut cur = self.clone();
            for b in &o.boxes {
                if cur.is_empty() {
                    break;
                }
                cur = cur.subtract_box(b);
            }
            return cur;
        }
        // Each box of `self` loses only the boxes of `o` that overlap it.
        let index = PeerIndex::new(&o.boxes);
        let mut out = Vec::with_capacity(self.boxes.len());
        let mut hits: Vec<&PacketBox> = Vec::new();
        for a in &self.boxes {
            hits.clear();
            index.for_overlapping(a, |b| hits.push(b));
            if hits.is_empty() {
                out.push(*a);
                continue;
            }
            let mut cur = vec![*a];
            for b in &hits {
                if cur.is_empty() {
                    break;
                }
                let mut next = Vec::with_capacity(cur.len());
                for c in &cur {
                    c.subtract_into(b, &mut next);
                }
                cur = next;
            }
            out.extend(cur);
        }
        Region { boxes: out }
    }

    /// The union (the boxes of `o` outside `self` are added).
    pub fn union(&self, o: &Region) -> Region {
        let mut boxes = self.boxes.clone();
        boxes.extend(o.difference(self).boxes);
        Region { boxes }
    }

    /// Adds a region known to be disjoint from this one.
    pub fn extend_disjoint(&mut self, o: Region) {
        self.boxes.extend(o.boxes);
    }

    /// Whether the region holds the packet (fields as [`packet_fields`] gives them).
    pub fn contains(&self, family: Family, proto: u8, fields: [u128; 4]) -> bool {
        self.boxes.iter().any(|b| b.contains(family, proto, fields))
    }

    /// Whether the region holds a packet decided in a direction.
    pub fn contains_packet(&self, p: &Packet, direction: Direction) -> bool {
        let (f, proto, fields) = packet_fields(p, direction);
        self.contains(f, proto, fields)
    }

    /// The peer addresses of the region's packets, per family.
    pub fn peers(&self, family: Family) -> IntervalSet {
        IntervalSet::from_ranges(
            self.boxes
                .iter()
                .filter(|b| b.family == family)
                .map(|b| b.iv[PEER]),
        )
    }

    /// Merges neighbouring boxes (equal in every field but one, adjacent or overlapping in
    /// that one) until none is left; the region is unchanged.
    pub fn merged(&self) -> Region {
        let mut boxes = self.boxes.clone();
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < boxes.len() {
                let mut j = i + 1;
                while j < boxes.len() {
                    let merged = match (boxes.get(i), boxes.get(j)) {
                        (Some(a), Some(b)) => merge_pair(a, b),
                        _ => None,
                    };
                    if let Some(m) = merged {
                        if let Some(slot) = boxes.get_mut(i) {
                            *slot = m;
                        }
                        boxes.swap_remove(j);
                        changed = true;
                    } else {
                        j += 1;
                    }
                }
                i += 1;
            }
            if !changed {
                break;
            }
        }
        boxes.sort_by_key(box_order);
        Region { boxes }
    }

    /// A readable packet of the region decided in `direction` (SPEC §8's preferences), or
    /// `None` when the region is empty.
    pub fn witness(&self, direction: Direction) -> Option<Packet> {
        let b = self.boxes.iter().min_by_key(|b| witness_rank(b))?;
        Some(box_witness(b, direction))
    }
}

/// How readable a box's witness is (smaller is better): protocol, public peer, well-known
/// local port, peer port 49152, family.
pub type WitnessRank = (u8, u8, usize, u8, u8);

/// The rank of a box's witness; a region's witness is that of its first box of least rank.
pub fn witness_rank(b: &PacketBox) -> WitnessRank {
    let proto = if b.protos.contains(PROTO_TCP) {
        0
    } else if b.protos.contains(PROTO_UDP) {
        1
    } else if b.protos.contains(PROTO_ICMP) || b.protos.contains(PROTO_ICMPV6) {
        2
    } else {
        3
    };
    let good = good_peers(b.family).intersect(&IntervalSet::range(b.iv[PEER].0, b.iv[PEER].1));
    let not_public = if good.is_empty() {
        2
    } else if b.family == Family::V6 && good.intersect(&global_v6()).is_empty() {
        1
    } else {
        0
    };
    let fam = u8::from(b.family == Family::V6);
    let lp = b.iv[LOCAL_PORT];
    let port = [443u128, 80, 22]
        .iter()
        .position(|p| lp.0 <= *p && *p <= lp.1)
        .unwrap_or(3);
    let pp = b.iv[PEER_PORT];
    let peer_port = u8::from(!(pp.0 <= 49152 && 49152 <= pp.1));
    (proto, not_public, port, peer_port, fam)
}

/// Boxes sorted by the low end of their peer interval, with the running maximum of the
/// high ends: the boxes overlapping a box are found without testing all of them.
struct PeerIndex<'a> {
    sorted: Vec<&'a PacketBox>,
    max_hi: Vec<u128>,
}

impl<'a> PeerIndex<'a> {
    fn new(boxes: &'a [PacketBox]) -> PeerIndex<'a> {
        let mut sorted: Vec<&PacketBox> = boxes.iter().collect();
        sorted.sort_by_key(|b| b.iv[PEER].0);
        let mut max_hi = Vec::with_capacity(sorted.len());
        let mut m = 0u128;
        for b in &sorted {
            m = m.max(b.iv[PEER].1);
            max_hi.push(m);
        }
        PeerIndex { sorted, max_hi }
    }

    /// Calls `f` on every box that overlaps `a`.
    fn for_overlapping(&self, a: &PacketBox, mut f: impl FnMut(&'a PacketBox)) {
        let (lo, hi) = a.iv[PEER];
        let end = self.sorted.partition_point(|b| b.iv[PEER].0 <= hi);
        for j in (0..end).rev() {
            if self.max_hi.get(j).is_none_or(|m| *m < lo) {
                break;
            }
            if let Some(b) = self.sorted.get(j) {
                if b.overlaps(a) {
                    f(b);
                }
            }
        }
    }
}

fn box_order(b: &PacketBox) -> (u8, u128, u128, Vec<(u8, u8)>, u128, u128) {
    (
        u8::from(b.family == Family::V6),
        b.iv[LOCAL].0,
        b.iv[PEER].0,
        b.protos.ranges(),
        b.iv[LOCAL_PORT].0,
        b.iv[PEER_PORT].0,
    )
}

fn merge_pair(a: &PacketBox, b: &PacketBox) -> Option<PacketBox> {
    if a.family != b.family {
        return None;
    }
    let same: Vec<bool> = a.iv.iter().zip(b.iv.iter()).map(|(x, y)| x == y).collect();
    let differing = same.iter().filter(|s| !**s).count();
    if a.protos != b.protos {
        return (differing == 0).then(|| PacketBox {
            protos: a.protos.or(b.protos),
            ..*a
        });
    }
    match differing {
        0 => Some(*a),
        1 => {
            let d = same.iter().position(|s| !*s)?;
            let (x, y) = (*a.iv.get(d)?, *b.iv.get(d)?);
            let touch = x.0 <= y.1.saturating_add(1) && y.0 <= x.1.saturating_add(1);
            let mut m = *a;
            *m.iv.get_mut(d)? = (x.0.min(y.0), x.1.max(y.1));
            touch.then_some(m)
        }
        _ => None,
    }
}

/// IPv6 global unicast, 2000::/3.
fn global_v6() -> IntervalSet {
    IntervalSet::range(0x2000u128 << 112, (0x4000u128 << 112) - 1)
}

fn pick_addr(family: Family, r: (u128, u128), prefer_public: bool) -> u128 {
    if prefer_public {
        let mut good = good_peers(family).intersect(&IntervalSet::range(r.0, r.1));
        // IPv6: a global unicast address (2000::/3) reads better than `::3`.
        let global = good.intersect(&global_v6());
        if family == Family::V6 && !global.is_empty() {
            good = global;
        }
        if let Some(&(lo, hi)) = good.ranges().first() {
            return if hi - lo >= 2 { lo + 1 } else { lo };
        }
    }
    if r.1 - r.0 >= 2 {
        r.0 + 1
    } else {
        r.0
    }
}

/// The readable packet of one box.
pub fn box_witness(b: &PacketBox, direction: Direction) -> Packet {
    let proto = [PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6]
        .into_iter()
        .find(|p| b.protos.contains(*p))
        .or_else(|| b.protos.iter().next())
        .unwrap_or(0);
    let within = |r: (u128, u128), prefs: &[u128]| {
        prefs
            .iter()
            .copied()
            .find(|p| r.0 <= *p && *p <= r.1)
            .unwrap_or(r.0)
    };
    let local_port = within(b.iv[LOCAL_PORT], &[443, 80, 22]) as u16;
    let peer_port = within(b.iv[PEER_PORT], &[49152]) as u16;
    let peer = pick_addr(b.family, b.iv[PEER], true);
    let local = pick_addr(b.family, b.iv[LOCAL], false);
    let (src, src_port, dst, dst_port) = match direction {
        Direction::Ingress => (peer, peer_port, local, local_port),
        Direction::Egress => (local, local_port, peer, peer_port),
    };
    match b.family {
        Family::V4 => Packet::v4(
            proto,
            Ipv4Addr::from((src & u128::from(u32::MAX)) as u32),
            src_port,
            Ipv4Addr::from((dst & u128::from(u32::MAX)) as u32),
            dst_port,
        ),
        Family::V6 => Packet::v6(
            proto,
            Ipv6Addr::from(src),
            src_port,
            Ipv6Addr::from(dst),
            dst_port,
        ),
    }
}

/// An address interval as CIDRs when it splits into at most four, else as `a-b`.
pub fn addr_text(family: Family, r: (u128, u128)) -> Vec<String> {
    let bits = match family {
        Family::V4 => 32u32,
        Family::V6 => 128,
    };
    let mut out = Vec::new();
    let mut lo = r.0;
    loop {
        // The largest aligned block starting at lo that fits.
        let mut size_log = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size_log > 0 {
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                lo.saturating_add((1u128 << size_log) - 1)
            };
            if last <= r.1 {
                break;
            }
            size_log -= 1;
        }
        let prefix = bits - size_log;
        out.push(if prefix == bits {
            num_addr(family, lo).to_string()
        } else {
            format!("{}/{prefix}", num_addr(family, lo))
        });
        let last = if size_log >= 128 {
            u128::MAX
        } else {
            lo + ((1u128 << size_log) - 1)
        };
        if last >= r.1 || out.len() > 4 {
            break;
        }
        lo = last + 1;
    }
    if out.len() > 4 {
        vec![format!(
            "{}-{}",
            num_addr(family, r.0),
            num_addr(family, r.1)
        )]
    } else {
        out
    }
}

/// A protocol set as `"6"`, `"18-255"` strings.
pub fn proto_text(p: ProtoSet) -> Vec<String> {
    p.ranges()
        .into_iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect()
}

fn port_text(r: (u128, u128)) -> String {
    if r.0 == r.1 {
        r.0.to_string()
    } else {
        format!("{}-{}", r.0, r.1)
    }
}

/// A box as SPEC §8's JSON object.
pub fn box_json(b: &PacketBox) -> serde_json::Value {
    let ports = |r: (u128, u128)| {
        if b.has_ports() {
            vec![format!("{}-{}", r.0, r.1)]
        } else {
            Vec::new()
        }
    };
    serde_json::json!({
        "protocols": proto_text(b.protos),
        "peer": addr_text(b.family, b.iv[PEER]),
        "peer_ports": ports(b.iv[PEER_PORT]),
        "local": addr_text(b.family, b.iv[LOCAL]),
        "local_ports": ports(b.iv[LOCAL_PORT]),
    })
}

/// A box in one line: `tcp,udp peer 0.0.0.0/0 port 1-65535 -> local 10.0.0.1 port 22`.
pub fn box_text(b: &PacketBox) -> String {
    let protos: Vec<String> = b
        .protos
        .ranges()
        .into_iter()
        .map(|(a, z)| {
            if a == z {
                crate::packet::protocol_name(a)
            } else if a == 0 && z == 255 {
                "all".to_string()
            } else {
                format!("{a}-{z}")
            }
        })
        .collect();
    let protos = if b.protos == ProtoSet::ported().complement() {
        "other than tcp/udp".to_string()
    } else {
        protos.join(",")
    };
    let peer = addr_text(b.family, b.iv[PEER]).join(",");
    let local = addr_text(b.family, b.iv[LOCAL]).join(",");
    if b.has_ports() {
        format!(
            "{protos} from {peer} port {} to {local} port {}",
            port_text(b.iv[PEER_PORT]),
            port_text(b.iv[LOCAL_PORT])
        )
    } else {
        format!("{protos} from {peer} to {local}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(lo: u128, hi: u128) -> (u128, u128) {
        (lo, hi)
    }

    fn bx(protos: ProtoSet, peer: (u128, u128), lp: (u128, u128)) -> PacketBox {
        PacketBox {
            family: Family::V4,
            protos,
            iv: [peer, (1, 65535), (10, 10), lp],
        }
    }

    #[test]
    fn space_difference_and_witness() {
        let space = Region::space(Family::V4, &IntervalSet::range(10, 10));
        assert_eq!(space.boxes().len(), 2);
        let ssh = bx(ProtoSet::one(6), v4(0, u128::from(u32::MAX)), (22, 22));
        let rest = space.subtract_box(&ssh);
        assert!(rest.intersect_box(&ssh).is_empty());
        assert_eq!(
            rest.count() + space.intersect_box(&ssh).count(),
            space.count()
        );
        let w = space
            .intersect_box(&ssh)
            .witness(Direction::Ingress)
            .unwrap();
        assert_eq!(
            crate::packet::format_packet(&w),
            "tcp 1.0.0.1:49152 -> 0.0.0.10:22"
        );
        let w = rest.witness(Direction::Ingress).unwrap();
        assert_eq!(w.protocol, 6);
        assert_eq!(w.dst_port, 443);
    }

    #[test]
    fn cidr_text() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert_eq!(addr_text(Family::V4, net_range(&n)), vec!["10.0.0.0/8"]);
        assert_eq!(
            addr_text(Family::V4, (0, u128::from(u32::MAX))),
            vec!["0.0.0.0/0"]
        );
        assert_eq!(addr_text(Family::V6, (0, u128::MAX)), vec!["::/0"]);
        assert_eq!(addr_text(Family::V4, (1, 2)), vec!["0.0.0.1", "0.0.0.2"]);
        assert_eq!(addr_text(Family::V4, (1, 1000)), vec!["0.0.0.1-0.0.3.232"]);
        assert_eq!(proto_text(ProtoSet::ported().complement()).len(), 3);
        let i = internet(Family::V4);
        assert!(i.contains(addr_num("8.8.8.8".parse().unwrap())));
        assert!(!i.contains(addr_num("10.1.1.1".parse().unwrap())));
    }

    fn any_box() -> impl Strategy<Value = PacketBox> {
        (
            prop::sample::select(&[6u8, 17, 1, 47][..]),
            any::<bool>(),
            (0u128..16, 0u128..8),
            (0u128..8, 0u128..4),
            (0u128..4, 0u128..3),
            (0u128..8, 0u128..4),
        )
            .prop_map(|(p, all, peer, pp, local, lp)| PacketBox {
                family: Family::V4,
                protos: if all { ProtoSet::ALL } else { ProtoSet::one(p) },
                iv: [
                    (peer.0, peer.0 + peer.1),
                    (pp.0, pp.0 + pp.1),
                    (local.0, local.0 + local.1),
                    (lp.0, lp.0 + lp.1),
                ],
            })
    }

    proptest! {
        #[test]
        fn regions_agree_with_points(
            a in prop::collection::vec(any_box(), 0..5),
            b in prop::collection::vec(any_box(), 0..5),
            pts in prop::collection::vec(
                (prop::sample::select(&[6u8, 17, 1, 47, 50][..]), 0u128..26, 0u128..13, 0u128..8, 0u128..13),
                64,
            ),
        ) {
            let build = |v: &[PacketBox]| v.iter().fold(Region::empty(), |r, x| r.union(&Region::from_box(*x)));
            let (ra, rb) = (build(&a), build(&b));
            let inside = |v: &[PacketBox], p: u8, f: [u128; 4]| v.iter().any(|x| x.contains(Family::V4, p, f));
            let (i, d, u, m) = (ra.intersect(&rb), ra.difference(&rb), ra.union(&rb), ra.union(&rb).merged());
            for (p, peer, pp, local, lp) in pts {
                let f = [peer, pp, local, lp];
                let (ina, inb) = (inside(&a, p, f), inside(&b, p, f));
                prop_assert_eq!(ra.contains(Family::V4, p, f), ina);
                prop_assert_eq!(i.contains(Family::V4, p, f), ina && inb);
                prop_assert_eq!(d.contains(Family::V4, p, f), ina && !inb);
                prop_assert_eq!(u.contains(Family::V4, p, f), ina || inb);
                prop_assert_eq!(m.contains(Family::V4, p, f), ina || inb);
                prop_assert!(!d.contains(Family::V6, p, f));
            }
            for r in [&ra, &i, &d, &u, &m] {
                for (x, bx1) in r.boxes().iter().enumerate() {
                    for bx2 in r.boxes().iter().skip(x + 1) {
                        prop_assert!(!bx1.overlaps(bx2), "boxes overlap");
                    }
                }
            }
            if let Some(w) = d.witness(Direction::Ingress) {
                prop_assert!(d.contains_packet(&w, Direction::Ingress));
            }
        }
    }
}
