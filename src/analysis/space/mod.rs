//! The packet space of a policy (SPEC §8): boxes over protocol × peer address × peer port ×
//! local address × local port, one family each, and regions as unions of disjoint boxes.
//!
//! A box's protocol field is a set of protocol numbers (a 256-bit set), its other four
//! fields are inclusive intervals of `u128` (addresses of the box's family, ports). Packets
//! of protocols without ports have both ports 0 (as [`Packet`] holds them), so the space of
//! a family is two boxes: TCP and UDP with ports 1–65535, and every other protocol with
//! ports 0–0; every box built here lies inside them, so a box with ports holds no other
//! protocol.

//!
//! The parts: [`ProtoSet`] (`proto`), addresses as numbers and the internet's ranges
//! (`addr`), [`Region`] and its set operations (`region`), the readable witness packet of a
//! box (`witness`) and a box as text and JSON (`text`).

use crate::model::{Direction, Family, Packet};

mod addr;
mod proto;
mod region;
mod text;
mod witness;

pub use addr::{addr_max, addr_num, internet, net_range, nets_set, num_addr};
pub use proto::ProtoSet;
pub use region::Region;
pub use text::{addr_text, box_json, box_text, proto_text};
pub use witness::{box_witness, witness_rank, WitnessRank};

/// Field indexes of a box's intervals.
pub const PEER: usize = 0;
/// The peer port.
pub const PEER_PORT: usize = 1;
/// The local address.
pub const LOCAL: usize = 2;
/// The local port.
pub const LOCAL_PORT: usize = 3;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::interval::IntervalSet;
    use ipnet::IpNet;
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
