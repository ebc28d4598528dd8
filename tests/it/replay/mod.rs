//! `sgsim replay` in the core: the readers, the session rules of SPEC §10 case by case, a
//! property over generated flow logs, and the hand-off to the `sgsim-replay` binary.

mod cli;
mod prop;
mod read;
mod session;
