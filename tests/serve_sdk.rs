//! The official Python SDKs against `sgsim serve` (tests/sdk/sdk_client.py): the Tea SDK
//! with V3 and V1, the core SDK's CommonRequest form bodies with V1.
//!
//! Needs a Python with the pinned SDKs (tests/sdk/requirements.txt): `SGSIM_SDK_PYTHON`,
//! or `tests/sdk/.venv/bin/python` (`.ci/run` makes it). Without one the test says so
//! and passes, unless `SGSIM_SDK_REQUIRED=1` (as in CI), where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(feature = "serve")]

mod serve_common;

use serve_common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sdk_python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SGSIM_SDK_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/.venv/bin/python");
    venv.exists().then_some(venv)
}

#[test]
fn official_python_sdks() {
    let Some(python) = sdk_python() else {
        let msg = "SKIPPED official_python_sdks: no Python with the SDKs; set up with \
                   `python3 -m venv tests/sdk/.venv && tests/sdk/.venv/bin/pip install -r tests/sdk/requirements.txt` \
                   or set SGSIM_SDK_PYTHON";
        assert!(std::env::var("SGSIM_SDK_REQUIRED").is_err(), "{msg}");
        eprintln!("{msg}");
        return;
    };
    let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed.toml"))
        .unwrap();
    let s = start("sdk", &seed);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/sdk_client.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(s.addr.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the script makes about 60 calls.
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("the SDK script did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the SDK checks failed");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.ends_with("passed, 0 failed") && !last.starts_with("0 passed"),
        "{last}"
    );
    // The world file holds what the SDKs did: three groups more than the seed's.
    let w = load(&s.world);
    assert_eq!(w.security_groups.len(), 5);
}
