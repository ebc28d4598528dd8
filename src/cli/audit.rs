//! `sgsim audit`: what each target accepts from a source (SPEC §8).

use super::check::DirectionArg;
use clap::Args;
use sgsim::analysis::audit::{audit, Source};
use std::path::PathBuf;

/// Arguments of `sgsim audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The world file (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// Only these targets (instance, ENI or group ids); may repeat.
    #[arg(long, value_name = "ID")]
    to: Vec<String>,
    /// Where packets come from: `internet`, `any`, a CIDR or `sg-…` (its members' private addresses).
    #[arg(long, value_name = "SOURCE", default_value = "internet")]
    from: String,
    /// The direction.
    #[arg(long, value_enum, ignore_case = true, default_value = "ingress")]
    direction: DirectionArg,
    /// Print `{"rows": [...]}`.
    #[arg(long)]
    json: bool,
}

/// Runs `sgsim audit`; returns the exit status (0, or 2 on error).
pub fn run(args: &AuditArgs) -> i32 {
    let world = match super::read_world(&args.world) {
        Ok(w) => w,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let source = match Source::parse(&args.from) {
        Ok(s) => s,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let rows = match audit(&world, &args.to, &source, args.direction.into()) {
        Ok(r) => r,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    if args.json {
        let v = serde_json::json!({"rows": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()});
        super::out(&format!("{v}\n"));
    } else if rows.is_empty() {
        super::out(&format!("nothing is accepted from {}\n", args.from));
    } else {
        let mut s = String::new();
        for r in &rows {
            s.push_str(&r.to_text());
            s.push('\n');
        }
        super::out(&s);
    }
    0
}
