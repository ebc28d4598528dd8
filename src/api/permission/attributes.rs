//! The rows of SPEC §4's table for a rule's attributes: `Policy`, `Priority`, `NicType`,
//! `Description`; and the NIC type a rule is stored with.

use super::Fields;
use crate::api::error::{invalid, ApiError, ErrorCode as C};
use crate::model::{NicType, Policy, SecurityGroup};

/// `Policy`: accept when absent; not accept/drop, 400 `InvalidPolicy.Malformed`.
pub(super) fn policy(f: &Fields) -> Result<Policy, ApiError> {
    match f.get("Policy") {
        None => Ok(Policy::Accept),
        Some(p) => Policy::parse(p)
            .ok_or_else(|| invalid(400, C::InvalidPolicyMalformed, f.param("Policy"))),
    }
}

/// `Priority`: 1 when absent; not decimal digits, 400 `InvalidPriority.Malformed`; outside
/// 1–100, 400 `InvalidPriority.ValueNotSupported` (`01` is 1).
pub(super) fn priority(f: &Fields) -> Result<u8, ApiError> {
    let Some(p) = f.get("Priority") else {
        return Ok(1);
    };
    if !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            400,
            C::InvalidPriorityMalformed,
            f.param("Priority"),
        ));
    }
    match p.trim_start_matches('0').parse::<u8>() {
        Ok(v) if (1..=100).contains(&v) => Ok(v),
        _ => Err(invalid(
            400,
            C::InvalidPriorityValueNotSupported,
            f.param("Priority"),
        )),
    }
}

/// `NicType` as given: not internet/intranet, 400 `InvalidNicType.ValueNotSupported`.
/// What is stored is [`stored_nic_type`].
pub(super) fn nic_type(f: &Fields) -> Result<Option<NicType>, ApiError> {
    f.get("NicType")
        .map(|t| {
            NicType::parse(t)
                .ok_or_else(|| invalid(400, C::InvalidNicTypeValueNotSupported, f.param("NicType")))
        })
        .transpose()
}

/// `Description`: longer than 512 characters, 400
/// `InvalidSecurityGroupDiscription.Malformed`. Empty when absent.
pub(super) fn description(f: &Fields) -> Result<String, ApiError> {
    let description = f.get("Description").unwrap_or("");
    if description.chars().count() > 512 {
        return Err(invalid(
            400,
            C::InvalidDescriptionMalformed,
            f.param("Description"),
        ));
    }
    Ok(description.to_string())
}

/// The NIC type a rule of `group` is stored with: always intranet in a VPC group; in a
/// classic group the one given, internet by default.
pub(super) fn stored_nic_type(group: &SecurityGroup, given: Option<NicType>) -> NicType {
    if group.is_classic() {
        given.unwrap_or(NicType::Internet)
    } else {
        NicType::Intranet
    }
}
