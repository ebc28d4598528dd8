//! [`Region`]: a finite union of disjoint boxes, with intersection, difference, union and
//! merging; boxes overlapping a box are found through an index on the peer field.

use super::witness::{box_witness, witness_rank};
use super::{addr_max, packet_fields, PacketBox, ProtoSet, LOCAL, LOCAL_PORT, PEER, PEER_PORT};
use crate::analysis::interval::IntervalSet;
use crate::model::{Direction, Family, Packet};

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

    /// The part of the region in one address family.
    pub fn of_family(&self, family: Family) -> Region {
        Region {
            boxes: self
                .boxes
                .iter()
                .filter(|b| b.family == family)
                .copied()
                .collect(),
        }
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
