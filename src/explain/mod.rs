//! Decision rendering: the explanation block of `sgsim check`, the one decision JSON object
//! shared by `check --json`, `check --batch --json` (and whatever serves decisions next),
//! and the one-line batch answer.
//!
//! Both renderings come from one [`DecisionView`], built by an [`Explainer`] (which indexes
//! the world's rules once) from a [`Decision`] and the [`Target`] it was decided at. The
//! text is [`DecisionView::text`]; the JSON is the view serialized with serde. Batches write
//! the same JSON through [`Explainer::write_batch_json`], from fragments serialized once per
//! rule and group (the tests hold the two equal).
//!
//! Groups are named by id, with the world's name beside it where it gives one: `sg-web
//! (web)` in the text, `group_name` and `groups[].name` in the JSON.
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
//! | `group_name`  | that group's name, or `null` (no group, or the world gives it no name) |
//! | `packet`      | the packet as decided, in the notation (ports filled in)              |
//! | `target`      | the id given or resolved (an instance's id for its primary ENI)       |
//! | `direction`   | `"ingress"` or `"egress"`                                             |
//! | `rule_fields` | only when a rule decided: the rule as world-file keys (`id`, `direction`, `ip_protocol`, `port_range`, `priority`, …) |
//! | `groups`      | the target's groups, in the ENI's order, each `{"id": …, "name": …}` (`name` `null` when the world gives none) |
//! | `local`       | the local address the rules saw (the primary private IPv4 when a VPC ENI's public IP was addressed) |
//! | `nic`         | `"internet"` or `"intranet"` in the classic network, else `null`      |
//! | `notes`       | the notes of the text (`public address … (VPC NAT)`, `classic network, …`), without the `note:` label; `[]` when none |
//!
//! For example (one line when printed):
//!
//! ```json
//! {"decision":"accept","reason":"rule","rule":"sgr-web-https","group":"sg-web","group_name":"web",
//!  "packet":"tcp 203.0.113.7:50000 -> 47.0.0.10:443","target":"i-web","direction":"ingress",
//!  "rule_fields":{"direction":"ingress","id":"sgr-web-https","ip_protocol":"TCP","nic_type":"intranet",
//!   "policy":"Accept","port_range":"443/443","priority":1,"source_cidr_ip":"0.0.0.0/0"},
//!  "groups":[{"id":"sg-web","name":"web"}],"local":"192.168.1.10","nic":null,
//!  "notes":["public address 47.0.0.10 is decided as the primary private address 192.168.1.10 (VPC NAT)"]}
//! ```

pub mod batch;
pub mod explanation;
mod fast;

pub use explanation::explanation_json;

use crate::engine::reference::Target;
use crate::model::{Decision, Direction, GroupType, Reason, Rule, SecurityGroup, Verdict, World};
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
    rules: HashMap<&'w str, RuleEntry<'w>>,
    /// Group id → its name, where the world gives one (the first group of an id).
    names: HashMap<&'w str, &'w str>,
    /// Per group of the world (by index): its `{"id":…,"name":…}` object.
    group_json: Vec<Box<str>>,
}

/// A rule as the explainer knows it.
struct RuleEntry<'w> {
    rule: &'w Rule,
    /// The id of the group holding it (the first rule of an id).
    group: &'w str,
    /// That group's name, if any.
    group_name: Option<&'w str>,
    /// The rule's `rule_fields` JSON, written on first use.
    json: OnceLock<Box<RawValue>>,
}

/// A group's id with its name: `{"id": …, "name": …}` in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GroupName<'a> {
    /// The group's id.
    pub id: &'a str,
    /// Its name, `None` when the world gives it none.
    pub name: Option<&'a str>,
}

impl std::fmt::Display for GroupName<'_> {
    /// `sg-web (web)`, or the id alone when the group has no name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(n) => write!(f, "{} ({})", self.id, crate::world_file::one_line(n)),
            None => f.write_str(self.id),
        }
    }
}

/// A group's name, `None` when empty.
fn name_of(g: &SecurityGroup) -> Option<&str> {
    Some(g.name.as_str()).filter(|n| !n.is_empty())
}

impl<'w> Explainer<'w> {
    /// An explainer of decisions made in `world`.
    pub fn new(world: &'w World) -> Explainer<'w> {
        let mut rules = HashMap::new();
        let mut names = HashMap::new();
        let mut group_json = Vec::with_capacity(world.security_groups.len());
        for g in &world.security_groups {
            let name = name_of(g);
            if let Some(n) = name {
                names.entry(g.id.as_str()).or_insert(n);
            }
            // Strings keyed by strings always serialize (the empty default is unused).
            let one = GroupName { id: &g.id, name };
            group_json.push(
                serde_json::to_string(&one)
                    .unwrap_or_default()
                    .into_boxed_str(),
            );
            for r in &g.rules {
                // The first rule of an id wins, as `World::rule` finds it.
                rules.entry(r.id.as_str()).or_insert_with(|| RuleEntry {
                    rule: r,
                    group: g.id.as_str(),
                    group_name: name,
                    json: OnceLock::new(),
                });
            }
        }
        Explainer {
            rules,
            names,
            group_json,
        }
    }

    /// The name of group `id`, where the world gives one.
    pub fn group_name(&self, id: &str) -> Option<&'w str> {
        self.names.get(id).copied()
    }

    /// The view of a decision made at `target` (the target it was decided at).
    pub fn view<'a>(&'a self, d: &'a Decision, target: &'a Target<'_>) -> DecisionView<'a> {
        let entry = d.reason.rule_id().and_then(|id| self.rules.get(id));
        let local = d.packet.local(d.direction);
        let mut notes = Vec::new();
        if target.local != local {
            notes.push(nat_note(local, target.local));
        }
        if let Some(nic) = target.nic {
            notes.push(nic_note(nic.as_str()));
        }
        let group = d.reason.group();
        DecisionView {
            verdict: d.verdict,
            reason: d.reason.kind(),
            rule: d.reason.rule_id(),
            group,
            group_name: group.and_then(|g| self.group_name(g)),
            packet: PacketText(d),
            target: &d.target,
            direction: d.direction,
            rule_fields: entry.map(|e| &**e.json.get_or_init(|| rule_json(e.rule))),
            groups: target
                .groups
                .iter()
                .map(|g| GroupName {
                    id: &g.id,
                    name: name_of(g),
                })
                .collect(),
            local: target.local,
            nic: target.nic.map(|n| n.as_str()),
            notes,
            decision: d,
            rule_ref: entry.map(|e| e.rule),
            group_type: target.group_type(),
        }
    }
}

/// The note of a VPC's NAT: the public address `public` decided as `private` (the batch
/// writer writes the same words in place).
fn nat_note(public: IpAddr, private: IpAddr) -> String {
    format!(
        "public address {} is decided as the primary private address {} (VPC NAT)",
        Address(public),
        Address(private)
    )
}

/// The note of a classic NIC (the batch writer writes the same words in place).
fn nic_note(nic: &str) -> String {
    format!("classic network, {nic} NIC: only nic_type {nic} rules apply")
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
    /// That group's name, where the world gives one.
    pub group_name: Option<&'a str>,
    /// The packet as decided.
    pub packet: PacketText<'a>,
    /// The target's id.
    pub target: &'a str,
    /// The direction decided.
    pub direction: Direction,
    /// The deciding rule as world-file keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_fields: Option<&'a RawValue>,
    /// The target's groups, in order, with their names.
    pub groups: Vec<GroupName<'a>>,
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
            Reason::Rule { rule, .. } => {
                let _ = writeln!(
                    out,
                    "  reason: rule {rule} of security group {}",
                    self.deciding_group()
                );
                if let Some(r) = self.rule_ref {
                    let _ = writeln!(out, "  rule:   {}", r.summary());
                }
            }
            Reason::InnerAccess { .. } => {
                let _ = writeln!(
                    out,
                    "  reason: inner access of security group {}: inner_access_policy Accept, and {} is a private address of another member",
                    self.deciding_group(),
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
        let _ = write!(out, "  groups: ");
        for (k, g) in self.groups.iter().enumerate() {
            let _ = write!(out, "{}{g}", if k > 0 { ", " } else { "" });
        }
        out.push('\n');
        for note in &self.notes {
            let _ = writeln!(out, "  note:   {note}");
        }
        out
    }

    /// The deciding group (rule or inner access) with its name, as the text shows it.
    fn deciding_group(&self) -> GroupName<'_> {
        GroupName {
            id: self.group.unwrap_or_default(),
            name: self.group_name,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compile::WorldMatcher;
    use crate::engine::reference;
    use crate::model::Packet;
    use crate::world_file::{load_str, Format};

    /// Names that need escaping, a group without a name, classic NICs and VPC NAT.
    const WORLD: &str = r#"
[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-a"
name = "a \"quoted\" \\ name"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-a1", direction = "ingress", ip_protocol = "TCP", port_range = "1/1000", source_cidr_ip = "0.0.0.0/0", priority = 5 },
  { id = "sgr-a2", direction = "ingress", ip_protocol = "ALL", port_range = "-1/-1", source_cidr_ip = "10.0.0.0/8", policy = "Drop" },
  { id = "sgr-a3", direction = "egress", ip_protocol = "UDP", port_range = "53/53", dest_cidr_ip = "0.0.0.0/0" },
]

[[security_groups]]
id = "sg-b"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-b1", direction = "ingress", ip_protocol = "TCP", port_range = "500/2000", source_cidr_ip = "0.0.0.0/0", priority = 2 },
]

[[security_groups]]
id = "sg-c"
name = "classic"
rules = [
  { id = "sgr-c1", direction = "ingress", ip_protocol = "TCP", port_range = "1/65535", source_cidr_ip = "0.0.0.0/0", nic_type = "internet" },
]

[[instances]]
id = "i-1"
vpc_id = "vpc-1"
security_groups = ["sg-a", "sg-b"]
private_ips = ["10.0.0.1"]
public_ip = "47.0.0.1"

[[instances]]
id = "i-2"
vpc_id = "vpc-1"
security_groups = ["sg-a"]
private_ips = ["10.0.0.2", "2001:db8::2"]

[[instances]]
id = "i-3"
security_groups = ["sg-c"]
private_ips = ["10.9.0.3"]
public_ip = "47.0.0.3"
"#;

    /// The batch writer's bytes are the serde view's, for every kind of decision.
    #[test]
    fn batch_writer_is_the_serde_view() {
        let world = load_str(WORLD, Format::Toml, "test.toml").unwrap();
        let matcher = WorldMatcher::compile(&world).unwrap();
        let ex = Explainer::new(&world);
        let locals: [std::net::IpAddr; 5] = [
            "10.0.0.1".parse().unwrap(),
            "47.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.9.0.3".parse().unwrap(),
            "47.0.0.3".parse().unwrap(),
        ];
        let peers: [std::net::IpAddr; 4] = [
            "8.8.8.8".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            "10.5.5.5".parse().unwrap(),
        ];
        let mut seen = std::collections::HashSet::new();
        let mut n = 0;
        for local in locals {
            for peer in peers {
                for (proto, port) in [(6u8, 22u16), (6, 1500), (17, 53), (1, 0), (47, 0)] {
                    for direction in [Direction::Ingress, Direction::Egress] {
                        let (src, dst) = match direction {
                            Direction::Ingress => (peer, local),
                            Direction::Egress => (local, peer),
                        };
                        let p = Packet::new(proto, src, 40000, dst, port).unwrap();
                        let Ok(d) = matcher.decide(&p, None, direction) else {
                            continue;
                        };
                        let r = matcher.index().resolve(&p, None, direction).unwrap();
                        let t = reference::resolve_target(&world, &p, None, direction).unwrap();
                        let mut fast = Vec::new();
                        ex.write_batch_json(&d, &r, &mut fast);
                        let view = ex.view(&d, &t).json();
                        assert_eq!(String::from_utf8(fast).unwrap(), view);
                        seen.insert((
                            d.reason.kind(),
                            t.nic.is_some(),
                            t.local != p.local(direction),
                        ));
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 100, "{n}");
        // Rule, inner access and default decisions, classic NICs and NAT notes were all met.
        for kind in ["rule", "inner-access", "default"] {
            assert!(seen.iter().any(|s| s.0 == kind), "{kind}: {seen:?}");
        }
        assert!(seen.iter().any(|s| s.1), "{seen:?}");
        assert!(seen.iter().any(|s| s.2), "{seen:?}");
    }

    #[test]
    fn text_names_groups_and_escapes_names() {
        let mut world = load_str(WORLD, Format::Toml, "test.toml").unwrap();
        if let Some(g) = world.security_groups.first_mut() {
            g.name = "two\nlines".into();
        }
        let p = crate::packet::parse_packet("tcp 8.8.8.8 -> 10.0.0.1:22").unwrap();
        let t = reference::resolve_target(&world, &p, None, Direction::Ingress).unwrap();
        let d = reference::decide_for(&world, &p, Direction::Ingress, &t);
        let text = Explainer::new(&world).view(&d, &t).text();
        assert!(
            text.contains("reason: rule sgr-a1 of security group sg-a (two\\nlines)\n"),
            "{text}"
        );
        assert!(
            text.contains("  groups: sg-a (two\\nlines), sg-b\n"),
            "{text}"
        );
    }
}
