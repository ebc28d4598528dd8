//! [`WorldMatcher::update`]: bringing a compiled world up to date after API calls by
//! touching only the sets whose lowered rules changed.
//!
//! The matcher keeps, per group, the API rules its sets were lowered from (shared `Arc`s,
//! so keeping them costs a pointer per rule), and the world's instances and prefix lists.
//! An update compares the world's against them:
//!
//! * the index is reused when the instances, the groups' ids, VPCs, types and inner-access
//!   policies and the prefix lists' ids are the same (else rebuilt, and the group ids whose
//!   members' addresses changed are found);
//! * per group, the rules' common prefix and suffix are cut off: what lies between was
//!   removed (old side) and added (new side), the usual shape of an API call (Authorize
//!   appends, Revoke removes, Modify replaces one); rules outside it whose group or
//!   prefix-list peer expands differently now are removed and inserted again;
//! * per set (direction and NIC slot), those changes go through the set's
//!   [`LiveMatcher`](crate::engine::matcher::LiveMatcher) overlay as single-rule removals
//!   and inserts, unless they would pass its fold threshold: then the set is compiled
//!   afresh. A set with no change is shared with the old matcher.
//!
//! Cost: comparisons linear in the world's API rules and instances (no lowering, no
//! allocation for unchanged groups), plus ~2 µs per rule changed.

use super::{
    compile_group, dir, in_slot, lower_rule, needed_slots, slot, BuildStats, CompiledRules,
    GroupSets, WorldMatcher, SLOTS,
};
use crate::engine::matcher::{CompileError, UpdateError};
use crate::engine::target::WorldIndex;
use crate::model::{Direction, Peer, PrefixList, Rule, SecurityGroup, World};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// What changed beneath the groups' rules: the group ids whose members' addresses and the
/// prefix-list ids whose entries differ from the old matcher's.
struct Deps {
    members: HashSet<String>,
    prefix_lists: HashSet<String>,
}

impl Deps {
    fn any(&self) -> bool {
        !self.members.is_empty() || !self.prefix_lists.is_empty()
    }

    /// Whether the rule's peer expands differently now.
    fn dirty(&self, r: &Rule) -> bool {
        match &r.peer {
            Peer::Group { id, .. } => self.members.contains(id),
            Peer::PrefixList(id) => self.prefix_lists.contains(id),
            Peer::Cidr(_) => false,
        }
    }
}

/// Whether the index built from `world` would be the old matcher's.
fn same_index_inputs(old: &WorldMatcher, world: &World) -> bool {
    let groups = old.index.groups();
    world.instances == *old.instances
        && groups.len() == world.security_groups.len()
        && groups.iter().zip(&world.security_groups).all(|(e, g)| {
            e.id == g.id
                && e.vpc == g.vpc_id
                && e.group_type == g.group_type
                && e.inner_accept
                    == (g.group_type == crate::model::GroupType::Normal
                        && g.inner_access_policy == crate::model::InnerAccessPolicy::Accept)
        })
        && old.prefix_lists.len() == world.prefix_lists.len()
        && old
            .prefix_lists
            .iter()
            .zip(&world.prefix_lists)
            .all(|(a, b)| a.id == b.id)
}

/// The members of a group id as lowering sees them: each member's VPC and addresses.
fn members_of<'i>(
    index: &'i WorldIndex,
    id: &'i str,
) -> impl Iterator<Item = (&'i Option<String>, &'i [IpAddr])> + 'i {
    index
        .members(id)
        .map(|m| (&m.vpc, m.private_ips.as_slice()))
}

/// The entries of the first prefix list of an id.
fn entries_of<'p>(
    lists: &'p [PrefixList],
    id: &str,
) -> Option<impl Iterator<Item = ipnet::IpNet> + 'p> {
    lists
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.entries.iter().map(|e| e.cidr))
}

/// The group and prefix-list ids whose expansion changed between the old matcher and the
/// world, among those the world's rules name.
fn deps(
    old: &WorldMatcher,
    index: &WorldIndex,
    world: &World,
    rebuilt: bool,
    lists_changed: bool,
) -> Deps {
    let mut d = Deps {
        members: HashSet::new(),
        prefix_lists: HashSet::new(),
    };
    if !rebuilt && !lists_changed {
        return d;
    }
    let (mut groups, mut lists): (HashSet<&str>, HashSet<&str>) = Default::default();
    for r in world.security_groups.iter().flat_map(|g| &g.rules) {
        match &r.peer {
            Peer::Group { id, .. }
                if rebuilt
                    && groups.insert(id)
                    && !members_of(&old.index, id).eq(members_of(index, id)) =>
            {
                d.members.insert(id.clone());
            }
            Peer::PrefixList(id) if lists_changed && lists.insert(id) => {
                let a = entries_of(&old.prefix_lists, id);
                let b = entries_of(&world.prefix_lists, id);
                let same = match (a, b) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq(b),
                    _ => false,
                };
                if !same {
                    d.prefix_lists.insert(id.clone());
                }
            }
            _ => {}
        }
    }
    d
}

pub(super) fn update(old: &WorldMatcher, world: &World) -> Result<WorldMatcher, CompileError> {
    let reuse_index = same_index_inputs(old, world);
    let (index, need) = if reuse_index {
        (Arc::clone(&old.index), Arc::clone(&old.need))
    } else {
        let index = WorldIndex::new(world);
        let need = needed_slots(&index);
        (Arc::new(index), Arc::new(need))
    };
    let instances = if reuse_index || world.instances == *old.instances {
        Arc::clone(&old.instances)
    } else {
        Arc::new(world.instances.clone())
    };
    let lists_changed = world.prefix_lists != *old.prefix_lists;
    let prefix_lists = if lists_changed {
        Arc::new(world.prefix_lists.clone())
    } else {
        Arc::clone(&old.prefix_lists)
    };
    let deps = deps(old, &index, world, !reuse_index, lists_changed);
    // The old state of each group: by position when the groups are the same, else by id
    // (the first group of an id).
    let mut by_id: HashMap<&str, &Arc<GroupSets>> = HashMap::new();
    if !reuse_index {
        for (g, sets) in old.index.groups().iter().zip(&old.groups) {
            by_id.entry(g.id.as_str()).or_insert(sets);
        }
    }
    let built: Vec<(Arc<GroupSets>, BuildStats)> = world
        .security_groups
        .par_iter()
        .enumerate()
        .map(|(gi, g)| {
            let before = if reuse_index {
                old.groups.get(gi)
            } else {
                by_id.get(g.id.as_str()).copied()
            };
            let need = need.get(gi).copied().unwrap_or_default();
            update_group(before, &index, world, g, &need, &deps)
        })
        .collect::<Result<_, CompileError>>()?;
    let mut stats = BuildStats {
        index_rebuilt: !reuse_index,
        ..BuildStats::default()
    };
    for (_, s) in &built {
        stats.compiled += s.compiled;
        stats.patched += s.patched;
        stats.reused += s.reused;
        stats.inserted += s.inserted;
        stats.removed += s.removed;
    }
    Ok(WorldMatcher {
        index,
        need,
        groups: built.into_iter().map(|b| b.0).collect(),
        instances,
        prefix_lists,
        stats,
    })
}

/// How many sets a group has.
fn count_sets(g: &GroupSets) -> usize {
    g.sets.iter().flatten().flatten().count()
}

/// One group's sets for the world as it is now, from its old state if any.
fn update_group(
    before: Option<&Arc<GroupSets>>,
    index: &WorldIndex,
    world: &World,
    g: &SecurityGroup,
    need: &[bool; 3],
    deps: &Deps,
) -> Result<(Arc<GroupSets>, BuildStats), CompileError> {
    let mut stats = BuildStats::default();
    let Some(old) = before.filter(|o| o.vpc == g.vpc_id) else {
        let sets = compile_group(index, world, g, need)?;
        stats.compiled = count_sets(&sets);
        return Ok((Arc::new(sets), stats));
    };
    let (o, n) = (&old.rules, &g.rules);
    let p = o.iter().zip(n).take_while(|(a, b)| ***a == **b).count();
    let room = o.len().min(n.len()) - p;
    let s = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(room)
        .take_while(|(a, b)| ***a == **b)
        .count();
    let (o_mid, n_mid) = (p..o.len() - s, p..n.len() - s);
    let dirty: Vec<usize> = if deps.any() {
        (0..p)
            .chain(n.len() - s..n.len())
            .filter(|&j| n.get(j).is_some_and(|r| deps.dirty(r)))
            .collect()
    } else {
        Vec::new()
    };
    let same_slots = SLOTS.iter().zip(need).all(|(nic, &wanted)| {
        [Direction::Ingress, Direction::Egress]
            .iter()
            .all(|&d| old.get(d, *nic).is_some() == wanted)
    });
    if o_mid.is_empty() && n_mid.is_empty() && dirty.is_empty() && same_slots {
        stats.reused = count_sets(old);
        return Ok((Arc::clone(old), stats));
    }
    let removed = o.get(o_mid.clone()).unwrap_or(&[]);
    let added = n.get(n_mid.clone()).unwrap_or(&[]);
    let kept = match_middle(removed, added);
    let mut sets = GroupSets {
        rules: o
            .get(..p)
            .unwrap_or(&[])
            .iter()
            .cloned()
            .chain(
                added
                    .iter()
                    .zip(&kept)
                    .map(|(r, k)| match k.and_then(|k| removed.get(k)) {
                        Some(old) => Arc::clone(old),
                        None => Arc::new(r.clone()),
                    }),
            )
            .chain(o.get(o.len() - s..).unwrap_or(&[]).iter().cloned())
            .collect(),
        vpc: g.vpc_id.clone(),
        ..GroupSets::default()
    };
    let lower = |r: &Rule| lower_rule(index, world, g, r);
    for direction in [Direction::Ingress, Direction::Egress] {
        for (nic, &wanted) in SLOTS.iter().zip(need) {
            if !wanted {
                continue;
            }
            let f = |r: &Rule| in_slot(r, direction, *nic);
            let fresh = || -> Result<Arc<CompiledRules>, CompileError> {
                let rules = n.iter().filter(|r| f(r)).map(lower).collect();
                Ok(Arc::new(CompiledRules::new(rules)?))
            };
            let set = match old
                .sets
                .get(dir(direction))
                .and_then(|row| row.get(slot(*nic)))
            {
                Some(Some(os)) => {
                    let change = Change {
                        before: o.get(..p).unwrap_or(&[]),
                        removed,
                        added,
                        kept: &kept,
                        now: n,
                        dirty: dirty
                            .iter()
                            .copied()
                            .filter(|&j| n.get(j).is_some_and(f))
                            .collect(),
                    };
                    match patch(os, &change, f, lower)
                        .map_err(|e| super::compile_error(e, n.len()))?
                    {
                        Patched::Same => {
                            stats.reused += 1;
                            Arc::clone(os)
                        }
                        Patched::Set(set, ins, rem) => {
                            stats.patched += 1;
                            stats.inserted += ins;
                            stats.removed += rem;
                            Arc::new(set)
                        }
                        Patched::TooMany => {
                            stats.compiled += 1;
                            fresh()?
                        }
                    }
                }
                _ => {
                    stats.compiled += 1;
                    fresh()?
                }
            };
            if let Some(cell) = sets
                .sets
                .get_mut(dir(direction))
                .and_then(|row| row.get_mut(slot(*nic)))
            {
                *cell = Some(set);
            }
        }
    }
    Ok((Arc::new(sets), stats))
}

/// For each added rule, the removed rule equal to it (an index into `removed`, each used
/// once), if any: rules that only moved stay in their sets.
fn match_middle(removed: &[Arc<Rule>], added: &[Rule]) -> Vec<Option<usize>> {
    if removed.is_empty() {
        return vec![None; added.len()];
    }
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, r) in removed.iter().enumerate() {
        by_id.entry(r.id.as_str()).or_default().push(k);
    }
    added
        .iter()
        .map(|r| {
            let ks = by_id.get_mut(r.id.as_str())?;
            let at = ks
                .iter()
                .position(|&k| removed.get(k).is_some_and(|o| **o == *r))?;
            Some(ks.swap_remove(at))
        })
        .collect()
}

/// A group's rule changes: the unchanged prefix, the removed and the added middle (with
/// the removed rule each added one equals, if any), the rules as they are now, and the
/// positions (in `now`, outside the middle, in this set) of rules whose peers expand
/// differently now.
struct Change<'a> {
    before: &'a [Arc<Rule>],
    removed: &'a [Arc<Rule>],
    added: &'a [Rule],
    kept: &'a [Option<usize>],
    now: &'a [Rule],
    dirty: Vec<usize>,
}

/// What patching a set gave.
enum Patched {
    /// Nothing of this set changed.
    Same,
    /// The set with the changes in its overlay, and how many rules were inserted and
    /// removed.
    Set(CompiledRules, usize, usize),
    /// More changes than the overlay takes (or handles that do not line up with the old
    /// rules, never expected): compile afresh.
    TooMany,
}

/// A set with a change applied through its overlay.
fn patch(
    os: &CompiledRules,
    c: &Change<'_>,
    f: impl Fn(&Rule) -> bool,
    lower: impl Fn(&Rule) -> crate::engine::rule::EngineRule,
) -> Result<Patched, UpdateError> {
    let fp = c.before.iter().filter(|r| f(r)).count();
    let fr = c.removed.iter().filter(|r| f(r)).count();
    let Some(mid) = os.handles.get(fp..fp + fr) else {
        return Ok(Patched::TooMany);
    };
    // The set's handle of each removed rule of this set (by index into `removed`).
    let mut old_handle: Vec<Option<u32>> = vec![None; c.removed.len()];
    let mut it = mid.iter();
    for (k, r) in c.removed.iter().enumerate() {
        if f(r) {
            if let (Some(cell), Some(&h)) = (old_handle.get_mut(k), it.next()) {
                *cell = Some(h);
            }
        }
    }
    let mut keep = vec![false; c.removed.len()];
    let mut inserts = 0;
    for (r, k) in c.added.iter().zip(c.kept) {
        if !f(r) {
            continue;
        }
        match k.and_then(|k| keep.get_mut(k)) {
            Some(cell) => *cell = true,
            None => inserts += 1,
        }
    }
    let removals = c
        .removed
        .iter()
        .zip(&keep)
        .filter(|(r, &kept)| f(r) && !kept)
        .count();
    let changes = inserts + removals + 2 * c.dirty.len();
    if changes == 0 {
        return Ok(Patched::Same);
    }
    let (pi, pr) = os.live.pending();
    if pi + pr + changes > os.live.fold_threshold() {
        return Ok(Patched::TooMany);
    }
    let mut set = os.clone();
    let tail = set.handles.split_off(fp + fr);
    set.handles.truncate(fp);
    for (h, kept) in old_handle.iter().zip(&keep) {
        if let (Some(h), false) = (h, kept) {
            if !set.live.remove(*h as usize)? {
                return Ok(Patched::TooMany);
            }
        }
    }
    for (r, k) in c.added.iter().zip(c.kept) {
        if !f(r) {
            continue;
        }
        let h = match k.and_then(|k| old_handle.get(k).copied().flatten()) {
            Some(h) => h,
            // INVARIANT: LiveMatcher handles are below u32::MAX.
            None => set.live.insert(lower(r))? as u32,
        };
        set.handles.push(h);
    }
    set.handles.extend(tail);
    if !c.dirty.is_empty() {
        // The set's position of each dirty rule: count the set's rules before it.
        let mut k = 0usize;
        let mut next = c.dirty.iter().peekable();
        for (j, r) in c.now.iter().enumerate() {
            if next.peek().is_none() {
                break;
            }
            if !f(r) {
                continue;
            }
            if next.next_if(|&&d| d == j).is_some() {
                let Some(cell) = set.handles.get_mut(k) else {
                    return Ok(Patched::TooMany);
                };
                if !set.live.remove(*cell as usize)? {
                    return Ok(Patched::TooMany);
                }
                *cell = set.live.insert(lower(r))? as u32;
            }
            k += 1;
        }
    }
    Ok(Patched::Set(
        set,
        inserts + c.dirty.len(),
        removals + c.dirty.len(),
    ))
}
