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
//! One compiled rule set per group, direction and NIC (lowered by
//! [`lower`](crate::engine::lower)), shared by every ENI of the group: a target looks up each
//! of its groups' sets and the strongest match by the one evaluation order ([`beats`])
//! decides. Target resolution, inner access (through the groups' shared member-address
//! sets), the defaults and the decision's assembly are the
//! [`target`](crate::engine::target) module's, the same the reference uses. Compile time and
//! memory grow linearly with the world. After the world changes (an API call),
//! [`WorldMatcher::update`] compares the world with what it was compiled from and touches
//! only the sets whose lowered rules changed: a few changed rules go through the set's
//! [`LiveMatcher`] overlay (single-rule removals and inserts, ~2 µs each), more are compiled
//! afresh; everything else, the index included when the instances did not change, is shared
//! with the old matcher (see the `patch` module).
use crate::engine::lower::{lower_group, lower_rule};
use crate::engine::matcher::{CompileError, LiveMatcher, Matcher, UpdateError};
use crate::engine::rule::{beats, EngineRule};
use crate::engine::target::{decision, Outcome, Resolved, TargetError, WorldIndex};
use crate::model::{Decision, Direction, Instance, NicType, Packet, PrefixList, Rule, World};
use rayon::prelude::*;

mod patch;
use std::net::IpAddr;
use std::sync::Arc;

/// A rule list compiled for lookups, taking single-rule changes through a
/// [`LiveMatcher`]'s overlay (what [`WorldMatcher::update`] patches a set with).
///
/// A clone shares the compiled base and copies only the pending changes and the handles.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    live: LiveMatcher,
    /// The live matcher's handle of each rule, in the list's order.
    handles: Vec<u32>,
}

/// A [`LiveMatcher`] error as a compile error of a list of `n` rules.
fn compile_error(e: UpdateError, n: usize) -> CompileError {
    match e {
        UpdateError::Compile(e) => e,
        UpdateError::TooManyRules => CompileError::TooManyRules(n),
    }
}

impl CompiledRules {
    /// Compiles a rule list.
    pub fn new(rules: Vec<EngineRule>) -> Result<CompiledRules, CompileError> {
        let n = rules.len();
        let live = LiveMatcher::new(rules).map_err(|e| compile_error(e, n))?;
        // INVARIANT: LiveMatcher::new admits fewer than u32::MAX rules.
        Ok(CompiledRules {
            live,
            handles: (0..n as u32).collect(),
        })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The rules, in the list's order.
    pub fn rules(&self) -> impl Iterator<Item = &EngineRule> + '_ {
        self.handles
            .iter()
            .filter_map(|&h| self.live.rule(h as usize))
    }

    /// The compiled base matcher (the rules of the set's last full build; pending changes
    /// not applied).
    pub fn matcher(&self) -> &Matcher {
        self.live.base()
    }

    /// The live matcher: the base and the pending changes.
    pub fn live(&self) -> &LiveMatcher {
        &self.live
    }

    /// The deciding rule for a packet with the peer and local addresses given. Among
    /// rules of one decision key (rank, policy, id) any may be returned: they decide alike.
    pub fn decide(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<&EngineRule> {
        self.live.lookup_rule(pkt, peer, local)
    }
}

/// The NIC slots of a group's sets: every NIC type (a VPC target), the internet NIC, the
/// intranet NIC (classic targets).
const SLOTS: [Option<NicType>; 3] = [None, Some(NicType::Internet), Some(NicType::Intranet)];

fn slot(nic: Option<NicType>) -> usize {
    match nic {
        None => 0,
        Some(NicType::Internet) => 1,
        Some(NicType::Intranet) => 2,
    }
}

fn dir(direction: Direction) -> usize {
    match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

/// The compiled sets of one group: `[direction][slot]`, `None` where no target of the group
/// uses that NIC slot; with the API rules and VPC they were lowered from, which the next
/// update compares the world's against.
#[derive(Debug, Clone, Default)]
struct GroupSets {
    sets: [[Option<Arc<CompiledRules>>; 3]; 2],
    /// The group's API rules as they were lowered (shared with the matchers updated from
    /// this one while unchanged).
    rules: Vec<Arc<Rule>>,
    /// The group's VPC when lowered.
    vpc: Option<String>,
}

impl GroupSets {
    fn get(&self, direction: Direction, nic: Option<NicType>) -> Option<&CompiledRules> {
        self.sets
            .get(dir(direction))
            .and_then(|row| row.get(slot(nic)))
            .and_then(|s| s.as_deref())
    }
}

/// A whole world compiled for fast decisions: immutable, `Send + Sync`.
///
/// [`WorldMatcher::decide`] answers exactly as
/// [`reference::decide`](crate::engine::reference::decide) on the world it was compiled from.
#[derive(Debug, Clone)]
pub struct WorldMatcher {
    index: Arc<WorldIndex>,
    /// The NIC slots each group's targets use (`needed_slots`), parallel to `groups`.
    need: Arc<Vec<[bool; 3]>>,
    /// Parallel to `World::security_groups` (and the index's groups).
    groups: Vec<Arc<GroupSets>>,
    /// The world's instances and prefix lists as compiled: an update whose world has the
    /// same keeps the index and the peer expansions.
    instances: Arc<Vec<Instance>>,
    prefix_lists: Arc<Vec<PrefixList>>,
    stats: BuildStats,
}

/// What the last build or update did with the rule sets (one per group, direction and NIC
/// in use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Sets compiled afresh (new sets, sets with more changes than their overlay takes,
    /// and overlays that passed their fold threshold).
    pub compiled: usize,
    /// Sets brought up to date through their overlay (single-rule inserts and removals).
    pub patched: usize,
    /// Sets reused unchanged.
    pub reused: usize,
    /// Rules inserted into overlays.
    pub inserted: usize,
    /// Rules removed through overlays.
    pub removed: usize,
    /// Whether the world's index (ENIs, members, addresses) was rebuilt.
    pub index_rebuilt: bool,
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

/// Which NIC slots each group's targets use: its member ENIs (classic: the intranet NIC, and
/// the internet NIC when the ENI has a public address; VPC: every NIC type) and the group
/// standing as a target (classic: intranet; VPC: every NIC type).
fn needed_slots(index: &WorldIndex) -> Vec<[bool; 3]> {
    let mut need: Vec<[bool; 3]> = index
        .groups()
        .iter()
        .map(|g| {
            let mut n = [false; 3];
            let own = if g.vpc.is_none() {
                Some(NicType::Intranet)
            } else {
                None
            };
            if let Some(s) = n.get_mut(slot(own)) {
                *s = true;
            }
            n
        })
        .collect();
    for e in index.enis() {
        let slots: &[Option<NicType>] = match (e.is_classic(), e.public_ip.is_some()) {
            (true, true) => &[Some(NicType::Internet), Some(NicType::Intranet)],
            (true, false) => &[Some(NicType::Intranet)],
            (false, _) => &[None],
        };
        for &g in &e.groups {
            if let Some(n) = need.get_mut(g) {
                for &s in slots {
                    if let Some(b) = n.get_mut(slot(s)) {
                        *b = true;
                    }
                }
            }
        }
    }
    need
}

/// Whether an API rule lowers into the set of a direction and NIC slot.
fn in_slot(r: &Rule, direction: Direction, nic: Option<NicType>) -> bool {
    r.direction == direction && nic.is_none_or(|n| r.nic_type == n)
}

/// Compiles one group's sets afresh for the NIC slots in use.
fn compile_group(
    index: &WorldIndex,
    world: &World,
    g: &crate::model::SecurityGroup,
    need: &[bool; 3],
) -> Result<GroupSets, CompileError> {
    let mut sets = GroupSets {
        rules: g.rules.iter().cloned().map(Arc::new).collect(),
        vpc: g.vpc_id.clone(),
        ..GroupSets::default()
    };
    for direction in [Direction::Ingress, Direction::Egress] {
        for (nic, wanted) in SLOTS.iter().zip(need) {
            if !wanted {
                continue;
            }
            let rules = lower_group(index, world, g, direction, *nic);
            if let Some(cell) = sets
                .sets
                .get_mut(dir(direction))
                .and_then(|row| row.get_mut(slot(*nic)))
            {
                *cell = Some(Arc::new(CompiledRules::new(rules)?));
            }
        }
    }
    Ok(sets)
}

impl WorldMatcher {
    /// Compiles every group of a world (per direction and NIC in use) and indexes its ENIs.
    pub fn compile(world: &World) -> Result<WorldMatcher, CompileError> {
        let index = WorldIndex::new(world);
        let need = needed_slots(&index);
        let built: Vec<GroupSets> = world
            .security_groups
            .par_iter()
            .zip(need.par_iter())
            .map(|(g, need)| compile_group(&index, world, g, need))
            .collect::<Result<_, CompileError>>()?;
        let compiled = built
            .iter()
            .map(|g| g.sets.iter().flatten().flatten().count())
            .sum();
        Ok(WorldMatcher {
            index: Arc::new(index),
            need: Arc::new(need),
            groups: built.into_iter().map(Arc::new).collect(),
            instances: Arc::new(world.instances.clone()),
            prefix_lists: Arc::new(world.prefix_lists.clone()),
            stats: BuildStats {
                compiled,
                index_rebuilt: true,
                ..BuildStats::default()
            },
        })
    }

    /// The matcher of the world as it is now, from this one (call it after each API call
    /// that changed the world): the sets of groups whose rules, members and prefix lists
    /// did not change are reused as they are; a set whose lowered rules changed in a few
    /// places takes the changes as single-rule inserts and removals in its overlay (folded
    /// into a fresh compile when the overlay grows, see [`LiveMatcher`]); the rest are
    /// compiled afresh. The index is rebuilt only when the instances, the groups' ids, VPCs,
    /// types and inner-access policies, or the prefix lists' ids changed. Answers exactly as
    /// [`WorldMatcher::compile`] on the same world.
    pub fn update(&self, world: &World) -> Result<WorldMatcher, CompileError> {
        patch::update(self, world)
    }

    /// How many rule sets (per group, direction and NIC) the last build or update changed
    /// (compiled afresh or patched through the overlay), and how many it reused.
    pub fn build_stats(&self) -> (usize, usize) {
        (self.stats.compiled + self.stats.patched, self.stats.reused)
    }

    /// What the last build or update did, in detail.
    pub fn stats(&self) -> BuildStats {
        self.stats
    }

    /// The compiled rule sets, one per group, direction and NIC in use.
    pub fn compiled_sets(&self) -> impl Iterator<Item = &CompiledRules> {
        self.groups
            .iter()
            .flat_map(|g| g.sets.iter().flatten())
            .filter_map(|s| s.as_deref())
    }

    /// The world's index the matcher was built with.
    pub fn index(&self) -> &Arc<WorldIndex> {
        &self.index
    }

    /// The compiled sets a target looks up in a direction (one per group, in the target's
    /// order), with the local address its rules see (after a VPC's public-IP NAT): what
    /// [`WorldMatcher::decide`] looks up after inner access. Errors as
    /// [`WorldMatcher::decide`].
    pub fn target_rules(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<(Vec<&CompiledRules>, IpAddr), TargetError> {
        let r = self.index.resolve(packet, to, direction)?;
        Ok((self.sets_of(&r, direction).collect(), r.local))
    }

    fn sets_of<'a>(
        &'a self,
        r: &Resolved<'a>,
        direction: Direction,
    ) -> impl Iterator<Item = &'a CompiledRules> + 'a {
        // INVARIANT: every group a target resolves to has a set for the NIC it resolves to
        // (`needed_slots`).
        let nic = r.nic;
        r.groups
            .iter()
            .filter_map(move |&g| self.groups.get(g)?.get(direction, nic))
    }

    /// Decides a packet exactly as
    /// [`reference::decide`](crate::engine::reference::decide) does on the compiled world.
    pub fn decide(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<Decision, TargetError> {
        let (r, outcome) = self.outcome(packet, to, direction)?;
        Ok(decision(packet, direction, r.id, outcome))
    }

    /// What [`WorldMatcher::decide`] decides, before it is assembled into a [`Decision`]:
    /// the resolved target and the outcome, borrowed from the matcher (nothing allocated).
    pub fn outcome(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<(Resolved<'_>, Outcome<'_>), TargetError> {
        let r = self.index.resolve(packet, to, direction)?;
        let peer = packet.peer(direction);
        let outcome = match self.index.inner_access(&r, peer) {
            Some(g) => Outcome::InnerAccess(g),
            None => {
                // Each group's strongest match, then the strongest of those.
                let mut best: Option<&EngineRule> = None;
                for set in self.sets_of(&r, direction) {
                    if let Some(rule) = set.decide(packet, peer, r.local) {
                        if best.is_none_or(|b| beats(rule, b)) {
                            best = Some(rule);
                        }
                    }
                }
                match best {
                    Some(rule) => Outcome::Rule {
                        group: &rule.group,
                        rule: &rule.id,
                        policy: rule.policy,
                    },
                    None => Outcome::Default(self.index.group_type(&r)),
                }
            }
        };
        Ok((r, outcome))
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
