//! Online updates: [`LiveMatcher`], a compiled [`Matcher`] that takes single-rule inserts
//! and removals in microseconds, answering exactly as a rebuild would.
//!
//! The compiled base stays as it was built. A removal marks the rule in a bit set the base's
//! lookup skips (its entries stay in place: the tables' and buckets' best orders remain
//! lower bounds, so early termination stays exact). An insert goes to a small **overlay**,
//! kept sorted by decision key, each rule tagged with its **position** among the base's
//! rules in decision order (a binary search at insert time): it beats the base's match of
//! order `b` exactly when its position is at most `b`. A lookup asks the base (skipping
//! removed rules) and then the overlay up to the first position past the base's match. When
//! overlay and removals together pass a threshold, the live rules are compiled afresh.

use super::{CompileError, Matcher};
use crate::engine::rule::EngineRule;
use crate::model::{Packet, Policy};
use std::net::IpAddr;

/// Overlay plus removals above which the live rules are recompiled (at least).
const FOLD_MIN: usize = 32;

/// A rule inserted since the last build.
#[derive(Debug, Clone)]
struct Added {
    /// How many base rules come before it in decision order.
    pos: u32,
    /// Its handle.
    handle: u32,
    /// Its protocol (`None`: any) and destination ports, checked before the full match.
    protocol: Option<u8>,
    dport_lo: u16,
    dport_hi: u16,
}

/// A matcher over a changing rule list. Rules are named by **handles**: the position at
/// which [`LiveMatcher::insert`] appended them (the initial rules are `0..n`); a handle stays
/// valid until its rule is removed and is never reused.
///
/// [`LiveMatcher::lookup`] returns the handle of the deciding rule, the same rule
/// [`linear_scan`](crate::engine::rule::linear_scan) picks among the live rules taken in
/// handle order ([`LiveMatcher::live_rules`]).
///
/// ```
/// use sgsim::engine::matcher::LiveMatcher;
/// use sgsim::engine::rule::EngineRule;
/// use sgsim::model::{Packet, Policy, PortRange};
///
/// let rule = |id: &str, rank, policy| EngineRule {
///     id: id.into(), group: String::new(), rank, policy, protocol: Some(6), family: None,
///     dst_ports: PortRange::single(22), src_ports: PortRange::ANY,
///     peer: vec!["10.0.0.0/8".parse().unwrap()], local: None,
/// };
/// let mut m = LiveMatcher::new(vec![rule("a", 5, Policy::Accept)]).unwrap();
/// let pkt = Packet::new(6, "10.1.2.3".parse().unwrap(), 40000, "192.168.0.1".parse().unwrap(), 22)
///     .unwrap();
/// assert_eq!(m.lookup(&pkt), Some(0));
/// let h = m.insert(rule("b", 1, Policy::Drop)).unwrap();
/// assert_eq!(m.lookup(&pkt), Some(h));
/// assert!(m.remove(h).unwrap());
/// assert_eq!(m.lookup(&pkt), Some(0));
/// ```
#[derive(Debug, Clone)]
pub struct LiveMatcher {
    /// Every rule by handle; `None` once removed and folded (a removed base rule keeps its
    /// rule until the rebuild: its key still places inserts).
    rules: Vec<Option<EngineRule>>,
    /// Whether each handle is live.
    alive: Vec<bool>,
    /// The compiled base.
    base: Matcher,
    /// The handle of each base rule (base index → handle), increasing.
    base_handles: Vec<u32>,
    /// Base indexes in decision order.
    sorted: Vec<u32>,
    /// Base indexes removed since the build (bit set).
    dead: Vec<u64>,
    dead_count: usize,
    /// Inserted since the build, sorted by decision key (so by `pos` too).
    added: Vec<Added>,
    /// Recompilations so far.
    rebuilds: usize,
}

/// Why an update failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateError {
    /// Recompiling the live rules failed.
    Compile(CompileError),
    /// More rules than 32-bit handles address.
    TooManyRules,
}

impl std::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpdateError::Compile(e) => write!(f, "cannot recompile the live rules: {e}"),
            UpdateError::TooManyRules => {
                write!(
                    f,
                    "too many rules for 32-bit handles (at most {})",
                    u32::MAX - 2
                )
            }
        }
    }
}

impl std::error::Error for UpdateError {}

/// A rule's decision key with its handle as the last tie-break.
fn key(r: &EngineRule, handle: u32) -> (u32, bool, &[u8], u32) {
    (r.rank, r.policy != Policy::Drop, r.id.as_bytes(), handle)
}

/// Whether the packet, peer and local addresses are all of one family.
fn one_family(pkt: &Packet, peer: IpAddr, local: IpAddr) -> bool {
    pkt.src().is_ipv4() == peer.is_ipv4() && peer.is_ipv4() == local.is_ipv4()
}

impl LiveMatcher {
    /// Compiles the initial rules; their handles are `0..rules.len()`.
    pub fn new(rules: Vec<EngineRule>) -> Result<LiveMatcher, UpdateError> {
        if rules.len() >= u32::MAX as usize - 1 {
            return Err(UpdateError::TooManyRules);
        }
        let mut m = LiveMatcher {
            alive: vec![true; rules.len()],
            rules: rules.into_iter().map(Some).collect(),
            base: Matcher::compile(&[]).map_err(UpdateError::Compile)?,
            base_handles: Vec::new(),
            sorted: Vec::new(),
            dead: Vec::new(),
            dead_count: 0,
            added: Vec::new(),
            rebuilds: 0,
        };
        m.rebuild()?;
        m.rebuilds = 0;
        Ok(m)
    }

    /// Compiles the live rules afresh and empties the overlay and the removals.
    pub fn rebuild(&mut self) -> Result<(), UpdateError> {
        let mut handles = Vec::new();
        let mut live = Vec::new();
        for (h, (r, &alive)) in self.rules.iter_mut().zip(&self.alive).enumerate() {
            if !alive {
                *r = None;
            } else if let Some(r) = r {
                handles.push(h as u32); // INVARIANT: rules.len() < u32::MAX - 1.
                live.push(r.clone());
            }
        }
        self.base = Matcher::compile(&live).map_err(UpdateError::Compile)?;
        let mut sorted: Vec<u32> = (0..live.len() as u32).collect();
        sorted.sort_by(|&a, &b| {
            let k = |i: u32| {
                live.get(i as usize)
                    .zip(handles.get(i as usize))
                    .map(|(r, &h)| key(r, h))
            };
            k(a).cmp(&k(b))
        });
        self.sorted = sorted;
        self.base_handles = handles;
        self.dead = vec![0; live.len().div_ceil(64)];
        self.dead_count = 0;
        self.added.clear();
        self.rebuilds += 1;
        Ok(())
    }

    /// The decision key of a handle's rule (kept for removed base rules until the rebuild).
    fn key_of(&self, handle: u32) -> Option<(u32, bool, &[u8], u32)> {
        let r = self.rules.get(handle as usize)?.as_ref()?;
        Some(key(r, handle))
    }

    /// Adds a rule; returns its handle. Recompiles when the pending changes pass the
    /// threshold.
    pub fn insert(&mut self, rule: EngineRule) -> Result<usize, UpdateError> {
        let handle = self.rules.len();
        if handle >= u32::MAX as usize - 1 {
            return Err(UpdateError::TooManyRules);
        }
        let h = handle as u32;
        let k = key(&rule, h);
        let pos = self.sorted.partition_point(|&bi| {
            self.base_handles
                .get(bi as usize)
                .and_then(|&bh| self.key_of(bh))
                .is_some_and(|bk| bk < k)
        }) as u32; // INVARIANT: at most the base's rule count, < u32::MAX.
        let at = self
            .added
            .partition_point(|a| self.key_of(a.handle).is_some_and(|ak| ak < k));
        self.added.insert(
            at,
            Added {
                pos,
                handle: h,
                protocol: rule.protocol,
                dport_lo: rule.dst_ports.start(),
                dport_hi: rule.dst_ports.end(),
            },
        );
        self.rules.push(Some(rule));
        self.alive.push(true);
        self.maybe_fold()?;
        Ok(handle)
    }

    /// Removes a rule by handle; `false` when there is no live rule of that handle.
    /// Recompiles when the pending changes pass the threshold.
    pub fn remove(&mut self, handle: usize) -> Result<bool, UpdateError> {
        if !self.alive.get(handle).copied().unwrap_or(false) {
            return Ok(false);
        }
        let h = handle as u32;
        if let Some(i) = self.added.iter().position(|a| a.handle == h) {
            self.added.remove(i);
            if let Some(r) = self.rules.get_mut(handle) {
                *r = None;
            }
        } else if let Ok(bi) = self.base_handles.binary_search(&h) {
            if let Some(w) = self.dead.get_mut(bi / 64) {
                *w |= 1 << (bi % 64);
            }
            self.dead_count += 1;
        }
        if let Some(a) = self.alive.get_mut(handle) {
            *a = false;
        }
        self.maybe_fold()?;
        Ok(true)
    }

    /// Recompiles when the overlay and the removals together pass the threshold
    /// (`max(32, base rules / 256)`).
    fn maybe_fold(&mut self) -> Result<(), UpdateError> {
        let threshold = FOLD_MIN.max(self.base_handles.len() / 256);
        if self.added.len() + self.dead_count > threshold {
            self.rebuild()?;
        }
        Ok(())
    }

    /// The handle of the deciding rule for a packet decided at ingress (peer = source,
    /// local = destination), or `None` when no live rule matches.
    #[inline]
    pub fn lookup(&self, pkt: &Packet) -> Option<usize> {
        self.lookup_dir(pkt, pkt.src(), pkt.dst())
    }

    /// [`LiveMatcher::lookup`] with the peer and local addresses given (egress swaps them).
    /// Addresses of different families match nothing, as in [`Matcher::lookup_dir`].
    pub fn lookup_dir(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<usize> {
        if !one_family(pkt, peer, local) {
            return None;
        }
        let base = self.base.search_dir(pkt, peer, local, &self.dead);
        let b = base.map_or(u32::MAX, |(o, _)| o);
        for a in &self.added {
            if a.pos > b {
                break;
            }
            if a.protocol.is_some_and(|p| p != pkt.protocol)
                || pkt.dst_port < a.dport_lo
                || pkt.dst_port > a.dport_hi
            {
                continue;
            }
            let hit = self
                .rules
                .get(a.handle as usize)
                .and_then(|r| r.as_ref())
                .is_some_and(|r| r.matches(pkt, peer, local));
            if hit {
                return Some(a.handle as usize);
            }
        }
        base.and_then(|(_, bi)| self.base_handles.get(bi as usize))
            .map(|&h| h as usize)
    }

    /// The live rules in handle order, with their handles: what a rebuild compiles.
    pub fn live_rules(&self) -> impl Iterator<Item = (usize, &EngineRule)> {
        self.rules
            .iter()
            .zip(&self.alive)
            .enumerate()
            .filter_map(|(h, (r, &alive))| r.as_ref().filter(|_| alive).map(|r| (h, r)))
    }

    /// The number of live rules.
    pub fn len(&self) -> usize {
        self.alive.iter().filter(|&&a| a).count()
    }

    /// Whether no rule is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes pending in the overlay and the removal set: `(inserted, removed)`.
    pub fn pending(&self) -> (usize, usize) {
        (self.added.len(), self.dead_count)
    }

    /// Recompilations since [`LiveMatcher::new`].
    pub fn rebuilds(&self) -> usize {
        self.rebuilds
    }

    /// The compiled base (the live rules of the last build, removals not applied).
    pub fn base(&self) -> &Matcher {
        &self.base
    }
}
