//! The compiled layout: entries, hash slots, tables and one family's classifier, with the
//! hashing shared by building and lookup.

use super::bits::Bits;
use super::head::Head;
use super::iset::ISets;
use super::pre::Pre;
use wide::u16x8;

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
    pub(super) fn proto_exact(&self) -> bool {
        self.flags & ANY_PROTO == 0
    }

    pub(super) fn dport_exact(&self) -> bool {
        self.dport_lo == self.dport_hi
    }
}

/// An entry as a compiled classifier stores it: what the column word ([`pack_column`])
/// does not already check — the protocol and destination ports live only there, so that
/// the column word's 8 bytes cost the entry nothing.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored<A: Bits> {
    /// The rule's position in the total decision order: smaller wins.
    pub(super) order: u32,
    /// The rule's index in the slice given to [`Matcher::compile`](super::Matcher::compile).
    pub(super) rule: u32,
    /// Peer network (canonical).
    pub(super) peer: A,
    /// Local network (canonical; length 0 when the rule has none).
    pub(super) local: A,
    /// Source port interval.
    pub(super) sport_lo: u16,
    pub(super) sport_hi: u16,
    /// Peer prefix length.
    pub(super) peer_len: u8,
    /// Local prefix length.
    pub(super) local_len: u8,
}

impl<A: Bits> Stored<A> {
    /// Whether the fields the column word leaves out match (source ports and addresses).
    #[inline(always)]
    pub(super) fn matches_rest(&self, k: &Query<A>) -> bool {
        k.peer.and(A::mask(self.peer_len)) == self.peer
            && k.local.and(A::mask(self.local_len)) == self.local
            && self.sport_lo <= k.sport
            && k.sport <= self.sport_hi
    }
}

/// An entry's protocol and destination ports as one column word, checked before the entry
/// is read: bits 0–15 the port interval's length, 16–31 its start, 32–39 the protocol and
/// 40–47 a protocol mask (`0xFF`, or 0 when the rule matches every protocol).
#[inline(always)]
pub(super) fn pack_column<A: Bits>(e: &Entry<A>) -> u64 {
    let ports = (u32::from(e.dport_lo) << 16) | u32::from(e.dport_hi.wrapping_sub(e.dport_lo));
    let pmask: u64 = if e.proto_exact() { 0xFF } else { 0 };
    u64::from(ports) | u64::from(e.proto) << 32 | pmask << 40
}

/// Whether a packet's protocol and destination port pass a column word ([`pack_column`]):
/// what [`Columns::admits`] computes for eight at once.
#[cfg(test)]
pub(super) fn column_admits(w: u64, proto: u8, port: u16) -> bool {
    // Truncations intended: the fields of the packed word.
    let d = w as u32;
    port.wrapping_sub((d >> 16) as u16) <= d as u16
        && ((w >> 32) as u8 ^ proto) & (w >> 40) as u8 == 0
}

/// Lanes [`Columns::admits`] tests at once.
pub(super) const COLUMN_LANES: usize = 8;

/// The entries' protocols and destination ports as three parallel columns, so that a
/// bucket's are tested [`COLUMN_LANES`] at a time (the compiler turns [`Columns::admits`]
/// into a few 128-bit vector operations) before any entry is read: the port interval's
/// start, its span (end minus start), and the protocol with its mask (`0xFF`, or 0 when the
/// rule matches every protocol) in the high byte.
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    // INVARIANT: the three have one length, `COLUMN_LANES - 1` more than there are
    // entries: every range of lanes that starts at an entry can be read whole.
    start: Vec<u16>,
    span: Vec<u16>,
    proto: Vec<u16>,
}

impl Columns {
    /// The columns of column words ([`pack_column`]).
    pub(super) fn from_words(words: impl ExactSizeIterator<Item = u64>) -> Columns {
        let n = words.len() + COLUMN_LANES - 1;
        let mut c = Columns {
            start: Vec::with_capacity(n),
            span: Vec::with_capacity(n),
            proto: Vec::with_capacity(n),
        };
        for w in words {
            // Truncations intended: the fields of the packed word.
            c.start.push((w >> 16) as u16);
            c.span.push(w as u16);
            c.proto.push((w >> 32) as u16);
        }
        // The padding lanes are never reported ([`Columns::admits`] masks them off).
        for _ in 0..COLUMN_LANES - 1 {
            c.start.push(0);
            c.span.push(0);
            c.proto.push(0);
        }
        c
    }

    /// Entry `i`'s column word ([`pack_column`]).
    pub(super) fn word(&self, i: usize) -> Option<u64> {
        if i >= self.start.len().saturating_sub(COLUMN_LANES - 1) {
            return None;
        }
        Some(
            u64::from(*self.span.get(i)?)
                | u64::from(*self.start.get(i)?) << 16
                | u64::from(*self.proto.get(i)?) << 32,
        )
    }

    /// Whether entry `i`'s protocol and destination ports admit the packet's (what
    /// [`Columns::admits`] computes for one lane).
    #[inline(always)]
    pub(super) fn admits_one(&self, i: usize, proto: u8, port: u16) -> bool {
        let (Some(&start), Some(&span), Some(&prot)) =
            (self.start.get(i), self.span.get(i), self.proto.get(i))
        else {
            return false;
        };
        let x = prot ^ u16::from(proto);
        port.wrapping_sub(start) <= span && x & (x >> 8) == 0
    }

    /// The entries among `i .. i + COLUMN_LANES` (and before `end`) whose protocol and
    /// destination ports admit the packet's, as bit `k` for entry `i + k`.
    #[inline(always)]
    pub(super) fn admits(&self, i: usize, end: usize, proto: u8, port: u16) -> u32 {
        let lanes = |v: &[u16]| -> u16x8 {
            u16x8::new(
                v.get(i..i + COLUMN_LANES)
                    .and_then(|s| s.try_into().ok())
                    .unwrap_or([0; COLUMN_LANES]),
            )
        };
        // A lane admits when `port - start <= span` (wrapping), i.e. `port - start`
        // saturated down by `span` is 0, and when the protocol's bits under its mask agree.
        let over = (u16x8::splat(port) - lanes(&self.start)).saturating_sub(lanes(&self.span));
        let x = lanes(&self.proto) ^ u16x8::splat(u16::from(proto));
        let refused: u16x8 = over | (x & (x >> 8u16));
        let mut m = refused.simd_eq(u16x8::ZERO).to_bitmask();
        let left = end.saturating_sub(i);
        if left < COLUMN_LANES {
            m &= (1u32 << left) - 1;
        }
        m
    }

    /// Heap bytes of the columns.
    pub(super) fn heap_bytes(&self) -> usize {
        (self.start.capacity() + self.span.capacity() + self.proto.capacity())
            * std::mem::size_of::<u16>()
    }
}

/// Entries split into their stored parts and columns ([`Columns`]).
pub(super) fn split_entries<A: Bits>(entries: &[Entry<A>]) -> (Vec<Stored<A>>, Columns) {
    let stored = entries
        .iter()
        .map(|e| Stored {
            order: e.order,
            rule: e.rule,
            peer: e.peer,
            local: e.local,
            sport_lo: e.sport_lo,
            sport_hi: e.sport_hi,
            peer_len: e.peer_len,
            local_len: e.local_len,
        })
        .collect();
    (stored, Columns::from_words(entries.iter().map(pack_column)))
}

/// The entry a stored entry and its column word came from.
pub(super) fn unpack<A: Bits>(s: &Stored<A>, w: u64) -> Entry<A> {
    // Truncations intended: the fields of the packed word.
    let d = w as u32;
    let lo = (d >> 16) as u16;
    Entry {
        order: s.order,
        rule: s.rule,
        peer: s.peer,
        local: s.local,
        dport_lo: lo,
        dport_hi: lo.wrapping_add(d as u16),
        sport_lo: s.sport_lo,
        sport_hi: s.sport_hi,
        peer_len: s.peer_len,
        local_len: s.local_len,
        proto: (w >> 32) as u8,
        flags: if (w >> 40) as u8 == 0 { ANY_PROTO } else { 0 },
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
    hash_folded(peer.fold().rotate_left(32) ^ local.fold(), pd)
}

/// [`hash_key`] of addresses already folded (see [`Bits::masked_fold`]).
#[inline(always)]
pub(super) fn hash_folded(addrs: u64, pd: u32) -> u64 {
    // Multiply-shift hashing: the caller takes the high bits.
    let x = addrs ^ u64::from(pd).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (x ^ (x >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One bucket's place in a table: a 16-bit tag of its key's hash and its entries' range.
/// The key itself is not stored: every entry is checked against its own full fields, so a
/// bucket whose tag collides with the query's is scanned for nothing and never gives a
/// wrong answer. An empty lane has `len == 0` (every bucket has an entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) tag: u16,
    pub(super) len: u16,
    pub(super) start: u32,
}

/// Lanes per [`Group`].
pub(super) const LANES: usize = 4;

/// Four slots sharing one cache-line half: a key may sit in any lane of its two candidate
/// groups (bucketized cuckoo hashing, which fills ~90 % of the lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Group {
    pub(super) tags: [u16; LANES],
    pub(super) lens: [u16; LANES],
    pub(super) starts: [u32; LANES],
}

impl Group {
    /// A group of empty lanes.
    pub(super) const EMPTY: Group = Group {
        tags: [0; LANES],
        lens: [0; LANES],
        starts: [0; LANES],
    };
}

/// A key hash's two candidate groups among `groups` and its tag, under a table's seed.
#[inline(always)]
pub(super) fn place(h: u64, seed: u64, groups: u32) -> (usize, usize, u16) {
    let hs = h ^ seed;
    let h2 = (hs ^ (hs >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let n = u64::from(groups);
    // Truncations intended: multiply-range reduction of the high halves, a tag from the
    // middle bits.
    (
        (((hs >> 32) * n) >> 32) as usize,
        (((h2 >> 32) * n) >> 32) as usize,
        (h2 >> 8) as u16,
    )
}

/// One tuple's hash table.
#[derive(Debug, Clone)]
pub(super) struct Table<A: Bits> {
    /// The smallest order among the table's entries.
    pub(super) min_order: u32,
    /// The peer and local prefix masks of the tuple, as a pair ([`Bits::pair`]).
    pub(super) mask: A::Pair,
    pub(super) pd_mask: u32,
    /// Hash seed (changed at build time until cuckoo placement succeeds).
    pub(super) seed: u64,
    /// `groups.len()` (at least 1).
    pub(super) ngroups: u32,
    // INVARIANT: groups.len() == ngroups >= 1; every bucket sits in one lane of one of its
    // two candidate groups (`place`) or in the stash, and in one place only.
    pub(super) groups: Box<[Group]>,
    /// Buckets cuckoo placement found no lane for (almost always empty).
    pub(super) stash: Box<[Slot]>,
    /// A one-hash Bloom filter of the bucket keys (8–16 bits per key), indexed by the
    /// top bits of the unseeded key hash: a probe whose bit is clear skips the slot reads.
    // INVARIANT: filter.len() << 6 == 1 << (64 - fshift), and every bucket key's bit is set.
    pub(super) filter: Box<[u64]>,
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
    pub(super) entries: Vec<Stored<A>>,
    // INVARIANT: entry `i` of `columns` is `entries[i]`'s protocol and destination ports
    // ([`Columns`]), scanned before the entries themselves.
    pub(super) columns: Columns,
    /// The tables by peer address (empty unless built, see [`Pre`]).
    pub(super) pre: Pre,
    /// The first entries in order as bit vectors, looked up before the tables (empty
    /// unless built, see [`Head`]).
    pub(super) head: Head<A>,
    /// Sets of entries disjoint in one address, searched before the head and the tables
    /// (IPv4; empty unless built, see [`ISets`]). The tables hold the other entries.
    pub(super) isets: ISets<A>,
}

impl<A: Bits> Classifier<A> {
    /// A classifier of built tables over their entries (in the tables' layout order),
    /// each split into its stored part and its column word.
    #[cfg(test)]
    pub(super) fn from_parts(tables: Vec<Table<A>>, entries: &[Entry<A>]) -> Classifier<A> {
        let (stored, columns) = split_entries(entries);
        Classifier::from_split(tables, stored, columns)
    }

    /// A classifier of built tables over entries already split ([`split_entries`]).
    pub(super) fn from_split(
        tables: Vec<Table<A>>,
        entries: Vec<Stored<A>>,
        columns: Columns,
    ) -> Classifier<A> {
        Classifier {
            tables,
            pre: Pre::default(),
            head: Head::default(),
            isets: ISets::default(),
            entries,
            columns,
        }
    }

    /// Its entries as they were lowered (for tests that rebuild from them).
    #[cfg(test)]
    pub(super) fn unpacked_entries(&self) -> Vec<Entry<A>> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some(unpack(s, self.columns.word(i)?)))
            .chain(self.isets.entries().iter().copied())
            .collect()
    }

    /// Heap bytes of the classifier's arrays.
    pub(super) fn heap_bytes(&self) -> usize {
        self.tables.capacity() * std::mem::size_of::<Table<A>>()
            + self
                .tables
                .iter()
                .map(|t| {
                    std::mem::size_of_val::<[Group]>(&t.groups)
                        + std::mem::size_of_val::<[Slot]>(&t.stash)
                        + std::mem::size_of_val::<[u64]>(&t.filter)
                })
                .sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<Stored<A>>()
            + self.columns.heap_bytes()
            + self.pre.heap_bytes()
            + self.head.heap_bytes()
            + self.isets.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of test numbers (splitmix64).
    fn numbers(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn entry(dport_lo: u16, dport_hi: u16, proto: u8, any: bool) -> Entry<u32> {
        Entry {
            order: 0,
            rule: 0,
            peer: 0,
            local: 0,
            dport_lo,
            dport_hi,
            sport_lo: 0,
            sport_hi: u16::MAX,
            peer_len: 0,
            local_len: 0,
            proto,
            flags: if any { ANY_PROTO } else { 0 },
        }
    }

    /// Eight lanes at a time, the tail masked off, agree with one column word at a time,
    /// on random intervals and at the edges of the port space and of the protocol byte.
    #[test]
    fn columns_admit_exactly_what_each_word_admits() {
        let mut next = numbers(7);
        let ports = [0u16, 1, 79, 80, 81, 1023, 1024, 65534, 65535];
        let mut entries = vec![
            entry(0, u16::MAX, 0, true),
            entry(0, 0, 0, false),
            entry(u16::MAX, u16::MAX, 255, false),
            entry(80, 80, 6, false),
            entry(1, 1023, 17, false),
        ];
        for _ in 0..200 {
            // Truncations intended: random fields.
            let (a, b) = (next() as u16, next() as u16);
            let mut port = |x: u16| {
                if next().is_multiple_of(3) {
                    ports[usize::from(x) % 9]
                } else {
                    x
                }
            };
            let (a, b) = (port(a), port(b));
            let protos = [0u8, 1, 6, 17, 58, 255];
            let proto = protos[(next() % 6) as usize];
            entries.push(entry(a.min(b), a.max(b), proto, next().is_multiple_of(4)));
        }
        let (stored, columns) = split_entries(&entries);
        assert_eq!(stored.len(), entries.len());
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(columns.word(i), Some(pack_column(e)));
        }
        assert_eq!(columns.word(entries.len()), None);
        for q in 0..400 {
            let proto = [0u8, 1, 6, 17, 58, 255, next() as u8][q % 7];
            let port = if q % 2 == 0 {
                ports[q % 9]
            } else {
                next() as u16
            };
            // Every start and every end, so that every tail length is met.
            let start = (next() as usize) % entries.len();
            let end = (start + 1 + (next() as usize) % 20).min(entries.len());
            let mut i = start;
            while i < end {
                let got = columns.admits(i, end, proto, port);
                for k in 0..COLUMN_LANES {
                    if i + k < end {
                        assert_eq!(got >> k & 1 == 1, columns.admits_one(i + k, proto, port));
                    }
                    let want = entries.get(i + k).is_some_and(|e| {
                        i + k < end
                            && (e.dport_lo..=e.dport_hi).contains(&port)
                            && (!e.proto_exact() || e.proto == proto)
                    });
                    assert_eq!(
                        want,
                        i + k < end && column_admits(pack_column(&entries[i + k]), proto, port)
                    );
                    assert_eq!(got >> k & 1 == 1, want, "entry {}, port {port}", i + k);
                }
                i += COLUMN_LANES;
            }
        }
    }
}
