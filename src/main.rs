//! The `sgsim` command line: a thin layer over the library (SPEC §6).
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    std::process::exit(cli::run(args));
}
