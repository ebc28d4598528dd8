//! `sgsim check`: decide one packet, or a batch, against a world and explain the answer.

use clap::{Args, ValueEnum};
use sgsim::engine::reference;
use sgsim::explain::batch::{AnswerForm, Batch};
use sgsim::explain::Explainer;
use sgsim::model::{Direction, World};
use sgsim::packet::parse_packet;
use sgsim::world_file;
use std::io::IsTerminal;
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
    /// Threads answering --batch lines (reading, parsing, deciding, formatting); default:
    /// every core.
    #[arg(long, value_name = "N", requires = "batch",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
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
    let world = match super::read_world(&args.world) {
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

/// The progress display of a batch: an `indicatif` bar on stderr, on its own line, with the
/// count, the rate and (when the input's size is known) the ETA.
fn progress_bar(size: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = match size {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let style = match size {
        Some(_) => ProgressStyle::with_template(
            "{bar:30} {percent:>3}%  {msg} packets, {binary_bytes_per_sec}, ETA {eta}",
        ),
        None => ProgressStyle::with_template("{spinner} {msg} packets decided, {elapsed}"),
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

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
    // The input as a file (stdin's own descriptor for `-`), so the reader's buffer tells
    // whether more input is at hand without waiting for it.
    let file = if input == "-" {
        use std::os::fd::AsFd;
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
    } else {
        std::fs::File::open(input)
    };
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            super::error(format!(
                "{input}: cannot read: {}",
                world_file::io_reason(&e)
            ));
            return 2;
        }
    };
    // A regular file is answered in blocks; a pipe or a terminal line by line as it comes.
    let meta = file.metadata().ok();
    let regular = meta.as_ref().is_some_and(|m| m.is_file());
    let size = meta.filter(|m| m.is_file()).map(|m| m.len());
    let show_progress = !super::quiet()
        && match args.progress {
            Progress::Always => true,
            Progress::Never => false,
            Progress::Auto => std::io::stderr().is_terminal(),
        };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let sink = super::batch::Sink {
        input,
        regular,
        bar: show_progress.then(|| progress_bar(size)),
        stdout_tty: std::io::stdout().is_terminal(),
    };
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    super::batch::run(&batch, file, threads, sink, out)
}
