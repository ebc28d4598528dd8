//! `sgsim serve` and the safety of the world file (SPEC §6, §9): serve writes through the
//! library's store, so a read-only world file, a lock file that is a link or a FIFO, and a
//! journal that is a link are refused at start with one line; links planted under the
//! names of temporary files are never followed; a lock replaced by a link while serve runs
//! fails the write without touching the link's target.

use super::common::*;
use sgsim::serve::client::Sig;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `sgsim serve` on `world` expecting it to refuse to start: the exit status and the
/// lines of stderr other than the `--insecure-dev` warning. A server still running after
/// 20 s fails the test.
fn refused(dir: &Path, world: &Path) -> (Option<i32>, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .arg("serve")
        .arg("--world")
        .arg(world)
        .args(["--listen", "127.0.0.1:0", "--insecure-dev"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve started (or hung) instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let lines = err
        .lines()
        .filter(|l| !l.starts_with("warning: --insecure-dev"))
        .map(str::to_string)
        .collect();
    (status.code(), lines)
}

const ONE_GROUP: &str = "region_id = \"cn-hangzhou\"\n\n[[vpcs]]\nid = \"vpc-1\"\n\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n";

#[test]
fn a_read_only_world_file_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("files-ro");
    let w = dir.join("world.toml");
    std::fs::write(&w, ONE_GROUP).unwrap();
    std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o444)).unwrap();
    let (code, lines) = refused(&dir, &w);
    assert_eq!(code, Some(2), "{lines:?}");
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert!(
        lines[0].starts_with("error: ")
            && lines[0].contains("world.toml: cannot write")
            && lines[0].contains("read-only"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&w).unwrap(), ONE_GROUP);
    assert_eq!(
        std::fs::metadata(&w).unwrap().permissions().mode() & 0o777,
        0o444
    );
    assert!(!sgsim::journal::path_of(&w).exists(), "no journal was made");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_lock_file_that_is_a_link_or_a_fifo_is_refused_at_start() {
    let dir = temp_dir("files-lock");
    let w = dir.join("world.toml");
    std::fs::write(&w, ONE_GROUP).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "secret\n").unwrap();
    let lock = dir.join("world.toml.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let (code, lines) = refused(&dir, &w);
    assert_eq!(code, Some(2), "{lines:?}");
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert!(
        lines[0].contains("world.toml.lock: cannot lock") && lines[0].contains("link"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    std::fs::remove_file(&lock).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&lock)
        .status()
        .unwrap()
        .success());
    let (code, lines) = refused(&dir, &w);
    assert_eq!(code, Some(2), "{lines:?}");
    assert!(
        lines.len() == 1 && lines[0].contains("world.toml.lock: cannot lock: not a regular file"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&w).unwrap(), ONE_GROUP);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_journal_that_is_a_link_or_a_fifo_is_refused_not_followed() {
    let dir = temp_dir("files-journal");
    let w = dir.join("world.toml");
    std::fs::write(&w, ONE_GROUP).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "secret\n").unwrap();
    let journal = sgsim::journal::path_of(&w);
    std::os::unix::fs::symlink(&victim, &journal).unwrap();
    let (code, lines) = refused(&dir, &w);
    assert_eq!(code, Some(2), "{lines:?}");
    assert!(
        lines.len() == 1
            && lines[0].contains("world.toml.journal: cannot read the journal")
            && lines[0].contains("link"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    // A FIFO there would block a reader forever: `sgsim check` refuses it at once.
    std::fs::remove_file(&journal).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&journal)
        .status()
        .unwrap()
        .success());
    let mut check = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args([
            "check",
            "--world",
            "world.toml",
            "--to",
            "sg-1",
            "tcp 10.0.0.1:1000 -> 192.168.0.1:22",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while check.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = check.kill();
            panic!("sgsim check blocked on a FIFO journal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut check.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("not a regular file"), "{err}");
    let (code, lines) = refused(&dir, &w);
    assert_eq!(code, Some(2), "{lines:?}");
    assert!(lines[0].contains("not a regular file"), "{lines:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn planted_links_for_temporary_files_are_not_followed() {
    let s = start("files-planted", ONE_GROUP);
    let victim = s.dir.join("victim.txt");
    std::fs::write(&victim, "secret\n").unwrap();
    // Links under the names a pid-named temporary file of the world file or of the
    // journal would take in this server.
    let pid = s.child.id();
    for name in [
        format!(".world.toml.tmp{pid}"),
        format!(".world.toml.journal.tmp{pid}"),
    ] {
        std::os::unix::fs::symlink(&victim, s.dir.join(name)).unwrap();
    }
    let mut c = client(&s);
    for port in 1..=5 {
        let r = authorize(&mut c, Sig::V3, "sg-1", port);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Idle: the journal is folded into the world file (a rewrite of both).
    std::thread::sleep(Duration::from_millis(800));
    let r = authorize(&mut c, Sig::V3, "sg-1", 6);
    assert_eq!(r.status, 200, "{}", r.body);
    drop(c);
    s.terminate();
    let start = Instant::now();
    let mut s = s;
    while s.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    for f in [s.world.clone(), sgsim::journal::path_of(&s.world)] {
        let meta = std::fs::symlink_metadata(&f).unwrap();
        assert!(meta.file_type().is_file(), "{} is a file", f.display());
    }
    let text = std::fs::read_to_string(&s.world).unwrap();
    for port in 1..=6 {
        assert!(text.contains(&format!("\"{port}/{port}\"")), "{text}");
    }
}

#[test]
fn a_lock_replaced_by_a_link_fails_the_write_and_touches_nothing() {
    let s = start("files-lock-later", ONE_GROUP);
    let mut c = client(&s);
    let r = authorize(&mut c, Sig::V3, "sg-1", 1);
    assert_eq!(r.status, 200, "{}", r.body);
    let victim = s.dir.join("victim.txt");
    std::fs::write(&victim, "secret\n").unwrap();
    let lock = s.dir.join("world.toml.lock");
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let r = authorize(&mut c, Sig::V3, "sg-1", 2);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(
        r.body.contains("InternalError") && r.body.contains("link"),
        "{}",
        r.body
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
    let w = load(&s.world);
    let rules = &w.group("sg-1").unwrap().rules;
    assert_eq!(rules.len(), 1, "only the acknowledged rule: {rules:?}");
}
