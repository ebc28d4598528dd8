//! `sgsim explain`: the whole evaluation of one packet (SPEC §8).

use super::check::DirectionArg;
use clap::Args;
use sgsim::analysis::explain::{explain, Explanation};
use sgsim::explain::{Explainer, GroupName};
use sgsim::model::{SecurityGroup, Verdict, World};
use sgsim::packet::{format_packet, parse_packet};
use std::path::PathBuf;

/// Arguments of `sgsim explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The world file (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// The target: an instance, ENI or security group id (default: the ENI owning the local address).
    #[arg(long, value_name = "ID")]
    to: Option<String>,
    /// The direction to decide in.
    #[arg(long, value_enum, ignore_case = true, default_value = "ingress")]
    direction: DirectionArg,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The packet, e.g. `tcp 10.1.2.3:40000 -> 192.168.1.10:22`.
    packet: String,
}

/// Runs `sgsim explain`; returns the exit status (0 accept, 1 drop, 2 error).
pub fn run(args: &ExplainArgs) -> i32 {
    let world = match super::read_world(&args.world) {
        Ok(w) => w,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let packet = match parse_packet(&args.packet) {
        Ok(p) => p,
        Err(e) => {
            super::error(format!("invalid packet `{}`: {e}", args.packet));
            return 2;
        }
    };
    let e = match explain(&world, &packet, args.to.as_deref(), args.direction.into()) {
        Ok(e) => e,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    if args.json {
        super::out(&format!("{}\n", json(&world, &e)));
    } else {
        super::out(&text(&world, &e));
    }
    match e.decision.verdict {
        Verdict::Accept => 0,
        Verdict::Drop => 1,
    }
}

/// A group with its name (`null` when the world gives none), as the decision JSON has it.
fn group_name(g: &SecurityGroup) -> GroupName<'_> {
    GroupName::of(g)
}

fn json(world: &World, e: &Explanation<'_>) -> serde_json::Value {
    sgsim::explain::explanation_json(world, e)
}

fn text(world: &World, e: &Explanation<'_>) -> String {
    let d = &e.decision;
    let mut out = format!(
        "packet:  {}\ntarget:  {} ({})\n",
        format_packet(&d.packet),
        d.target,
        d.direction.as_str()
    );
    out.push_str(&format!(
        "nic:     {}\n",
        e.nic.map_or("vpc (every rule applies)", |n| n.as_str())
    ));
    if let Some(a) = e.nat {
        out.push_str(&format!("nat:     the public address is decided as {a}\n"));
    }
    let names = Explainer::new(world);
    let named = |id: &str| {
        GroupName {
            id,
            name: names.group_name(id),
        }
        .to_string()
    };
    let groups: Vec<String> = e
        .target
        .groups
        .iter()
        .map(|g| group_name(g).to_string())
        .collect();
    out.push_str(&format!("groups:  {}\n", groups.join(", ")));
    out.push_str(&format!(
        "inner access: {}\n",
        e.inner_access
            .as_deref()
            .map_or("no".to_string(), |g| format!("yes, by {}", named(g)))
    ));
    out.push_str("rules (evaluation order: priority, drop before accept, id):\n");
    for r in &e.rules {
        let summary = world
            .rule(&r.id)
            .map(|(_, rule)| rule.summary())
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<8} {} {} p{} {}  [{}]\n",
            if r.matched { "matched" } else { "-" },
            r.id,
            r.group,
            r.priority,
            r.policy.as_lower(),
            r.failed
                .map_or(summary.clone(), |f| format!("{summary}; fails on {f}"))
        ));
    }
    out.push_str(&format!(
        "decision: {} by {}{}\n",
        d.verdict.as_str(),
        d.reason.kind(),
        d.reason
            .rule_id()
            .map(|r| format!(" {r}"))
            .or(d.reason.group().map(|g| format!(" {}", named(g))))
            .unwrap_or_default()
    ));
    out
}
