//! Starting `sgsim serve` on a free loopback port for the tests.
#![allow(dead_code)]

use sgsim::api::{call, CallContext};
use sgsim::model::World;
use sgsim::serve::client::{Client, Sig};
use sgsim::world_file::{self, Format};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running server and its world file's folder.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub world: PathBuf,
}

impl Server {
    /// Sends the server SIGTERM (a clean stop; wait for it with `child`).
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh empty folder under the temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sgsim-serve-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A world of one VPC and no group (region cn-hangzhou).
pub const EMPTY_WORLD: &str = "region_id = \"cn-hangzhou\"\n\n[[vpcs]]\nid = \"vpc-1\"\n";

/// A world of `groups` groups with `rules` ingress rules each, built through the API.
pub fn big_world(groups: usize, rules: usize) -> String {
    let mut w: World = world_file::load_str(EMPTY_WORLD, Format::Toml, "empty").unwrap();
    let ctx = CallContext::scenario();
    for g in 0..groups {
        let r = call(
            &mut w,
            "Action=CreateSecurityGroup&RegionId=cn-hangzhou&VpcId=vpc-1",
            &ctx,
        )
        .unwrap();
        let id = r.body["SecurityGroupId"].as_str().unwrap().to_string();
        let mut done = 0;
        while done < rules {
            let n = (rules - done).min(100);
            let mut q =
                format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId={id}");
            for i in 0..n {
                let port = 1000 + done + i;
                q.push_str(&format!(
                    "&Permissions.{k}.IpProtocol=TCP&Permissions.{k}.PortRange={port}%2F{port}&Permissions.{k}.SourceCidrIp=10.{g}.0.0%2F16",
                    k = i + 1
                ));
            }
            let r = call(&mut w, &q, &ctx).unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            done += n;
        }
    }
    world_file::to_string(&w, Format::Toml).unwrap()
}

/// Starts `sgsim serve --insecure-dev` on a copy of `world` (TOML text).
pub fn start(tag: &str, world: &str) -> Server {
    start_with(tag, world, &["--insecure-dev"], &[])
}

/// Starts `sgsim serve` with extra arguments and environment.
pub fn start_with(tag: &str, world: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let dir = temp_dir(tag);
    let path = dir.join("world.toml");
    std::fs::write(&path, world).unwrap();
    start_on(dir, path, args, env)
}

/// Starts `sgsim serve` on an existing world file.
pub fn start_on(dir: PathBuf, path: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sgsim"));
    cmd.arg("serve")
        .arg("--world")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("SGSIM_CREDENTIALS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(Ok(addr));
            } else if line.starts_with("error") {
                let _ = tx.send(Err(line));
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(a)) => a.parse().unwrap(),
        Ok(Err(e)) => panic!("serve failed: {e}"),
        Err(_) => {
            let _ = child.kill();
            panic!("serve did not report its address within 30 s");
        }
    };
    Server {
        child,
        addr,
        dir,
        world: path,
    }
}

/// The world as the file and its journal make it now.
pub fn load(path: &Path) -> World {
    sgsim::journal::load(path).unwrap().world
}

/// The region of the test worlds.
pub const R: &str = "cn-hangzhou";

/// The bytes of the world file and of its journal.
pub fn disk(s: &Server) -> (Vec<u8>, Vec<u8>) {
    let journal = sgsim::journal::path_of(&std::fs::canonicalize(&s.world).unwrap());
    (
        std::fs::read(&s.world).unwrap(),
        std::fs::read(journal).unwrap_or_default(),
    )
}

/// The world file and journal once the server has folded every call into the file (its
/// idle checkpoint comes 200 ms after the last write) and both have stayed the same for
/// 100 ms, so that a later comparison sees only what later requests wrote.
pub fn settled_disk(s: &Server) -> (Vec<u8>, Vec<u8>) {
    let start = Instant::now();
    // The files as read after the journal was last seen holding no call of its own.
    let mut last: Option<(Vec<u8>, Vec<u8>)> = None;
    loop {
        let folded = sgsim::journal::load(&s.world).is_ok_and(|l| l.entries == 0);
        let now = disk(s);
        if folded && last.as_ref() == Some(&now) {
            return now;
        }
        last = folded.then_some(now);
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}: no checkpoint within 30 s",
            s.world.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client with the `--insecure-dev` key.
pub fn client(s: &Server) -> Client {
    Client::connect(s.addr, "testid", "testsecret").unwrap()
}

/// Creates a group named `web` in `vpc-1`; its id.
pub fn create_group(c: &mut Client, sig: Sig) -> String {
    let r = c
        .call(
            sig,
            &[
                ("Action", "CreateSecurityGroup"),
                ("RegionId", R),
                ("VpcId", "vpc-1"),
                ("SecurityGroupName", "web"),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["SecurityGroupId"].as_str().unwrap().to_string()
}

/// Authorizes TCP `port` from 10.0.0.0/8 in `group`, with a description that needs
/// every kind of percent-encoding.
pub fn authorize(c: &mut Client, sig: Sig, group: &str, port: u32) -> sgsim::serve::client::Reply {
    let range = format!("{port}/{port}");
    c.call(
        sig,
        &[
            ("Action", "AuthorizeSecurityGroup"),
            ("RegionId", R),
            ("SecurityGroupId", group),
            ("Permissions.1.IpProtocol", "TCP"),
            ("Permissions.1.PortRange", &range),
            ("Permissions.1.SourceCidrIp", "10.0.0.0/8"),
            ("Permissions.1.Description", "a b*c~d+e=f&g/h é中"),
        ],
    )
    .unwrap()
}

/// The rules of `group` as `DescribeSecurityGroupAttribute` answers them.
pub fn rules_of(c: &mut Client, group: &str) -> Vec<serde_json::Value> {
    let r = c
        .call(
            Sig::V3,
            &[
                ("Action", "DescribeSecurityGroupAttribute"),
                ("RegionId", R),
                ("SecurityGroupId", group),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["Permissions"]["Permission"]
        .as_array()
        .unwrap()
        .clone()
}
