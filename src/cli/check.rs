//! `sgsim check`: decide one packet, or a batch, against a world and explain the answer.

use clap::{Args, ValueEnum};
use sgsim::engine::reference;
use sgsim::explain::batch::{AnswerForm, Answers, Batch};
use sgsim::explain::Explainer;
use sgsim::model::{Direction, World};
use sgsim::packet::parse_packet;
use sgsim::{store, world_file};
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
    #[arg(required_unless_present = "batch", num_args = 1..)]
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
    let world = match store::load(&args.world) {
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
    let explainer = Explainer::new(world);
    let view = explainer.view(&d, &target);
    if args.json {
        super::out(&format!("{}\n", view.json()));
    } else {
        super::out(&view.text());
    }
    match d.verdict {
        sgsim::model::Verdict::Accept => 0,
        sgsim::model::Verdict::Drop => 1,
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

fn batch(world: &World, args: &CheckArgs, input: &str) -> i32 {
    let form = if args.json {
        AnswerForm::Json
    } else {
        AnswerForm::Line
    };
    let batch = match Batch::new(world, args.to.clone(), args.direction.into(), form) {
        Ok(b) => b,
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut lines: Vec<String> = Vec::with_capacity(CHUNK);
    let mut parts: Vec<Answers> = Vec::new();
    let mut first_line = 1usize;
    let mut decided: u64 = 0;
    loop {
        // Read a chunk into the line buffers of the last; a read error ends the input after
        // the lines read so far.
        let mut n = 0;
        let mut read_error = None;
        while n < CHUNK {
            if n == lines.len() {
                lines.push(String::new());
            }
            let Some(line) = lines.get_mut(n) else { break };
            line.clear();
            match reader.read_line(line) {
                Ok(0) => break,
                Ok(_) => n += 1,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        if first_line == 1 {
            // A byte-order mark before the first line is not part of it.
            if let Some(l) = lines.first_mut() {
                if l.starts_with('\u{feff}') {
                    l.replace_range(..'\u{feff}'.len_utf8(), "");
                }
            }
        }
        let chunk = lines.get(..n).unwrap_or_default();
        batch.answer_chunk(chunk, &mut parts);
        for part in &parts {
            if out.write_all(&part.text).is_err() {
                return 0; // stdout closed (a pipe into `head`): stop quietly
            }
            decided += part.decided;
            if let Some((i, msg)) = &part.error {
                let _ = out.flush();
                end_progress(show_progress && first_line > 1);
                super::error(format!("{input}:{}: {msg}", first_line + i));
                return 2;
            }
        }
        first_line += n;
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
        if n < CHUNK {
            break;
        }
    }
    if show_progress {
        let _ = writeln!(std::io::stderr(), "\r{decided} packets decided");
    }
    let _ = out.flush();
    0
}
