//! Support shared by every integration test: case counts, temporary folders, running the
//! built `sgsim` binary, loading a world from text; and, in submodules, the strategies and
//! world generators of the property tests.
//!
//! Put a helper here as soon as a second test module needs it, instead of copying it.

pub mod arb;
/// Claims of the analysis tests: every witness re-decided by the reference evaluator.
pub mod claims;
/// The random rule sets and packets of the matcher property tests, one copy for both.
pub mod rules;
pub mod world_doc;
pub mod world_gen;
/// The random worlds of the world matcher and the analysis tests, one copy for both.
pub mod worlds;

use proptest::prelude::ProptestConfig;
use sgsim::model::World;
use sgsim::world_file::{load_str, Format};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------
// Configuration.

/// The number of property-test cases: `SGSIM_PROPTEST_CASES` when set, else `default`.
/// Defaults are modest so the suite runs in minutes in a debug build.
pub fn cases(default: u32) -> u32 {
    std::env::var("SGSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A proptest configuration with [`cases`]`(default)` cases.
pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Files.

/// Splits a shell command line of the docs into words, as a shell does for plain words
/// and quotes: spaces split outside quotes, `'…'` and `"…"` quote (the other kind is
/// literal inside them). Enough for the README's commands.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (c, quote) {
            ('\'' | '"', None) => {
                quote = Some(c);
                any = true;
            }
            (_, Some(q)) if c == q => quote = None,
            (' ', None) => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            _ => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The package root (where `Cargo.toml`, `examples/` and `scenarios/` are).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Loads a TOML world from text, panicking with the error if it does not load.
pub fn load_toml(text: &str, origin: &str) -> World {
    load_str(text, Format::Toml, origin).unwrap_or_else(|e| panic!("{origin} loads: {e}"))
}

/// A fresh folder under the temporary directory, removed when dropped. Names are unique
/// within the test process (tests run in parallel threads of one process).
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder whose name contains `name`.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "sgsim-it-{name}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        TempDir(dir)
    }

    /// The folder.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// A path inside the folder, as a string (for command arguments).
    pub fn path(&self, rel: &str) -> String {
        self.join(rel).display().to_string()
    }

    /// Writes a file (creating folders) and returns its path.
    pub fn file(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a folder");
        }
        std::fs::write(&path, text).expect("a temporary file");
        path
    }

    /// Writes a file (creating folders) and returns its path as a string.
    pub fn write(&self, rel: &str, text: &str) -> String {
        self.file(rel, text).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// The binary.

/// Runs the built `sgsim ARGS` as it is, for tests that look at the raw output.
pub fn sgsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(args)
        .output()
        .expect("sgsim runs")
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The lines of standard output.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Asserts a failure as SPEC §6 wants it: exit 2, no panic, and one line on stderr that
    /// starts `error:` and contains every needle.
    pub fn assert_error(&self, needles: &[&str]) {
        assert!(!self.stderr.contains("panicked"), "panic: {self:#?}");
        assert_eq!(self.code, 2, "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "not one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        for n in needles {
            assert!(lines[0].contains(n), "`{n}` not in `{}`", lines[0]);
        }
    }
}

/// Runs `sgsim ARGS` in the package root, with `stdin` piped in when given.
pub fn run_with(args: &[&str], stdin: Option<&str>) -> Run {
    run_in(root(), args, stdin.map(str::as_bytes))
}

/// Runs `sgsim ARGS` in the folder `dir` (relative paths in `args` are under it), with
/// `stdin` piped in when given.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sgsim"));
    cmd.args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the sgsim binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("stdin is written");
    }
    let out = child.wait_with_output().expect("sgsim finishes");
    Run {
        code: out
            .status
            .code()
            .expect("sgsim exits with a status, not a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `sgsim ARGS` in the package root with no input.
pub fn run(args: &[&str]) -> Run {
    run_with(args, None)
}

/// Runs `sgsim ARGS` with stdout a pipe whose reading end is closed at once
/// (`sgsim … | head -0`).
pub fn run_with_closed_stdout(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sgsim binary starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("sgsim finishes");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
