//! A bounded load run of `sgsim serve` on loopback: signed Describe and Authorize/Revoke
//! calls from concurrent keep-alive clients on a world of 20 groups × 100 rules, printing
//! requests per second and p50/p99 latency (benches/README.md).
//!
//! ```text
//! cargo run --release --example serve_load -- [SECONDS_PER_PHASE] [CLIENTS]
//! ```
//!
//! `serve_load calls N` instead makes N sequential calls of each Describe from one client
//! and prints nothing per call: run it under `valgrind --tool=callgrind` with two values of
//! N and divide the difference in instructions by the difference in calls (client and
//! server together, one request each; benches/README.md).
//!
//! The server runs in this process (its own tokio runtime and writer thread) on a free
//! port and a world file in a temporary folder; every write is durable (fsync) before its
//! answer. Each phase stops after its time; the run ends by itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sgsim::api::{call, CallContext};
use sgsim::serve::client::{Client, Sig};
use sgsim::serve::{self, credentials::Credentials};
use sgsim::world_file::{self, Format};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const R: &str = "cn-hangzhou";

fn world(groups: usize, rules: usize) -> (String, Vec<String>) {
    let base = "region_id = \"cn-hangzhou\"\n[[vpcs]]\nid = \"vpc-1\"\n";
    let mut w = world_file::load_str(base, Format::Toml, "load").expect("base world");
    let ctx = CallContext::scenario();
    let mut ids = Vec::new();
    for g in 0..groups {
        let r = call(
            &mut w,
            "Action=CreateSecurityGroup&RegionId=cn-hangzhou&VpcId=vpc-1",
            &ctx,
        )
        .expect("create");
        let id = r.body["SecurityGroupId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut q =
            format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId={id}");
        for i in 0..rules {
            let port = 1000 + i;
            q.push_str(&format!(
                "&Permissions.{k}.IpProtocol=TCP&Permissions.{k}.PortRange={port}%2F{port}&Permissions.{k}.SourceCidrIp=10.{g}.0.0%2F16",
                k = i + 1
            ));
        }
        let r = call(&mut w, &q, &ctx).expect("authorize");
        assert_eq!(r.status, 200, "{}", r.body);
        ids.push(id);
    }
    (world_file::to_string(&w, Format::Toml).expect("write"), ids)
}

struct Phase {
    name: &'static str,
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn run_phase(
    name: &'static str,
    addr: std::net::SocketAddr,
    clients: usize,
    secs: f64,
    groups: &[String],
    work: fn(&mut Client, usize, usize, &[String]) -> bool,
) -> Phase {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|t| {
            let groups = groups.to_vec();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut failed = 0;
                let Ok(mut c) = Client::connect(addr, "testid", "testsecret") else {
                    return (lat, 1);
                };
                let mut i = 0;
                while Instant::now() < deadline && i < 10_000_000 {
                    let t0 = Instant::now();
                    if work(&mut c, t, i, &groups) {
                        lat.push(t0.elapsed());
                    } else {
                        failed += 1;
                    }
                    i += 1;
                }
                (lat, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for h in handles {
        if let Ok((l, f)) = h.join() {
            latencies.extend(l);
            failed += f;
        }
    }
    latencies.sort();
    Phase {
        name,
        ok: latencies.len(),
        failed,
        elapsed: start.elapsed(),
        latencies,
    }
}

fn describe_attribute(c: &mut Client, t: usize, i: usize, groups: &[String]) -> bool {
    let g = &groups[(t + i) % groups.len()];
    matches!(c.call(Sig::V3, &[("Action", "DescribeSecurityGroupAttribute"), ("RegionId", R), ("SecurityGroupId", g)]), Ok(r) if r.status == 200)
}

fn describe_groups(c: &mut Client, _t: usize, _i: usize, _groups: &[String]) -> bool {
    matches!(c.call(Sig::V3, &[("Action", "DescribeSecurityGroups"), ("RegionId", R)]), Ok(r) if r.status == 200)
}

/// Authorize a rule of the client's own, then revoke it: the world keeps its size.
fn authorize_revoke(c: &mut Client, t: usize, i: usize, groups: &[String]) -> bool {
    let g = &groups[t % groups.len()];
    let port = 20_000 + (t * 100 + (i / 2) % 100) as u32;
    let range = format!("{port}/{port}");
    let action = if i.is_multiple_of(2) {
        "AuthorizeSecurityGroup"
    } else {
        "RevokeSecurityGroup"
    };
    matches!(c.call(Sig::V3, &[
        ("Action", action), ("RegionId", R), ("SecurityGroupId", g),
        ("Permissions.1.IpProtocol", "TCP"), ("Permissions.1.PortRange", &range),
        ("Permissions.1.SourceCidrIp", "192.168.0.0/16"),
    ]), Ok(r) if r.status == 200)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let calls: Option<usize> = (args.get(1).map(String::as_str) == Some("calls"))
        .then(|| args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100));
    let args: Vec<String> = if calls.is_some() { Vec::new() } else { args };
    let secs: f64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0_f64)
        .clamp(0.5, 60.0);
    let clients: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 512);
    let dir = std::env::temp_dir().join(format!("sgsim-serve-load-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("world.toml");
    let (text, groups) = world(20, 100);
    std::fs::write(&path, &text).expect("write the world");
    let (tx, rx) = mpsc::channel();
    let config = serve::Config {
        world: path.clone(),
        listen: "127.0.0.1:0".parse().expect("address"),
        keys: Credentials::insecure_dev(),
    };
    std::thread::spawn(move || {
        if let Err(e) = serve::run(config, |a| {
            let _ = tx.send(a);
        }) {
            eprintln!("error: {e}");
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server did not start");
    if let Some(n) = calls {
        let mut c = Client::connect(addr, "testid", "testsecret").expect("connect");
        let mut ok = 0;
        for i in 0..n {
            ok += usize::from(describe_attribute(&mut c, 0, i, &groups));
            ok += usize::from(describe_groups(&mut c, 0, i, &groups));
        }
        println!("{ok} of {} calls answered 200", 2 * n);
        let _ = std::fs::remove_dir_all(&dir);
        std::process::exit(0);
    }
    println!(
        "world: 20 groups x 100 rules ({} KB), {clients} keep-alive clients, {secs} s per phase, V3 signatures, writes fsynced",
        text.len() / 1024
    );
    let phases = [
        run_phase(
            "DescribeSecurityGroupAttribute (100 rules)",
            addr,
            clients,
            secs,
            &groups,
            describe_attribute,
        ),
        run_phase(
            "DescribeSecurityGroups (20 groups)",
            addr,
            clients,
            secs,
            &groups,
            describe_groups,
        ),
        run_phase(
            "Authorize/Revoke (durable writes)",
            addr,
            clients,
            secs,
            &groups,
            authorize_revoke,
        ),
    ];
    println!("| call | requests/s | p50 ms | p99 ms | failed |");
    println!("|---|---|---|---|---|");
    for p in &phases {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |",
            p.name,
            p.ok as f64 / p.elapsed.as_secs_f64(),
            pct(&p.latencies, 0.50),
            pct(&p.latencies, 0.99),
            p.failed
        );
    }
    let after = world_file::load(&path).expect("the world file loads");
    let rules: usize = after.security_groups.iter().map(|g| g.rules.len()).sum();
    println!(
        "world after the run: {} groups, {rules} rules (loads whole)",
        after.security_groups.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0);
}
