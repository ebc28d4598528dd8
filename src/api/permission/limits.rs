//! The call-level checks after every permission passes (SPEC §4): duplicates inside the
//! call, then the limits: referenced groups, rules per group, rules per ENI.

use super::ParamForm;
use crate::api::error::{ApiError, ErrorCode as C};
use crate::model::{Peer, Rule, World};
use std::collections::BTreeSet;

/// Two identical permissions (by SPEC §4's identity) in one call: 400
/// `InvalidParam.DuplicatePermissions`, naming the later one. `rules[i]` came from
/// `forms[i]`.
pub fn check_duplicates(rules: &[Rule], forms: &[ParamForm]) -> Result<(), ApiError> {
    for (i, r) in rules.iter().enumerate() {
        if let Some(j) = rules.iter().take(i).position(|e| e.same_identity(r)) {
            let later = forms.get(i).copied().unwrap_or(ParamForm::Flat);
            let earlier = forms.get(j).copied().unwrap_or(ParamForm::Flat);
            let param = later.name("*").trim_end_matches(".*").to_string();
            let message = format!(
                "The permission \"{param}\" duplicates \"{}\".",
                earlier.name("*").trim_end_matches(".*")
            );
            return Err(ApiError::param(
                400,
                C::InvalidParamDuplicatePermissions,
                param,
                message,
            ));
        }
    }
    Ok(())
}

/// The limits of SPEC §4 for group `group_id` in `world` as it would be after a change:
/// referenced groups, rules per group (a prefix-list rule counts as its list's
/// `max_entries`), then rules per ENI for every member ENI of the group.
pub fn check_limits(world: &World, group_id: &str) -> Result<(), ApiError> {
    let Some(group) = world.group(group_id) else {
        return Ok(());
    };
    let limits = world.limits;
    let referenced: BTreeSet<&str> = group
        .rules
        .iter()
        .filter_map(|r| match &r.peer {
            Peer::Group { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    if referenced.len() as u64 > u64::from(limits.group_references_per_group) {
        let message = format!(
            "The security group \"{group_id}\" would reference {} security groups; at most {} are allowed.",
            referenced.len(),
            limits.group_references_per_group
        );
        return Err(ApiError::new(
            400,
            C::AuthorizedGroupRuleLimitExceed,
            message,
        ));
    }
    let weight = world.group_rule_weight(group);
    if weight > u64::from(limits.rules_per_group) {
        let message = format!(
            "The security group \"{group_id}\" would hold {weight} rules; at most {} are allowed.",
            limits.rules_per_group
        );
        return Err(ApiError::new(403, C::AuthorizationLimitExceed, message));
    }
    for eni in world.members(group_id) {
        let total: u64 = eni
            .security_groups
            .iter()
            .filter_map(|g| world.group(g))
            .map(|g| world.group_rule_weight(g))
            .sum();
        if total > u64::from(limits.rules_per_eni) {
            let message = format!(
                "The network interface \"{}\" would be governed by {total} rules; at most {} are allowed.",
                eni.id, limits.rules_per_eni
            );
            return Err(ApiError::new(403, C::AuthorizationLimitExceed, message));
        }
    }
    Ok(())
}
