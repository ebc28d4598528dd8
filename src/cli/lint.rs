//! `sgsim lint`: anomalies of every target's policies (SPEC §8).

use clap::{Args, ValueEnum};
use sgsim::analysis::lint::{lint, Severity};
use std::path::PathBuf;

/// The smallest severity that fails the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High only.
    High,
    /// Never fail on findings.
    Never,
}

/// Arguments of `sgsim lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The world file (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// Only these targets (instance, ENI or group ids); may repeat.
    #[arg(long, value_name = "ID")]
    to: Vec<String>,
    /// Print `{"findings": [...]}`.
    #[arg(long)]
    json: bool,
    /// Exit 1 when a finding of this severity or above exists.
    #[arg(long, value_enum, ignore_case = true, default_value = "high")]
    fail_on: FailOn,
}

/// Runs `sgsim lint`; returns the exit status.
pub fn run(args: &LintArgs) -> i32 {
    let world = match super::read_world(&args.world) {
        Ok(w) => w,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let findings = match lint(&world, &args.to) {
        Ok(f) => f,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    if args.json {
        let v = serde_json::json!({
            "findings": findings.iter().map(|f| f.to_json()).collect::<Vec<_>>()
        });
        super::out(&format!("{v}\n"));
    } else if findings.is_empty() {
        super::out("no findings\n");
    } else {
        let mut s = String::new();
        for f in &findings {
            s.push_str(&f.to_text());
            s.push('\n');
        }
        super::out(&s);
    }
    let threshold = match args.fail_on {
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Never => None,
    };
    match threshold {
        Some(t) if findings.iter().any(|f| f.severity >= t) => 1,
        _ => 0,
    }
}
