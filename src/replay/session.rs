//! The session model of SPEC §10: connections per ENI keyed by protocol and the two
//! unordered ends; records ordered by `start`, then SYN-only, then input order; the first
//! record decided as a new connection; an accepted connection open for every record that
//! starts at most 910 s after the largest `end` so far.

use super::record::Record;
use crate::model::{Reason, Verdict};
use std::cmp::Ordering;
use std::net::IpAddr;

/// How long an accepted connection stays open after the largest `end` of its records.
pub const SESSION_SECONDS: i64 = 910;

/// A connection: the ENI (its index in the world's ENI table), the protocol and the two
/// address:port ends, unordered (stored smaller first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    /// The ENI's index.
    pub eni: usize,
    /// IP protocol number.
    pub protocol: u8,
    /// The smaller end.
    pub a: (IpAddr, u16),
    /// The larger end.
    pub b: (IpAddr, u16),
}

impl ConnKey {
    /// The connection of a record at an ENI.
    pub fn of(eni: usize, r: &Record) -> ConnKey {
        let x = (r.src, r.src_port);
        let y = (r.dst, r.dst_port);
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        ConnKey {
            eni,
            protocol: r.protocol,
            a,
            b,
        }
    }

    /// A 64-bit hash that is the same on every machine (FNV-1a), for partitioning.
    pub fn stable_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&(self.eni as u64).to_le_bytes());
        eat(&[self.protocol]);
        for (addr, port) in [self.a, self.b] {
            match addr {
                IpAddr::V4(v) => eat(&v.octets()),
                IpAddr::V6(v) => eat(&v.octets()),
            }
            eat(&port.to_le_bytes());
        }
        h
    }
}

/// The replay order of a connection's records: `start`, then SYN-only first, then input
/// order (`seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    /// `start`.
    pub start: i64,
    /// Whether the record's flags show a SYN without ACK.
    pub syn_only: bool,
    /// The record's place in the input.
    pub seq: u64,
}

impl Ord for OrderKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.start
            .cmp(&other.start)
            .then_with(|| other.syn_only.cmp(&self.syn_only))
            .then_with(|| self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for OrderKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What a new-connection decision gave: a verdict and why, or why no decision could be
/// made (the ENI does not own the record's local address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// Decided by §3.
    Decided(Verdict, Reason),
    /// No target: the message says why.
    NoTarget(String),
}

/// The outcome of one record in its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Decided as a new connection.
    New(Verdict, Reason),
    /// Accepted as part of an open connection, opened by a decision for this reason.
    Session(Reason),
    /// A new connection that could not be decided.
    NoTarget(String),
}

impl Step {
    /// The verdict, if decided.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Step::New(v, _) => Some(*v),
            Step::Session(_) => Some(Verdict::Accept),
            Step::NoTarget(_) => None,
        }
    }
}

/// The state of one connection while its records are replayed in order.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// `Some((largest end, opening reason))` while a connection is open.
    open: Option<(i64, Reason)>,
}

impl Session {
    /// A connection with nothing open.
    pub fn new() -> Session {
        Session::default()
    }

    /// Whether a record starting at `start` falls inside the open connection.
    pub fn covers(&self, start: i64) -> bool {
        self.open
            .as_ref()
            .is_some_and(|(end, _)| start <= end.saturating_add(SESSION_SECONDS))
    }

    /// The largest `end` of the open connection.
    pub fn open_until(&self) -> Option<i64> {
        self.open
            .as_ref()
            .map(|(end, _)| end.saturating_add(SESSION_SECONDS))
    }

    /// Replays the next record (in [`OrderKey`] order) when it falls inside the open
    /// connection, as [`Session::step`] would (accepted, extending the connection; its step
    /// is [`Step::Session`] with the opening reason): the opening reason then; `None`, with
    /// nothing changed, when it does not. Lets a caller that keeps the step of the open
    /// connection replay its records without copying the reason for each.
    pub fn ride(&mut self, start: i64, end: i64) -> Option<&Reason> {
        match &mut self.open {
            Some((last, reason)) if start <= last.saturating_add(SESSION_SECONDS) => {
                *last = (*last).max(end);
                Some(reason)
            }
            _ => None,
        }
    }

    /// Replays the next record (in [`OrderKey`] order): inside an open connection it is
    /// accepted and extends it; otherwise `decide` decides it as a new connection, which
    /// opens when accepted and leaves nothing open otherwise.
    pub fn step(&mut self, start: i64, end: i64, decide: impl FnOnce() -> Fresh) -> Step {
        if let Some((last, reason)) = &mut self.open {
            if start <= last.saturating_add(SESSION_SECONDS) {
                *last = (*last).max(end);
                return Step::Session(reason.clone());
            }
        }
        match decide() {
            Fresh::Decided(Verdict::Accept, reason) => {
                self.open = Some((end, reason.clone()));
                Step::New(Verdict::Accept, reason)
            }
            Fresh::Decided(Verdict::Drop, reason) => {
                self.open = None;
                Step::New(Verdict::Drop, reason)
            }
            Fresh::NoTarget(m) => {
                self.open = None;
                Step::NoTarget(m)
            }
        }
    }
}
