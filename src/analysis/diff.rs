//! Diff (SPEC §8): what a change alters — for every target of either world and both
//! directions, the regions whose decision changes, as disjoint rows of one box each with the
//! decision before and after and a witness.

use super::audit::decider_reason;
use super::policy::{targets, Decider, Policy, TargetId, WorldIndex};
use super::space::{box_json, box_text, box_witness, PacketBox, Region};
use crate::model::{Direction, Packet, Verdict, World};
use serde_json::{json, Value};

/// One side of a changed row: the decision with its reason and deciding rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Accept or drop.
    pub decision: Verdict,
    /// `rule`, `inner-access` or `default`.
    pub reason: &'static str,
    /// The deciding rule's id or the inner-access group's id.
    pub rule: Option<String>,
}

impl Side {
    fn of(p: &Policy, d: Decider) -> Side {
        let (reason, rule) = decider_reason(p, d);
        Side {
            decision: p.verdict(d),
            reason,
            rule,
        }
    }

    fn to_json(&self) -> Value {
        json!({"decision": self.decision.as_str(), "reason": self.reason, "rule": self.rule})
    }

    fn to_text(&self) -> String {
        format!(
            "{} by {}{}",
            self.decision.as_str(),
            self.reason,
            self.rule
                .as_ref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        )
    }
}

/// One row of a diff. `before`/`after` is `None` where the target (or the packets of the
/// box) does not exist in that world: a target of one world only has rows of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The target.
    pub target: String,
    /// The direction.
    pub direction: Direction,
    /// The box.
    pub region: PacketBox,
    /// The decision in the old world.
    pub before: Option<Side>,
    /// The decision in the new world.
    pub after: Option<Side>,
    /// A packet of the box.
    pub witness: Option<Packet>,
}

impl Row {
    /// The row as SPEC §8's JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "target": self.target,
            "direction": self.direction.as_str(),
            "region": box_json(&self.region),
            "before": self.before.as_ref().map(Side::to_json),
            "after": self.after.as_ref().map(Side::to_json),
            "witness": self.witness.as_ref().map(crate::packet::format_packet),
        })
    }

    /// The row in one line.
    pub fn to_text(&self) -> String {
        let side = |s: &Option<Side>, world: &str| {
            s.as_ref()
                .map_or(format!("not a target in {world}"), Side::to_text)
        };
        let mut s = format!(
            "{} {} {}: {} -> {}",
            self.target,
            self.direction.as_str(),
            box_text(&self.region),
            side(&self.before, "the old world"),
            side(&self.after, "the new world"),
        );
        if let Some(w) = &self.witness {
            s.push_str(&format!("; witness: {}", crate::packet::format_packet(w)));
        }
        s
    }
}

fn same_policy(a: &Policy, b: &Policy) -> bool {
    a.group_type == b.group_type
        && a.space == b.space
        && a.inner == b.inner
        && a.rules.len() == b.rules.len()
        && a.rules
            .iter()
            .zip(b.rules.iter())
            .all(|(x, y)| x.rule == y.rule && x.nic_type == y.nic_type)
}

/// The changed rows of one target and direction.
pub fn diff_policies(old: &Policy, new: &Policy, reasons: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    if same_policy(old, new) {
        return rows;
    }
    let target = old.target.id().to_string();
    let direction = old.direction;
    let mut push = |region: &Region, before: Option<Side>, after: Option<Side>| {
        for b in region.merged().boxes() {
            rows.push(Row {
                target: target.clone(),
                direction,
                region: *b,
                before: before.clone(),
                after: after.clone(),
                witness: Some(box_witness(b, direction)),
            });
        }
    };
    let new_pieces: Vec<(Decider, &Region)> = new.pieces().collect();
    for (da, ra) in old.pieces() {
        let before = Side::of(old, da);
        for (db, rb) in &new_pieces {
            let after = Side::of(new, *db);
            let changed = if reasons {
                old.reason(da) != new.reason(*db) || before.decision != after.decision
            } else {
                before.decision != after.decision
            };
            if !changed {
                continue;
            }
            let x = ra.intersect(rb);
            if !x.is_empty() {
                push(&x, Some(before.clone()), Some(after));
            }
        }
        // Packets of the old space that the new target no longer has.
        let gone = ra.difference(&new.space);
        if !gone.is_empty() {
            push(&gone, Some(before.clone()), None);
        }
    }
    for (db, rb) in &new_pieces {
        let added = rb.difference(&old.space);
        if !added.is_empty() {
            push(&added, None, Some(Side::of(new, *db)));
        }
    }
    rows
}

/// A policy of the same target without any packet: the target absent from a world.
fn absent(p: &Policy) -> Policy {
    Policy {
        target: p.target.clone(),
        direction: p.direction,
        group_type: p.group_type,
        space: Region::empty(),
        rules: Vec::new(),
        matched: Vec::new(),
        decided: Vec::new(),
        inner: Vec::new(),
        default: Region::empty(),
    }
}

/// Diffs two worlds: every target of either (or those named), both directions.
pub fn diff(old: &World, new: &World, to: &[String], reasons: bool) -> Result<Vec<Row>, String> {
    let (io, inew) = (WorldIndex::new(old), WorldIndex::new(new));
    let mut all: Vec<TargetId> = targets(old, &[]).map_err(|e| e.to_string())?;
    for t in targets(new, &[]).map_err(|e| e.to_string())? {
        if !all.iter().any(|a| a.id() == t.id()) {
            all.push(t);
        }
    }
    if !to.is_empty() {
        for id in to {
            let known = |w: &World| w.eni(id).is_some() || w.group(id).is_some();
            if !known(old) && !known(new) {
                return Err(format!(
                    "unknown target `{id}`: no instance, network interface or security group has this id in either world"
                ));
            }
            if !all.iter().any(|a| a.id() == id) {
                all.push(if old.eni(id).is_some() || new.eni(id).is_some() {
                    TargetId::Eni(id.clone())
                } else {
                    TargetId::Group(id.clone())
                });
            }
        }
        all.retain(|t| to.iter().any(|x| x == t.id()));
    }
    let mut rows = Vec::new();
    for t in all {
        for direction in [Direction::Ingress, Direction::Egress] {
            let (a, b) = (
                io.policy(&t, direction).ok(),
                inew.policy(&t, direction).ok(),
            );
            match (a, b) {
                (Some(a), Some(b)) => rows.extend(diff_policies(&a, &b, reasons)),
                (Some(a), None) => rows.extend(diff_policies(&a, &absent(&a), reasons)),
                (None, Some(b)) => rows.extend(diff_policies(&absent(&b), &b, reasons)),
                (None, None) => {}
            }
        }
    }
    Ok(rows)
}
