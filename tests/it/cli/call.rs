//! `sgsim call` through the built binary: write-back, failed calls, exit codes, symlinks,
//! dry runs, calls files, and two concurrent writers.

use crate::support::{root, sgsim, TempDir};
use std::path::Path;

const WORLD: &str = r#"region_id = "cn-hangzhou"

[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-web"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-web-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
]

[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10"]
"#;

fn world_arg(p: &Path) -> String {
    p.display().to_string()
}

fn rule_count(p: &Path) -> usize {
    let w = sgsim::world_file::load(p).unwrap();
    w.group("sg-web").unwrap().rules.len()
}

fn authorize(port: u32) -> String {
    format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={port}/{port}&Permissions.1.SourceCidrIp=0.0.0.0/0")
}

#[test]
fn success_writes_back_and_failure_leaves_the_file_untouched() {
    let d = TempDir::new("write");
    let w = d.join("world.toml");
    std::fs::write(&w, WORLD).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let out = sgsim(&["call", "--world", &world_arg(&w), &authorize(80)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(body["RequestId"].is_string());
    assert_eq!(rule_count(&w), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&w).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "permissions kept");
    }

    let bytes = std::fs::read(&w).unwrap();
    let bad = authorize(80).replace("80/80", "90/80");
    let out = sgsim(&["call", "--world", &world_arg(&w), &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "HTTP 400 InvalidIpProtocol.Malformed"
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["Code"], "InvalidIpProtocol.Malformed");
    assert_eq!(std::fs::read(&w).unwrap(), bytes, "byte-for-byte unchanged");

    // A call that changes nothing (the rule exists, no token) does not rewrite the file.
    let out = sgsim(&["call", "--world", &world_arg(&w), &authorize(80)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(&w).unwrap(), bytes);

    // Undecodable query and missing world: exit 2, nothing written.
    let out = sgsim(&["call", "--world", &world_arg(&w), "Action=%ZZ"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&w).unwrap(), bytes);
    let out = sgsim(&[
        "call",
        "--world",
        &world_arg(&d.join("missing.toml")),
        &authorize(81),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dry_run_and_json_write_nothing() {
    let d = TempDir::new("dry");
    let w = d.join("world.json");
    let world = sgsim::world_file::load_str(WORLD, sgsim::world_file::Format::Toml, "w").unwrap();
    std::fs::write(
        &w,
        sgsim::world_file::to_string(&world, sgsim::world_file::Format::Json).unwrap(),
    )
    .unwrap();
    let bytes = std::fs::read(&w).unwrap();
    let out = sgsim(&[
        "call",
        "--world",
        &world_arg(&w),
        "--dry-run",
        "--json",
        &authorize(80),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(std::fs::read(&w).unwrap(), bytes);
}

#[cfg(unix)]
#[test]
fn a_symlink_is_followed() {
    let d = TempDir::new("link");
    let real = d.join("real.toml");
    let link = d.join("link.toml");
    std::fs::write(&real, WORLD).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = sgsim(&["call", "--world", &world_arg(&link), &authorize(80)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(rule_count(&real), 2);
}

#[test]
fn calls_file_stops_at_the_first_error_keeping_earlier_calls() {
    let d = TempDir::new("calls");
    let w = d.join("world.toml");
    std::fs::write(&w, WORLD).unwrap();
    let calls = d.join("calls.txt");
    std::fs::write(
        &calls,
        format!(
            "# two calls, then a bad one, then one never run\n{}\n\nhttps://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup\n  &RegionId=cn-hangzhou\n  &SecurityGroupId=sg-web\n  &IpProtocol=UDP&PortRange=53/53&SourceCidrIp=10.0.0.0/8\n{}\n{}\n",
            authorize(80),
            authorize(1).replace("1/1", "0/1"),
            authorize(82)
        ),
    )
    .unwrap();
    let out = sgsim(&[
        "call",
        "--world",
        &world_arg(&w),
        "--json",
        "--calls",
        &calls.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    assert_eq!(rule_count(&w), 3);
}

#[test]
fn two_writers_lose_nothing() {
    let d = TempDir::new("race");
    let w = d.join("world.toml");
    std::fs::write(&w, WORLD).unwrap();
    let writers: Vec<_> = (0..2u32)
        .map(|k| {
            let w = w.clone();
            std::thread::spawn(move || {
                for i in 0..20u32 {
                    let out = sgsim(&[
                        "call",
                        "--world",
                        &world_arg(&w),
                        &authorize(1000 + k * 100 + i),
                    ]);
                    assert_eq!(out.status.code(), Some(0), "{out:?}");
                }
            })
        })
        .collect();
    for t in writers {
        t.join().unwrap();
    }
    assert_eq!(rule_count(&w), 41, "1 rule + 2 × 20 new rules");
}

#[test]
fn the_seed_samples_apply_through_sgsim_call() {
    let root = root();
    let d = TempDir::new("seed");
    let w = d.join("seed.toml");
    std::fs::copy(root.join("examples/seed.toml"), &w).unwrap();
    let calls = root.join("examples/seed-calls.txt");
    let out = sgsim(&[
        "call",
        "--world",
        &world_arg(&w),
        "--json",
        "--calls",
        &calls.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    let described: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    let perms = described["Permissions"]["Permission"].as_array().unwrap();
    assert_eq!(perms.len(), 3);
    assert_eq!(perms[0]["SourceCidrIp"], "10.0.0.0/8");
    assert_eq!(perms[0]["Policy"], "Accept");
    assert_eq!(perms[1]["SourceGroupId"], "sg-1651fbb00");
    assert_eq!(perms[1]["SourceGroupOwnerAccount"], "test@aliyun.com");
    assert_eq!(perms[1]["Policy"], "Drop");
    assert_eq!(perms[2]["SourcePrefixListId"], "pl-x1j1k5ykzqlixdcy0000");
    assert_eq!(perms[2]["Policy"], "Drop");
    // The world file now holds them, and the packets are decided by them.
    let out = sgsim(&[
        "check",
        "--world",
        &world_arg(&w),
        "tcp 192.168.1.20:40000 -> 192.168.1.10:22",
    ]);
    assert_eq!(out.status.code(), Some(1), "the partner group is dropped");
    let out = sgsim(&[
        "check",
        "--world",
        &world_arg(&w),
        "tcp 10.1.1.1:40000 -> 192.168.1.10:22",
    ]);
    assert_eq!(out.status.code(), Some(0), "10.0.0.0/8 is accepted");
}
