//! `sgsim serve`: the ECS endpoint (SPEC §9).

use clap::Args;
use sgsim::serve::{self, credentials::Credentials};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `sgsim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The world file (`.toml` or `.json`), updated in place by every change.
    #[arg(long, value_name = "FILE")]
    pub world: PathBuf,
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The accepted access keys: a TOML file of `[[keys]] id = "…" secret = "…"`
    /// (else the variable SGSIM_CREDENTIALS, `id:secret[,id:secret]`).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure_dev")]
    pub credentials: Option<PathBuf>,
    /// Accept the development key `testid`/`testsecret` (signatures are still checked).
    #[arg(long)]
    pub insecure_dev: bool,
}

/// Runs `sgsim serve`; returns the exit status (0 after a clean stop, 2 on errors).
pub fn run(args: &ServeArgs) -> i32 {
    let keys = match (&args.credentials, args.insecure_dev) {
        (Some(path), _) => Credentials::from_file(path),
        (None, true) => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: --insecure-dev: accepting the development key testid/testsecret"
            );
            Ok(Credentials::insecure_dev())
        }
        (None, false) => match std::env::var("SGSIM_CREDENTIALS") {
            Ok(v) => Credentials::from_env_value(&v),
            Err(_) => Err(
                "no credentials: pass --credentials FILE, set SGSIM_CREDENTIALS=id:secret, or use --insecure-dev"
                    .to_string(),
            ),
        },
    };
    let keys = match keys {
        Ok(k) => k,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    let config = serve::Config {
        world: args.world.clone(),
        listen: args.listen,
        keys,
    };
    let world = args.world.display().to_string();
    match serve::run(config, |addr| {
        let _ = writeln!(
            std::io::stderr(),
            "sgsim serve: listening on http://{addr} (world {world})"
        );
    }) {
        Ok(()) => 0,
        Err(e) => {
            super::error(e);
            2
        }
    }
}
