//! `sgsim-replay-executor`: a Ballista executor with the replay's extension codecs, so the
//! replay's functions, worlds and session fold can run on it.
#![forbid(unsafe_code)]

use clap::Parser;
use sgsim_replay::cluster::{serve_executor, ExecutorOptions};
use std::io::Write;

/// A Ballista executor that can run `sgsim replay` tasks.
#[derive(Debug, Parser)]
#[command(name = "sgsim-replay-executor", version)]
struct Args {
    /// The address to listen on and advertise.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The Arrow Flight port (shuffle data).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The gRPC port.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// The scheduler (`HOST:PORT`).
    #[arg(long, default_value = "localhost:50050")]
    scheduler: String,
    /// Task slots (default: every local core).
    #[arg(long, default_value_t = 0)]
    slots: usize,
    /// The directory for shuffle files (default: a temporary one).
    #[arg(long)]
    work_dir: Option<String>,
}

fn main() {
    let args = Args::parse();
    let result = (|| {
        let (host, port) = args
            .scheduler
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("--scheduler {}: not HOST:PORT", args.scheduler))?;
        let slots = if args.slots == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            args.slots
        };
        let o = ExecutorOptions {
            host: args.host.clone(),
            port: args.port,
            grpc_port: args.grpc_port,
            scheduler_host: host,
            scheduler_port: port,
            slots,
            work_dir: args.work_dir.clone(),
        };
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the runtime: {e}"))?
            .block_on(serve_executor(&o))
    })();
    if let Err(m) = result {
        let _ = writeln!(
            std::io::stderr(),
            "error: {}",
            sgsim::world_file::one_line(&m)
        );
        std::process::exit(2);
    }
}
