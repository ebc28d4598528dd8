//! `sgsim check`: decide one packet, or a batch, against a world and explain the answer.

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use sgsim::engine::compile::WorldMatcher;
use sgsim::engine::reference::{self, Target};
use sgsim::model::{Decision, Direction, GroupType, Reason, World};
use sgsim::packet::{format_packet, parse_packet};
use sgsim::world_file;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// A direction on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// The packet arrives at the target.
    Ingress,
    /// The target sends the packet.
    Egress,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Ingress => Direction::Ingress,
            DirectionArg::Egress => Direction::Egress,
        }
    }
}

/// When to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `sgsim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The world file (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// The target: an instance, ENI or security group id (default: the ENI owning the local address).
    #[arg(long, value_name = "ID")]
    to: Option<String>,
    /// The direction to decide in.
    #[arg(long, value_enum, ignore_case = true, default_value = "ingress")]
    direction: DirectionArg,
    /// Print JSON (one object; one per line with --batch).
    #[arg(long)]
    json: bool,
    /// Decide one packet per line of FILE (`-` for stdin); lines may add `to=ID`, `ingress`, `egress`.
    #[arg(long, value_name = "FILE", conflicts_with = "packet")]
    batch: Option<String>,
    /// Progress on stderr for --batch.
    #[arg(long, value_enum, ignore_case = true, default_value = "auto")]
    progress: Progress,
    /// The packet, e.g. `tcp 10.1.2.3:40000 -> 192.168.1.10:22` (quote it: unquoted, the
    /// shell takes `>` as a redirect).
    #[arg(required_unless_present = "batch", num_args = 1.., allow_hyphen_values = true)]
    packet: Vec<String>,
}

/// A hint for a packet the shell split: several words, or one ending in `-` (the rest of
/// `->` went to a redirect, which made a file named by the destination).
fn split_packet_hint(words: &[String]) -> String {
    let text = words.join(" ");
    if text.trim_end().ends_with('-') {
        " (the packet looks cut at `>`: unquoted, the shell took `> DST` as a redirect and \
         wrote a file named by the destination; quote the packet: 'tcp SRC -> DST:PORT')"
            .to_string()
    } else if words.len() > 1 {
        " (the packet came as several words: quote it: 'tcp SRC -> DST:PORT')".to_string()
    } else {
        String::new()
    }
}

/// Runs `sgsim check`; returns the exit status.
pub fn run(args: &CheckArgs) -> i32 {
    let world = match world_file::load(&args.world) {
        Ok(w) => w,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    match &args.batch {
        Some(input) => batch(&world, args, input),
        None => single(&world, args),
    }
}

fn single(world: &World, args: &CheckArgs) -> i32 {
    let joined = args.packet.join(" ");
    let text = joined.as_str();
    let packet = match parse_packet(text) {
        Ok(p) => {
            if args.packet.len() > 1 {
                super::hint(format!(
                    "the packet came as {} words: quote it, `'{text}'`",
                    args.packet.len()
                ));
            }
            p
        }
        Err(e) => {
            super::error(format!(
                "invalid packet `{}`: {e}{}",
                world_file::quote(text),
                split_packet_hint(&args.packet)
            ));
            return 2;
        }
    };
    let direction = args.direction.into();
    let target = match reference::resolve_target(world, &packet, args.to.as_deref(), direction) {
        Ok(t) => t,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let d = reference::decide_for(world, &packet, direction, &target);
    if args.json {
        super::out(&format!("{}\n", json(world, &d, Some(&target))));
    } else {
        super::out(&explain(world, &d, &target));
    }
    match d.verdict {
        sgsim::model::Verdict::Accept => 0,
        sgsim::model::Verdict::Drop => 1,
    }
}

/// The default that applies when no rule matches, in words.
fn default_text(direction: Direction, group_type: GroupType) -> &'static str {
    match (direction, group_type) {
        (Direction::Ingress, _) => "no rule matched: inbound traffic is dropped by default",
        (Direction::Egress, GroupType::Normal) => {
            "no rule matched: outbound traffic of basic groups is accepted by default"
        }
        (Direction::Egress, GroupType::Enterprise) => {
            "no rule matched: outbound traffic of advanced groups is dropped by default"
        }
    }
}

/// A multi-line explanation of a decision.
pub fn explain(world: &World, d: &Decision, target: &Target<'_>) -> String {
    let mut out = format!(
        "{}  {}  ({} at {})\n",
        d.verdict.as_str().to_uppercase(),
        format_packet(&d.packet),
        d.direction,
        d.target
    );
    match &d.reason {
        Reason::Rule { group, rule } => {
            out.push_str(&format!(
                "  reason: rule {rule} of security group {group}\n"
            ));
            if let Some((_, r)) = world.rule(rule) {
                out.push_str(&format!("  rule:   {}\n", r.summary()));
            }
        }
        Reason::InnerAccess { group } => {
            out.push_str(&format!(
                "  reason: inner access of security group {group} (inner_access_policy Accept): {} is a private address of another member\n",
                d.packet.peer(d.direction)
            ));
        }
        Reason::Default => {
            out.push_str(&format!(
                "  reason: {}\n",
                default_text(d.direction, target.group_type())
            ));
        }
    }
    let groups: Vec<&str> = target.groups.iter().map(|g| g.id.as_str()).collect();
    out.push_str(&format!("  groups: {}\n", groups.join(", ")));
    let local = d.packet.local(d.direction);
    if target.local != local {
        out.push_str(&format!(
            "  note:   public address {local} is decided as the primary private address {} (VPC NAT)\n",
            target.local
        ));
    }
    if let Some(nic) = target.nic {
        out.push_str(&format!(
            "  note:   classic network, {} NIC: only nic_type {} rules apply\n",
            nic.as_str(),
            nic.as_str()
        ));
    }
    out
}

/// A decision as one JSON object (SPEC §6).
pub fn json(world: &World, d: &Decision, target: Option<&Target<'_>>) -> String {
    let rule = d
        .reason
        .rule_id()
        .and_then(|id| world.rule(id))
        .map(|(_, r)| serde_json::to_value(world_file::rule_to_keys(r)).unwrap_or_default());
    let mut v = serde_json::json!({
        "decision": d.verdict.as_str(),
        "reason": d.reason.kind(),
        "rule": d.reason.rule_id(),
        "group": d.reason.group(),
        "packet": format_packet(&d.packet),
        "target": d.target,
        "direction": d.direction.as_str(),
    });
    if let (Some(obj), Some(fields)) = (v.as_object_mut(), rule) {
        obj.insert("rule_fields".into(), fields);
    }
    if let (Some(obj), Some(t)) = (v.as_object_mut(), target) {
        obj.insert(
            "groups".into(),
            serde_json::json!(t.groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>()),
        );
    }
    v.to_string()
}

/// The one-line batch answer: `accept rule sgr-… sg-…`, `accept inner-access sg-…`,
/// `drop default`.
pub fn batch_line(d: &Decision) -> String {
    match &d.reason {
        Reason::Rule { group, rule } => format!("{} rule {rule} {group}", d.verdict.as_str()),
        Reason::InnerAccess { group } => format!("{} inner-access {group}", d.verdict.as_str()),
        Reason::Default => format!("{} default", d.verdict.as_str()),
    }
}

/// One batch input line, split into the packet and its per-line options.
pub struct BatchLine<'a> {
    /// The packet text.
    pub packet: &'a str,
    /// `to=ID`, if given.
    pub to: Option<&'a str>,
    /// `ingress`/`egress`, if given.
    pub direction: Option<Direction>,
}

/// Splits a batch line: trailing `to=ID`, `ingress`, `egress` words (any order) are options.
pub fn split_batch_line(line: &str) -> BatchLine<'_> {
    let mut rest = line.trim_end();
    let mut to = None;
    let mut direction = None;
    while let Some((head, last)) = rest.rsplit_once(char::is_whitespace) {
        let head = head.trim_end();
        if let Some(id) = last.strip_prefix("to=") {
            to.get_or_insert(id);
        } else if let Some(d) = Direction::parse(last) {
            direction.get_or_insert(d);
        } else {
            break;
        }
        rest = head;
    }
    BatchLine {
        packet: rest.trim(),
        to,
        direction,
    }
}

/// Ends the progress line on stderr, so what follows starts a line of its own.
fn end_progress(shown: bool) {
    if shown {
        let _ = writeln!(std::io::stderr());
    }
}

/// Lines read, decided (on all cores) and written per step of a batch.
const CHUNK: usize = 16_384;

/// The answer to one batch line: `None` for a blank or comment line.
type LineAnswer = Result<Option<String>, String>;

fn batch(world: &World, args: &CheckArgs, input: &str) -> i32 {
    let matcher = match WorldMatcher::compile(world) {
        Ok(m) => m,
        Err(e) => {
            super::error(format!("{}: {e}", args.world.display()));
            return 2;
        }
    };
    let mut reader: Box<dyn BufRead> = if input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(input) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                super::error(format!(
                    "{input}: cannot read: {}",
                    world_file::io_reason(&e)
                ));
                return 2;
            }
        }
    };
    let show_progress = match args.progress {
        Progress::Always => true,
        Progress::Never => false,
        Progress::Auto => std::io::stderr().is_terminal(),
    };
    let default_direction: Direction = args.direction.into();
    let answer = |line: &str| -> LineAnswer {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(None);
        }
        let bl = split_batch_line(trimmed);
        let packet = parse_packet(bl.packet).map_err(|e| {
            format!(
                "invalid packet `{}`: {}",
                world_file::quote(bl.packet),
                world_file::quote(&e.to_string())
            )
        })?;
        let direction = bl.direction.unwrap_or(default_direction);
        let to = bl.to.or(args.to.as_deref());
        let d = matcher
            .decide(&packet, to, direction)
            .map_err(|e| e.to_string())?;
        Ok(Some(if args.json {
            json(world, &d, None)
        } else {
            batch_line(&d)
        }))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut lines: Vec<String> = Vec::with_capacity(CHUNK);
    let mut first_line = 1usize;
    let mut decided: u64 = 0;
    loop {
        // Read a chunk; a read error ends the input after the lines read so far.
        lines.clear();
        let mut read_error = None;
        while lines.len() < CHUNK {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => lines.push(line),
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        if first_line == 1 {
            // A byte-order mark before the first line is not part of it.
            if let Some(l) = lines.first_mut() {
                if let Some(rest) = l.strip_prefix('\u{feff}') {
                    *l = rest.to_string();
                }
            }
        }
        let answers: Vec<LineAnswer> = if lines.len() >= 1024 {
            lines
                .par_iter()
                .with_min_len(256)
                .map(|l| answer(l))
                .collect()
        } else {
            lines.iter().map(|l| answer(l)).collect()
        };
        for (i, a) in answers.into_iter().enumerate() {
            match a {
                Ok(None) => {}
                Ok(Some(text)) => {
                    if writeln!(out, "{text}").is_err() {
                        return 0; // stdout closed (a pipe into `head`): stop quietly
                    }
                    decided += 1;
                }
                Err(msg) => {
                    let _ = out.flush();
                    end_progress(show_progress && first_line > 1);
                    super::error(format!("{input}:{}: {msg}", first_line + i));
                    return 2;
                }
            }
        }
        first_line += lines.len();
        if let Some(e) = read_error {
            let _ = out.flush();
            end_progress(show_progress);
            super::error(format!(
                "{input}:{first_line}: cannot read: {}",
                world_file::io_reason(&e)
            ));
            return 2;
        }
        if show_progress {
            let _ = write!(std::io::stderr(), "\r{decided} packets decided");
        }
        if lines.len() < CHUNK {
            break;
        }
    }
    if show_progress {
        let _ = writeln!(std::io::stderr(), "\r{decided} packets decided");
    }
    let _ = out.flush();
    0
}
