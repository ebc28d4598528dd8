//! A command line that fits people's habits (issue 8): bench flags checked, samples
//! reported; and more of the command line's manners.

use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(args)
        .current_dir(root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_error(r: &Run, needles: &[&str]) {
    assert!(!r.stderr.contains("panicked"), "panic: {r:#?}");
    assert_eq!(r.code, 2, "{r:#?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:#?}");
    for n in needles {
        assert!(r.stderr.contains(n), "`{n}` not in {r:#?}");
    }
}

#[test]
fn bench_arguments_are_range_checked() {
    let r = run(&["bench", "--generate", "18446744073709551615"], None);
    assert_error(&r, &["--generate", "18446744073709551615", "not in"]);
    let r = run(
        &[
            "bench",
            "--generate",
            "10",
            "--threads",
            "99999999999999999999",
        ],
        None,
    );
    assert_error(&r, &["--threads"]);
    let r = run(&["bench", "--generate", "10", "--samples", "0"], None);
    assert_error(&r, &["--samples"]);
}

#[test]
fn bench_refuses_flags_that_do_not_apply() {
    let r = run(
        &["bench", "--world", "examples/web.toml", "--trace", "x"],
        None,
    );
    assert_error(&r, &["--trace", "only with --classbench"]);
    let r = run(&["bench", "--generate", "10", "--to", "i-web"], None);
    assert!(r.code == 2, "{r:#?}");
    let r = run(&["bench", "--generate", "10", "--instances", "5"], None);
    assert!(r.code == 2, "{r:#?}");
}

#[test]
fn bench_times_several_samples_and_reports_the_median_with_min_and_max() {
    let r = run(
        &[
            "bench",
            "--generate",
            "50",
            "--packets",
            "3000",
            "--verify",
            "10",
            "--samples",
            "3",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{r:#?}");
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("matcher single-thread samples: 3 "))
        .unwrap_or_else(|| panic!("{r:#?}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let median: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("matcher single-thread: "))
        .and_then(|l| l.strip_suffix(" lookups/s"))
        .unwrap()
        .parse()
        .unwrap();
    let (min, max) = (nums[1], nums[2]);
    assert!(min <= median && median <= max, "{r:#?}");
    let r = run(
        &[
            "bench",
            "--generate",
            "50",
            "--packets",
            "3000",
            "--verify",
            "10",
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["samples"], 5);
    assert!(v["matcher_single_thread_min"].as_u64() <= v["matcher_single_thread_max"].as_u64());
}
