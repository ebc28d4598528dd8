//! Building a policy by atoms: the pieces of each local class and family, their atoms from
//! the atlas's signatures, and the sub-sweep of each atom.

use super::{Atom, AtomPiece, AtomPolicy, ClassSweep};
use crate::analysis::atlas::{Atlas, FxMap};
use crate::analysis::interval::IntervalSet;
use crate::analysis::policy::{rule_rest, Decider, Policy, TargetId, UnknownTarget, WorldIndex};
use crate::analysis::space::{PacketBox, Region, LOCAL};
use crate::analysis::sweep::Sub;
use crate::model::{Direction, Family};
use std::sync::Arc;

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
            let space = class.space.of_family(family);
            if space.is_empty() {
                continue;
            }
            let mut pieces = Vec::new();
            let mut owners = Vec::new();
            let mut excluded: Vec<(usize, &IntervalSet)> = Vec::new();
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
    excluded: &[(usize, &IntervalSet)],
    shareable: bool,
) -> Option<ClassSweep> {
    let fa = atlas.fam.get(fi)?;
    let within: Vec<Region> = pieces
        .iter()
        .map(|p| match &p.rest {
            None => space.clone(),
            Some(b) => space.intersect_box(&crate::analysis::sweep::rest_box(b, &space)),
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
    let inet_set = crate::analysis::space::internet(if fi == 0 { Family::V4 } else { Family::V6 });
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
        let inet = u64::from(crate::analysis::atlas::overlaps(
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
        Region::space(f, &IntervalSet::range(0, 0))
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
