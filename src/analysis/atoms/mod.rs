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

use super::atlas::{FamilyAtlas, FxMap};
use super::policy::{Decider, Policy, UnknownTarget, WorldIndex};
use super::space::{PacketBox, Region};
use super::sweep::{with_peer, Sub};
use crate::model::{Packet, Policy as RulePolicy, Verdict};
use std::collections::BTreeSet;
use std::sync::Arc;

mod build;
pub use build::atom_policy;

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
