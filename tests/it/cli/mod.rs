//! The `sgsim` binary, run as a user runs it.

mod call;
mod commands;
mod journal;
mod names;
mod people;
