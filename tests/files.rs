//! Files safe to share and keep by hand (SPEC §6, "Safety of the file" and "Files read by
//! reference"): ids that keep counting, duplicate keys, bounded references, BOMs, bounded
//! error quoting. Every test runs the built binary on files in a fresh temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A fresh empty folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sgsim-files-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `sgsim ARGS` in `dir` with `stdin` piped in when given.
fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(args)
        .current_dir(dir)
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
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts a one-line error with exit 2 that contains every needle.
fn assert_error(r: &Run, needles: &[&str]) {
    assert!(!r.stderr.contains("panicked"), "panic: {r:#?}");
    assert_eq!(r.code, 2, "{r:#?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:#?}");
    for n in needles {
        assert!(r.stderr.contains(n), "`{n}` not in {r:#?}");
    }
}

const GROUP: &str = "region_id = \"cn-hangzhou\"\n\n[[vpcs]]\nid = \"vpc-1\"\n\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n";

fn authorize(port: u16) -> String {
    format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={port}/{port}&Permissions.1.SourceCidrIp=10.0.0.0/8")
}

#[test]
fn rule_ids_keep_counting_past_twelve_digits() {
    let dir = temp_dir("ids");
    let world = format!(
        "{GROUP}rules = [\n  {{ id = \"sgr-999999999999\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"1/1\", source_cidr_ip = \"10.0.0.0/8\" }},\n]\n"
    );
    std::fs::write(dir.join("w.toml"), world).unwrap();
    for port in [2, 3] {
        let r = run_in(&dir, &["call", "--world", "w.toml", &authorize(port)], None);
        assert_eq!(r.code, 0, "{r:#?}");
    }
    let text = std::fs::read_to_string(dir.join("w.toml")).unwrap();
    assert!(text.contains("sgr-1000000000000"), "{text}");
    assert!(text.contains("sgr-1000000000001"), "{text}");
    let r = run_in(
        &dir,
        &[
            "check",
            "--world",
            "w.toml",
            "tcp 10.0.0.1 -> 10.0.0.2:3",
            "--to",
            "sg-1",
        ],
        None,
    );
    assert_eq!(r.code, 0, "the written world loads again: {r:#?}");
    assert!(r.stdout.contains("sgr-1000000000001"), "{r:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
