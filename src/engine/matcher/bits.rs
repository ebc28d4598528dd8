//! The bit-width trait: an address's bits as `u32` (IPv4) or `u128` (IPv6), so one
//! classifier serves both families.

use std::fmt;

/// An address's bits as an unsigned integer: `u32` for IPv4, `u128` for IPv6.
pub(super) trait Bits:
    Copy + Eq + std::hash::Hash + Default + Send + Sync + fmt::Debug + 'static
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
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
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

#[cfg(test)]
mod tests {
    use super::*;

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
