//! What lint asks of a policy ([`Facts`]), answered alike by the full partition
//! ([`Policy`]) and by the factored one ([`AtomPolicy`]), witnesses included.

use super::atoms::AtomPolicy;
use super::lint::{exposure, Finding};
use super::policy::{Decider, Policy, UnknownTarget, WorldIndex};
use super::space::Region;
use crate::model::{Packet, Policy as RulePolicy};

/// What lint asks of a policy: the full partition ([`Policy`]) and the factored one
/// ([`AtomPolicy`]) answer alike, witnesses included.
pub trait Facts {
    /// The target, direction, rules and inner-access groups.
    fn shell(&self) -> &Policy;
    /// Whether rule `i` matches a packet of the space.
    fn matched_any(&self, i: usize) -> bool;
    /// Whether rule `i` decides a packet.
    fn decided_any(&self, i: usize) -> bool;
    /// The deciders of the packets rule `i` matches, in evaluation order, and a witness
    /// decided by the first of them.
    fn covering(&self, i: usize) -> (Vec<Decider>, Option<Packet>);
    /// What would decide the packets rule `i` decides without it (rules, then the default).
    fn without(&self, idx: &WorldIndex<'_>, i: usize) -> Vec<Decider>;
    /// A packet rule `i` decides.
    fn decided_witness(&self, i: usize) -> Option<Packet>;
    /// The drops of rule `i`'s priority deciding packets it matches, and a witness decided
    /// by the first.
    fn tie_drops(&self, i: usize) -> (Vec<usize>, Option<Packet>);
    /// The exposure findings (ingress).
    fn exposure(&self) -> Result<Vec<Finding>, UnknownTarget>;
}

impl Facts for Policy {
    fn shell(&self) -> &Policy {
        self
    }

    fn matched_any(&self, i: usize) -> bool {
        self.matched.get(i).is_some_and(|m| !m.is_empty())
    }

    fn decided_any(&self, i: usize) -> bool {
        self.decided.get(i).is_some_and(|m| !m.is_empty())
    }

    fn covering(&self, i: usize) -> (Vec<Decider>, Option<Packet>) {
        let Some(matched) = self.matched.get(i) else {
            return (Vec::new(), None);
        };
        let mut covering = Vec::new();
        let mut witness = None;
        for (d, region) in self.pieces() {
            let part = region.intersect(matched);
            if part.is_empty() {
                continue;
            }
            if witness.is_none() {
                witness = part.witness(self.direction);
            }
            covering.push(d);
        }
        (covering, witness)
    }

    fn without(&self, idx: &WorldIndex<'_>, i: usize) -> Vec<Decider> {
        let Some(decided) = self.decided.get(i) else {
            return Vec::new();
        };
        idx.without_rule(self, i, decided)
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    fn decided_witness(&self, i: usize) -> Option<Packet> {
        self.decided.get(i)?.witness(self.direction)
    }

    fn tie_drops(&self, i: usize) -> (Vec<usize>, Option<Packet>) {
        let (Some(r), Some(matched)) = (self.rules.get(i), self.matched.get(i)) else {
            return (Vec::new(), None);
        };
        let mut out = Vec::new();
        let mut witness = None;
        for (j, other) in self.rules.iter().enumerate() {
            if other.rule.rank != r.rule.rank || other.rule.policy != RulePolicy::Drop {
                continue;
            }
            let Some(dj) = self.decided.get(j) else {
                continue;
            };
            let part = dj.intersect(matched);
            if !part.is_empty() {
                if witness.is_none() {
                    witness = part.witness(self.direction);
                }
                out.push(j);
            }
        }
        (out, witness)
    }

    fn exposure(&self) -> Result<Vec<Finding>, UnknownTarget> {
        let pieces: Vec<(Decider, &Region)> = self.pieces().collect();
        Ok(exposure(self, &pieces))
    }
}

impl Facts for AtomPolicy<'_, '_> {
    fn shell(&self) -> &Policy {
        &self.shell
    }

    fn matched_any(&self, i: usize) -> bool {
        AtomPolicy::matched_any(self, i)
    }

    fn decided_any(&self, i: usize) -> bool {
        self.decides_any(Decider::Rule(i))
    }

    fn covering(&self, i: usize) -> (Vec<Decider>, Option<Packet>) {
        let covering = AtomPolicy::covering(self, i);
        let witness = covering.first().and_then(|d| self.witness_within(*d, i));
        (covering, witness)
    }

    fn without(&self, _: &WorldIndex<'_>, i: usize) -> Vec<Decider> {
        AtomPolicy::without(self, i)
    }

    fn decided_witness(&self, i: usize) -> Option<Packet> {
        self.witness_of(Decider::Rule(i))
    }

    fn tie_drops(&self, i: usize) -> (Vec<usize>, Option<Packet>) {
        let drops = AtomPolicy::tie_drops(self, i);
        let witness = drops
            .first()
            .and_then(|j| self.witness_within(Decider::Rule(*j), i));
        (drops, witness)
    }

    fn exposure(&self) -> Result<Vec<Finding>, UnknownTarget> {
        if !self.reaches_internet() {
            return Ok(Vec::new());
        }
        let p = self.full()?;
        let pieces: Vec<(Decider, &Region)> = p.pieces().collect();
        Ok(exposure(&p, &pieces))
    }
}
