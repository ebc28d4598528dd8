//! The compiled layout: entries, hash slots, tables and one family's classifier, with the
//! hashing shared by building and lookup.

use super::bits::Bits;

/// One rule's peer network (of one family) with the rest of its fields, ready to match.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<A: Bits> {
    /// The rule's position in the total decision order: smaller wins.
    pub(super) order: u32,
    /// The rule's index in the slice given to [`Matcher::compile`](super::Matcher::compile).
    pub(super) rule: u32,
    /// Peer network (canonical).
    pub(super) peer: A,
    /// Local network (canonical; length 0 when the rule has none).
    pub(super) local: A,
    /// Destination port interval.
    pub(super) dport_lo: u16,
    pub(super) dport_hi: u16,
    /// Source port interval.
    pub(super) sport_lo: u16,
    pub(super) sport_hi: u16,
    /// Peer prefix length.
    pub(super) peer_len: u8,
    /// Local prefix length.
    pub(super) local_len: u8,
    /// The protocol number, unless `flags` has [`ANY_PROTO`].
    pub(super) proto: u8,
    /// [`ANY_PROTO`] or nothing.
    pub(super) flags: u8,
}

/// Entry flag: the rule matches every protocol.
pub(super) const ANY_PROTO: u8 = 1;

impl<A: Bits> Entry<A> {
    #[inline(always)]
    pub(super) fn matches(&self, k: &Query<A>) -> bool {
        (self.flags & ANY_PROTO != 0 || self.proto == k.proto)
            && self.dport_lo <= k.dport
            && k.dport <= self.dport_hi
            && self.sport_lo <= k.sport
            && k.sport <= self.sport_hi
            && k.peer.and(A::mask(self.peer_len)) == self.peer
            && k.local.and(A::mask(self.local_len)) == self.local
    }

    pub(super) fn proto_exact(&self) -> bool {
        self.flags & ANY_PROTO == 0
    }

    pub(super) fn dport_exact(&self) -> bool {
        self.dport_lo == self.dport_hi
    }
}

/// A packet's fields as one classifier sees them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Query<A: Bits> {
    pub(super) peer: A,
    pub(super) local: A,
    pub(super) proto: u8,
    pub(super) sport: u16,
    pub(super) dport: u16,
}

/// The protocol and destination port folded into one key word.
#[inline(always)]
pub(super) fn pd_word(proto: u8, dport: u16) -> u32 {
    (u32::from(proto) << 16) | u32::from(dport)
}

/// The hash of a bucket key (masked peer, masked local, masked protocol-and-port word).
#[inline(always)]
pub(super) fn hash_key<A: Bits>(peer: A, local: A, pd: u32) -> u64 {
    // Multiply-shift hashing: the caller takes the high bits.
    let x = peer.fold().rotate_left(32)
        ^ local.fold()
        ^ u64::from(pd).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (x ^ (x >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One hash slot: a bucket's key and its entries' range. Empty when `end == 0` (every
/// bucket has an entry, so an occupied slot has `end > start >= 0`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot<A: Bits> {
    pub(super) peer: A,
    pub(super) local: A,
    pub(super) pd: u32,
    /// The order of the bucket's first (best) entry.
    pub(super) first: u32,
    pub(super) start: u32,
    pub(super) end: u32,
}

impl<A: Bits> Slot<A> {
    /// An empty slot: no entries, and a key no query has (a query's `pd` fits in 24 bits).
    pub(super) const EMPTY: Slot<A> = Slot {
        peer: A::ZERO,
        local: A::ZERO,
        pd: u32::MAX,
        first: u32::MAX,
        start: 0,
        end: 0,
    };
}

/// A key's two candidate slots in a table of `2^(64 - shift)` slots.
#[inline(always)]
pub(super) fn slot_pair(h: u64, shift: u32) -> (usize, usize) {
    let h2 = (h ^ (h >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    ((h >> shift) as usize, (h2 >> shift) as usize)
}

/// One tuple's hash table.
#[derive(Debug, Clone)]
pub(super) struct Table<A: Bits> {
    /// The smallest order among the table's entries.
    pub(super) min_order: u32,
    pub(super) peer_mask: A,
    pub(super) local_mask: A,
    pub(super) pd_mask: u32,
    /// `64 - log2(slots.len())`.
    pub(super) shift: u32,
    /// Hash seed (changed at build time until cuckoo placement succeeds).
    pub(super) seed: u64,
    // INVARIANT: slots.len() is a power of two 2^(64 - shift); every bucket's key sits in
    // one of its two candidate slots (`slot_pair`) or in the stash, and in one place only.
    pub(super) slots: Vec<Slot<A>>,
    /// Keys cuckoo placement found no slot for (almost always empty).
    pub(super) stash: Vec<Slot<A>>,
    /// A one-hash Bloom filter of the bucket keys (about 16 bits per key), indexed by the
    /// top bits of the unseeded key hash: a probe whose bit is clear skips the slot reads.
    // INVARIANT: filter.len() << 6 == 1 << (64 - fshift), and every bucket key's bit is set.
    pub(super) filter: Vec<u64>,
    /// `64 - log2(filter bits)`.
    pub(super) fshift: u32,
}

/// Whether a key hash's bit is set in a table's filter.
#[inline(always)]
pub(super) fn filter_has(filter: &[u64], fshift: u32, h: u64) -> bool {
    let b = h >> fshift;
    filter
        .get((b >> 6) as usize)
        .is_some_and(|w| (w >> (b & 63)) & 1 != 0)
}

/// The classifier of one address family.
#[derive(Debug, Clone)]
pub(super) struct Classifier<A: Bits> {
    // INVARIANT: sorted by min_order.
    pub(super) tables: Vec<Table<A>>,
    // INVARIANT: every slot's range lies inside `entries`, sorted by order within a range.
    pub(super) entries: Vec<Entry<A>>,
    // INVARIANT: `dports[i]` is `entries[i]`'s destination ports as `start << 16 | (end -
    // start)`: a compact column scanned before the entries themselves.
    pub(super) dports: Vec<u32>,
}

impl<A: Bits> Classifier<A> {
    /// Heap bytes of the classifier's arrays.
    pub(super) fn heap_bytes(&self) -> usize {
        self.tables.capacity() * std::mem::size_of::<Table<A>>()
            + self
                .tables
                .iter()
                .map(|t| {
                    (t.slots.capacity() + t.stash.capacity()) * std::mem::size_of::<Slot<A>>()
                        + t.filter.capacity() * std::mem::size_of::<u64>()
                })
                .sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<Entry<A>>()
            + self.dports.capacity() * std::mem::size_of::<u32>()
    }
}
