//! Deciding records against a compiled world: the ENI table (ids, owned addresses,
//! groups) and the new-connection decision of §3 through [`WorldMatcher`].

use super::record::Record;
use super::session::Fresh;
use crate::engine::compile::WorldMatcher;
use crate::model::{Direction, World};
use std::collections::HashMap;
use std::net::IpAddr;

/// A world compiled for replay: its ENIs by id and the compiled matcher.
#[derive(Debug, Clone)]
pub struct Decider {
    matcher: WorldMatcher,
    index: HashMap<String, usize>,
    ids: Vec<String>,
    owned: Vec<Vec<IpAddr>>,
    groups: Vec<Vec<String>>,
    rules: HashMap<String, Vec<String>>,
}

impl Decider {
    /// Compiles a world.
    pub fn new(world: &World) -> Result<Decider, String> {
        let matcher =
            WorldMatcher::compile(world).map_err(|e| format!("compiling the world: {e}"))?;
        let mut index = HashMap::new();
        let mut ids = Vec::new();
        let mut owned = Vec::new();
        let mut groups = Vec::new();
        for e in world.enis() {
            let i = ids.len();
            index.entry(e.id.to_string()).or_insert(i);
            ids.push(e.id.to_string());
            let mut a = e.private_ips.to_vec();
            a.extend(e.public_ip());
            owned.push(a);
            groups.push(e.security_groups.to_vec());
        }
        let rules = world
            .security_groups
            .iter()
            .map(|g| (g.id.clone(), g.rules.iter().map(|r| r.id.clone()).collect()))
            .collect();
        Ok(Decider {
            matcher,
            index,
            ids,
            owned,
            groups,
            rules,
        })
    }

    /// The index of the ENI an `eni-id` names (an ENI, or an instance's primary ENI).
    pub fn eni(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The id of the ENI at an index.
    pub fn eni_id(&self, eni: usize) -> &str {
        self.ids.get(eni).map_or("", |s| s.as_str())
    }

    /// Whether the ENI owns an address (private, or the public IP of a primary ENI).
    pub fn owns(&self, eni: usize, addr: IpAddr) -> bool {
        self.owned.get(eni).is_some_and(|a| a.contains(&addr))
    }

    /// The record's direction at its ENI (AWS records: ingress when the ENI owns `dstaddr`).
    pub fn direction(&self, eni: usize, r: &Record) -> Direction {
        r.direction_for(|a| self.owns(eni, a))
    }

    /// Decides a record as a new connection at its ENI in its direction (§3).
    pub fn fresh(&self, eni: usize, r: &Record) -> Fresh {
        let direction = self.direction(eni, r);
        let packet = match r.packet() {
            Ok(p) => p,
            Err(e) => return Fresh::NoTarget(e.to_string()),
        };
        match self
            .matcher
            .decide(&packet, Some(self.eni_id(eni)), direction)
        {
            Ok(d) => Fresh::Decided(d.verdict, d.reason),
            Err(e) => Fresh::NoTarget(e.to_string()),
        }
    }

    /// The rule ids of the groups attached to an ENI, in the ENI's group order.
    pub fn eni_rules(&self, eni: usize) -> impl Iterator<Item = &str> {
        self.groups
            .get(eni)
            .into_iter()
            .flatten()
            .filter_map(|g| self.rules.get(g))
            .flatten()
            .map(|s| s.as_str())
    }
}
