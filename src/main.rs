//! The `sgsim` command line: a thin layer over the library (SPEC §6).
#![forbid(unsafe_code)]

mod cli;

fn main() {
    let code = match cli::parse() {
        Ok(args) => cli::run(args),
        Err(code) => code,
    };
    std::process::exit(code);
}
