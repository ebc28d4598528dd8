//! Safety of the world file (SPEC §6): the temp file is never created through a link, a
//! read-only file is refused, the lock file is not followed and not a FIFO, a long lock
//! wait is said, and a `--calls` run interrupted by SIGKILL or SIGINT keeps every call it
//! reported.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sgsim-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const WORLD: &str = "[limits]\nrules_per_group = 100000\n\n[[vpcs]]\nid = \"vpc-1\"\n\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n";

fn authorize(port: u32) -> String {
    format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={port}/{port}&Permissions.1.SourceCidrIp=10.0.0.0/8")
}

fn sgsim(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sgsim"));
    c.args(args).current_dir(dir).stdin(Stdio::null());
    c
}

/// Whether this process ignores SIGINT: a shell without job control starts background
/// commands so, and children inherit it, so a `kill -INT` of the child would do nothing.
fn sigint_ignored() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
}

/// Waits for a child at most `limit`; kills it if it is still running (a hang fails).
fn wait_at_most(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "still running: killed".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn planted_links_for_the_temp_file_are_not_followed() {
    let dir = temp_dir("links");
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "secret\n").unwrap();
    // Links for the next pids under the names a pid-named temp file would take.
    let me = std::process::id();
    for pid in me..me + 3000 {
        let _ = std::os::unix::fs::symlink(&victim, dir.join(format!(".w.toml.tmp{pid}")));
    }
    let out = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    let meta = std::fs::symlink_metadata(dir.join("w.toml")).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the world file is still a file, not a link"
    );
    assert!(std::fs::read_to_string(dir.join("w.toml"))
        .unwrap()
        .contains("22/22"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_read_only_world_file_is_refused_not_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("readonly");
    let w = dir.join("w.toml");
    std::fs::write(&w, WORLD).unwrap();
    std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("w.toml: cannot write") && err.contains("read-only"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&w).unwrap(), WORLD);
    let mode = std::fs::metadata(&w).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    // A writable file keeps its mode across the rewrite.
    std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&w).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_or_a_link_as_the_lock_file_is_refused() {
    let dir = temp_dir("lockfifo");
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    assert!(Command::new("mkfifo")
        .arg(dir.join("w.toml.lock"))
        .status()
        .unwrap()
        .success());
    let child = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, err) = wait_at_most(child, Duration::from_secs(10));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("w.toml.lock: cannot lock: not a regular file"),
        "{err}"
    );
    std::fs::remove_file(dir.join("w.toml.lock")).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("w.toml.lock")).unwrap();
    let out = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot lock") && err.contains("link"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("w.toml")).unwrap(), WORLD);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_long_lock_wait_is_said_once() {
    let dir = temp_dir("lockwait");
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("w.toml.lock"))
        .unwrap();
    lock.lock().unwrap();
    let child = sgsim(&dir, &["call", "--world", "w.toml", &authorize(22)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3000));
    lock.unlock().unwrap();
    let (code, err) = wait_at_most(child, Duration::from_secs(10));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("waiting for the lock").count(), 1, "{err}");
    assert!(std::fs::read_to_string(dir.join("w.toml"))
        .unwrap()
        .contains("22/22"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `WORLD` and a calls file of `n` rule additions into `dir` and starts
/// `sgsim call --json --calls` on them: the child and the lines of its stdout.
fn start_calls_run(
    dir: &Path,
    n: u32,
    stderr: Stdio,
) -> (
    Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    let calls: String = (1..=n).map(|p| authorize(p) + "\n").collect();
    std::fs::write(dir.join("calls.txt"), calls).unwrap();
    let args = [
        "call",
        "--world",
        "w.toml",
        "--json",
        "--calls",
        "calls.txt",
    ];
    let mut command = if sigint_ignored() {
        // Give the run SIGINT's default action back (GNU env), as a terminal would have it.
        let mut c = Command::new("env");
        c.arg("--default-signal=INT")
            .arg(env!("CARGO_BIN_EXE_sgsim"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null());
        c
    } else {
        sgsim(dir, &args)
    };
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, std::io::BufReader::new(stdout).lines())
}

/// Starts a `--calls` run of `n` rule additions, reads its responses as they come, stops it
/// with `signal` after `after` of them, and checks every reported call is in the file.
fn interrupted_run_keeps_what_it_reported(name: &str, signal: &str, n: u32, after: usize) {
    let dir = temp_dir(name);
    let (child, mut lines) = start_calls_run(&dir, n, Stdio::null());
    let mut reported = 0usize;
    while reported < after {
        match lines.next() {
            Some(Ok(l)) => {
                assert!(l.contains("RequestId") && !l.contains("Code"), "{l}");
                reported += 1;
            }
            _ => break,
        }
    }
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    // Whatever was already in the pipe was reported too; read aside so that a run that
    // goes on is caught by the time bound instead of holding the test up.
    let rest = std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .filter(|l| l.contains("RequestId"))
            .count()
    });
    let (code, err) = wait_at_most(child, Duration::from_secs(120));
    assert!(
        err != "still running: killed",
        "{signal}: the run did not stop"
    );
    let _ = code;
    reported += rest.join().unwrap();
    assert!(
        reported >= after.min(n as usize),
        "only {reported} reported"
    );
    let text = std::fs::read_to_string(dir.join("w.toml")).unwrap();
    let rules = text.matches("port_range = ").count();
    assert!(
        rules >= reported,
        "{signal}: {reported} calls reported but {rules} rules in the file"
    );
    for p in 1..=reported {
        assert!(
            text.contains(&format!("\"{p}/{p}\"")),
            "{signal}: rule {p} reported, not in the file"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigkill_during_a_calls_run_keeps_every_reported_call() {
    interrupted_run_keeps_what_it_reported("kill9", "-KILL", 20000, 300);
}

#[test]
fn sigint_during_a_calls_run_keeps_every_reported_call() {
    interrupted_run_keeps_what_it_reported("sigint", "-INT", 20000, 300);
}

/// A hand edit made to the world file while a long `--calls` run goes on is not lost: the
/// run's next write sees the file changed since it read it, refuses to overwrite it and
/// stops with status 2; the edit stays, with every call the run had reported before it.
#[test]
fn a_hand_edit_during_a_calls_run_is_not_overwritten() {
    let dir = temp_dir("handedit");
    let w = dir.join("w.toml");
    let n = 20000u32;
    let (child, mut lines) = start_calls_run(&dir, n, Stdio::piped());
    let mut reported = 0usize;
    // The first responses are printed once their write is on disk.
    while reported < 50 {
        let l = lines.next().expect("responses before the end").unwrap();
        assert!(l.contains("RequestId") && !l.contains("Code"), "{l}");
        reported += 1;
    }
    // The hand edit: a comment and a group, appended in place as an editor might save.
    let edit = "\n# added by hand during the run\n[[security_groups]]\nid = \"sg-hand\"\nvpc_id = \"vpc-1\"\n";
    let mut text = std::fs::read_to_string(&w).unwrap();
    text.push_str(edit);
    std::fs::write(&w, &text).unwrap();
    // The rest of the output, read aside so that a run that goes on is caught by the time
    // bound below instead of holding the test up.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<String>>());
    let (code, err) = wait_at_most(child, Duration::from_secs(60));
    let after_edit = rest.join().unwrap();
    reported += after_edit
        .iter()
        .filter(|l| l.contains("RequestId"))
        .count();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("w.toml: cannot write")
            && err.contains("changed since it was read")
            && err.contains("not overwritten"),
        "{err}"
    );
    let end = std::fs::read_to_string(&w).unwrap();
    assert!(end.ends_with(edit), "the hand edit was lost:\n{end}");
    // The run stopped: it did not apply all its calls behind the edit.
    let rules = end.matches("port_range = ").count();
    assert!(rules < n as usize, "{rules} rules: the run went on");
    // Every call reported is in the file (reported before the edit, or written before it).
    assert!(
        rules >= reported,
        "{reported} reported, {rules} in the file"
    );
    for p in 1..=reported {
        assert!(
            end.contains(&format!("\"{p}/{p}\"")),
            "rule {p} reported, not in the file"
        );
    }
    // The edited file still loads, the hand-made group with it.
    let out = sgsim(
        &dir,
        &[
            "check",
            "--world",
            "w.toml",
            "--to",
            "sg-hand",
            "tcp 1.2.3.4 -> 10.0.0.1:22",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
