//! The partition sweep, split along the peer address first.
//!
//! Every decider of a policy (an inner-access group, a rule) is a product of a set of peer
//! addresses and one box over the other fields (protocol, ports, local address). The peer
//! axis is cut at every end point of those peer sets into elementary intervals; on one
//! elementary interval the deciders that can apply (the *active set*) are fixed, so the
//! partition there is the sweep of the active deciders' other fields over the class space.
//! That sub-sweep is computed once per distinct active set (hash-consed by the set) and
//! reused for every interval with that set; consecutive intervals whose sub-result for a
//! decider is the same are joined into one peer interval.
//!
//! Why: the world's group peers expand to hundreds of scattered member addresses, and the
//! plain sweep subtracted each of their boxes from a remaining region that fragmented along
//! the peer axis, quadratic in the members (many-groups, 300 instances: 61 % of the lint
//! in `PacketBox::subtract_into`). Here the work is linear in the elementary intervals plus
//! one small sweep per distinct active set (a handful: members' group sets repeat).

use super::interval::IntervalSet;
use super::space::{PacketBox, Region, PEER};
use std::collections::HashMap;

/// A decider of the sweep: its peer addresses and its box over the other fields (its peer
/// interval is ignored), or `None` for every packet of those peers (inner access).
pub struct Piece {
    /// The peer addresses it applies to.
    pub peers: IntervalSet,
    /// The other fields, or `None` when unconstrained.
    pub rest: Option<PacketBox>,
}

/// What the sweep of one family of one class gives, per piece: the packets it matches and
/// those it decides; and the packets no piece decides.
pub struct Swept {
    /// Per piece, the packets of the space it matches.
    pub matched: Vec<Region>,
    /// Per piece, the packets it decides.
    pub decided: Vec<Region>,
    /// The rest.
    pub default: Region,
}

/// Adds the boxes of `r` with their peer set to `peer`.
pub(super) fn with_peer(r: &Region, peer: (u128, u128), out: &mut Region) {
    out.extend_disjoint(Region::from_disjoint(
        r.boxes()
            .iter()
            .map(|b| {
                let mut b = *b;
                b.iv[PEER] = peer;
                b
            })
            .collect(),
    ));
}

/// Sweeps `space` (boxes of one family whose peer field is the family's whole range) with
/// the pieces in evaluation order.
pub fn sweep(space: &Region, pieces: &[Piece]) -> Swept {
    let n = pieces.len();
    // Per piece, its packets of the space ignoring the peer.
    let within: Vec<Region> = pieces
        .iter()
        .map(|p| match &p.rest {
            None => space.clone(),
            Some(b) => space.intersect_box(&rest_box(b, space)),
        })
        .collect();
    let mut matched = vec![Region::empty(); n];
    for (k, p) in pieces.iter().enumerate() {
        if let (Some(w), Some(slot)) = (within.get(k), matched.get_mut(k)) {
            if w.is_empty() {
                continue;
            }
            for &r in p.peers.ranges() {
                with_peer(w, r, slot);
            }
        }
    }
    let Some(full) = space.boxes().first().map(|b| b.iv[PEER]) else {
        return Swept {
            matched,
            decided: vec![Region::empty(); n],
            default: Region::empty(),
        };
    };
    // Events: (position, piece, +1 opens / -1 closes).
    let mut events: Vec<(u128, bool, usize)> = Vec::new();
    for (k, p) in pieces.iter().enumerate() {
        if within.get(k).is_none_or(Region::is_empty) {
            continue;
        }
        for &(lo, hi) in p.peers.ranges() {
            let (lo, hi) = (lo.max(full.0), hi.min(full.1));
            if lo > hi {
                continue;
            }
            events.push((lo, true, k));
            if hi < full.1 {
                events.push((hi + 1, false, k));
            }
        }
    }
    events.sort_unstable();
    let mut active: Vec<bool> = vec![false; n];
    let mut memo: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut results: Vec<(Vec<(usize, Region)>, Region)> = Vec::new();
    // Open runs: per piece (and the default at index n), (lo, hi, result, position).
    let mut runs: Vec<Option<(u128, u128, usize, usize)>> = vec![None; n + 1];
    let mut decided = vec![Region::empty(); n];
    let mut default = Region::empty();
    let mut pos = full.0;
    let mut ev = 0;
    loop {
        while let Some(&(at, open, k)) = events.get(ev) {
            if at != pos {
                break;
            }
            if let Some(a) = active.get_mut(k) {
                *a = open;
            }
            ev += 1;
        }
        let next = events.get(ev).map(|e| e.0);
        let hi = next.map_or(full.1, |x| x - 1);
        let key: Vec<u32> = active
            .iter()
            .enumerate()
            .filter(|(_, a)| **a)
            .map(|(k, _)| k as u32)
            .collect();
        let id = match memo.get(&key) {
            Some(&id) => id,
            None => {
                let id = results.len();
                results.push(sub_sweep(space, pieces, &key));
                memo.insert(key, id);
                id
            }
        };
        if let Some((parts, rest)) = results.get(id) {
            let emit = |slot: Option<(u128, u128, usize, usize)>,
                        target: &mut Region,
                        results: &[(Vec<(usize, Region)>, Region)]| {
                if let Some((lo, hi, r, i)) = slot {
                    if let Some(reg) = region_at(results, r, i) {
                        with_peer(reg, (lo, hi), target);
                    }
                }
            };
            let mut extend = |idx: usize, reg: &Region, i: usize, target: &mut Region| match runs
                .get(idx)
            {
                Some(Some((lo, h, r, j)))
                    if h.checked_add(1) == Some(pos)
                        && ((*r, *j) == (id, i) || region_at(&results, *r, *j) == Some(reg)) =>
                {
                    let lo = *lo;
                    let (r, j) = (*r, *j);
                    if let Some(s) = runs.get_mut(idx) {
                        *s = Some((lo, hi, r, j));
                    }
                }
                _ => {
                    let old = runs.get(idx).copied().flatten();
                    emit(old, target, &results);
                    if let Some(s) = runs.get_mut(idx) {
                        *s = Some((pos, hi, id, i));
                    }
                }
            };
            for (i, (k, reg)) in parts.iter().enumerate() {
                if let Some(slot) = decided.get_mut(*k) {
                    extend(*k, reg, i, slot);
                }
            }
            if !rest.is_empty() {
                extend(n, rest, usize::MAX, &mut default);
            }
        }
        match next {
            Some(x) => pos = x,
            None => break,
        }
    }
    for (idx, slot) in runs.into_iter().enumerate() {
        let Some((lo, hi, r, i)) = slot else { continue };
        let Some(reg) = region_at(&results, r, i) else {
            continue;
        };
        let target = if idx == n {
            Some(&mut default)
        } else {
            decided.get_mut(idx)
        };
        if let Some(t) = target {
            with_peer(reg, (lo, hi), t);
        }
    }
    Swept {
        matched,
        decided,
        default,
    }
}

/// The region of a sub-result: part `i` of result `r`, or its rest when `i` is `usize::MAX`.
fn region_at(results: &[(Vec<(usize, Region)>, Region)], r: usize, i: usize) -> Option<&Region> {
    let (parts, rest) = results.get(r)?;
    if i == usize::MAX {
        Some(rest)
    } else {
        parts.get(i).map(|p| &p.1)
    }
}

/// A piece's box with its peer widened to the space's.
pub(super) fn rest_box(b: &PacketBox, space: &Region) -> PacketBox {
    let mut b = *b;
    if let Some(s) = space.boxes().first() {
        b.iv[PEER] = s.iv[PEER];
    }
    b
}

/// The sweep of the active pieces (in order) over the space, peers aside.
fn sub_sweep(space: &Region, pieces: &[Piece], active: &[u32]) -> (Vec<(usize, Region)>, Region) {
    sub_sweep_with(space, active, |k| pieces.get(k).map(|p| p.rest.as_ref()))
}

/// The sweep of the active deciders (in order) over the space, peers aside: `rest` gives a
/// decider's box over the other fields (`Some(None)`: every packet; `None`: no decider).
pub(super) fn sub_sweep_with<'a>(
    space: &Region,
    active: &[u32],
    rest: impl Fn(usize) -> Option<Option<&'a PacketBox>>,
) -> (Vec<(usize, Region)>, Region) {
    let mut remaining = space.clone();
    let mut out = Vec::new();
    for &k in active {
        if remaining.is_empty() {
            break;
        }
        let k = k as usize;
        let Some(p) = rest(k) else { continue };
        match p {
            None => {
                out.push((k, remaining));
                remaining = Region::empty();
            }
            Some(b) => {
                let b = rest_box(b, space);
                let d = remaining.intersect_box(&b);
                if !d.is_empty() {
                    remaining = remaining.subtract_box(&b);
                    out.push((k, d));
                }
            }
        }
    }
    (out, remaining)
}

/// A sub-sweep with the facts lint asks of it, by position in its active list (so that it
/// can be shared by every policy whose deciders there have the same boxes).
#[derive(Debug)]
pub struct Sub {
    /// The packets each active decider (by position) decides.
    pub parts: Vec<(usize, Region)>,
    /// The packets none decides.
    pub rest: Region,
    /// Per part: the positions of the later deciders that would decide some of its packets
    /// without it, and whether some would be left to the default.
    pub without: Vec<(Vec<usize>, bool)>,
    /// Per position: the parts (indexes into `parts`) that overlap that decider's box, and
    /// whether `rest` does (empty for a decider without a box).
    pub cover: Vec<(Vec<usize>, bool)>,
}

fn overlaps_box(r: &Region, b: &PacketBox) -> bool {
    r.boxes().iter().any(|x| x.overlaps(b))
}

impl Sub {
    /// The sub-sweep of deciders `rests` (in order; `None`: every packet) over `space`.
    pub fn new(space: &Region, rests: &[Option<PacketBox>]) -> Sub {
        let positions: Vec<u32> = (0..rests.len() as u32).collect();
        let (parts, rest) = sub_sweep_with(space, &positions, |k| rests.get(k).map(Option::as_ref));
        let without = parts
            .iter()
            .map(|(pos, part)| {
                let mut remaining = part.clone();
                let mut marks = Vec::new();
                for (j, r) in rests.iter().enumerate().skip(pos + 1) {
                    if remaining.is_empty() {
                        break;
                    }
                    match r {
                        Some(b) => {
                            if overlaps_box(&remaining, b) {
                                marks.push(j);
                                remaining = remaining.subtract_box(b);
                            }
                        }
                        None => {
                            marks.push(j);
                            remaining = Region::empty();
                        }
                    }
                }
                (marks, !remaining.is_empty())
            })
            .collect();
        let cover = rests
            .iter()
            .map(|r| match r {
                Some(b) => (
                    parts
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, reg))| overlaps_box(reg, b))
                        .map(|(i, _)| i)
                        .collect(),
                    overlaps_box(&rest, b),
                ),
                None => (Vec::new(), false),
            })
            .collect();
        Sub {
            parts,
            rest,
            without,
            cover,
        }
    }
}
