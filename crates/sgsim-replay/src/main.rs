//! `sgsim-replay` (also reached as `sgsim replay`): recorded flow logs against a world on
//! Apache DataFusion (SPEC §10).
#![forbid(unsafe_code)]

use clap::Parser;
use sgsim::replay::report::{to_json, to_text};
use sgsim::replay::InputFormat;
use sgsim_replay::udf::Replayed;
use sgsim_replay::{run, run_cluster, Job};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Replay VPC flow logs against a world: agreement with the logged action, hits per rule,
/// unused rules, and what a change would break.
#[derive(Debug, Parser)]
#[command(name = "sgsim-replay", version)]
struct Args {
    /// The world file (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// Flow-log files, replayed in the order given.
    #[arg(long, value_name = "PATH", num_args = 1.., required = true)]
    flows: Vec<String>,
    /// The format: sls-json, csv, aws or parquet (default: from each file's name).
    #[arg(long)]
    format: Option<String>,
    /// A changed world to compare with.
    #[arg(long, value_name = "NEW", conflicts_with_all = ["call", "calls"])]
    against: Option<PathBuf>,
    /// An API call (`Action=…&…`) making the changed world; may be repeated.
    #[arg(long, value_name = "QUERY", conflicts_with = "calls")]
    call: Vec<String>,
    /// A file of API calls making the changed world (one per line, `#` comments, lines
    /// starting with `&` continue a call).
    #[arg(long, value_name = "FILE")]
    calls: Option<PathBuf>,
    /// How many disagreements and changes to list.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Count malformed records in `bad` instead of failing.
    #[arg(long)]
    skip_bad: bool,
    /// Write one JSON object.
    #[arg(long)]
    json: bool,
    /// Partitions and worker threads (default: every local core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Run on a Ballista cluster: the scheduler's `df://HOST:PORT` (see
    /// `sgsim-replay-scheduler` and `sgsim-replay-executor`); `--threads` is then the
    /// number of partitions.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// Memory the sorts may hold before spilling, in MiB.
    #[arg(long, default_value_t = 512)]
    memory_mib: usize,
}

/// A world file with the journal of a running `sgsim serve` folded in, as every `sgsim`
/// command reads it.
fn load(path: &std::path::Path) -> Result<sgsim::model::World, String> {
    sgsim::journal::load(path).map(|l| l.world)
}

fn changed(args: &Args, base: &sgsim::model::World) -> Result<Option<sgsim::model::World>, String> {
    if let Some(p) = &args.against {
        return load(p).map(Some);
    }
    let mut calls: Vec<(String, String)> = args
        .call
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("--call {}", i + 1), c.clone()))
        .collect();
    if let Some(p) = &args.calls {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("{}: {}", p.display(), sgsim::world_file::io_reason(&e)))?;
        let mut cur: Option<(usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match &mut cur {
                Some((_, c)) if t.starts_with('&') => c.push_str(t),
                _ => {
                    if let Some((l, c)) = cur.take() {
                        calls.push((format!("{} line {l}", p.display()), c));
                    }
                    cur = Some((i + 1, t.to_string()));
                }
            }
        }
        if let Some((l, c)) = cur {
            calls.push((format!("{} line {l}", p.display()), c));
        }
    }
    if calls.is_empty() {
        return Ok(None);
    }
    let mut w = base.clone();
    let ctx = sgsim::api::CallContext::scenario();
    for (place, q) in calls {
        let r = sgsim::api::call(&mut w, &q, &ctx).map_err(|e| format!("{place}: {e}"))?;
        if !r.is_ok() {
            return Err(format!("{place}: the call failed: {}", r.body));
        }
    }
    Ok(Some(w))
}

fn main_inner(args: &Args) -> Result<String, String> {
    let format = match &args.format {
        None => None,
        Some(f) => Some(
            InputFormat::parse(f)
                .ok_or_else(|| format!("--format {f}: not one of sls-json, csv, aws, parquet"))?,
        ),
    };
    let base = load(&args.world)?;
    let new = changed(args, &base)?;
    let world = Arc::new(Replayed::new(&base)?);
    let against = match &new {
        Some(w) => Some(Arc::new(Replayed::new(w)?)),
        None => None,
    };
    let job = Job {
        files: args.flows.clone(),
        format,
        skip_bad: args.skip_bad,
        show: args.show,
        threads: args.threads,
        memory_limit: args.memory_mib << 20,
    };
    let tally = match &args.cluster {
        Some(url) => run_cluster(&job, url, world.clone(), against)?,
        None => run(&job, world.clone(), against)?,
    };
    let what_if = new.is_some();
    Ok(if args.json {
        format!("{}\n", to_json(&tally, &world.decider, what_if))
    } else {
        to_text(&tally, &world.decider, what_if)
    })
}

fn main() {
    let args = Args::parse();
    match main_inner(&args) {
        Ok(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
        Err(m) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                sgsim::world_file::one_line(&m)
            );
            std::process::exit(2);
        }
    }
}
