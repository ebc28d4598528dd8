//! Table building for one layout: placing entries in tuples' tables (TupleMerge style),
//! laying the buckets out, cuckoo placement of their slots and the Bloom filter.

use super::bits::Bits;
use super::layout::Params;
use super::table::{
    hash_key, pd_word, place, split_entries, Classifier, Entry, Group, Slot, Table, LANES,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Entry counts from which a classifier's tables are finished on all cores.
const PARALLEL_FROM: usize = 50_000;

/// A tuple: what part of a packet a table's hash key covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Tuple {
    peer_len: u8,
    local_len: u8,
    proto_exact: bool,
    dport_exact: bool,
}

impl Tuple {
    /// Whether an entry can live in a table of this tuple (it is at least as specific).
    fn admits<A: Bits>(&self, e: &Entry<A>) -> bool {
        self.peer_len <= e.peer_len
            && self.local_len <= e.local_len
            && (!self.proto_exact || e.proto_exact())
            && (!self.dport_exact || e.dport_exact())
    }

    /// The mask of the protocol-and-port key word.
    fn pd_mask(&self) -> u32 {
        (if self.proto_exact { 0xFF_0000 } else { 0 }) | (if self.dport_exact { 0xFFFF } else { 0 })
    }

    /// How specific the tuple is (bits of key it covers, roughly).
    fn specificity(&self) -> u32 {
        u32::from(self.peer_len)
            + u32::from(self.local_len)
            + if self.proto_exact { 8 } else { 0 }
            + if self.dport_exact { 16 } else { 0 }
    }
}

/// Places the buckets (each a key hash and its slot) by bucketized cuckoo hashing: each in
/// a free lane of one of its two candidate groups, evicting along a deterministic walk when
/// both are full. Starts at ~90 % lane load; when more than a few buckets find no lane it
/// (more than 2 + n / 8192) retries with another seed, growing the table every other attempt; what still finds none
/// goes to a small stash searched linearly. Returns the groups, the stash and the seed.
fn cuckoo_place(filled: &[(u64, Slot)]) -> (Vec<Group>, Vec<Slot>, u64) {
    let n = filled.len().max(1);
    let mut groups = (n * 10).div_ceil(LANES * 9).max(1);
    const ATTEMPTS: u64 = 8;
    let mut attempt: u64 = 0;
    loop {
        let seed = attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let last = attempt + 1 == ATTEMPTS;
        let (g, stash) = cuckoo_try(filled, groups, seed);
        if stash.len() <= 2 + n / 8192 || last {
            return (g, stash, seed);
        }
        attempt += 1;
        if attempt.is_multiple_of(2) {
            groups += groups / 8 + 1;
        }
    }
}

/// One placement attempt with a given number of groups and seed: the groups and the stash.
fn cuckoo_try(filled: &[(u64, Slot)], groups: usize, seed: u64) -> (Vec<Group>, Vec<Slot>) {
    // INVARIANT: groups <= u32::MAX (there are fewer buckets than entries).
    let ng = groups as u32;
    let mut g = vec![Group::EMPTY; groups];
    // The key hash of each occupied lane, for moving its bucket on eviction.
    let mut hashes = vec![[0u64; LANES]; groups];
    let mut stash = Vec::new();
    let mut walk = 0usize;
    for &(h0, s0) in filled {
        let (mut h, mut s) = (h0, s0);
        let mut placed = false;
        for kick in 0..256usize {
            let (a, b, tag) = place(h, seed, ng);
            s.tag = tag;
            let free = |gi: usize, g: &[Group]| {
                g.get(gi)
                    .and_then(|x| x.lens.iter().position(|&l| l == 0))
                    .map(|lane| (gi, lane))
            };
            let spot = free(a, &g).or_else(|| free(b, &g));
            let (gi, lane, evict) = match spot {
                Some((gi, lane)) => (gi, lane, false),
                None => {
                    walk = walk.wrapping_add(1);
                    let gi = if kick % 2 == 0 { a } else { b };
                    (gi, walk % LANES, true)
                }
            };
            let (Some(grp), Some(hs)) = (g.get_mut(gi), hashes.get_mut(gi)) else {
                break;
            };
            let (Some(tg), Some(ln), Some(st), Some(hh)) = (
                grp.tags.get_mut(lane),
                grp.lens.get_mut(lane),
                grp.starts.get_mut(lane),
                hs.get_mut(lane),
            ) else {
                break;
            };
            let old = (
                *hh,
                Slot {
                    tag: *tg,
                    len: *ln,
                    start: *st,
                },
            );
            (*tg, *ln, *st, *hh) = (s.tag, s.len, s.start, h);
            if !evict {
                placed = true;
                break;
            }
            (h, s) = old;
        }
        if !placed {
            let (_, _, tag) = place(h, seed, ng);
            stash.push(Slot { tag, ..s });
        }
    }
    (g, stash)
}

/// The Bloom filter of a table's bucket keys (by their hashes): the words and the shift
/// (see [`Table`]'s `filter`).
fn build_filter(hashes: impl ExactSizeIterator<Item = u64>) -> (Vec<u64>, u32) {
    let bits = (hashes.len() * 8).next_power_of_two().max(64);
    let fshift = 64 - bits.trailing_zeros();
    let mut filter = vec![0u64; bits / 64];
    for h in hashes {
        let b = h >> fshift;
        if let Some(w) = filter.get_mut((b >> 6) as usize) {
            *w |= 1 << (b & 63);
        }
    }
    (filter, fshift)
}

/// A fast hasher for build-time maps (keys are already well-mixed integers).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let x = self.0 ^ (self.0 >> 29);
        x.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(23) ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u128(&mut self, i: u128) {
        // Truncations intended: both halves are written.
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A hash map with [`MixHasher`].
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

/// A bucket key: the entry's peer and local addresses and protocol-and-port word, masked
/// by a tuple.
type Key<A> = (A, A, u32);

impl Tuple {
    /// The key of an entry's bucket in a table of this tuple.
    fn key<A: Bits>(&self, e: &Entry<A>) -> Key<A> {
        (
            e.peer.and(A::mask(self.peer_len)),
            e.local.and(A::mask(self.local_len)),
            pd_word(e.proto, e.dport_lo) & self.pd_mask(),
        )
    }
}

/// A table under construction: its buckets (as indexes into the build's bucket arrays) in
/// creation order, which is the order of their first entries.
struct TableBuild {
    tuple: Tuple,
    min_order: u32,
    ids: Vec<u32>,
}

/// No bucket (in [`Chain::at`]).
const NO_BUCKET: u32 = u32::MAX;

/// The tables of one tuple, in creation order, with per bucket key the first of them whose
/// bucket for that key still has room, and that bucket. Entries of a key fill its buckets
/// along the chain in order (an entry takes the first with room; a new table of the tuple
/// is opened only when all are full for the opening entry's key), so the full ones are a
/// prefix of the chain and one position per key says where the room starts.
struct Chain<A: Bits> {
    tuple: Tuple,
    spec: u32,
    /// Indexes into the table builds, in creation order.
    tables: Vec<usize>,
    /// Per key of the chain's entries: the chain position of the first table whose bucket
    /// for it has room, and that bucket ([`NO_BUCKET`]: that table has none for the key
    /// yet). Absent: position 0, no bucket. One map per chain instead of one per table
    /// and one for the room: an entry costs one look-up per admitting tuple and at most one
    /// insert.
    at: FastMap<Key<A>, (u32, u32)>,
}

/// Rounds a prefix length down for a new table's tuple, so that neighbouring lengths share it.
fn relax(len: u8, width: u8, step: u8) -> u8 {
    let step = if width == 32 {
        step
    } else {
        step.saturating_mul(2)
    }
    .max(1);
    if len == width {
        len
    } else {
        len - len % step
    }
}

/// The tuple of a table opened for an entry that fits nowhere: the first of these not yet
/// taken — the entry's prefix lengths relaxed, then exact, then either with the exact
/// protocol and destination port in the key (when the entry has them) — else a second table
/// of the last.
fn new_tuple<A: Bits>(e: &Entry<A>, step: u8, taken: impl Fn(&Tuple) -> bool) -> Tuple {
    let relaxed = Tuple {
        peer_len: relax(e.peer_len, A::WIDTH, step),
        local_len: relax(e.local_len, A::WIDTH, step),
        proto_exact: false,
        dport_exact: false,
    };
    let exact = Tuple {
        peer_len: e.peer_len,
        local_len: e.local_len,
        ..relaxed
    };
    let keyed = |t: Tuple| Tuple {
        proto_exact: e.proto_exact(),
        dport_exact: e.dport_exact(),
        ..t
    };
    let candidates = [relaxed, exact, keyed(relaxed), keyed(exact)];
    candidates
        .iter()
        .copied()
        .find(|t| !taken(t))
        .unwrap_or(keyed(exact))
}

impl<A: Bits> Classifier<A> {
    /// Builds the tables of one layout: entries (sorted by order) go to the most specific
    /// table that admits them and whose bucket has room, else open a new table.
    pub(super) fn build_with(entries: &[Entry<A>], params: Params) -> Classifier<A> {
        let mut builds: Vec<TableBuild> = Vec::new();
        // The tables are tried by decreasing specificity, then creation; the tables of one
        // tuple are grouped in a chain, so that per entry one look-up per admitting tuple
        // (not per table) finds its table.
        let mut chains: Vec<Chain<A>> = Vec::new();
        // Per bucket (all tables): its entry count and key hash; per entry: its bucket. Flat
        // arrays instead of a vector per bucket (at a million rules, allocating and growing
        // those was a sixth of the build).
        let mut bucket_len: Vec<u16> = Vec::new();
        let mut bucket_hash: Vec<u64> = Vec::new();
        let mut entry_bucket: Vec<u32> = vec![u32::MAX; entries.len()];
        for (i, e) in entries.iter().enumerate() {
            // (chain, chain position, table, bucket) of the first table that admits `e` with
            // room.
            let mut best: Option<(usize, u32, usize, u32)> = None;
            let mut best_spec = 0;
            for (ci, ch) in chains.iter().enumerate() {
                if best.is_some() && ch.spec < best_spec {
                    break;
                }
                if !ch.tuple.admits(e) {
                    continue;
                }
                let (pos, b) = ch
                    .at
                    .get(&ch.tuple.key(e))
                    .copied()
                    .unwrap_or((0, NO_BUCKET));
                let Some(&t) = ch.tables.get(pos as usize) else {
                    continue;
                };
                if best.is_none_or(|(_, _, bt, _)| t < bt) {
                    best = Some((ci, pos, t, b));
                    best_spec = ch.spec;
                }
            }
            let (ci, pos, t, b) = match best {
                Some(b) => b,
                None => {
                    let tuple = new_tuple(e, params.step, |t| chains.iter().any(|c| c.tuple == *t));
                    let t = builds.len();
                    builds.push(TableBuild {
                        tuple,
                        min_order: e.order,
                        ids: Vec::new(),
                    });
                    let ci = match chains.iter().position(|c| c.tuple == tuple) {
                        Some(ci) => ci,
                        None => {
                            let spec = tuple.specificity();
                            let ci = chains
                                .iter()
                                .position(|c| c.spec < spec)
                                .unwrap_or(chains.len());
                            chains.insert(
                                ci,
                                Chain {
                                    tuple,
                                    spec,
                                    tables: Vec::new(),
                                    at: FastMap::default(),
                                },
                            );
                            ci
                        }
                    };
                    let Some(ch) = chains.get_mut(ci) else {
                        continue;
                    };
                    ch.tables.push(t);
                    // INVARIANT: fewer tables than entries.
                    (ci, (ch.tables.len() - 1) as u32, t, NO_BUCKET)
                }
            };
            let (Some(ch), Some(tb)) = (chains.get_mut(ci), builds.get_mut(t)) else {
                continue;
            };
            let key = ch.tuple.key(e);
            let new = b == NO_BUCKET;
            let b = if new {
                // INVARIANT: fewer buckets than entries, and entries.len() < u32::MAX.
                let next = bucket_len.len() as u32;
                tb.ids.push(next);
                bucket_len.push(0);
                bucket_hash.push(hash_key(key.0, key.1, key.2));
                next
            } else {
                b
            };
            if let Some(eb) = entry_bucket.get_mut(i) {
                *eb = b;
            }
            let Some(len) = bucket_len.get_mut(b as usize) else {
                continue;
            };
            *len += 1;
            if usize::from(*len) >= params.cap {
                ch.at.insert(key, (pos + 1, NO_BUCKET));
            } else if new {
                ch.at.insert(key, (pos, b));
            }
        }
        // Lay out: entries grouped by bucket, tables in creation (= min order) order, a
        // table's buckets by their first entry's order, a bucket's entries by order.
        let mut bucket_start = vec![0u32; bucket_len.len()];
        let mut at = 0u32;
        for tb in &builds {
            for &b in &tb.ids {
                if let (Some(s), Some(&l)) =
                    (bucket_start.get_mut(b as usize), bucket_len.get(b as usize))
                {
                    *s = at;
                    at += u32::from(l);
                }
            }
        }
        // Where each entry goes, then the entries gathered in that order.
        let gather = || {
            let mut fill = bucket_start.clone();
            let mut from = vec![0u32; entries.len()];
            for (i, &b) in entry_bucket.iter().enumerate() {
                if let Some(f) = fill.get_mut(b as usize) {
                    if let Some(d) = from.get_mut(*f as usize) {
                        *d = i as u32;
                    }
                    *f += 1;
                }
            }
            let mut out: Vec<Entry<A>> = Vec::with_capacity(entries.len());
            out.extend(
                from.iter()
                    .filter_map(|&i| entries.get(i as usize).copied()),
            );
            split_entries(&out)
        };
        // Each table's slots, cuckoo placement and filter.
        let finish = |tb: TableBuild| {
            let filled: Vec<(u64, Slot)> = tb
                .ids
                .iter()
                .map(|&b| {
                    let i = b as usize;
                    let start = bucket_start.get(i).copied().unwrap_or(0);
                    // INVARIANT: a bucket holds at most `params.cap` (< 2^16) entries.
                    let len = bucket_len.get(i).copied().unwrap_or(0);
                    let h = bucket_hash.get(i).copied().unwrap_or(0);
                    (h, Slot { tag: 0, len, start })
                })
                .collect();
            let (groups, stash, seed) = cuckoo_place(&filled);
            let (filter, fshift) = build_filter(filled.iter().map(|f| f.0));
            Table {
                min_order: tb.min_order,
                mask: A::pair(A::mask(tb.tuple.peer_len), A::mask(tb.tuple.local_len)),
                pd_mask: tb.tuple.pd_mask(),
                seed,
                ngroups: groups.len() as u32,
                groups: groups.into_boxed_slice(),
                stash: stash.into_boxed_slice(),
                filter: filter.into_boxed_slice(),
                fshift,
            }
        };
        // Large classifiers do both, and the tables, on all cores (the same result).
        let mut tables = Vec::with_capacity(builds.len());
        let (out_entries, columns) = if entries.len() >= PARALLEL_FROM {
            let (g, ()) = rayon::join(gather, || {
                builds
                    .into_par_iter()
                    .map(finish)
                    .collect_into_vec(&mut tables);
            });
            g
        } else {
            tables.extend(builds.into_iter().map(finish));
            gather()
        };
        tables.sort_by_key(|t| t.min_order);
        Classifier::from_split(tables, out_entries, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matcher::table::{Query, ANY_PROTO};

    #[test]
    fn cuckoo_places_every_bucket_once_and_stashes_the_rest() {
        let entries: Vec<Entry<u32>> = (0..40)
            .map(|i| Entry {
                order: i,
                rule: 100 + i,
                peer: i * 7919,
                local: 7,
                dport_lo: 0,
                dport_hi: u16::MAX,
                sport_lo: 0,
                sport_hi: u16::MAX,
                peer_len: 32,
                local_len: 32,
                proto: 0,
                flags: ANY_PROTO,
            })
            .collect();
        let filled: Vec<(u64, Slot)> = entries
            .iter()
            .map(|e| {
                (
                    hash_key(e.peer, e.local, 0),
                    Slot {
                        tag: 0,
                        len: 1,
                        start: e.order,
                    },
                )
            })
            .collect();
        // Two groups (eight lanes) for forty buckets: at least 32 go to the stash.
        let (groups, stash) = cuckoo_try(&filled, 2, 0);
        assert!(stash.len() >= 32);
        let mut seen: Vec<u32> = groups
            .iter()
            .flat_map(|g| (0..LANES).filter(|&l| g.lens[l] != 0).map(|l| g.starts[l]))
            .chain(stash.iter().map(|s| s.start))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..40).collect::<Vec<_>>());
        // A table built this way answers for every key, stashed or not.
        let (filter, fshift) = build_filter(filled.iter().map(|f| f.0));
        let c = Classifier::from_parts(
            vec![Table {
                min_order: 0,
                mask: u64::MAX,
                pd_mask: 0,
                seed: 0,
                ngroups: 2,
                groups: groups.into_boxed_slice(),
                stash: stash.into_boxed_slice(),
                filter: filter.into_boxed_slice(),
                fshift,
            }],
            &entries,
        );
        for i in 0..40u32 {
            let q = Query {
                peer: i * 7919,
                local: 7,
                proto: 6,
                sport: 1,
                dport: 2,
            };
            assert_eq!(c.lookup(&q), Some((i, 100 + i)));
        }
        let miss = Query {
            peer: 1,
            local: 7,
            proto: 6,
            sport: 1,
            dport: 2,
        };
        assert_eq!(c.lookup(&miss), None);
        // The full placement leaves (almost) nothing in the stash at ~90 % load.
        let (groups, stash, _) = cuckoo_place(&filled);
        assert!(stash.len() <= 2, "{}", stash.len());
        assert!(groups.len() * LANES < 40 * 2);
    }
}
