//! Deciding packets: the engine's rule model, the reference evaluator (the slow oracle that
//! defines the semantics) and the compiled matcher.

pub mod compile;
pub mod lower;
pub mod matcher;
pub mod reference;
pub mod rule;
pub mod target;
