//! Questions about whole rule sets (SPEC §8): the packet space of a policy, the partition of
//! that space by deciding rule, and the questions built on it — lint, audit, diff and the
//! full evaluation of one packet. Every answer is exact, computed from the rules' geometry,
//! and comes with a witness packet that the reference evaluator decides as the answer says.
//!
//! Representation: a region is a union of disjoint boxes ([`space::PacketBox`]) over
//! protocol × peer address × peer port × local address × local port, one family each; the
//! protocol field is a 256-bit set, the others are intervals. A policy is computed by one
//! sweep in evaluation order that takes from the undecided region what each decider matches
//! ([`policy`]), split along the peer address with one sub-sweep per distinct set of active
//! deciders ([`sweep`]: group peers of hundreds of scattered members made the plain sweep
//! quadratic). Lint keeps a policy factored by its distinct active sets instead
//! ([`atoms`], over the world's peer [`atlas`]), and writes regions out only for witnesses.
//! Why boxes won, and what was measured, is in `docs/analysis.md`.

pub mod allow;
pub mod atlas;
pub mod atoms;
pub mod audit;
pub mod diff;
pub mod explain;
pub mod facts;
pub mod interval;
pub mod lint;
pub mod plan;
pub mod policy;
pub mod space;
pub mod sweep;
