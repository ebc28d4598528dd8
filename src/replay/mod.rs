//! Replaying VPC flow logs against a world (SPEC §10): the records and their readers, the
//! stateful session model, deciding new connections with the compiled matcher, counting
//! and reporting, an in-memory replay (the oracle of the DataFusion engine in
//! `crates/sgsim-replay`) and a seeded generator of flow logs.
//!
//! Everything here is plain Rust; the engine that runs a replay over large inputs on all
//! cores lives in the `sgsim-replay` workspace member, so the core builds without it.

pub mod decide;
pub mod gen;
pub mod local;
pub mod read;
pub mod record;
pub mod report;
pub mod session;

pub use decide::Decider;
pub use read::{InputFormat, ReadError, Reader};
pub use record::{Item, Record};
pub use report::Tally;
pub use session::{ConnKey, OrderKey, Session, Step, SESSION_SECONDS};
