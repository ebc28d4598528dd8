//! The replay on Ballista: the same plan in Ballista's in-process standalone mode, and on a
//! real scheduler and executor started as separate processes on loopback
//! (`sgsim-replay-scheduler`, `sgsim-replay-executor`), against the local engine.

mod support;

use sgsim_replay::{run, run_cluster};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{job, key, replayed, root, what_if_world};

fn example(f: &str) -> String {
    root().join(f).to_string_lossy().to_string()
}

#[test]
fn standalone_ballista_gives_the_local_answer() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let new = what_if_world(&world);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scheduler = rt.block_on(sgsim_replay::cluster::standalone(2)).unwrap();
    let port = scheduler.rsplit(':').next().unwrap();
    let url = format!("df://localhost:{port}");
    for files in [
        vec![example("examples/replay/web.csv")],
        vec![example("examples/replay/web.jsonl")],
        vec![example("examples/replay/web-aws.log")],
        vec![
            example("examples/replay/web.csv"),
            example("examples/replay/web.jsonl"),
        ],
    ] {
        let j = job(&files, 3);
        let local = run(&j, replayed(&world), Some(replayed(&new))).unwrap();
        let remote = run_cluster(&j, &url, replayed(&world), Some(replayed(&new))).unwrap();
        assert!(local.decided > 0);
        assert_eq!(key(&local, 0), key(&remote, 0), "{files:?}");
    }
    drop(rt);
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child, &'static str);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    fn spawn(bin: &str, args: &[String], name: &'static str) -> Killed {
        let child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Killed(child, name)
    }

    fn alive(&mut self) {
        if let Ok(Some(status)) = self.0.try_wait() {
            let mut err = String::new();
            if let Some(e) = self.0.stderr.as_mut() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("{} exited ({status}): {err}", self.1);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16, within: Duration, p: &mut Killed) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        p.alive();
        assert!(
            Instant::now() < deadline,
            "{}: port {port} never opened",
            p.1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs a command with a deadline; its stdout, stderr and exit code.
fn run_bounded(cmd: &mut Command, within: Duration) -> (String, String, i32) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (out, err, status.code().unwrap_or(-1));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_scheduler_and_an_executor_as_processes_on_loopback() {
    let sport = free_port();
    let mut scheduler = Killed::spawn(
        env!("CARGO_BIN_EXE_sgsim-replay-scheduler"),
        &[
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            sport.to_string(),
        ],
        "sgsim-replay-scheduler",
    );
    wait_port(sport, Duration::from_secs(60), &mut scheduler);
    let work = std::env::temp_dir().join(format!("sgsim-replay-executor-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let (fport, gport) = (free_port(), free_port());
    let mut executor = Killed::spawn(
        env!("CARGO_BIN_EXE_sgsim-replay-executor"),
        &[
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            fport.to_string(),
            "--grpc-port".into(),
            gport.to_string(),
            "--scheduler".into(),
            format!("127.0.0.1:{sport}"),
            "--slots".into(),
            "2".into(),
            "--work-dir".into(),
            work.to_string_lossy().to_string(),
        ],
        "sgsim-replay-executor",
    );
    wait_port(fport, Duration::from_secs(60), &mut executor);
    let world = example("examples/web.toml");
    let base = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sgsim-replay"));
        c.args(["--world", &world, "--json", "--threads", "3", "--calls"])
            .arg(example("examples/replay/close-https.txt"))
            .arg("--flows")
            .arg(example("examples/replay/web.csv"))
            .arg(example("examples/replay/web.jsonl"))
            .args(extra);
        c
    };
    let (local, err, code) = run_bounded(&mut base(&[]), Duration::from_secs(120));
    assert_eq!(code, 0, "{err}");
    let url = format!("df://127.0.0.1:{sport}");
    let (remote, err, code) =
        run_bounded(&mut base(&["--cluster", &url]), Duration::from_secs(180));
    scheduler.alive();
    executor.alive();
    assert_eq!(code, 0, "{err}");
    let l: serde_json::Value = serde_json::from_str(&local).unwrap();
    let r: serde_json::Value = serde_json::from_str(&remote).unwrap();
    assert!(l["decided"].as_u64().unwrap() > 0 && l["changed"].as_u64().unwrap() > 0);
    assert_eq!(l, r);
    drop(executor);
    drop(scheduler);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_cluster_url_is_checked_and_an_absent_scheduler_named() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let j = job(&[example("examples/replay/web.csv")], 1);
    let e = run_cluster(&j, "http://x:1", replayed(&world), None).unwrap_err();
    assert!(e.contains("df://HOST:PORT"), "{e}");
    let port = free_port();
    let e = run_cluster(
        &j,
        &format!("df://127.0.0.1:{port}"),
        replayed(&world),
        None,
    )
    .unwrap_err();
    assert!(
        e.starts_with(&format!("--cluster df://127.0.0.1:{port}: ")),
        "{e}"
    );
}
