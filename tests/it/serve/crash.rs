//! `kill -9` of `sgsim serve` under a write load: every acknowledged change is in the
//! file, and the file is whole (it loads).

use super::common::*;
use sgsim::serve::client::{Client, Sig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn kill_9_under_load_loses_no_acknowledged_rule() {
    let world = format!("{EMPTY_WORLD}\n[limits]\nrules_per_group = 100000\n");
    let mut s = start("crash", &world);
    let mut c = client(&s);
    let r = c
        .call(
            Sig::V3,
            &[
                ("Action", "CreateSecurityGroup"),
                ("RegionId", "cn-hangzhou"),
                ("VpcId", "vpc-1"),
            ],
        )
        .unwrap();
    let group = r.json()["SecurityGroupId"].as_str().unwrap().to_string();
    let acked: Arc<Mutex<Vec<(u32, u32)>>> = Arc::default();
    // Generous bounds: the kill comes at 1,500 acknowledged writes, which a loaded debug
    // build may take long to reach; the threads stop at the deadline whatever happens.
    let deadline = Instant::now() + Duration::from_secs(75);
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let (addr, group, acked) = (s.addr, group.clone(), Arc::clone(&acked));
            std::thread::spawn(move || {
                let Ok(mut c) = Client::connect(addr, "testid", "testsecret") else {
                    return;
                };
                // Thread t owns source port range t: rules never collide.
                for port in 1..=60_000u32 {
                    if Instant::now() > deadline {
                        return;
                    }
                    let range = format!("{port}/{port}");
                    let src = format!("{0}/{0}", t + 1);
                    let sig = if port.is_multiple_of(2) {
                        Sig::V3
                    } else {
                        Sig::V1
                    };
                    let r = c.call(
                        sig,
                        &[
                            ("Action", "AuthorizeSecurityGroup"),
                            ("RegionId", "cn-hangzhou"),
                            ("SecurityGroupId", &group),
                            ("Permissions.1.IpProtocol", "TCP"),
                            ("Permissions.1.PortRange", &range),
                            ("Permissions.1.SourcePortRange", &src),
                            ("Permissions.1.SourceCidrIp", "10.0.0.0/8"),
                        ],
                    );
                    match r {
                        Ok(r) if r.status == 200 => acked.lock().unwrap().push((t, port)),
                        Ok(r) => panic!("refused: {}", r.body),
                        Err(_) => return, // the server died
                    }
                }
            })
        })
        .collect();
    // Let the load run past a background checkpoint (at 1,000 calls: a marker in the
    // journal, then the file), then kill the server without warning.
    let start = Instant::now();
    while acked.lock().unwrap().len() < 1500 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 600,
        "only {} writes acknowledged",
        acked.len()
    );
    let w = load(&s.world); // a torn file would not load
    let rules = &w.group(&group).unwrap().rules;
    let on_disk: std::collections::HashSet<(u32, u32)> = rules
        .iter()
        .map(|r| {
            let t = u32::from(r.source_port_range.unwrap().start()) - 1;
            (t, u32::from(r.port_range.unwrap().start()))
        })
        .collect();
    let lost: Vec<_> = acked.iter().filter(|k| !on_disk.contains(k)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged rules lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let journal = std::fs::read_to_string(sgsim::journal::path_of(
        &std::fs::canonicalize(&s.world).unwrap(),
    ))
    .unwrap_or_default();
    eprintln!(
        "{} acknowledged, {} on disk after kill -9 ({} checkpoint markers in the journal)",
        acked.len(),
        rules.len(),
        journal.matches("\"c\":").count()
    );
}
