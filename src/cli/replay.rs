//! `sgsim replay`: recorded flow logs against a world (SPEC §10). The replay runs on Apache
//! DataFusion (and Ballista), which live in the workspace member `crates/sgsim-replay` so
//! that the core builds without them; this command runs that member's `sgsim-replay`
//! binary, found beside this executable, with the same arguments.

use std::ffi::OsString;
use std::path::PathBuf;

/// The arguments, passed on unchanged (`sgsim replay --help` lists them).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct ReplayArgs {
    /// The arguments of `sgsim-replay` (`--world FILE --flows PATH…`, see `sgsim replay --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// The name of the replay binary.
const BINARY: &str = "sgsim-replay";

/// `sgsim-replay` beside the running executable, if it is there.
fn beside() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe
        .parent()?
        .join(format!("{BINARY}{}", std::env::consts::EXE_SUFFIX));
    p.is_file().then_some(p)
}

/// Runs `sgsim-replay` with the arguments; its exit status is this command's.
pub fn run(a: &ReplayArgs) -> i32 {
    let Some(bin) = beside() else {
        super::error(format!(
            "sgsim replay runs the {BINARY} binary, which is not beside this sgsim: build both with `cargo build --release --workspace` (or `cargo build -p sgsim-replay`)"
        ));
        return 2;
    };
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(&a.args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        super::error(format!("{}: cannot run it: {e}", bin.display()));
        2
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(s) => s.code().unwrap_or(2),
        Err(e) => {
            super::error(format!("{}: cannot run it: {e}", bin.display()));
            2
        }
    }
}
