//! The `sgsim` command line: a thin layer over the library (SPEC §6).
#![forbid(unsafe_code)]

mod cli;

use cap::Cap;
use std::alloc::System;

/// Counts live heap bytes so `sgsim bench` can report the matcher's memory.
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn main() {
    sgsim::alloc_count::set_source(|| ALLOCATOR.allocated());
    let code = match cli::parse() {
        Ok(args) => cli::run(args),
        Err(code) => code,
    };
    std::process::exit(code);
}
