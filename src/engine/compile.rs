//! Compiling a whole world: every ENI's (and every group's) pooled rules lowered to
//! [`EngineRule`]s and compiled into [`Matcher`]s, with target resolution, inner access and
//! the defaults precomputed, so that [`WorldMatcher::decide`] gives exactly the reference's
//! [`Decision`] (verdict, reason, deciding rule and group, packet, target) — or the same
//! [`TargetError`].
//!
//! ```
//! use sgsim::engine::compile::{BatchQuery, WorldMatcher};
//! use sgsim::engine::reference;
//! use sgsim::model::Direction;
//! use sgsim::packet::parse_packet;
//! let mut world = sgsim::world_file::load_str(r#"
//!     [[vpcs]]
//!     id = "vpc-1"
//!     [[security_groups]]
//!     id = "sg-web"
//!     vpc_id = "vpc-1"
//!     rules = [{ direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" }]
//!     [[instances]]
//!     id = "i-web"
//!     vpc_id = "vpc-1"
//!     security_groups = ["sg-web"]
//!     private_ips = ["192.168.1.10"]
//! "#, sgsim::world_file::Format::Toml, "example.toml").unwrap();
//! let m = WorldMatcher::compile(&world).unwrap();
//! let p = parse_packet("tcp 10.1.2.3 -> 192.168.1.10:22").unwrap();
//! let d = m.decide(&p, None, Direction::Ingress).unwrap();
//! assert_eq!(Ok(d.clone()), reference::decide(&world, &p, None, Direction::Ingress));
//! assert_eq!(d.reason.rule_id(), Some("sgr-000000000001"));
//!
//! // Many packets, in order, on all cores when the batch is large.
//! let q = BatchQuery { packet: p, to: Some("i-web"), direction: Direction::Ingress };
//! assert_eq!(m.decide_batch(&[q, q]).len(), 2);
//!
//! // The world changes: recompile what changed.
//! world.security_groups[0].rules.clear();
//! let m = m.update(&world).unwrap();
//! assert_eq!(m.decide(&p, None, Direction::Ingress).unwrap().reason.kind(), "default");
//! ```
//!
//! Lowering (SPEC §3 and §7), per target, direction and NIC in use:
//! * the rules of all the target's groups in that direction (classic network: only those of
//!   the NIC type in use; VPC: all);
//! * rank = priority; protocol = its number (`ALL`: any); ICMP confined to IPv4 and ICMPv6
//!   to IPv6 through `family`; ports only for TCP and UDP rules;
//! * a group peer expands to the private addresses (both families) of the group's member
//!   ENIs — only those in the referencing group's VPC when it has one; a prefix-list peer to
//!   the list's entries as they are now; a missing group or list to nothing.
//!
//! Identical lowered rule lists (ENIs with the same groups) share one compiled set. After the
//! world changes (an API call), [`WorldMatcher::update`] lowers again and recompiles only the
//! rule lists that changed, reusing the others.

use crate::engine::matcher::{CompileError, Matcher};
use crate::engine::reference::{default_verdict, TargetError};
use crate::engine::rule::EngineRule;
use crate::model::{
    Decision, Direction, EniRef, GroupType, InnerAccessPolicy, NicType, Packet, Peer, PortRange,
    PrefixList, Reason, Rule, SecurityGroup, Verdict, World,
};
use ipnet::IpNet;
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

/// Lowers one API rule of `group` to an engine rule, expanding group and prefix-list peers
/// against `world` as it is now.
pub fn lower_rule(world: &World, group: &SecurityGroup, rule: &Rule) -> EngineRule {
    lower_with(
        group,
        rule,
        |id| {
            world
                .enis()
                .filter(|e| e.security_groups.iter().any(|g| g == id))
                .collect()
        },
        |id| world.prefix_list(id),
    )
}

/// [`lower_rule`] with the member and prefix-list look-ups given.
fn lower_with<'w>(
    group: &SecurityGroup,
    rule: &Rule,
    members: impl Fn(&str) -> Vec<EniRef<'w>>,
    prefix_list: impl Fn(&str) -> Option<&'w PrefixList>,
) -> EngineRule {
    let (dst_ports, src_ports) = if rule.protocol.has_ports() {
        (
            rule.port_range.unwrap_or(PortRange::ANY),
            rule.source_port_range.unwrap_or(PortRange::ANY),
        )
    } else {
        (PortRange::ANY, PortRange::ANY)
    };
    let peer = match &rule.peer {
        Peer::Cidr(net) => vec![*net],
        Peer::Group { id, .. } => {
            let vpc = group.vpc_id.as_deref();
            let mut nets: Vec<IpNet> = members(id)
                .into_iter()
                .filter(|m| vpc.is_none() || m.vpc_id() == vpc)
                .flat_map(|m| m.private_ips.iter().map(|a| crate::model::host_net(*a)))
                .collect();
            nets.sort();
            nets.dedup();
            nets
        }
        Peer::PrefixList(id) => prefix_list(id)
            .map(|pl| pl.entries.iter().map(|e| e.cidr).collect())
            .unwrap_or_default(),
    };
    EngineRule {
        id: rule.id.clone(),
        group: group.id.clone(),
        rank: u32::from(rule.priority),
        policy: rule.policy,
        protocol: rule.protocol.number(),
        family: rule.protocol.family(),
        dst_ports,
        src_ports,
        peer,
        local: rule.local_cidr,
    }
}

/// The lowered rules of some groups for one direction and NIC (`None`: a VPC, every NIC
/// type applies), in group order then rule order.
pub fn lower_groups(
    world: &World,
    groups: &[&SecurityGroup],
    direction: Direction,
    nic: Option<NicType>,
) -> Vec<EngineRule> {
    groups
        .iter()
        .flat_map(|g| {
            g.rules
                .iter()
                .filter(move |r| r.direction == direction && nic.is_none_or(|n| r.nic_type == n))
                .map(move |r| lower_rule(world, g, r))
        })
        .collect()
}

/// Indexes of a world built once per compile: groups, members and prefix lists by id, and
/// each group's lowered rules per direction and NIC, so that compiling is linear in the
/// world's size rather than quadratic.
struct Lowering<'w> {
    groups: HashMap<&'w str, &'w SecurityGroup>,
    members: HashMap<&'w str, Vec<EniRef<'w>>>,
    prefix_lists: HashMap<&'w str, &'w PrefixList>,
    lowered: HashMap<(&'w str, Direction, Option<NicType>), Vec<EngineRule>>,
}

impl<'w> Lowering<'w> {
    fn new(world: &'w World) -> Lowering<'w> {
        let mut groups = HashMap::new();
        for g in &world.security_groups {
            groups.entry(g.id.as_str()).or_insert(g);
        }
        let mut prefix_lists = HashMap::new();
        for p in &world.prefix_lists {
            prefix_lists.entry(p.id.as_str()).or_insert(p);
        }
        let mut members: HashMap<&'w str, Vec<EniRef<'w>>> = HashMap::new();
        for e in world.enis() {
            for (i, g) in e.security_groups.iter().enumerate() {
                // An ENI listing a group twice is one member.
                if e.security_groups
                    .get(..i)
                    .is_some_and(|before| before.contains(g))
                {
                    continue;
                }
                members.entry(g.as_str()).or_default().push(e);
            }
        }
        Lowering {
            groups,
            members,
            prefix_lists,
            lowered: HashMap::new(),
        }
    }

    fn group(&self, id: &str) -> Option<&'w SecurityGroup> {
        self.groups.get(id).copied()
    }

    fn members(&self, id: &str) -> &[EniRef<'w>] {
        self.members.get(id).map_or(&[], Vec::as_slice)
    }

    /// The lowered rules of `groups` for a direction and NIC, in group then rule order.
    fn rules(
        &mut self,
        groups: &[&'w SecurityGroup],
        direction: Direction,
        nic: Option<NicType>,
    ) -> Vec<EngineRule> {
        let mut out = Vec::new();
        for g in groups {
            let key = (g.id.as_str(), direction, nic);
            if !self.lowered.contains_key(&key) {
                let members = &self.members;
                let prefix_lists = &self.prefix_lists;
                let lowered: Vec<EngineRule> = g
                    .rules
                    .iter()
                    .filter(|r| r.direction == direction && nic.is_none_or(|n| r.nic_type == n))
                    .map(|r| {
                        lower_with(
                            g,
                            r,
                            |id| members.get(id).cloned().unwrap_or_default(),
                            |id| prefix_lists.get(id).copied(),
                        )
                    })
                    .collect();
                self.lowered.insert(key, lowered);
            }
            if let Some(rules) = self.lowered.get(&key) {
                out.extend(rules.iter().cloned());
            }
        }
        out
    }
}

/// A rule list and its compiled matcher.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    rules: Vec<EngineRule>,
    matcher: Matcher,
}

impl CompiledRules {
    /// Compiles a rule list.
    pub fn new(rules: Vec<EngineRule>) -> Result<CompiledRules, CompileError> {
        let matcher = Matcher::compile(&rules)?;
        Ok(CompiledRules { rules, matcher })
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[EngineRule] {
        &self.rules
    }

    /// The compiled matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The deciding rule for a packet with the peer and local addresses given.
    pub fn decide(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<&EngineRule> {
        self.matcher
            .lookup_dir(pkt, peer, local)
            .and_then(|i| self.rules.get(i))
    }
}

fn rules_hash(rules: &[EngineRule]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in rules {
        r.id.hash(&mut h);
        r.group.hash(&mut h);
        r.rank.hash(&mut h);
        r.policy.hash(&mut h);
        r.protocol.hash(&mut h);
        r.family.hash(&mut h);
        r.dst_ports.hash(&mut h);
        r.src_ports.hash(&mut h);
        r.peer.hash(&mut h);
        r.local.hash(&mut h);
    }
    h.finish()
}

/// Compiled sets by the hash of their rules, for sharing and for updates.
#[derive(Debug, Default, Clone)]
struct SetCache {
    sets: HashMap<u64, Vec<Arc<CompiledRules>>>,
    compiled: usize,
    reused: usize,
}

impl SetCache {
    fn get(
        &mut self,
        old: Option<&SetCache>,
        rules: Vec<EngineRule>,
    ) -> Result<Arc<CompiledRules>, CompileError> {
        let h = rules_hash(&rules);
        if let Some(s) = self
            .sets
            .get(&h)
            .and_then(|v| v.iter().find(|s| s.rules == rules))
        {
            return Ok(Arc::clone(s));
        }
        let set = match old
            .and_then(|o| o.sets.get(&h))
            .and_then(|v| v.iter().find(|s| s.rules == rules))
        {
            Some(s) => {
                self.reused += 1;
                Arc::clone(s)
            }
            None => {
                self.compiled += 1;
                Arc::new(CompiledRules::new(rules)?)
            }
        };
        self.sets.entry(h).or_default().push(Arc::clone(&set));
        Ok(set)
    }
}

/// The sets of one target: by direction (ingress, egress) and NIC (internet, intranet; a
/// VPC target uses the intranet slot for "every NIC type").
#[derive(Debug, Clone)]
struct TargetSets {
    // INVARIANT: [direction][nic], direction 0 ingress / 1 egress, nic 0 internet / 1
    // intranet-or-VPC; `None` where the target never uses that NIC.
    sets: [[Option<Arc<CompiledRules>>; 2]; 2],
    /// Inner access: peer private address → the first qualifying group (SPEC §3 step 1).
    inner: HashMap<IpAddr, String>,
    /// The type of the target's first group (basic when it has none), for the defaults.
    group_type: GroupType,
    /// Whether the target is in the classic network.
    classic: bool,
}

impl TargetSets {
    fn set(&self, direction: Direction, nic: Option<NicType>) -> Option<&CompiledRules> {
        let d = match direction {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        };
        let n = match nic {
            Some(NicType::Internet) => 0,
            Some(NicType::Intranet) | None => 1,
        };
        self.sets
            .get(d)
            .and_then(|row| row.get(n))
            .and_then(|s| s.as_deref())
    }
}

/// What a compiled world knows of one ENI.
#[derive(Debug, Clone)]
struct EniInfo {
    id: String,
    classic: bool,
    private_ips: Vec<IpAddr>,
    /// The public address it owns (primary ENI only).
    public_ip: Option<IpAddr>,
    /// Its instance's primary private IPv4 (the VPC NAT's translation).
    primary_private_ipv4: Option<IpAddr>,
    sets: TargetSets,
}

/// A whole world compiled for fast decisions: immutable, `Send + Sync`.
///
/// [`WorldMatcher::decide`] answers exactly as
/// [`reference::decide`](crate::engine::reference::decide) on the world it was compiled from.
#[derive(Debug, Clone)]
pub struct WorldMatcher {
    enis: Vec<EniInfo>,
    /// ENI id → index of the first ENI with that id (an instance id names its primary).
    eni_index: HashMap<String, usize>,
    /// Address → the ENIs owning it (private, or public for a primary), in world order.
    owners: HashMap<IpAddr, Vec<usize>>,
    /// Group id → the sets of the group standing as a target.
    groups: HashMap<String, (String, TargetSets)>,
    cache: SetCache,
}

/// One query of a batch: a packet, the target (`to`), the direction.
#[derive(Debug, Clone, Copy)]
pub struct BatchQuery<'a> {
    /// The packet.
    pub packet: Packet,
    /// The target given (`None`: the one ENI owning the local address).
    pub to: Option<&'a str>,
    /// The direction.
    pub direction: Direction,
}

/// Batches at least this long are decided on all cores.
const PARALLEL_MIN: usize = 2048;

fn inner_map<'w>(
    low: &Lowering<'w>,
    groups: &[&'w SecurityGroup],
    except: Option<&str>,
) -> HashMap<IpAddr, String> {
    let mut inner = HashMap::new();
    for g in groups {
        if g.group_type != GroupType::Normal || g.inner_access_policy != InnerAccessPolicy::Accept {
            continue;
        }
        for m in low.members(&g.id) {
            if Some(m.id) == except {
                continue;
            }
            for a in m.private_ips {
                inner.entry(*a).or_insert_with(|| g.id.clone());
            }
        }
    }
    inner
}

fn target_sets<'w>(
    low: &mut Lowering<'w>,
    groups: &[&'w SecurityGroup],
    classic: bool,
    nics: &[NicType],
    except: Option<&str>,
    cache: &mut SetCache,
    old: Option<&SetCache>,
) -> Result<TargetSets, CompileError> {
    let mut sets: [[Option<Arc<CompiledRules>>; 2]; 2] = Default::default();
    for (d, direction) in [Direction::Ingress, Direction::Egress]
        .into_iter()
        .enumerate()
    {
        if classic {
            for nic in nics {
                let n = match nic {
                    NicType::Internet => 0,
                    NicType::Intranet => 1,
                };
                let rules = low.rules(groups, direction, Some(*nic));
                if let Some(slot) = sets.get_mut(d).and_then(|row| row.get_mut(n)) {
                    *slot = Some(cache.get(old, rules)?);
                }
            }
        } else {
            let rules = low.rules(groups, direction, None);
            if let Some(slot) = sets.get_mut(d).and_then(|row| row.get_mut(1)) {
                *slot = Some(cache.get(old, rules)?);
            }
        }
    }
    Ok(TargetSets {
        sets,
        inner: inner_map(low, groups, except),
        group_type: groups.first().map_or(GroupType::Normal, |g| g.group_type),
        classic,
    })
}

impl WorldMatcher {
    /// Compiles every ENI and every group of a world.
    pub fn compile(world: &World) -> Result<WorldMatcher, CompileError> {
        Self::build(world, None)
    }

    /// Compiles the world as it is now, reusing this matcher's compiled rule lists that did
    /// not change (call it after each API call that changed the world).
    pub fn update(&self, world: &World) -> Result<WorldMatcher, CompileError> {
        Self::build(world, Some(&self.cache))
    }

    fn build(world: &World, old: Option<&SetCache>) -> Result<WorldMatcher, CompileError> {
        let mut cache = SetCache::default();
        let mut low = Lowering::new(world);
        let mut enis = Vec::new();
        let mut eni_index = HashMap::new();
        let mut owners: HashMap<IpAddr, Vec<usize>> = HashMap::new();
        for e in world.enis() {
            let groups: Vec<&SecurityGroup> = e
                .security_groups
                .iter()
                .filter_map(|g| low.group(g))
                .collect();
            let classic = e.vpc_id().is_none();
            let nics: &[NicType] = if e.public_ip().is_some() {
                &[NicType::Internet, NicType::Intranet]
            } else {
                &[NicType::Intranet]
            };
            let sets = target_sets(
                &mut low,
                &groups,
                classic,
                nics,
                Some(e.id),
                &mut cache,
                old,
            )?;
            let idx = enis.len();
            eni_index.entry(e.id.to_string()).or_insert(idx);
            let mut owned: Vec<IpAddr> = e.private_ips.to_vec();
            owned.extend(e.public_ip());
            owned.sort();
            owned.dedup();
            for a in owned {
                owners.entry(a).or_default().push(idx);
            }
            enis.push(EniInfo {
                id: e.id.to_string(),
                classic,
                private_ips: e.private_ips.to_vec(),
                public_ip: e.public_ip(),
                primary_private_ipv4: e.instance.primary_private_ipv4(),
                sets,
            });
        }
        let mut groups = HashMap::new();
        for g in &world.security_groups {
            let sets = target_sets(
                &mut low,
                &[g],
                g.is_classic(),
                &[NicType::Intranet],
                None,
                &mut cache,
                old,
            )?;
            groups.entry(g.id.clone()).or_insert((g.id.clone(), sets));
        }
        Ok(WorldMatcher {
            enis,
            eni_index,
            owners,
            groups,
            cache,
        })
    }

    /// How many distinct rule lists were compiled by the last build, and how many were
    /// reused from the matcher it updated.
    pub fn build_stats(&self) -> (usize, usize) {
        (self.cache.compiled, self.cache.reused)
    }

    /// The distinct compiled rule lists.
    pub fn compiled_sets(&self) -> impl Iterator<Item = &CompiledRules> {
        self.cache.sets.values().flatten().map(|s| s.as_ref())
    }

    /// The compiled rules a target uses in a direction, with the local address its rules see
    /// (after a VPC's public-IP NAT): what [`WorldMatcher::decide`] looks up after inner
    /// access. Errors as [`WorldMatcher::decide`].
    pub fn target_rules(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<(&CompiledRules, IpAddr), TargetError> {
        let r = self.resolve(packet, to, direction)?;
        // INVARIANT: every resolved target has a set for the NIC it resolves to.
        match r.sets.set(direction, r.nic) {
            Some(s) => Ok((s, r.local)),
            None => Err(TargetError::UnknownTarget(r.id.to_string())),
        }
    }

    fn resolve(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<Resolved<'_>, TargetError> {
        let local = packet.local(direction);
        let owners: &[usize] = self.owners.get(&local).map_or(&[], Vec::as_slice);
        let owner_ids = || {
            owners
                .iter()
                .filter_map(|&i| self.enis.get(i).map(|e| e.id.clone()))
                .collect::<Vec<_>>()
        };
        let eni = match to {
            Some(id) if !self.eni_index.contains_key(id) => {
                let (gid, sets) = self
                    .groups
                    .get(id)
                    .ok_or_else(|| TargetError::UnknownTarget(id.to_string()))?;
                // A group target has no public address: the intranet NIC when classic.
                return Ok(Resolved {
                    id: gid,
                    sets,
                    nic: sets.classic.then_some(NicType::Intranet),
                    local,
                });
            }
            Some(id) => match owners
                .iter()
                .filter_map(|&i| self.enis.get(i))
                .find(|e| e.id == id)
            {
                Some(e) => e,
                None => {
                    return Err(TargetError::NotOwner {
                        target: id.to_string(),
                        addr: local,
                        candidates: owner_ids(),
                    })
                }
            },
            None => match owners {
                [one] => match self.enis.get(*one) {
                    Some(e) => e,
                    None => return Err(TargetError::NoOwner { addr: local }),
                },
                [] => return Err(TargetError::NoOwner { addr: local }),
                _ => {
                    return Err(TargetError::Ambiguous {
                        addr: local,
                        candidates: owner_ids(),
                    })
                }
            },
        };
        let public = !eni.private_ips.contains(&local) && eni.public_ip == Some(local);
        let (nic, local) = match (eni.classic, public) {
            (true, true) => (Some(NicType::Internet), local),
            (true, false) => (Some(NicType::Intranet), local),
            (false, true) => {
                let private =
                    eni.primary_private_ipv4
                        .ok_or_else(|| TargetError::NoPrivateIpv4 {
                            target: eni.id.clone(),
                        })?;
                (None, private)
            }
            (false, false) => (None, local),
        };
        Ok(Resolved {
            id: &eni.id,
            sets: &eni.sets,
            nic,
            local,
        })
    }

    /// Decides a packet exactly as
    /// [`reference::decide`](crate::engine::reference::decide) does on the compiled world.
    pub fn decide(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<Decision, TargetError> {
        let r = self.resolve(packet, to, direction)?;
        let decision = |verdict, reason| Decision {
            verdict,
            reason,
            packet: *packet,
            target: r.id.to_string(),
            direction,
        };
        let peer = packet.peer(direction);
        if let Some(g) = r.sets.inner.get(&peer) {
            return Ok(decision(
                Verdict::Accept,
                Reason::InnerAccess { group: g.clone() },
            ));
        }
        match r
            .sets
            .set(direction, r.nic)
            .and_then(|s| s.decide(packet, peer, r.local))
        {
            Some(rule) => Ok(decision(
                rule.policy.into(),
                Reason::Rule {
                    group: rule.group.clone(),
                    rule: rule.id.clone(),
                },
            )),
            None => Ok(decision(
                default_verdict(direction, r.sets.group_type),
                Reason::Default,
            )),
        }
    }

    /// Decides many queries, in their order; on all cores when the batch is large.
    pub fn decide_batch(&self, queries: &[BatchQuery<'_>]) -> Vec<Result<Decision, TargetError>> {
        let one = |q: &BatchQuery<'_>| self.decide(&q.packet, q.to, q.direction);
        if queries.len() >= PARALLEL_MIN {
            queries.par_iter().map(one).collect()
        } else {
            queries.iter().map(one).collect()
        }
    }
}

/// A resolved target inside a compiled world.
struct Resolved<'m> {
    id: &'m str,
    sets: &'m TargetSets,
    nic: Option<NicType>,
    local: IpAddr,
}

/// A scenario cross-check: compiles `world`, decides the packet with the compiled matcher
/// and compares with the reference's decision; `Some(message)` on a disagreement.
pub fn cross_check(
    world: &World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
    reference: &Decision,
) -> Option<String> {
    match WorldMatcher::compile(world) {
        Ok(m) => disagreement(reference, m.decide(packet, to, direction)),
        Err(e) => Some(format!("compiled matcher: {e}")),
    }
}

/// How the compiled matcher's answer differs from the reference's decision, if it does.
pub fn disagreement(
    reference: &Decision,
    matcher: Result<Decision, TargetError>,
) -> Option<String> {
    match matcher {
        Ok(d) if &d == reference => None,
        Ok(d) => Some(format!(
            "compiled matcher disagrees: {} {} {} (reference: {} {} {})",
            d.verdict.as_str(),
            d.reason.kind(),
            d.reason.rule_id().or(d.reason.group()).unwrap_or("-"),
            reference.verdict.as_str(),
            reference.reason.kind(),
            reference
                .reason
                .rule_id()
                .or(reference.reason.group())
                .unwrap_or("-"),
        )),
        Err(e) => Some(format!("compiled matcher: {e}")),
    }
}
