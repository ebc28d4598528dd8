//! Command-line parsing and dispatch. Every command returns its exit status; errors are
//! printed as one line on stderr.

pub mod aliyun;
pub mod audit;
pub mod batch;
pub mod bench;
pub mod call;
pub mod check;
pub mod diff;
pub mod explain;
pub mod lint;
pub mod replay;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod serve;

use clap::{Parser, Subcommand};

/// sgsim: simulate Alibaba Cloud ECS security groups and decide packets against them.
#[derive(Debug, Parser)]
#[command(name = "sgsim", version, propagate_version = true, about, long_about = None)]
pub struct Cli {
    /// No notes, warnings, hints or progress on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// Whether `-q/--quiet` was given.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether notes, warnings, hints and progress are silenced (`-q`).
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
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
    /// Replay recorded VPC flow logs against a world: agreement, hits per rule, what a change breaks.
    Replay(replay::ReplayArgs),
    /// Run scenario files (regression tests of a network policy).
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
    /// Serve the ECS API over HTTP on a world file, for the official SDKs (SPEC §9).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Print a shell completion script: `sgsim completions bash > /etc/bash_completion.d/sgsim`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `sgsim man > sgsim.1`, `sgsim man check > sgsim-check.1`, or
    /// write them all with `--dir`.
    Man {
        /// The command whose page to print (`check`, `scenario run`, …); none: `sgsim` itself.
        #[arg(value_name = "COMMAND", conflicts_with = "dir")]
        command: Vec<String>,
        /// Write every page (`sgsim.1`, `sgsim-check.1`, `sgsim-scenario-run.1`, …) into DIR
        /// and list the files written.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// The world a command reads: the file with the journal of a running `sgsim serve`
/// folded in, so every command sees serve's acknowledged calls.
pub fn read_world(path: &std::path::Path) -> Result<sgsim::model::World, String> {
    sgsim::journal::load(path).map(|l| l.world)
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> i32 {
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    // `scenario run` writes nothing to stderr after its summary line: no notes there.
    let notes = !matches!(cli.command, Command::Scenario(_));
    let code = run_command(cli.command);
    for n in sgsim::world_file::take_load_notes() {
        if notes {
            note(n);
        }
    }
    code
}

fn run_command(command: Command) -> i32 {
    match command {
        Command::Check(a) => check::run(&a),
        Command::Call(a) => call::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Scenario(c) => scenario::run(&c),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(&a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "sgsim", &mut buf);
            out(&String::from_utf8_lossy(&buf));
            0
        }
        Command::Man { command, dir } => man(&command, dir.as_deref()),
        Command::Explain(a) => explain::run(&a),
        Command::Lint(a) => lint::run(&a),
        Command::Audit(a) => audit::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Replay(a) => replay::run(&a),
    }
}

/// The built command line, with the display names (`sgsim-check`) man pages are named by.
fn built_command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// A command and every visible subcommand under it, depth first, the command first.
fn all_commands(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
    out.push(cmd.clone());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        all_commands(sub, out);
    }
}

/// `sgsim man`: one page on stdout, or every page written into `dir`.
fn man(path: &[String], dir: Option<&std::path::Path>) -> i32 {
    let root = built_command();
    let render = |cmd: clap::Command| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf).map(|()| buf)
    };
    if let Some(dir) = dir {
        let mut pages = Vec::new();
        all_commands(&root, &mut pages);
        let mut written = String::new();
        for cmd in pages {
            let file = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
            let result = render(cmd).and_then(|buf| std::fs::write(&file, buf));
            if let Err(e) = result {
                error(format!(
                    "{}: cannot write the man page: {}",
                    file.display(),
                    sgsim::world_file::io_reason(&e)
                ));
                return 2;
            }
            written.push_str(&format!("{}\n", file.display()));
        }
        out(&written);
        return 0;
    }
    let mut cmd = root;
    for (k, name) in path.iter().enumerate() {
        let Some(sub) = cmd
            .get_subcommands()
            .find(|s| !s.is_hide_set() && s.get_name() == name.as_str())
            .cloned()
        else {
            let known: Vec<&str> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name())
                .collect();
            error(format!(
                "no command `{}` for a man page: the commands{} are {}",
                sgsim::world_file::quote(&path.get(..=k).unwrap_or_default().join(" ")),
                if k > 0 {
                    format!(" of `{}`", path.get(..k).unwrap_or_default().join(" "))
                } else {
                    String::new()
                },
                known.join(", ")
            ));
            return 2;
        };
        cmd = sub;
    }
    match render(cmd) {
        Ok(buf) => {
            out(&String::from_utf8_lossy(&buf));
            0
        }
        Err(e) => {
            error(format!("cannot write the man page: {e}"));
            2
        }
    }
}

/// The longest error line printed, in characters; a longer one is cut (input quoted in it
/// is already bounded, this is the last guard).
const ERROR_LIMIT: usize = 1000;

/// Prints a one-line error on stderr (control characters escaped, at most
/// [`ERROR_LIMIT`] characters).
pub fn error(message: impl std::fmt::Display) {
    use std::io::Write;
    let mut line = sgsim::world_file::one_line(&message.to_string());
    if let Some((end, _)) = line.char_indices().nth(ERROR_LIMIT) {
        let total = line.len();
        line.truncate(end);
        line.push_str(&format!("… ({total} bytes)"));
    }
    let _ = writeln!(std::io::stderr(), "error: {line}");
}

/// Prints a one-line note on stderr (`note: …`), for what the user should know but is not
/// an error; silenced by `-q`.
pub fn note(message: impl std::fmt::Display) {
    say("note", message);
}

/// Prints a one-line warning on stderr (`warning: …`), unless `-q`.
pub fn warn(message: impl std::fmt::Display) {
    say("warning", message);
}

/// Prints a one-line hint on stderr (`hint: …`), unless `-q`.
pub fn hint(message: impl std::fmt::Display) {
    say("hint", message);
}

/// Prints `KIND: MESSAGE` on one line of stderr, unless `-q`.
fn say(kind: &str, message: impl std::fmt::Display) {
    use std::io::Write;
    if quiet() {
        return;
    }
    let line = sgsim::world_file::one_line(&message.to_string());
    let _ = writeln!(std::io::stderr(), "{kind}: {line}");
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
            // An unquoted packet split by the shell: `->` looks like a flag to clap.
            if first.contains("'->'") || first.contains("'-'") {
                error(format!(
                    "{first}: the packet looks split by the shell: quote it, 'tcp SRC -> DST:PORT' (unquoted, `>` is also a redirect) (see --help)"
                ));
                return Err(2);
            }
            if extra.is_empty() {
                error(format!("{first} (see --help)"));
            } else {
                error(format!("{first} {} (see --help)", extra.join(" ")));
            }
            Err(2)
        }
    }
}
