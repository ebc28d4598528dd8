//! Command-line parsing and dispatch. Every command returns its exit status; errors are
//! printed as one line on stderr.

pub mod call;
pub mod check;
pub mod scenario;

use clap::{Parser, Subcommand};

/// sgsim: simulate Alibaba Cloud ECS security groups and decide packets against them.
#[derive(Debug, Parser)]
#[command(name = "sgsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide a packet (or a batch of packets) against a world, and say why.
    Check(check::CheckArgs),
    /// Apply ECS API calls (`Action=…&…`) to a world file and print the responses.
    Call(call::CallArgs),
    /// Run scenario files (regression tests of a network policy).
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Call(a) => call::run(&a),
        Command::Scenario(c) => scenario::run(&c),
    }
}

/// Prints a one-line error on stderr.
pub fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}
