//! [`ProtoSet`]: a set of IP protocol numbers, the protocol field of a box.

use crate::model::{PROTO_TCP, PROTO_UDP};

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
