//! Decision rendering: the explanation block of `sgsim check`, the one decision JSON object
//! shared by `check --json`, `check --batch --json` (and whatever serves decisions next),
//! and the one-line batch answer.
//!
//! Both renderings come from one [`DecisionView`], built by an [`Explainer`] (which indexes
//! the world's rules once) from a [`Decision`] and the [`Target`] it was decided at. The
//! text is [`DecisionView::text`]; the JSON is the view serialized with serde.
//!
//! # The decision JSON object
//!
//! One object per decision, keys in snake case and always in this order:
//!
//! | key           | value                                                                 |
//! |---------------|-----------------------------------------------------------------------|
//! | `decision`    | `"accept"` or `"drop"`                                                |
//! | `reason`      | `"rule"`, `"inner-access"` or `"default"`                             |
//! | `rule`        | the deciding rule's id, or `null`                                     |
//! | `group`       | the group of the rule or of inner access, or `null`                   |
//! | `packet`      | the packet as decided, in the notation (ports filled in)              |
//! | `target`      | the id given or resolved (an instance's id for its primary ENI)       |
//! | `direction`   | `"ingress"` or `"egress"`                                             |
//! | `rule_fields` | only when a rule decided: the rule as world-file keys (`id`, `direction`, `ip_protocol`, `port_range`, `priority`, …) |
//! | `groups`      | the target's group ids, in the ENI's order                            |
//! | `local`       | the local address the rules saw (the primary private IPv4 when a VPC ENI's public IP was addressed) |
//! | `nic`         | `"internet"` or `"intranet"` in the classic network, else `null`      |
//! | `notes`       | the notes of the text (`public address … (VPC NAT)`, `classic network, …`), without the `note:` label; `[]` when none |
//!
//! For example (one line when printed):
//!
//! ```json
//! {"decision":"accept","reason":"rule","rule":"sgr-web-https","group":"sg-web",
//!  "packet":"tcp 203.0.113.7:50000 -> 47.0.0.10:443","target":"i-web","direction":"ingress",
//!  "rule_fields":{"direction":"ingress","id":"sgr-web-https","ip_protocol":"TCP","nic_type":"intranet",
//!   "policy":"Accept","port_range":"443/443","priority":1,"source_cidr_ip":"0.0.0.0/0"},
//!  "groups":["sg-web"],"local":"192.168.1.10","nic":null,
//!  "notes":["public address 47.0.0.10 is decided as the primary private address 192.168.1.10 (VPC NAT)"]}
//! ```

pub mod batch;

use crate::engine::reference::Target;
use crate::model::{Decision, Direction, GroupType, Reason, Rule, Verdict, World};
use crate::packet::{format_packet, Address, Notation};
use crate::world_file::rule_to_keys;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::OnceLock;

/// Renders decisions made in one world. It indexes the world's rules by id once, and
/// writes each rule's `rule_fields` JSON on its first use only, so a batch pays for it once
/// per rule; it may be shared between threads.
pub struct Explainer<'w> {
    rules: HashMap<&'w str, (&'w Rule, OnceLock<Box<RawValue>>)>,
}

impl<'w> Explainer<'w> {
    /// An explainer of decisions made in `world`.
    pub fn new(world: &'w World) -> Explainer<'w> {
        let mut rules = HashMap::new();
        for g in &world.security_groups {
            for r in &g.rules {
                // The first rule of an id wins, as `World::rule` finds it.
                rules
                    .entry(r.id.as_str())
                    .or_insert_with(|| (r, OnceLock::new()));
            }
        }
        Explainer { rules }
    }

    /// The view of a decision made at `target` (the target it was decided at).
    pub fn view<'a>(&'a self, d: &'a Decision, target: &'a Target<'_>) -> DecisionView<'a> {
        let entry = d.reason.rule_id().and_then(|id| self.rules.get(id));
        let local = d.packet.local(d.direction);
        let mut notes = Vec::new();
        if target.local != local {
            notes.push(format!(
                "public address {local} is decided as the primary private address {} (VPC NAT)",
                target.local
            ));
        }
        if let Some(nic) = target.nic {
            notes.push(format!(
                "classic network, {} NIC: only nic_type {} rules apply",
                nic.as_str(),
                nic.as_str()
            ));
        }
        DecisionView {
            verdict: d.verdict,
            reason: d.reason.kind(),
            rule: d.reason.rule_id(),
            group: d.reason.group(),
            packet: PacketText(d),
            target: &d.target,
            direction: d.direction,
            rule_fields: entry.map(|(r, json)| &**json.get_or_init(|| rule_json(r))),
            groups: target.groups.iter().map(|g| g.id.as_str()).collect(),
            local: target.local,
            nic: target.nic.map(|n| n.as_str()),
            notes,
            decision: d,
            rule_ref: entry.map(|(r, _)| *r),
            group_type: target.group_type(),
        }
    }
}

/// A rule's `rule_fields` object: its world-file keys ([`rule_to_keys`]) as JSON.
fn rule_json(rule: &Rule) -> Box<RawValue> {
    // Strings and numbers keyed by strings always serialize (the `null` default is unused).
    serde_json::value::to_raw_value(&rule_to_keys(rule)).unwrap_or_default()
}

/// An address as a JSON string.
fn address<S: Serializer>(a: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Address(*a))
}

/// The packet of a decision, serialized in the notation.
#[derive(Clone, Copy)]
pub struct PacketText<'a>(&'a Decision);

impl Serialize for PacketText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Notation(&self.0.packet))
    }
}

/// One decision with what explains it: serialized, it is the decision JSON object of the
/// [module documentation](self); [`DecisionView::text`] is the explanation block.
#[derive(Serialize)]
pub struct DecisionView<'a> {
    /// Accept or drop.
    #[serde(rename = "decision")]
    pub verdict: Verdict,
    /// `rule`, `inner-access` or `default`.
    pub reason: &'static str,
    /// The deciding rule's id.
    pub rule: Option<&'a str>,
    /// The group of the deciding rule or of inner access.
    pub group: Option<&'a str>,
    /// The packet as decided.
    pub packet: PacketText<'a>,
    /// The target's id.
    pub target: &'a str,
    /// The direction decided.
    pub direction: Direction,
    /// The deciding rule as world-file keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_fields: Option<&'a RawValue>,
    /// The target's group ids, in order.
    pub groups: Vec<&'a str>,
    /// The local address the rules saw.
    #[serde(serialize_with = "address")]
    pub local: IpAddr,
    /// The classic NIC in use, `None` in a VPC.
    pub nic: Option<&'static str>,
    /// The notes of the explanation, without their label.
    pub notes: Vec<String>,
    #[serde(skip)]
    decision: &'a Decision,
    #[serde(skip)]
    rule_ref: Option<&'a Rule>,
    #[serde(skip)]
    group_type: GroupType,
}

impl DecisionView<'_> {
    /// The multi-line explanation block of `sgsim check`.
    pub fn text(&self) -> String {
        let d = self.decision;
        let mut out = format!(
            "{}  {}  ({} at {})\n",
            d.verdict.as_str().to_uppercase(),
            format_packet(&d.packet),
            d.direction,
            d.target
        );
        // Writing to a String cannot fail.
        match &d.reason {
            Reason::Rule { group, rule } => {
                let _ = writeln!(out, "  reason: rule {rule} of security group {group}");
                if let Some(r) = self.rule_ref {
                    let _ = writeln!(out, "  rule:   {}", r.summary());
                }
            }
            Reason::InnerAccess { group } => {
                let _ = writeln!(
                    out,
                    "  reason: inner access of security group {group} (inner_access_policy Accept): {} is a private address of another member",
                    d.packet.peer(d.direction)
                );
            }
            Reason::Default => {
                let _ = writeln!(
                    out,
                    "  reason: {}",
                    default_text(d.direction, self.group_type)
                );
            }
        }
        let _ = writeln!(out, "  groups: {}", self.groups.join(", "));
        for note in &self.notes {
            let _ = writeln!(out, "  note:   {note}");
        }
        out
    }

    /// The decision JSON object on one line (no newline).
    pub fn json(&self) -> String {
        let mut buf = Vec::with_capacity(512);
        self.write_json(&mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Appends the decision JSON object (no newline) to `buf`.
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        // Serializing plain strings, numbers and maps with string keys into memory cannot fail.
        let _ = serde_json::to_writer(buf, self);
    }
}

/// The default that applies when no rule matches, in words.
pub fn default_text(direction: Direction, group_type: GroupType) -> &'static str {
    match (direction, group_type) {
        (Direction::Ingress, _) => "no rule matched: inbound traffic is dropped by default",
        (Direction::Egress, GroupType::Normal) => {
            "no rule matched: outbound traffic of basic groups is accepted by default"
        }
        (Direction::Egress, GroupType::Enterprise) => {
            "no rule matched: outbound traffic of advanced groups is dropped by default"
        }
    }
}

/// The one-line batch answer: `accept rule sgr-… sg-…`, `accept inner-access sg-…`,
/// `drop default`.
pub fn batch_line(d: &Decision) -> String {
    match &d.reason {
        Reason::Rule { group, rule } => format!("{} rule {rule} {group}", d.verdict.as_str()),
        Reason::InnerAccess { group } => format!("{} inner-access {group}", d.verdict.as_str()),
        Reason::Default => format!("{} default", d.verdict.as_str()),
    }
}
