//! `sgsim-replay-scheduler`: a Ballista scheduler with the replay's extension codecs, for
//! `sgsim replay --cluster df://HOST:PORT`.
#![forbid(unsafe_code)]

use clap::Parser;
use std::io::Write;

/// A Ballista scheduler that can plan `sgsim replay` jobs.
#[derive(Debug, Parser)]
#[command(name = "sgsim-replay-scheduler", version)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The gRPC port (the PORT of `--cluster df://HOST:PORT`).
    #[arg(long, default_value_t = 50050)]
    port: u16,
}

fn main() {
    let args = Args::parse();
    let result = format!("{}:{}", args.host, args.port)
        .parse::<std::net::SocketAddr>()
        .map_err(|e| format!("--host {} --port {}: {e}", args.host, args.port))
        .and_then(|addr| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("starting the runtime: {e}"))?
                .block_on(sgsim_replay::cluster::serve_scheduler(addr))
        });
    if let Err(m) = result {
        let _ = writeln!(
            std::io::stderr(),
            "error: {}",
            sgsim::world_file::one_line(&m)
        );
        std::process::exit(2);
    }
}
