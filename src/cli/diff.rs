//! `sgsim diff`: what a change alters (SPEC §8): two worlds, or one world and a call, a
//! calls file or a Terraform plan.

use clap::Args;
use sgsim::analysis::diff::diff;
use sgsim::api::{self, CallContext};
use sgsim::model::World;
use sgsim::world_file::io_reason;
use std::path::{Path, PathBuf};

/// Arguments of `sgsim diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old world file (with NEW), or use --world with a change.
    #[arg(value_name = "OLD", requires = "new", conflicts_with = "world")]
    old: Option<PathBuf>,
    /// The new world file.
    #[arg(value_name = "NEW")]
    new: Option<PathBuf>,
    /// The world a change applies to (the what-if form).
    #[arg(long, value_name = "FILE", required_unless_present = "old")]
    world: Option<PathBuf>,
    /// One API call `Action=…&…` applied to --world.
    #[arg(long, value_name = "QUERY", requires = "world", conflicts_with_all = ["calls", "plan"])]
    call: Option<String>,
    /// A file of API calls (as `sgsim call --calls`) applied to --world.
    #[arg(long, value_name = "FILE", requires = "world", conflicts_with = "plan")]
    calls: Option<PathBuf>,
    /// A Terraform plan (`terraform show -json`, alicloud provider) applied to --world.
    #[arg(long, value_name = "PLAN.json", requires = "world")]
    plan: Option<PathBuf>,
    /// Only these targets; may repeat.
    #[arg(long, value_name = "ID")]
    to: Vec<String>,
    /// Also report regions where only the reason or the deciding rule changes.
    #[arg(long)]
    reasons: bool,
    /// Print `{"equivalent": …, "rows": [...]}`.
    #[arg(long)]
    json: bool,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {}", path.display(), io_reason(&e)))
}

fn apply_calls(world: &mut World, calls: &[(usize, String)], origin: &str) -> Result<(), String> {
    let ctx = CallContext::scenario();
    for (line, q) in calls {
        let place = if *line > 0 {
            format!("{origin}:{line}")
        } else {
            origin.to_string()
        };
        let resp =
            api::call(world, q, &ctx).map_err(|e| format!("{place}: undecodable query: {e}"))?;
        if let Some(e) = resp.error {
            return Err(format!(
                "{place}: the call failed: HTTP {} {}: {}",
                e.status,
                e.code.as_str(),
                e.message
            ));
        }
    }
    Ok(())
}

fn worlds(args: &DiffArgs) -> Result<(World, World), String> {
    if let (Some(old), Some(new)) = (&args.old, &args.new) {
        let a = super::read_world(old)?;
        let b = super::read_world(new)?;
        return Ok((a, b));
    }
    let path = args
        .world
        .as_ref()
        .ok_or("give OLD NEW, or --world with --call, --calls or --plan")?;
    let old = super::read_world(path)?;
    let mut new = old.clone();
    if let Some(q) = &args.call {
        apply_calls(&mut new, &[(0, q.clone())], "--call")?;
    } else if let Some(file) = &args.calls {
        let calls = super::call::split_calls(&read(file)?);
        apply_calls(&mut new, &calls, &file.display().to_string())?;
    } else if let Some(plan) = &args.plan {
        sgsim::analysis::plan::apply_plan(&mut new, &read(plan)?, &plan.display().to_string())?;
    } else {
        return Err("--world needs a change: --call, --calls or --plan".into());
    }
    Ok((old, new))
}

/// Runs `sgsim diff`; returns the exit status (0 equivalent, 1 changes, 2 error).
pub fn run(args: &DiffArgs) -> i32 {
    let result = worlds(args).and_then(|(a, b)| diff(&a, &b, &args.to, args.reasons));
    let rows = match result {
        Ok(r) => r,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    if args.json {
        let v = serde_json::json!({
            "equivalent": rows.is_empty(),
            "rows": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
        });
        super::out(&format!("{v}\n"));
    } else if rows.is_empty() {
        super::out("equivalent\n");
    } else {
        let mut s = String::new();
        for r in &rows {
            s.push_str(&r.to_text());
            s.push('\n');
        }
        super::out(&s);
    }
    i32::from(!rows.is_empty())
}
