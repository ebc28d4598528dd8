//! `sgsim-replay` reads its worlds as every `sgsim` command does: the journal of a running
//! `sgsim serve` beside the world file is folded in (`sgsim::journal::load`).

mod support;

use sgsim::journal::{entry_line, hash_hex, header, path_of};
use std::process::Command;
use support::{root, TempDir};

/// A call serve acknowledged: RDP open to the internet on `sg-web`.
const OPEN_RDP: &str = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=3389%2F3389&Permissions.1.SourceCidrIp=0.0.0.0%2F0";

/// One logged RDP connection to the web instance, accepted by the cloud.
const FLOWS: &str = "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,start,end,packets,bytes,action,log-status,tcp-flags
i-web,203.0.113.7,50000,192.168.1.10,3389,6,in,1767225600,1767225660,3,180,ACCEPT,OK,2
i-web,192.168.1.10,3389,203.0.113.7,50000,6,out,1767225600,1767225660,3,900,ACCEPT,OK,18
";

/// The replay's JSON report.
fn replay(world: &str, extra: &[&str], flows: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sgsim-replay"))
        .args([
            "--world",
            world,
            "--flows",
            flows,
            "--json",
            "--threads",
            "2",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_journal_beside_the_world_file_is_replayed() {
    let dir = TempDir::new("journal");
    let text = std::fs::read_to_string(root().join("examples/web.toml")).unwrap();
    let plain = dir.join("plain.toml");
    let served = dir.join("served.toml");
    std::fs::write(&plain, &text).unwrap();
    std::fs::write(&served, &text).unwrap();
    let target = std::fs::canonicalize(&served).unwrap();
    let journal =
        header(&hash_hex(text.as_bytes())) + &entry_line("2026-12-01T00:00:00Z", "R1", OPEN_RDP);
    std::fs::write(path_of(&target), journal).unwrap();
    let flows = dir.join("flows.csv");
    std::fs::write(&flows, FLOWS).unwrap();
    let (plain, served, flows) = (
        plain.to_string_lossy().to_string(),
        served.to_string_lossy().to_string(),
        flows.to_string_lossy().to_string(),
    );

    // The file alone has no rule for RDP: the connection is refused, against the log.
    let before = replay(&plain, &[], &flows);
    assert_eq!(before["decided"].as_u64(), Some(2), "{before}");
    assert!(before["disagree"].as_u64() >= Some(1), "{before}");
    // With the journal the new rule opens it, and its reply rides the connection.
    let after = replay(&served, &[], &flows);
    assert_eq!(
        (after["agree"].as_u64(), after["disagree"].as_u64()),
        (Some(2), Some(0)),
        "{after}"
    );
    let opened: Vec<&String> = after["rules"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, h)| h["accepted"].as_u64() == Some(1))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(opened.len(), 1, "{}", after["rules"]);
    assert!(before["rules"].get(opened[0].as_str()).is_none());

    // A what-if's changed world is read the same way: the journal's rule is what changes.
    let what_if = replay(&plain, &["--against", &served], &flows);
    assert!(what_if["changed"].as_u64() >= Some(1), "{what_if}");
    assert_eq!(what_if["disagree"], before["disagree"], "{what_if}");
}
