//! `sgsim scenario run`.

use clap::{Args, Subcommand};
use sgsim::scenario;
use std::path::PathBuf;

/// Scenario commands.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files or folders (default `scenarios/`); the last line is `N passed, N failed`.
    Run(RunArgs),
}

/// Arguments of `sgsim scenario run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (searched recursively for `*.toml`, skipping folders named
    /// `worlds`, where shared world files live).
    paths: Vec<PathBuf>,
    /// Keep only scenarios whose path contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Runs a scenario command; returns the exit status.
pub fn run(cmd: &ScenarioCommand) -> i32 {
    let ScenarioCommand::Run(args) = cmd;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let mut files = match scenario::collect(&paths) {
        Ok(f) => f,
        Err(e) => {
            super::error(e);
            return 2;
        }
    };
    if let Some(f) = &args.filter {
        files.retain(|p| p.display().to_string().contains(f.as_str()));
    }
    if files.is_empty() {
        super::error("no scenario files found");
        return 2;
    }
    let mut outcomes = Vec::new();
    for f in &files {
        let o = scenario::run_file(f);
        match &o.failure {
            None => super::out(&format!("ok   {}\n", f.display())),
            Some(e) => super::out(&format!(
                "FAIL {}: {}\n",
                f.display(),
                sgsim::world_file::one_line(e)
            )),
        }
        outcomes.push(o);
    }
    if let Some(j) = &args.junit {
        if let Err(e) = std::fs::write(j, scenario::junit(&outcomes)) {
            super::error(format!(
                "{}: cannot write the JUnit report: {}",
                j.display(),
                sgsim::world_file::io_reason(&e)
            ));
            return 2;
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    super::out(&format!(
        "{} passed, {failed} failed\n",
        outcomes.len() - failed
    ));
    i32::from(failed > 0)
}
