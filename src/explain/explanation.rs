//! The JSON object of `sgsim explain --json` (and of `POST /sgsim/explain`): the whole
//! evaluation of one packet, with the decision as the one decision JSON object of this
//! module's parent under `decision`.
//!
//! Keys, in this order: `packet`, `target`, `direction`, `nic` (classic network, else
//! `null`), `nat` (the local address a VPC's public address was decided as, else `null`),
//! `groups` (the target's group ids), `inner_access` (the group whose inner access
//! decided, else `null`), `rules` (every rule of the target's groups in evaluation order:
//! `id`, `group`, `priority`, `policy`, `matched`, `failed` — the first field that failed,
//! or `null`), `decision`.

use super::{Explainer, GroupName};
use crate::analysis::explain::Explanation;
use crate::model::{SecurityGroup, World};
use crate::packet::format_packet;
use serde_json::Value;

impl<'a> GroupName<'a> {
    /// A group with its name (`None` when the world gives it none).
    pub fn of(g: &'a SecurityGroup) -> GroupName<'a> {
        GroupName {
            id: &g.id,
            name: Some(g.name.as_str()).filter(|n| !n.is_empty()),
        }
    }
}

/// The explanation `e` of a packet decided in `world` as one JSON object.
pub fn explanation_json(world: &World, e: &Explanation<'_>) -> Value {
    let decision: Value =
        serde_json::from_str(&Explainer::new(world).view(&e.decision, &e.target).json())
            .unwrap_or_default();
    serde_json::json!({
        "packet": format_packet(&e.decision.packet),
        "target": e.decision.target,
        "direction": e.decision.direction.as_str(),
        "nic": e.nic.map(|n| n.as_str()),
        "nat": e.nat.map(|a| a.to_string()),
        "groups": e.target.groups.iter().map(|g| GroupName::of(g)).collect::<Vec<_>>(),
        "inner_access": e.inner_access,
        "rules": e.rules.iter().map(|r| serde_json::json!({
            "id": r.id,
            "group": r.group,
            "priority": r.priority,
            "policy": r.policy.as_lower(),
            "matched": r.matched,
            "failed": r.failed,
        })).collect::<Vec<_>>(),
        "decision": decision,
    })
}
