//! The peer atlas of a world: every peer address set any policy of the world can use (each
//! rule's peer, each inner-access group's members), interned, and the peer axis of each
//! family cut once into elementary intervals, each labelled with the *signature* of the sets
//! that hold it.
//!
//! A policy's peer split ([`super::sweep`]) cuts the peer axis at the end points of its own
//! deciders' peer sets; those cuts are a subset of the atlas's, so the elementary intervals
//! of a policy are unions of consecutive atlas intervals, and the deciders active on an atlas
//! interval are a function of its signature (and, at the target's own addresses, of the
//! inner-access exception). [`super::atoms`] uses this to find a policy's distinct active
//! sets from its sets' signatures without sorting or scanning its peer intervals: a group
//! peer of 200 scattered members costs the distinct signatures among them, not 200 boxes.

use super::interval::IntervalSet;
use super::policy::WorldIndex;
use super::space::{addr_max, addr_num, internet, nets_set, PacketBox, Region};
use super::sweep::Sub;
use crate::model::{Direction, Family};
use std::collections::HashMap;
use std::sync::Arc;

/// The atlas of one family.
#[derive(Default)]
pub struct FamilyAtlas {
    /// The interned sets, by id.
    pub sets: Vec<Arc<IntervalSet>>,
    /// How many addresses each set holds (saturating).
    pub set_count: Vec<u128>,
    ids: HashMap<Arc<IntervalSet>, u32>,
    /// Start of each elementary interval; interval `t` ends at `cuts[t + 1] - 1` (the last at
    /// the family's highest address). `cuts[0]` is 0.
    pub cuts: Vec<u128>,
    /// The signature of each interval.
    pub sig_of: Vec<u32>,
    /// The sets (sorted ids) of each signature.
    pub sig_sets: Vec<Vec<u32>>,
    /// How many intervals have each signature.
    pub sig_count: Vec<u64>,
    /// How many of those intervals hold an internet address.
    pub sig_inet: Vec<u64>,
    /// Per set, the signatures holding it, contiguous for the policy's scan: for each,
    /// `[sig, intervals, internet intervals, n, its n sets…]`.
    pub set_entries: Vec<Vec<u32>>,
    /// Per set, the intervals `(t0, t1)` of each of its ranges.
    pub set_spans: Vec<Vec<(u32, u32)>>,
    /// Intervals holding an internet address, in all.
    pub total_inet: u64,
    max: u128,
}

impl FamilyAtlas {
    fn intern(&mut self, set: IntervalSet) -> Option<u32> {
        if set.is_empty() {
            return None;
        }
        if let Some(&id) = self.ids.get(&set) {
            return Some(id);
        }
        let id = u32::try_from(self.sets.len()).ok()?;
        let set = Arc::new(set);
        self.set_count.push(set.count());
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        Some(id)
    }

    /// The number of elementary intervals.
    pub fn len(&self) -> usize {
        self.cuts.len()
    }

    /// Whether the atlas has no interval (never, once built).
    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    /// The addresses of interval `t`.
    pub fn span(&self, t: usize) -> (u128, u128) {
        let lo = self.cuts.get(t).copied().unwrap_or(0);
        let hi = self.cuts.get(t + 1).map_or(self.max, |c| c - 1);
        (lo, hi)
    }

    /// The intervals `t0..=t1` that make up the addresses `lo..=hi` (both ends are cuts
    /// when the range is one of an interned set's).
    pub fn intervals_of(&self, lo: u128, hi: u128) -> (usize, usize) {
        let t0 = self.cuts.partition_point(|c| *c < lo);
        let t1 = self.cuts.partition_point(|c| *c <= hi).saturating_sub(1);
        (t0, t1)
    }

    /// The interval holding address `a`.
    pub fn interval_at(&self, a: u128) -> usize {
        self.cuts.partition_point(|c| *c <= a).saturating_sub(1)
    }

    /// Cuts the axis at every interned set's ends and at `points` (each its own interval),
    /// and labels the intervals.
    fn finish(&mut self, family: Family, points: &[u128]) {
        self.max = addr_max(family);
        let max = self.max;
        let mut events: Vec<(u128, bool, u32)> = Vec::new();
        for (id, s) in self.sets.iter().enumerate() {
            let id = id as u32;
            for &(lo, hi) in s.ranges() {
                events.push((lo, true, id));
                if hi < max {
                    events.push((hi + 1, false, id));
                }
            }
        }
        events.sort_unstable();
        let mut cuts: Vec<u128> = vec![0];
        cuts.extend(events.iter().map(|e| e.0));
        for &a in points {
            cuts.push(a);
            if a < max {
                cuts.push(a + 1);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let inet = internet(family);
        let mut active: Vec<u32> = Vec::new();
        let mut sig_ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut set_sigs: Vec<Vec<u32>> = vec![Vec::new(); self.sets.len()];
        let mut ev = 0;
        let mut sig_of = Vec::with_capacity(cuts.len());
        for (t, &at) in cuts.iter().enumerate() {
            while let Some(&(pos, open, id)) = events.get(ev) {
                if pos != at {
                    break;
                }
                match (open, active.binary_search(&id)) {
                    (true, Err(i)) => active.insert(i, id),
                    (false, Ok(i)) => {
                        active.remove(i);
                    }
                    _ => {}
                }
                ev += 1;
            }
            let sig = match sig_ids.get(active.as_slice()) {
                Some(&s) => s,
                None => {
                    let s = self.sig_sets.len() as u32;
                    for &id in &active {
                        if let Some(v) = set_sigs.get_mut(id as usize) {
                            v.push(s);
                        }
                    }
                    self.sig_sets.push(active.clone());
                    self.sig_count.push(0);
                    self.sig_inet.push(0);
                    sig_ids.insert(active.clone(), s);
                    s
                }
            };
            let hi = cuts.get(t + 1).map_or(max, |c| c - 1);
            let i = sig as usize;
            if let Some(c) = self.sig_count.get_mut(i) {
                *c += 1;
            }
            if overlaps(&inet, at, hi) {
                if let Some(c) = self.sig_inet.get_mut(i) {
                    *c += 1;
                }
                self.total_inet += 1;
            }
            sig_of.push(sig);
        }
        self.cuts = cuts;
        self.sig_of = sig_of;
        let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        self.set_entries = set_sigs
            .iter()
            .map(|sigs| {
                let mut e = Vec::new();
                for &sig in sigs {
                    let i = sig as usize;
                    let sets = self.sig_sets.get(i).map_or(&[][..], Vec::as_slice);
                    e.push(sig);
                    e.push(to_u32(self.sig_count.get(i).copied().unwrap_or(0)));
                    e.push(to_u32(self.sig_inet.get(i).copied().unwrap_or(0)));
                    e.push(sets.len() as u32);
                    e.extend_from_slice(sets);
                }
                e
            })
            .collect();
        self.set_spans = self
            .sets
            .iter()
            .map(|set| {
                set.ranges()
                    .iter()
                    .map(|&(lo, hi)| {
                        let (t0, t1) = self.intervals_of(lo, hi);
                        (t0 as u32, t1 as u32)
                    })
                    .collect()
            })
            .collect();
    }
}

/// Whether a set holds an address of `lo..=hi`.
pub fn overlaps(set: &IntervalSet, lo: u128, hi: u128) -> bool {
    let r = set.ranges();
    let i = r.partition_point(|x| x.1 < lo);
    r.get(i).is_some_and(|x| x.0 <= hi)
}

/// A shared sub-sweep's key: the family index and its deciders' boxes.
type SubKey = (usize, Vec<Option<PacketBox>>);

/// The atlas of a world: per family, and the set ids of each rule's peer and each group's
/// members.
pub struct Atlas {
    /// IPv4, IPv6.
    pub fam: [FamilyAtlas; 2],
    /// Sub-sweeps over the canonical space of a family (local address 0), by the boxes of
    /// their active deciders: the same for every ENI whose policy has those deciders there.
    subs: std::sync::Mutex<FxMap<SubKey, Arc<Sub>>>,
    rule_sets: HashMap<String, [Option<u32>; 2]>,
    group_sets: HashMap<String, [Option<u32>; 2]>,
}

impl Atlas {
    /// Builds the atlas of every group's rules (both directions) and members.
    pub fn build(idx: &WorldIndex<'_>) -> Atlas {
        let mut fam = [FamilyAtlas::default(), FamilyAtlas::default()];
        let mut rule_sets = HashMap::new();
        let mut group_sets = HashMap::new();
        let fams = [Family::V4, Family::V6];
        for g in &idx.world().security_groups {
            for direction in [Direction::Ingress, Direction::Egress] {
                for pr in idx.group_rules(g, direction) {
                    let mut ids = [None, None];
                    for ((slot, fa), f) in ids.iter_mut().zip(fam.iter_mut()).zip(fams) {
                        *slot = fa.intern(nets_set(f, &pr.rule.peer));
                    }
                    rule_sets.insert(pr.rule.id.clone(), ids);
                }
            }
            let (all, _) = idx.member_addrs(&g.id);
            let mut ids = [None, None];
            for ((slot, fa), set) in ids.iter_mut().zip(fam.iter_mut()).zip(all.iter()) {
                *slot = fa.intern(set.clone());
            }
            group_sets.insert(g.id.clone(), ids);
        }
        for (fa, f) in fam.iter_mut().zip(fams) {
            let points: Vec<u128> = idx
                .eni_addrs()
                .filter(|a| Family::of(a) == f)
                .map(addr_num)
                .collect();
            fa.finish(f, &points);
        }
        Atlas {
            fam,
            subs: std::sync::Mutex::new(FxMap::default()),
            rule_sets,
            group_sets,
        }
    }

    /// The sub-sweep of `rests` over the canonical space `space` of family index `fi`,
    /// computed once.
    pub(super) fn shared_sub(
        &self,
        fi: usize,
        space: &Region,
        rests: Vec<Option<PacketBox>>,
    ) -> Arc<Sub> {
        let key = (fi, rests);
        if let Some(s) = self.subs.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return s;
        }
        let sub = Arc::new(Sub::new(space, &key.1));
        if let Ok(mut m) = self.subs.lock() {
            m.insert(key, sub.clone());
        }
        sub
    }

    /// The set id of a rule's peer in a family (`None`: no address of the family).
    pub fn rule_set(&self, rule: &str, fi: usize) -> Option<u32> {
        self.rule_sets
            .get(rule)
            .and_then(|ids| ids.get(fi).copied().flatten())
    }

    /// The set id of a group's members' addresses in a family.
    pub fn group_set(&self, group: &str, fi: usize) -> Option<u32> {
        self.group_sets
            .get(group)
            .and_then(|ids| ids.get(fi).copied().flatten())
    }
}

/// A hasher for small integer keys (ids, lists of ids): FxHash's multiply-rotate.
#[derive(Default, Clone, Copy)]
pub(super) struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        // murmur3's finaliser: hashbrown takes the bucket from the low bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for b in chunks.remainder() {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(super) type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;
