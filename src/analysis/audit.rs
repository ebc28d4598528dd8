//! Audit (SPEC §8): the accepted region of each target from a source, as disjoint rows of
//! one box each, neighbouring boxes of one decider merged.

use super::interval::IntervalSet;
use super::policy::{targets, Decider, Policy, TargetId, UnknownTarget, WorldIndex};
use super::space::{
    addr_num, box_json, box_text, internet, nets_set, PacketBox, ProtoSet, Region, PEER,
};
use crate::model::{Direction, Family, Packet, World};
use ipnet::IpNet;
use serde_json::{json, Value};

/// Where the packets of an audit come from (their peer address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every internet address (SPEC §8).
    Internet,
    /// Every address.
    Any,
    /// The addresses of a CIDR.
    Cidr(IpNet),
    /// The private addresses of a group's members.
    Group(String),
}

impl Source {
    /// Parses `internet`, `any`, a CIDR (or bare address) or `sg-…`.
    pub fn parse(s: &str) -> Result<Source, String> {
        match s {
            "internet" => Ok(Source::Internet),
            "any" => Ok(Source::Any),
            _ if s.starts_with("sg-") => Ok(Source::Group(s.to_string())),
            _ => crate::model::parse_cidr(s)
                .map(|n| Source::Cidr(crate::model::canonical(n)))
                .ok_or_else(|| {
                    format!("invalid source `{s}`: expected `internet`, `any`, a CIDR or `sg-…`")
                }),
        }
    }

    /// The peer addresses of the source, per family.
    pub fn peers(&self, idx: &WorldIndex<'_>, family: Family) -> Result<IntervalSet, String> {
        Ok(match self {
            Source::Internet => internet(family),
            Source::Any => IntervalSet::range(0, super::space::addr_max(family)),
            Source::Cidr(n) => nets_set(family, std::iter::once(n)),
            Source::Group(id) => {
                if idx.world().group(id).is_none() {
                    return Err(format!("unknown source group `{id}`"));
                }
                IntervalSet::from_ranges(
                    idx.members(id)
                        .iter()
                        .flat_map(|m| m.private_ips.iter())
                        .filter(|a| Family::of(a) == family)
                        .map(|a| (addr_num(*a), addr_num(*a))),
                )
            }
        })
    }

    /// The region of every packet from the source.
    pub fn region(&self, idx: &WorldIndex<'_>) -> Result<Region, String> {
        let mut boxes = Vec::new();
        for f in [Family::V4, Family::V6] {
            for &peer in self.peers(idx, f)?.ranges() {
                let mut iv = [(0, u128::MAX); 4];
                iv[PEER] = peer;
                boxes.push(PacketBox {
                    family: f,
                    protos: ProtoSet::ALL,
                    iv,
                });
            }
        }
        Ok(Region::from_disjoint(boxes))
    }
}

/// One row of an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The target.
    pub target: String,
    /// The direction.
    pub direction: Direction,
    /// The box.
    pub region: PacketBox,
    /// `rule`, `inner-access` or `default`.
    pub reason: &'static str,
    /// The deciding rule's id or the inner-access group's id (`None` for the default).
    pub rule: Option<String>,
    /// A packet of the box.
    pub witness: Packet,
}

impl Row {
    /// The row as SPEC §8's JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "target": self.target,
            "direction": self.direction.as_str(),
            "region": box_json(&self.region),
            "reason": self.reason,
            "rule": self.rule,
            "witness": crate::packet::format_packet(&self.witness),
        })
    }

    /// The row in one line.
    pub fn to_text(&self) -> String {
        format!(
            "{} {} accept {} by {}{}; witness: {}",
            self.target,
            self.direction.as_str(),
            box_text(&self.region),
            self.reason,
            self.rule
                .as_ref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default(),
            crate::packet::format_packet(&self.witness)
        )
    }
}

/// The decider's reason kind and id, as a row names them.
pub fn decider_reason(p: &Policy, d: Decider) -> (&'static str, Option<String>) {
    match d {
        Decider::Inner(i) => ("inner-access", p.inner.get(i).map(|g| g.0.clone())),
        Decider::Rule(i) => ("rule", Some(p.rule_id(i).to_string())),
        Decider::Default => ("default", None),
    }
}

/// The accepted rows of one policy from a source region.
pub fn audit_policy(p: &Policy, source: &Region) -> Vec<Row> {
    let mut rows = Vec::new();
    for (d, r) in p.pieces() {
        if p.verdict(d) != crate::model::Verdict::Accept {
            continue;
        }
        let part = r.intersect(source).merged();
        let (reason, rule) = decider_reason(p, d);
        for b in part.boxes() {
            rows.push(Row {
                target: p.target.id().to_string(),
                direction: p.direction,
                region: *b,
                reason,
                rule: rule.clone(),
                witness: super::space::box_witness(b, p.direction),
            });
        }
    }
    rows
}

/// Audits every target (or those named) in one direction.
pub fn audit(
    world: &World,
    to: &[String],
    source: &Source,
    direction: Direction,
) -> Result<Vec<Row>, String> {
    let idx = WorldIndex::new(world);
    let region = source.region(&idx)?;
    let mut rows = Vec::new();
    let ts: Vec<TargetId> = targets(world, to).map_err(|e: UnknownTarget| e.to_string())?;
    for t in ts {
        let p = idx.policy(&t, direction).map_err(|e| e.to_string())?;
        rows.extend(audit_policy(&p, &region));
    }
    Ok(rows)
}
