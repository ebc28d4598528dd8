//! What a call may change, saved before it runs so that a failed call can be undone in
//! place: the world is changed directly instead of through a copy of it (a copy of a world
//! of thousands of rules costs more than most calls), and a call that fails after its
//! first change (a limit checked on the result, say) is rolled back to exactly the world
//! it started from.
//!
//! Each action names the part of the world it can touch: the rule and policy actions one
//! group, `CreateSecurityGroup` and `DeleteSecurityGroup` the list of groups (by its
//! length, and the one group deleted), the prefix-list actions the prefix lists,
//! `Join`/`LeaveSecurityGroup` the group list of one ENI. The client-token record is
//! added only after success, so it needs no undo. In builds with debug assertions
//! [`super::execute`] also checks, on every failed call, that the world is the one it
//! started from, so the suite's failing calls check every entry here.

use super::eni::eni_groups_mut;
use super::{Action, Params};
use crate::model::{PrefixList, SecurityGroup, World};

/// The saved part of the world.
pub(super) enum Undo {
    /// Nothing the action can change (or a group that does not exist: the call fails
    /// before any change).
    Nothing,
    /// One group, at its index.
    Group(usize, SecurityGroup),
    /// The number of groups (an action that only appends one).
    GroupCount(usize),
    /// The prefix lists.
    PrefixLists(Vec<PrefixList>),
    /// An ENI's (or an instance's primary ENI's) id and its groups.
    EniGroups(String, Vec<String>),
}

impl Undo {
    /// Saves what `action` with parameters `p` may change in `world`.
    pub(super) fn save(action: Action, world: &World, p: &Params) -> Undo {
        use Action as A;
        let group = || {
            p.get("SecurityGroupId")
                .and_then(|id| world.security_groups.iter().position(|g| g.id == id))
                .and_then(|i| Some(Undo::Group(i, world.security_groups.get(i)?.clone())))
                .unwrap_or(Undo::Nothing)
        };
        match action {
            A::AuthorizeSecurityGroup
            | A::AuthorizeSecurityGroupEgress
            | A::RevokeSecurityGroup
            | A::RevokeSecurityGroupEgress
            | A::ModifySecurityGroupRule
            | A::ModifySecurityGroupEgressRule
            | A::ModifySecurityGroupPolicy
            | A::DeleteSecurityGroup => group(),
            A::CreateSecurityGroup => Undo::GroupCount(world.security_groups.len()),
            A::CreatePrefixList | A::ModifyPrefixList | A::DeletePrefixList => {
                Undo::PrefixLists(world.prefix_lists.clone())
            }
            A::JoinSecurityGroup | A::LeaveSecurityGroup => {
                let id = match (p.get("InstanceId"), p.get("NetworkInterfaceId")) {
                    (Some(i), None) => i,
                    (None, Some(n)) => n,
                    _ => return Undo::Nothing,
                };
                match world.eni(id) {
                    Some(eni) => Undo::EniGroups(id.to_string(), eni.security_groups.to_vec()),
                    None => Undo::Nothing,
                }
            }
            A::DescribeSecurityGroups
            | A::DescribeSecurityGroupAttribute
            | A::DescribePrefixLists
            | A::DescribePrefixListAttributes => Undo::Nothing,
        }
    }

    /// Puts the saved part back.
    pub(super) fn restore(self, world: &mut World) {
        match self {
            Undo::Nothing => {}
            Undo::Group(i, group) => {
                let here = world.security_groups.get(i).map(|g| g.id == group.id);
                match here {
                    Some(true) => {
                        if let Some(slot) = world.security_groups.get_mut(i) {
                            *slot = group;
                        }
                    }
                    // Deleted: back at its place.
                    _ => world
                        .security_groups
                        .insert(i.min(world.security_groups.len()), group),
                }
            }
            Undo::GroupCount(n) => world.security_groups.truncate(n),
            Undo::PrefixLists(lists) => world.prefix_lists = lists,
            Undo::EniGroups(id, groups) => {
                if let Some(g) = eni_groups_mut(world, &id) {
                    *g = groups;
                }
            }
        }
    }
}
