//! `sgsim call`: apply API calls to a world file (SPEC §6).
//!
//! The world is read and written through [`sgsim::store::Store`], under its exclusive lock,
//! so concurrent `sgsim call` processes lose nothing; it is written back atomically, and
//! only when it changed. A failed call changes nothing.

use clap::Args;
use sgsim::api::{self, CallContext};
use sgsim::model::World;
use sgsim::store::Store;
use sgsim::world_file::{self, io_reason};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `sgsim call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The world file (`.toml` or `.json`), updated in place.
    #[arg(long, value_name = "FILE")]
    pub world: PathBuf,
    /// Print each response as one compact JSON line.
    #[arg(long)]
    pub json: bool,
    /// Print the responses but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply each call of FILE (`-` for stdin) in order: one per line or per
    /// blank-line-separated block (lines starting with `&` continue a call), `#` comments.
    #[arg(long, value_name = "FILE", conflicts_with = "query")]
    pub calls: Option<String>,
    /// One call as a query string (`Action=…&RegionId=…&…`), or in the aliyun CLI's form:
    /// `ACTION --Name value …` (`AuthorizeSecurityGroup --SecurityGroupId sg-1
    /// --Permissions.1.PortRange 22/22 …`; sgsim's own flags go before ACTION).
    #[arg(value_name = "QUERY", required_unless_present = "calls")]
    pub query: Option<String>,
    /// The `--Name value` parameters of the aliyun form, after ACTION.
    #[arg(
        value_name = "PARAMS",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..,
        requires = "query",
        hide = true
    )]
    pub aliyun: Vec<String>,
}

/// Splits a calls file into calls, each with the line it starts on (1-based).
pub fn split_calls(text: &str) -> Vec<(usize, String)> {
    let mut calls: Vec<(usize, String)> = Vec::new();
    let mut open = false; // whether the last call may continue on the next line
    let text = world_file::reference::strip_bom(text);
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            open = false;
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        let continues = open
            && (t.starts_with('&')
                || calls
                    .last()
                    .is_some_and(|(_, c)| c.trim_end().ends_with('&')));
        match calls.last_mut() {
            Some((_, c)) if continues => c.push_str(t),
            _ => calls.push((i + 1, t.to_string())),
        }
        open = true;
    }
    calls
}

/// Runs `sgsim call`; returns the exit status (0 all succeeded, 1 an API error, 2 other
/// errors).
pub fn run(args: &CallArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            super::error(message);
            2
        }
    }
}

fn run_inner(args: &CallArgs) -> Result<i32, String> {
    let calls = match (&args.calls, &args.query) {
        (Some(file), _) => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| format!("-: cannot read: {}", io_reason(&e)))?;
                s
            } else {
                std::fs::read_to_string(file)
                    .map_err(|e| format!("{file}: cannot read: {}", io_reason(&e)))?
            };
            split_calls(&text)
        }
        (None, Some(q)) if super::aliyun::is_aliyun_form(q) => {
            let mut words = vec![q.clone()];
            words.extend(args.aliyun.iter().cloned());
            vec![(0, super::aliyun::to_query(&words)?)]
        }
        (None, Some(q)) => {
            if let Some(extra) = args.aliyun.first() {
                return Err(format!(
                    "`{}` after the query: give one query (quote it: the shell splits it at spaces and `&`), or the aliyun form ACTION --Name value …",
                    world_file::quote(extra)
                ));
            }
            vec![(0, q.clone())]
        }
        (None, None) => return Err("no call given: pass a query or --calls FILE".into()),
    };
    let store = Store::open(&args.world).map_err(|e| e.to_string())?;
    let _lock = if args.dry_run {
        None
    } else {
        store.check_writable().map_err(|e| e.to_string())?;
        Some(store.lock().map_err(|e| e.to_string())?)
    };
    // The file as written (for in-place edits) and the world with the journal of a running
    // `sgsim serve` folded in: the first write puts the journal's changes into the file,
    // which makes the journal stale.
    let (mut written, mut text) = store.load_with_text().map_err(|e| e.to_string())?;
    let mut world = sgsim::journal::load(&args.world)?.world;
    let ctx = CallContext::now_utc();
    let mut status = 0;
    // Responses wait here until their changes are on disk: no success is printed ahead of
    // the disk. Writes are grouped: at most one per COMMIT_EVERY (or four times the last
    // write's time, for large worlds), and one at the end.
    let mut pending: Vec<String> = Vec::new();
    let mut clock = Clock {
        last: Instant::now(),
        gap: COMMIT_EVERY,
    };
    let commit = |world: &World,
                  written: &mut World,
                  text: &mut String,
                  pending: &mut Vec<String>,
                  clock: &mut Clock|
     -> Result<(), String> {
        if !args.dry_run && world != written {
            let began = Instant::now();
            let (new_text, notes) = store
                .save_edited(text, written, world)
                .map_err(|e| e.to_string())?;
            for n in notes {
                super::note(format!("{}: {n}", args.world.display()));
            }
            *text = new_text;
            *written = world.clone();
            clock.gap = COMMIT_EVERY.max(began.elapsed() * 4);
        }
        clock.last = Instant::now();
        let mut out = std::io::stdout().lock();
        for body in pending.drain(..) {
            let _ = writeln!(out, "{body}");
        }
        let _ = out.flush();
        Ok(())
    };
    for (line, query) in &calls {
        let place = if *line > 0 {
            format!("{}:{line}: ", args.calls.as_deref().unwrap_or("-"))
        } else {
            String::new()
        };
        if let Ok(params) = api::parse_query(query) {
            for (name, near) in api::params::unknown(&params) {
                let hint = near
                    .map(|n| format!(": did you mean {n}?"))
                    .unwrap_or_default();
                super::warn(format!(
                    "{place}unknown parameter {} (ignored, as the cloud does){hint}",
                    world_file::quote(&name)
                ));
            }
        }
        let resp = match api::call(&mut world, query, &ctx) {
            Ok(r) => r,
            Err(e) => {
                commit(&world, &mut written, &mut text, &mut pending, &mut clock)?;
                super::error(format!(
                    "{place}undecodable query: {}",
                    world_file::quote(&e.to_string())
                ));
                status = 2;
                break;
            }
        };
        let body = if args.json {
            serde_json::to_string(&resp.body)
        } else {
            serde_json::to_string_pretty(&resp.body)
        }
        .unwrap_or_default();
        pending.push(body);
        if let Some(e) = &resp.error {
            commit(&world, &mut written, &mut text, &mut pending, &mut clock)?;
            let _ = writeln!(std::io::stderr(), "HTTP {} {}", e.status, e.code);
            status = 1;
            break;
        }
        if clock.last.elapsed() >= clock.gap {
            commit(&world, &mut written, &mut text, &mut pending, &mut clock)?;
        }
    }
    commit(&world, &mut written, &mut text, &mut pending, &mut clock)?;
    Ok(status)
}

/// When the last write of a `--calls` run was, and how long to wait for the next.
struct Clock {
    last: Instant,
    gap: Duration,
}

/// The shortest time between two writes of a `--calls` run.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::split_calls;

    #[test]
    fn calls_file_forms() {
        let text = "# one per line\nAction=A&RegionId=r\nAction=B&RegionId=r\n\nhttps://x/?Action=C\n  &RegionId=r\n  &SecurityGroupId=sg-1\n\nAction=D&\nRegionId=r\n";
        let calls = split_calls(text);
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0], (2, "Action=A&RegionId=r".to_string()));
        assert_eq!(calls[1].1, "Action=B&RegionId=r");
        assert_eq!(
            calls[2].1,
            "https://x/?Action=C&RegionId=r&SecurityGroupId=sg-1"
        );
        assert_eq!(calls[3].1, "Action=D&RegionId=r");
    }
}
