//! The `check --json` object. Interim copy of the command line's rendering until the
//! library's decision rendering lands; replaced by it then.

use crate::engine::reference::Target;
use crate::model::{Decision, World};
use crate::packet::format_packet;
use crate::world_file;

/// A decision as one JSON object (SPEC §6).
pub fn check_json(world: &World, d: &Decision, target: Option<&Target<'_>>) -> String {
    let rule = d
        .reason
        .rule_id()
        .and_then(|id| world.rule(id))
        .map(|(_, r)| serde_json::to_value(world_file::rule_to_keys(r)).unwrap_or_default());
    let mut v = serde_json::json!({
        "decision": d.verdict.as_str(),
        "reason": d.reason.kind(),
        "rule": d.reason.rule_id(),
        "group": d.reason.group(),
        "packet": format_packet(&d.packet),
        "target": d.target,
        "direction": d.direction.as_str(),
    });
    if let (Some(obj), Some(fields)) = (v.as_object_mut(), rule) {
        obj.insert("rule_fields".into(), fields);
    }
    if let (Some(obj), Some(t)) = (v.as_object_mut(), target) {
        obj.insert(
            "groups".into(),
            serde_json::json!(t.groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>()),
        );
    }
    v.to_string()
}
