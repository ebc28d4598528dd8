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
use std::sync::Arc;

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
    /// The rule.
    rule: EngineRule,
}

/// What a build compiled, shared (immutable) by every clone of the matcher until the next
/// build: cloning a [`LiveMatcher`] copies only the removal bits and the overlay.
#[derive(Debug)]
struct Base {
    /// The base rules by base index, in handle order.
    rules: Vec<EngineRule>,
    /// The handle of each base rule (base index → handle), increasing.
    handles: Vec<u32>,
    /// Base indexes in decision order.
    sorted: Vec<u32>,
    /// The compiled base.
    matcher: Matcher,
}

/// A matcher over a changing rule list. Rules are named by **handles**: the position at
/// which [`LiveMatcher::insert`] appended them (the initial rules are `0..n`); a handle stays
/// valid until its rule is removed and is never reused.
///
/// [`LiveMatcher::lookup`] returns the handle of the deciding rule, the same rule
/// [`linear_scan`](crate::engine::rule::linear_scan) picks among the live rules taken in
/// handle order ([`LiveMatcher::live_rules`]). A clone shares the compiled base (an `Arc`)
/// and copies only the pending changes: a bit per base rule and the overlay.
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
    /// The last build.
    base: Arc<Base>,
    /// Base indexes removed since the build (bit set).
    dead: Vec<u64>,
    dead_count: usize,
    /// Inserted since the build, sorted by decision key (so by `pos` too).
    added: Vec<Added>,
    /// The handle the next insert gets.
    next_handle: u32,
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
        // INVARIANT: rules.len() < u32::MAX - 1.
        let handles: Vec<u32> = (0..rules.len() as u32).collect();
        let next_handle = rules.len() as u32;
        Ok(LiveMatcher {
            base: Arc::new(Base::build(rules, handles)?),
            dead: Vec::new(),
            dead_count: 0,
            added: Vec::new(),
            next_handle,
            rebuilds: 0,
        })
    }

    /// Compiles the live rules afresh and empties the overlay and the removals.
    pub fn rebuild(&mut self) -> Result<(), UpdateError> {
        let mut added = std::mem::take(&mut self.added);
        added.sort_by_key(|a| a.handle);
        let dead = std::mem::take(&mut self.dead);
        // The base's rules are taken when no clone shares them, copied otherwise.
        let (old_rules, old_handles) = match Arc::get_mut(&mut self.base) {
            Some(b) => (std::mem::take(&mut b.rules), std::mem::take(&mut b.handles)),
            None => (self.base.rules.clone(), self.base.handles.clone()),
        };
        let n = old_rules.len() - self.dead_count + added.len();
        let mut rules = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let mut extra = added.into_iter().peekable();
        for (bi, (r, h)) in old_rules.into_iter().zip(old_handles).enumerate() {
            if super::lookup::marked(&dead, bi as u32) {
                continue;
            }
            while let Some(a) = extra.next_if(|a| a.handle < h) {
                handles.push(a.handle);
                rules.push(a.rule);
            }
            handles.push(h);
            rules.push(r);
        }
        for a in extra {
            handles.push(a.handle);
            rules.push(a.rule);
        }
        self.base = Arc::new(Base::build(rules, handles)?);
        self.dead_count = 0;
        self.rebuilds += 1;
        Ok(())
    }

    /// The rule of a live handle.
    pub fn rule(&self, handle: usize) -> Option<&EngineRule> {
        let h = u32::try_from(handle).ok()?;
        if let Some(a) = self.added.iter().find(|a| a.handle == h) {
            return Some(&a.rule);
        }
        let bi = self.base.handles.binary_search(&h).ok()?;
        if super::lookup::marked(&self.dead, bi as u32) {
            return None;
        }
        self.base.rules.get(bi)
    }

    /// Adds a rule; returns its handle. Recompiles when the pending changes pass the
    /// threshold.
    pub fn insert(&mut self, rule: EngineRule) -> Result<usize, UpdateError> {
        let h = self.next_handle;
        if h >= u32::MAX - 1 {
            return Err(UpdateError::TooManyRules);
        }
        let k = key(&rule, h);
        let base = &self.base;
        let pos = base.sorted.partition_point(|&bi| {
            base.rules
                .get(bi as usize)
                .zip(base.handles.get(bi as usize))
                .is_some_and(|(r, &bh)| key(r, bh) < k)
        }) as u32; // INVARIANT: at most the base's rule count, < u32::MAX.
        let at = self.added.partition_point(|a| key(&a.rule, a.handle) < k);
        self.added.insert(
            at,
            Added {
                pos,
                handle: h,
                protocol: rule.protocol,
                dport_lo: rule.dst_ports.start(),
                dport_hi: rule.dst_ports.end(),
                rule,
            },
        );
        self.next_handle += 1;
        self.maybe_fold()?;
        Ok(h as usize)
    }

    /// Removes a rule by handle; `false` when there is no live rule of that handle.
    /// Recompiles when the pending changes pass the threshold.
    pub fn remove(&mut self, handle: usize) -> Result<bool, UpdateError> {
        let Ok(h) = u32::try_from(handle) else {
            return Ok(false);
        };
        if let Some(i) = self.added.iter().position(|a| a.handle == h) {
            self.added.remove(i);
        } else {
            let Ok(bi) = self.base.handles.binary_search(&h) else {
                return Ok(false);
            };
            if super::lookup::marked(&self.dead, bi as u32) {
                return Ok(false);
            }
            if self.dead.is_empty() {
                self.dead = vec![0; self.base.rules.len().div_ceil(64)];
            }
            if let Some(w) = self.dead.get_mut(bi / 64) {
                *w |= 1 << (bi % 64);
            }
            self.dead_count += 1;
        }
        self.maybe_fold()?;
        Ok(true)
    }

    /// Recompiles when the overlay and the removals together pass the threshold
    /// (`max(32, base rules / 256)`).
    fn maybe_fold(&mut self) -> Result<(), UpdateError> {
        if self.added.len() + self.dead_count > self.fold_threshold() {
            self.rebuild()?;
        }
        Ok(())
    }

    /// How many pending changes (inserts plus removals) the matcher holds before it
    /// recompiles: `max(32, base rules / 256)`.
    pub fn fold_threshold(&self) -> usize {
        FOLD_MIN.max(self.base.rules.len() / 256)
    }

    /// The handle of the deciding rule for a packet decided at ingress (peer = source,
    /// local = destination), or `None` when no live rule matches.
    #[inline]
    pub fn lookup(&self, pkt: &Packet) -> Option<usize> {
        self.lookup_dir(pkt, pkt.src(), pkt.dst())
    }

    /// [`LiveMatcher::lookup`] with the peer and local addresses given (egress swaps them).
    /// Addresses of different families match nothing, as in [`Matcher::lookup_dir`].
    #[inline]
    pub fn lookup_dir(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<usize> {
        self.find(pkt, peer, local).map(|(h, _)| h as usize)
    }

    /// [`LiveMatcher::lookup_dir`] giving the deciding rule itself.
    #[inline]
    pub fn lookup_rule(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<&EngineRule> {
        self.find(pkt, peer, local).map(|(_, r)| r)
    }

    /// The deciding rule's handle and the rule.
    #[inline]
    fn find(&self, pkt: &Packet, peer: IpAddr, local: IpAddr) -> Option<(u32, &EngineRule)> {
        // An empty removal set costs the base's lookup nothing.
        let dead: &[u64] = if self.dead_count == 0 {
            &[]
        } else {
            &self.dead
        };
        let base = self.base.matcher.search_dir(pkt, peer, local, dead);
        if !self.added.is_empty() && one_family(pkt, peer, local) {
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
                if a.rule.matches(pkt, peer, local) {
                    return Some((a.handle, &a.rule));
                }
            }
        }
        let (_, bi) = base?;
        let h = *self.base.handles.get(bi as usize)?;
        Some((h, self.base.rules.get(bi as usize)?))
    }

    /// The live rules in handle order, with their handles: what a rebuild compiles.
    pub fn live_rules(&self) -> impl Iterator<Item = (usize, &EngineRule)> {
        let mut added: Vec<&Added> = self.added.iter().collect();
        added.sort_by_key(|a| a.handle);
        let mut extra = added.into_iter().peekable();
        let mut out = Vec::with_capacity(self.len());
        for (bi, (r, &h)) in self.base.rules.iter().zip(&self.base.handles).enumerate() {
            if super::lookup::marked(&self.dead, bi as u32) {
                continue;
            }
            while let Some(a) = extra.next_if(|a| a.handle < h) {
                out.push((a.handle as usize, &a.rule));
            }
            out.push((h as usize, r));
        }
        out.extend(extra.map(|a| (a.handle as usize, &a.rule)));
        out.into_iter()
    }

    /// The number of live rules.
    pub fn len(&self) -> usize {
        self.base.rules.len() - self.dead_count + self.added.len()
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
        &self.base.matcher
    }

    /// Heap bytes of the compiled base's matcher (see [`Matcher::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        self.base.matcher.heap_bytes()
    }
}

impl Base {
    /// Compiles rules named by increasing handles.
    fn build(rules: Vec<EngineRule>, handles: Vec<u32>) -> Result<Base, UpdateError> {
        // The compiler's decision order breaks the last ties by index, which orders as the
        // handles do: it is the order of `key`.
        let (matcher, sorted) = Matcher::compile_in_order(&rules).map_err(UpdateError::Compile)?;
        debug_assert!(handles.is_sorted());
        Ok(Base {
            rules,
            handles,
            sorted,
            matcher,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base's rules in decision order, taken from the compiler, are those sorted by
    /// `key` with the handles — after a rebuild too, where the handles have gaps — with ids
    /// that tie past their first sixteen bytes, prefixes of one another and NUL bytes.
    #[test]
    fn the_base_order_is_the_key_order() {
        let ids = [
            "sgr-0123456789abZ",
            "sgr-0123456789ab",
            "sgr-0123456789ab\0",
            "sgr-0123456789abA",
            "sgr",
            "sgr\0",
            "",
        ];
        let mut rules = crate::generate::generate(300, 9);
        for (i, r) in rules.iter_mut().enumerate() {
            r.id = ids[i % ids.len()].into();
            r.rank = 1 + (i as u32 / 7) % 3;
        }
        let extra: Vec<EngineRule> = rules.iter().step_by(5).cloned().collect();
        let mut live = LiveMatcher::new(rules).unwrap();
        let check = |live: &LiveMatcher| {
            let b = &live.base;
            let mut want: Vec<u32> = (0..b.rules.len() as u32).collect();
            want.sort_by(|&x, &y| {
                let k = |i: u32| key(&b.rules[i as usize], b.handles[i as usize]);
                k(x).cmp(&k(y))
            });
            assert_eq!(b.sorted, want);
        };
        check(&live);
        for (k, r) in extra.into_iter().enumerate() {
            live.insert(r).unwrap();
            live.remove(k * 3).unwrap();
        }
        live.rebuild().unwrap();
        assert!(live.base.handles.windows(2).any(|w| w[1] - w[0] > 1));
        check(&live);
    }
}
