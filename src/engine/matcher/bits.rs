//! The bit-width trait: an address's bits as `u32` (IPv4) or `u128` (IPv6), so one
//! classifier serves both families.

use std::fmt;

/// A totally ordered value with a largest one: an address, a port, a protocol-and-port
/// word.
pub(super) trait Value: Copy + Ord {
    /// The largest value.
    const TOP: Self;
}

impl Value for u16 {
    const TOP: u16 = u16::MAX;
}

impl Value for u32 {
    const TOP: u32 = u32::MAX;
}

impl Value for u128 {
    const TOP: u128 = u128::MAX;
}

impl Value for V6 {
    const TOP: V6 = V6::new(u128::MAX);
}

/// An address's bits as an unsigned integer: `u32` for IPv4, `u128` for IPv6.
pub(super) trait Bits:
    Value + std::hash::Hash + Default + Send + Sync + fmt::Debug + 'static
{
    /// Address width in bits.
    const WIDTH: u8;
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
    /// The next value (`None` after the largest).
    fn succ(self) -> Option<Self>;
    /// A peer and a local address together, as a lookup masks them per table.
    type Pair: Copy + Default + Send + Sync + fmt::Debug + 'static;
    /// The pair of a peer and a local address (or of their masks).
    fn pair(peer: Self, local: Self) -> Self::Pair;
    /// `pair` masked by `mask`, folded as [`hash_key`](super::table::hash_key) folds the
    /// masked addresses: `peer.fold().rotate_left(32) ^ local.fold()`.
    fn masked_fold(pair: Self::Pair, mask: Self::Pair) -> u64;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    #[inline(always)]
    fn mask(len: u8) -> u32 {
        // The low half of a 64-bit shift by 0..=32 (never past 63): three instructions and
        // no test for the shift by 32 that `u32`'s own shift would need (`/0` gives 0).
        // Truncation intended.
        (u64::MAX << (32u32.saturating_sub(u32::from(len)) & 63)) as u32
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
    fn succ(self) -> Option<u32> {
        self.checked_add(1)
    }
    /// Both addresses in one word (peer high), so that one AND masks both.
    type Pair = u64;
    #[inline(always)]
    fn pair(peer: u32, local: u32) -> u64 {
        u64::from(peer) << 32 | u64::from(local)
    }
    #[inline(always)]
    fn masked_fold(pair: u64, mask: u64) -> u64 {
        pair & mask
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
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
    fn succ(self) -> Option<u128> {
        self.checked_add(1)
    }
    type Pair = (u128, u128);
    fn pair(peer: u128, local: u128) -> (u128, u128) {
        (peer, local)
    }
    fn masked_fold(pair: (u128, u128), mask: (u128, u128)) -> u64 {
        (pair.0 & mask.0).fold().rotate_left(32) ^ (pair.1 & mask.1).fold()
    }
}

/// An IPv6 address's bits as two 64-bit halves: the same values as `u128`, but 8-byte
/// aligned, so an IPv6 entry takes 56 bytes instead of 64 (a `u128` field aligns the entry
/// to 16).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub(super) struct V6 {
    hi: u64,
    lo: u64,
}

impl V6 {
    /// The halves of `x`.
    #[inline(always)]
    pub(super) const fn new(x: u128) -> V6 {
        // Truncations intended: the two halves.
        V6 {
            hi: (x >> 64) as u64,
            lo: x as u64,
        }
    }

    /// The `u128` it holds.
    #[inline(always)]
    pub(super) fn get(self) -> u128 {
        u128::from(self.hi) << 64 | u128::from(self.lo)
    }
}

/// Ordered as the `u128` it holds: one wide comparison, no branch on the halves.
impl Ord for V6 {
    #[inline(always)]
    fn cmp(&self, other: &V6) -> std::cmp::Ordering {
        self.get().cmp(&other.get())
    }
}

impl PartialOrd for V6 {
    #[inline(always)]
    fn partial_cmp(&self, other: &V6) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }

    #[inline(always)]
    fn le(&self, other: &V6) -> bool {
        self.get() <= other.get()
    }
}

impl Bits for V6 {
    const WIDTH: u8 = 128;
    #[inline(always)]
    fn mask(len: u8) -> V6 {
        V6::new(u128::mask(len))
    }
    #[inline(always)]
    fn and(self, other: V6) -> V6 {
        V6 {
            hi: self.hi & other.hi,
            lo: self.lo & other.lo,
        }
    }
    fn or(self, other: V6) -> V6 {
        V6 {
            hi: self.hi | other.hi,
            lo: self.lo | other.lo,
        }
    }
    fn not(self) -> V6 {
        V6 {
            hi: !self.hi,
            lo: !self.lo,
        }
    }
    #[inline(always)]
    fn fold(self) -> u64 {
        self.hi.rotate_left(29) ^ self.lo
    }
    fn succ(self) -> Option<V6> {
        self.get().checked_add(1).map(V6::new)
    }
    type Pair = (V6, V6);
    #[inline(always)]
    fn pair(peer: V6, local: V6) -> (V6, V6) {
        (peer, local)
    }
    #[inline(always)]
    fn masked_fold(pair: (V6, V6), mask: (V6, V6)) -> u64 {
        pair.0.and(mask.0).fold().rotate_left(32) ^ pair.1.and(mask.1).fold()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(u32::mask(0), 0);
        assert_eq!(u32::mask(8), 0xFF00_0000);
        assert_eq!(u32::mask(32), u32::MAX);
        // Every length (and past the width: the whole mask), against the leading ones.
        for len in 0..=u8::MAX {
            let ones = u32::from(len).min(32);
            assert_eq!(u32::mask(len).leading_ones(), ones, "/{len}");
            assert_eq!(u32::mask(len).count_ones(), ones, "/{len}");
        }
        assert_eq!(u128::mask(0), 0);
        assert_eq!(u128::mask(128), u128::MAX);
        assert_eq!(u128::mask(1), 1 << 127);
        assert_eq!(V6::mask(65), V6::new(u128::mask(65)));
        let x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(V6::new(x).and(V6::mask(72)), V6::new(x & u128::mask(72)));
        assert_eq!(V6::new(x).fold(), x.fold());
        // The masked pair folds as the masked addresses do.
        let (p, l) = (0x0A01_0203_u32, 0xC0A8_0001_u32);
        let (pm, lm) = (u32::mask(24), u32::mask(16));
        assert_eq!(
            u32::masked_fold(u32::pair(p, l), u32::pair(pm, lm)),
            (p & pm).fold().rotate_left(32) ^ (l & lm).fold()
        );
        let (p6, l6) = (V6::new(x), V6::new(!x));
        let (pm6, lm6) = (V6::mask(72), V6::mask(5));
        assert_eq!(
            V6::masked_fold(V6::pair(p6, l6), V6::pair(pm6, lm6)),
            p6.and(pm6).fold().rotate_left(32) ^ l6.and(lm6).fold()
        );
    }
}
