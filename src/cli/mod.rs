//! Command-line parsing and dispatch. Every command returns its exit status; errors are
//! printed as one line on stderr.

pub mod audit;
pub mod bench;
pub mod call;
pub mod check;
pub mod diff;
pub mod explain;
pub mod lint;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod serve;

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
    /// Measure the compiled matcher: build time, memory, lookups/s (checked against the reference).
    Bench(bench::BenchArgs),
    /// The whole evaluation of one packet: every rule, the first field that failed, the decision.
    Explain(explain::ExplainArgs),
    /// Find shadowed, redundant and unmatchable rules, exposures and quota pressure.
    Lint(lint::LintArgs),
    /// List what each target accepts from a source (the internet by default), exactly.
    Audit(audit::AuditArgs),
    /// Show every packet region whose decision a change alters (two worlds, calls or a Terraform plan).
    Diff(diff::DiffArgs),
    /// Run scenario files (regression tests of a network policy).
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
    /// Serve the ECS API over HTTP on a world file, for the official SDKs (SPEC §9).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Call(a) => call::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Scenario(c) => scenario::run(&c),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Lint(a) => lint::run(&a),
        Command::Audit(a) => audit::run(&a),
        Command::Diff(a) => diff::run(&a),
    }
}

/// Prints a one-line error on stderr (control characters escaped).
pub fn error(message: impl std::fmt::Display) {
    use std::io::Write;
    let line = sgsim::world_file::one_line(&message.to_string());
    let _ = writeln!(std::io::stderr(), "error: {line}");
}

/// Prints text on stdout; a closed stdout (a pipe into `head`) is not an error.
pub fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// Parses the command line. Help and version print as clap lays them out; a usage error is
/// one line on stderr and exit status 2.
pub fn parse() -> Result<Cli, i32> {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = e.print();
            Err(
                if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                },
            )
        }
        Err(e) => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("invalid command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let extra: Vec<&str> = lines
                .filter(|l| !l.starts_with("For more information") && !l.starts_with("Usage:"))
                .collect();
            if extra.is_empty() {
                error(format!("{first} (see --help)"));
            } else {
                error(format!("{first} {} (see --help)", extra.join(" ")));
            }
            Err(2)
        }
    }
}
