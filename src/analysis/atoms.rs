//! A policy as its distinct peer *atoms*, for lint: the same partition as
//! [`super::policy::WorldIndex::policy`], kept factored instead of written out.
//!
//! The peer split of [`super::sweep`] gives, on every elementary peer interval, the sweep of
//! the deciders active there over the other fields; lint's questions (does a rule decide
//! anything, which deciders cover it, what would decide its packets without it, does a drop
//! of its priority win part of it, does an accepted packet come from the internet) are
//! answered per distinct active set (an *atom*), never per interval. The atoms are found from
//! the world's [`super::atlas`]: the signatures of the policy's peer sets, projected on the
//! policy's deciders, and the target's own addresses (where inner access does not apply).
//! Regions are written out only for a finding's witness, box for box as the full policy
//! holds them (the same runs, in the same order), so every witness is the full policy's.

use super::atlas::{Atlas, FamilyAtlas, FxMap};
use super::policy::{rule_rest, Decider, Policy, TargetId, UnknownTarget, WorldIndex};
use super::space::LOCAL;
use super::space::{PacketBox, Region};
use super::sweep::{with_peer, Sub};
use crate::model::{Direction, Family, Packet, Policy as RulePolicy, Verdict};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A decider of one class sweep: its peer set (an atlas id) and its box over the other
/// fields (`None`: every packet of those peers, inner access).
struct AtomPiece {
    set: u32,
    rest: Option<PacketBox>,
}

/// A distinct active set of a class sweep, with its sub-sweep.
struct Atom {
    key: Vec<u32>,
    /// Atlas intervals with this active set, and those holding an internet address.
    count: u64,
    inet: u64,
    /// The sub-sweep (by position in `key`), for the atoms some interval has.
    sub: Option<Arc<Sub>>,
}

impl Atom {
    /// The piece at a position of the active list.
    fn piece(&self, pos: usize) -> Option<usize> {
        self.key.get(pos).map(|k| *k as usize)
    }

    /// The index in `sub.parts` of piece `k`'s part, if it decides something here.
    fn part_of(&self, k: usize) -> Option<usize> {
        let sub = self.sub.as_ref()?;
        sub.parts.iter().position(|p| self.piece(p.0) == Some(k))
    }
}

/// One local class and family of a policy, by atoms.
struct ClassSweep {
    fi: usize,
    owners: Vec<Decider>,
    pieces: Vec<AtomPiece>,
    within: Vec<Region>,
    atoms: Vec<Atom>,
    /// Per atlas set, the deciders having it as peer set (an index into `lists`, or
    /// `u32::MAX` for none).
    /// Per atlas signature, its atom (`u32::MAX`: the background's).
    sig_atom: Vec<u32>,
    /// Per piece, the atoms some interval has whose active list holds it, with its position.
    by_piece: Vec<Vec<(u32, u32)>>,
    own_atom: FxMap<usize, usize>,
    background: Option<usize>,
    /// The local addresses of the space when the sub-sweeps were computed on the canonical
    /// space (local address 0) to be shared.
    canon_local: Option<(u128, u128)>,
}

impl ClassSweep {
    fn piece_of(&self, d: Decider) -> Option<usize> {
        self.owners.iter().position(|o| *o == d)
    }

    /// The atoms some interval has whose active list holds piece `k`: the atom, its
    /// sub-sweep and the piece's position.
    fn with_piece(&self, k: usize) -> impl Iterator<Item = (&Atom, &Sub, usize)> {
        self.by_piece
            .get(k)
            .into_iter()
            .flatten()
            .filter_map(|&(ai, q)| {
                let a = self.atoms.get(ai as usize)?;
                Some((a, a.sub.as_deref()?, q as usize))
            })
    }

    /// The atoms that some interval has, with their sub-sweeps.
    fn live(&self) -> impl Iterator<Item = (&Atom, &Sub)> {
        self.atoms
            .iter()
            .filter(|a| a.count > 0)
            .filter_map(|a| a.sub.as_deref().map(|s| (a, s)))
    }

    fn atom_id(&self, fa: &FamilyAtlas, t: usize) -> Option<usize> {
        if let Some(&a) = self.own_atom.get(&t) {
            return Some(a);
        }
        let sig = *fa.sig_of.get(t)?;
        match self.sig_atom.get(sig as usize).copied() {
            Some(a) if a != u32::MAX => Some(a as usize),
            _ => self.background,
        }
    }

    /// The region piece `k` (or the default, `None`) decides, as the full sweep writes it
    /// out: maximal runs of consecutive intervals with the same sub-result, in order; each run
    /// given to `emit` as its sub-result and its peer addresses.
    fn runs(
        &self,
        fa: &FamilyAtlas,
        k: Option<usize>,
        emit: &mut dyn FnMut(&Region, (u128, u128)),
    ) {
        let region = |ai: usize, pi: usize| -> Option<&Region> {
            let sub = self.atoms.get(ai)?.sub.as_deref()?;
            match k {
                Some(_) => sub.parts.get(pi).map(|p| &p.1),
                None => Some(&sub.rest),
            }
        };
        let all = [(0u32, fa.len().saturating_sub(1) as u32)];
        let spans: &[(u32, u32)] = match k {
            Some(k) => match self
                .pieces
                .get(k)
                .and_then(|p| fa.set_spans.get(p.set as usize))
            {
                Some(spans) => spans,
                None => &[],
            },
            None => &all,
        };
        let mut run: Option<(usize, usize, usize, usize)> = None;
        let mut flush = |run: Option<(usize, usize, usize, usize)>| {
            if let Some((t0, t1, ai, pi)) = run {
                if let Some(r) = region(ai, pi) {
                    let peer = (fa.span(t0).0, fa.span(t1).1);
                    match self.canon_local {
                        None => emit(r, peer),
                        Some(local) => {
                            let boxes = r.boxes().iter().map(|b| {
                                let mut b = *b;
                                b.iv[super::space::LOCAL] = local;
                                b
                            });
                            emit(&Region::from_disjoint(boxes.collect()), peer);
                        }
                    }
                }
            }
        };
        for &(t0, t1) in spans {
            for t in t0 as usize..=t1 as usize {
                let Some(ai) = self.atom_id(fa, t) else {
                    continue;
                };
                let Some(atom) = self.atoms.get(ai) else {
                    continue;
                };
                let pi = match k {
                    Some(k) => match atom.part_of(k) {
                        Some(pi) => pi,
                        None => continue,
                    },
                    None if atom.sub.as_ref().is_none_or(|s| s.rest.is_empty()) => continue,
                    None => usize::MAX,
                };
                match run {
                    Some((r0, r1, ra, rp))
                        if r1 + 1 == t
                            && ((ra, rp) == (ai, pi) || region(ra, rp) == region(ai, pi)) =>
                    {
                        run = Some((r0, t, ra, rp));
                    }
                    _ => {
                        flush(run);
                        run = Some((t, t, ai, pi));
                    }
                }
            }
        }
        flush(run);
    }
}

/// A policy by atoms, with a shell [`Policy`] (its target, rules and inner-access groups;
/// its regions empty) for the verdicts and names of its deciders.
pub struct AtomPolicy<'i, 'w> {
    idx: &'i WorldIndex<'w>,
    /// The target, direction, rules and inner-access groups (regions empty).
    pub shell: Policy,
    sweeps: Vec<ClassSweep>,
}

/// The policy of a target in a direction by atoms, or `None` when the atlas does not cut the
/// target's own addresses apart (the caller then uses the full policy).
pub fn atom_policy<'i, 'w>(
    idx: &'i WorldIndex<'w>,
    target: &TargetId,
    direction: Direction,
) -> Result<Option<AtomPolicy<'i, 'w>>, UnknownTarget> {
    let atlas = idx.atlas();
    let prep = idx.prepare(target, direction, false)?;
    let is_group = matches!(target, TargetId::Group(_));
    let n = prep.rules.len();
    let shell = Policy {
        target: target.clone(),
        direction,
        group_type: prep.group_type,
        space: Region::empty(),
        rules: prep.rules,
        matched: vec![Region::empty(); n],
        decided: vec![Region::empty(); n],
        inner: prep
            .inner
            .iter()
            .map(|g| (g.id.clone(), Region::empty()))
            .collect(),
        default: Region::empty(),
    };
    let mut sweeps = Vec::new();
    for class in &prep.classes {
        for (fi, family) in [Family::V4, Family::V6].into_iter().enumerate() {
            let space = Region::from_disjoint(
                class
                    .space
                    .boxes()
                    .iter()
                    .filter(|b| b.family == family)
                    .copied()
                    .collect(),
            );
            if space.is_empty() {
                continue;
            }
            let mut pieces = Vec::new();
            let mut owners = Vec::new();
            let mut excluded: Vec<(usize, &super::interval::IntervalSet)> = Vec::new();
            for (i, g) in prep.inner.iter().enumerate() {
                let (Some(set), Some(all), Some(ex)) = (
                    atlas.group_set(&g.id, fi),
                    g.all.get(fi),
                    g.excluded.get(fi),
                ) else {
                    continue;
                };
                if all.difference(ex).is_empty() {
                    continue;
                }
                excluded.push((pieces.len(), ex));
                pieces.push(AtomPiece { set, rest: None });
                owners.push(Decider::Inner(i));
            }
            for (i, pr) in shell.rules.iter().enumerate() {
                if !class.applies(pr) {
                    continue;
                }
                let Some(rest) = rule_rest(&pr.rule, family, direction, is_group) else {
                    continue;
                };
                let Some(set) = atlas.rule_set(&pr.rule.id, fi) else {
                    continue;
                };
                pieces.push(AtomPiece {
                    set,
                    rest: Some(rest),
                });
                owners.push(Decider::Rule(i));
            }
            match class_sweep(atlas, fi, space, pieces, owners, &excluded, !is_group) {
                Some(s) => sweeps.push(s),
                None => return Ok(None),
            }
        }
    }
    Ok(Some(AtomPolicy { idx, shell, sweeps }))
}

fn class_sweep(
    atlas: &Atlas,
    fi: usize,
    space: Region,
    pieces: Vec<AtomPiece>,
    owners: Vec<Decider>,
    excluded: &[(usize, &super::interval::IntervalSet)],
    shareable: bool,
) -> Option<ClassSweep> {
    let fa = atlas.fam.get(fi)?;
    let within: Vec<Region> = pieces
        .iter()
        .map(|p| match &p.rest {
            None => space.clone(),
            Some(b) => space.intersect_box(&super::sweep::rest_box(b, &space)),
        })
        .collect();
    let mut set_slot: Vec<u32> = vec![u32::MAX; fa.sets.len()];
    let mut lists: Vec<Vec<u32>> = Vec::new();
    for (k, p) in pieces.iter().enumerate() {
        if within.get(k).is_none_or(|w| w.is_empty()) {
            continue;
        }
        let slot = set_slot.get_mut(p.set as usize)?;
        if *slot == u32::MAX {
            *slot = lists.len() as u32;
            lists.push(Vec::new());
        }
        lists.get_mut(*slot as usize)?.push(k as u32);
    }
    let mut atoms: Vec<Atom> = Vec::new();
    let mut ids: FxMap<Vec<u32>, usize> = FxMap::default();
    let intern =
        |key: Vec<u32>, atoms: &mut Vec<Atom>, ids: &mut FxMap<Vec<u32>, usize>| -> usize {
            if let Some(&a) = ids.get(&key) {
                return a;
            }
            atoms.push(Atom {
                key: key.clone(),
                count: 0,
                inet: 0,
                sub: None,
            });
            ids.insert(key, atoms.len() - 1);
            atoms.len() - 1
        };
    // One atom per decider list first (the signatures holding one relevant set).
    let list_atom: Vec<usize> = lists
        .iter()
        .map(|l| intern(l.clone(), &mut atoms, &mut ids))
        .collect();
    let (mut rel_count, mut rel_inet) = (0u64, 0u64);
    let mut sig_atom: Vec<u32> = vec![u32::MAX; fa.sig_sets.len()];
    for (s, &slot) in set_slot.iter().enumerate() {
        if slot == u32::MAX {
            continue;
        }
        let entries = fa.set_entries.get(s)?;
        let mut at = 0;
        while let Some(head) = entries.get(at..at + 4) {
            let &[sig, c, i, n] = head else {
                break;
            };
            let n = n as usize;
            let sets = entries.get(at + 4..at + 4 + n)?;
            at += 4 + n;
            // Each signature once: from its first relevant set.
            let first = sets
                .iter()
                .find(|x| set_slot.get(**x as usize).is_some_and(|v| *v != u32::MAX));
            if first != Some(&(s as u32)) {
                continue;
            }
            let a = match project(sets, &set_slot, &lists) {
                Projection::None => continue,
                Projection::One(l) => *list_atom.get(l)?,
                Projection::Many(key) => intern(key, &mut atoms, &mut ids),
            };
            let (c, i) = (u64::from(c), u64::from(i));
            let atom = atoms.get_mut(a)?;
            atom.count += c;
            atom.inet += i;
            rel_count += c;
            rel_inet += i;
            if let Some(v) = sig_atom.get_mut(sig as usize) {
                *v = a as u32;
            }
        }
    }
    // The target's own addresses: inner access of a group does not apply there.
    let mut own: std::collections::BTreeMap<usize, Vec<u32>> = std::collections::BTreeMap::new();
    let inet_set = super::space::internet(if fi == 0 { Family::V4 } else { Family::V6 });
    for &(k, ex) in excluded {
        for &(lo, hi) in ex.ranges() {
            if hi - lo > 4096 {
                return None;
            }
            for a in lo..=hi {
                let t = fa.interval_at(a);
                if fa.span(t) != (a, a) {
                    return None;
                }
                own.entry(t).or_default().push(k as u32);
            }
        }
    }
    let mut own_atom = FxMap::default();
    for (t, ks) in own {
        let sig = *fa.sig_of.get(t)?;
        let inet = u64::from(super::atlas::overlaps(
            &inet_set,
            fa.span(t).0,
            fa.span(t).1,
        ));
        let base = sig_atom
            .get(sig as usize)
            .copied()
            .filter(|a| *a != u32::MAX)
            .map(|a| a as usize);
        let base = match base {
            Some(a) => {
                let atom = atoms.get_mut(a)?;
                atom.count -= 1;
                atom.inet -= inet;
                atom.key.clone()
            }
            None => {
                rel_count += 1;
                rel_inet += inet;
                Vec::new()
            }
        };
        let key: Vec<u32> = base.into_iter().filter(|k| !ks.contains(k)).collect();
        let a = intern(key, &mut atoms, &mut ids);
        let atom = atoms.get_mut(a)?;
        atom.count += 1;
        atom.inet += inet;
        own_atom.insert(t, a);
    }
    let total = fa.len() as u64;
    let background = (total > rel_count).then(|| {
        let a = intern(Vec::new(), &mut atoms, &mut ids);
        if let Some(atom) = atoms.get_mut(a) {
            atom.count += total - rel_count;
            atom.inet += fa.total_inet - rel_inet;
        }
        a
    });
    // An ENI's rules leave the local field free, so with one local interval the sub-sweeps
    // are those of the canonical space (local address 0) with the interval put back.
    let canon_local = match space.boxes() {
        [a, b] if shareable && a.iv[LOCAL] == b.iv[LOCAL] => Some(a.iv[LOCAL]),
        _ => None,
    };
    let canon_space = canon_local.map(|_| {
        let f = if fi == 0 { Family::V4 } else { Family::V6 };
        Region::space(f, &super::interval::IntervalSet::range(0, 0))
    });
    for atom in atoms.iter_mut().filter(|a| a.count > 0) {
        let rests: Vec<Option<PacketBox>> = atom
            .key
            .iter()
            .map(|k| pieces.get(*k as usize).and_then(|p| p.rest))
            .collect();
        atom.sub = Some(match &canon_space {
            Some(cs) => atlas.shared_sub(fi, cs, rests),
            None => Arc::new(Sub::new(&space, &rests)),
        });
    }
    let mut by_piece: Vec<Vec<(u32, u32)>> = vec![Vec::new(); pieces.len()];
    for (ai, atom) in atoms.iter().enumerate() {
        if atom.count == 0 || atom.sub.is_none() {
            continue;
        }
        for (q, k) in atom.key.iter().enumerate() {
            if let Some(v) = by_piece.get_mut(*k as usize) {
                v.push((ai as u32, q as u32));
            }
        }
    }
    Some(ClassSweep {
        fi,
        owners,
        pieces,
        within,
        atoms,
        sig_atom,
        by_piece,
        own_atom,
        background,
        canon_local,
    })
}

/// The deciders active on the intervals of a signature.
enum Projection {
    /// None.
    None,
    /// Those of one decider list (`lists[i]`).
    One(usize),
    /// The union of several lists, sorted.
    Many(Vec<u32>),
}

fn project(sets: &[u32], set_slot: &[u32], lists: &[Vec<u32>]) -> Projection {
    let mut hits = sets.iter().filter_map(|s| {
        set_slot
            .get(*s as usize)
            .copied()
            .filter(|v| *v != u32::MAX)
    });
    let Some(first) = hits.next() else {
        return Projection::None;
    };
    let Some(second) = hits.next() else {
        return Projection::One(first as usize);
    };
    let mut key: Vec<u32> = Vec::new();
    for l in [first, second].into_iter().chain(hits) {
        if let Some(ps) = lists.get(l as usize) {
            key.extend_from_slice(ps);
        }
    }
    key.sort_unstable();
    key.dedup();
    Projection::Many(key)
}

/// Deciders marked, listed in evaluation order (inner access, rules, the default).
#[derive(Default)]
struct Marks {
    set: BTreeSet<Decider>,
}

impl Marks {
    fn list(self) -> Vec<Decider> {
        // `Decider`'s order is inner access, then rules by index, then the default.
        self.set.into_iter().collect()
    }
}

impl AtomPolicy<'_, '_> {
    fn fa(&self, s: &ClassSweep) -> Option<&FamilyAtlas> {
        self.idx.atlas().fam.get(s.fi)
    }

    /// The region a decider decides, box for box as the full policy holds it.
    pub fn region_of(&self, d: Decider) -> Region {
        let mut out = Region::empty();
        self.runs_of(d, &mut |r, peer| with_peer(r, peer, &mut out));
        out
    }

    /// A witness of what a decider decides, as the full policy's region gives it (without
    /// writing the region out).
    pub fn witness_of(&self, d: Decider) -> Option<Packet> {
        let mut best: Option<(super::space::WitnessRank, PacketBox)> = None;
        self.runs_of(d, &mut |r, peer| {
            for b in r.boxes() {
                let mut b = *b;
                b.iv[super::space::PEER] = peer;
                let rank = super::space::witness_rank(&b);
                if best.as_ref().is_none_or(|(r0, _)| rank < *r0) {
                    best = Some((rank, b));
                }
            }
        });
        best.map(|(_, b)| super::space::box_witness(&b, self.shell.direction))
    }

    fn runs_of(&self, d: Decider, emit: &mut dyn FnMut(&Region, (u128, u128))) {
        for s in &self.sweeps {
            let Some(fa) = self.fa(s) else { continue };
            let k = match d {
                Decider::Default => None,
                _ => match s.piece_of(d) {
                    Some(k) => Some(k),
                    None => continue,
                },
            };
            s.runs(fa, k, emit);
        }
    }

    /// The packets rule `i` matches, box for box as the full policy holds them.
    pub fn matched_of(&self, i: usize) -> Region {
        let mut out = Region::empty();
        for s in &self.sweeps {
            let (Some(fa), Some(k)) = (self.fa(s), s.piece_of(Decider::Rule(i))) else {
                continue;
            };
            let (Some(w), Some(p)) = (s.within.get(k), s.pieces.get(k)) else {
                continue;
            };
            if w.is_empty() {
                continue;
            }
            if let Some(set) = fa.sets.get(p.set as usize) {
                for &r in set.ranges() {
                    with_peer(w, r, &mut out);
                }
            }
        }
        out
    }

    /// Whether rule `i` matches a packet.
    pub fn matched_any(&self, i: usize) -> bool {
        self.sweeps.iter().any(|s| {
            s.piece_of(Decider::Rule(i))
                .and_then(|k| s.within.get(k))
                .is_some_and(|w| !w.is_empty())
        })
    }

    /// Whether a decider decides a packet.
    pub fn decides_any(&self, d: Decider) -> bool {
        self.sweeps.iter().any(|s| match d {
            Decider::Default => s.live().any(|(_, sub)| !sub.rest.is_empty()),
            _ => s.piece_of(d).is_some_and(|k| {
                s.with_piece(k)
                    .any(|(_, sub, q)| sub.parts.iter().any(|p| p.0 == q))
            }),
        })
    }

    /// Per class sweep where rule `i` has packets: the sweep and its piece.
    fn rule_sweeps(&self, i: usize) -> impl Iterator<Item = (&ClassSweep, u32)> {
        self.sweeps.iter().filter_map(move |s| {
            let k = s.piece_of(Decider::Rule(i))?;
            Some((s, k as u32))
        })
    }

    /// The owner of the part at index `pi` of an atom's sub-sweep.
    fn owner(s: &ClassSweep, a: &Atom, sub: &Sub, pi: usize) -> Option<Decider> {
        let pos = sub.parts.get(pi)?.0;
        s.owners.get(a.piece(pos)?).copied()
    }

    /// The deciders of the packets rule `i` matches, in evaluation order.
    pub fn covering(&self, i: usize) -> Vec<Decider> {
        let mut marks = Marks::default();
        for (s, k) in self.rule_sweeps(i) {
            for (a, sub, q) in s.with_piece(k as usize) {
                let Some((parts, rest)) = sub.cover.get(q) else {
                    continue;
                };
                for &pi in parts {
                    marks.set.extend(Self::owner(s, a, sub, pi));
                }
                if *rest {
                    marks.set.insert(Decider::Default);
                }
            }
        }
        marks.list()
    }

    /// What would decide the packets rule `i` decides if it were removed (rules by index,
    /// then the default).
    pub fn without(&self, i: usize) -> Vec<Decider> {
        let mut marks = Marks::default();
        for (s, k) in self.rule_sweeps(i) {
            for (a, sub, q) in s.with_piece(k as usize) {
                let Some(pi) = sub.parts.iter().position(|p| p.0 == q) else {
                    continue;
                };
                let Some((later, default)) = sub.without.get(pi) else {
                    continue;
                };
                for &pos in later {
                    marks
                        .set
                        .extend(a.piece(pos).and_then(|k| s.owners.get(k)).copied());
                }
                if *default {
                    marks.set.insert(Decider::Default);
                }
            }
        }
        marks.list()
    }

    /// The drops of rule `i`'s priority that decide packets rule `i` matches, by index.
    pub fn tie_drops(&self, i: usize) -> Vec<usize> {
        let Some(rank) = self.shell.rules.get(i).map(|r| r.rule.rank) else {
            return Vec::new();
        };
        let mut out = BTreeSet::new();
        for (s, k) in self.rule_sweeps(i) {
            for (a, sub, q) in s.with_piece(k as usize) {
                let Some((parts, _)) = sub.cover.get(q) else {
                    continue;
                };
                for &pi in parts {
                    let Some(Decider::Rule(r)) = Self::owner(s, a, sub, pi) else {
                        continue;
                    };
                    let tie =
                        self.shell.rules.get(r).is_some_and(|o| {
                            o.rule.rank == rank && o.rule.policy == RulePolicy::Drop
                        });
                    if tie {
                        out.insert(r);
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// A witness of what decider `d` decides among the packets rule `i` matches, as the full
    /// policy gives it.
    pub fn witness_within(&self, d: Decider, i: usize) -> Option<Packet> {
        self.region_of(d)
            .intersect(&self.matched_of(i))
            .witness(self.shell.direction)
    }

    /// Whether an accepted packet comes from an internet address (exposure needs a look).
    pub fn reaches_internet(&self) -> bool {
        let default_accepts = self.shell.verdict(Decider::Default) == Verdict::Accept;
        self.sweeps.iter().any(|s| {
            s.live().filter(|(a, _)| a.inet > 0).any(|(a, sub)| {
                (0..sub.parts.len()).any(|pi| {
                    Self::owner(s, a, sub, pi)
                        .is_some_and(|d| self.shell.verdict(d) == Verdict::Accept)
                }) || (default_accepts && !sub.rest.is_empty())
            })
        })
    }

    /// The full policy (for exposure, when an accepted packet comes from the internet).
    pub fn full(&self) -> Result<Policy, UnknownTarget> {
        self.idx.policy(&self.shell.target, self.shell.direction)
    }
}
