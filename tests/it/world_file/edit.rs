//! `sgsim call` edits a world file in place (SPEC §6, "Safety of the file"): comments, key
//! order, formatting, imports and untouched groups stay as written; only what the calls
//! changed differs. Checked with a line diff of the file before and after.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A hand-kept world: comments everywhere, rules without ids, a duplicate rule, an import,
/// an account name (so groups have an owner account without writing it).
const WORLD: &str = r#"# Production network, kept by hand.
# Every change goes through review; keep the comments.

region_id = "cn-hangzhou"
account_name = "ops"      # the account's alias

[limits]
rules_per_group = 200     # raised by ticket 4711

# --- networks -------------------------------------------------------------
[[vpcs]]
id = "vpc-prod"

[[prefix_lists]]
id = "pl-office"
address_family = "IPv4"
max_entries = 5
entries = [
  "203.0.113.0/24",   # HQ
  "198.51.100.0/24",  # branch
]

# --- web tier ---------------------------------------------------------------
[[security_groups]]
id = "sg-web"
name = "web"
vpc_id = "vpc-prod"
rules = [
  # the world reaches HTTPS
  { direction = "ingress", ip_protocol = "tcp", port_range = "443/443", source_cidr_ip = "0.0.0.0/0" },
  # and plain HTTP, redirected by the app
  { direction = "ingress", ip_protocol = "tcp", port_range = "80/80", source_cidr_ip = "0.0.0.0/0" },
  # a copy of the first, kept on purpose (the loader skips it)
  { direction = "ingress", ip_protocol = "TCP", port_range = "443/443", source_cidr_ip = "0.0.0.0/0" },
  # SSH from the office only
  { id = "sgr-web-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_prefix_list_id = "pl-office", priority = 10 },
  # a legacy monitoring rule, to be revoked
  { id = "sgr-web-old", direction = "ingress", ip_protocol = "UDP", port_range = "161/161", source_cidr_ip = "192.0.2.0/24" },
]

# --- app tier ---------------------------------------------------------------
[[security_groups]]
id = "sg-app"
name = "app"
vpc_id = "vpc-prod"
inner_access_policy = "Drop"   # app servers do not talk to each other
rules = [
  { id = "sgr-app-from-web", direction = "ingress", ip_protocol = "TCP", port_range = "8080/8080", source_group_id = "sg-web" },
  {   direction = "egress",   ip_protocol = "TCP", port_range = "5432/5432", dest_cidr_ip = "10.0.9.0/24" },   # odd spacing kept
]

# --- imported from the cloud -------------------------------------------------
[[security_groups]]
import = "db.json"   # DescribeSecurityGroupAttribute of the db group

[[security_groups]]
import = "cache.json"

# --- machines ---------------------------------------------------------------
[[instances]]
id = "i-web1"
vpc_id = "vpc-prod"
security_groups = ["sg-web"]
private_ips = ["10.0.1.10"]   # fixed by DHCP reservation
public_ip = "47.0.0.10"

[[instances]]
id = "i-app1"
vpc_id = "vpc-prod"
security_groups = ["sg-app"]
private_ips = ["10.0.2.10"]

[[instances]]
id = "i-db1"
vpc_id = "vpc-prod"
security_groups = ["sg-db"]
private_ips = ["10.0.9.10"]

# Spare capacity, not yet in service.
[[instances]]
id = "i-spare"
vpc_id = "vpc-prod"
security_groups = ["sg-app"]
private_ips = ["10.0.2.99"]

# end of file
"#;

const DB: &str = r#"{
  "SecurityGroupId": "sg-db",
  "SecurityGroupName": "db",
  "VpcId": "vpc-prod",
  "InnerAccessPolicy": "Accept",
  "Permissions": { "Permission": [
    { "SecurityGroupRuleId": "sgr-db-pg", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "5432/5432", "SourceGroupId": "sg-app", "Policy": "Accept", "Priority": "1" }
  ] }
}
"#;

const CACHE: &str = r#"{ "SecurityGroupId": "sg-cache", "VpcId": "vpc-prod", "Permissions": { "Permission": [] } }"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sgsim-edit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn call(dir: &Path, world: &str, query: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(["call", "--world", world, query])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of `a` not in `b` and of `b` not in `a`, by a longest common subsequence.
fn line_diff<'a>(a: &'a str, b: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut l = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            l[i][j] = if a[i] == b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut new) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
        } else if l[i + 1][j] >= l[i][j + 1] {
            gone.push(a[i]);
            i += 1;
        } else {
            new.push(b[j]);
            j += 1;
        }
    }
    gone.extend(&a[i..]);
    new.extend(&b[j..]);
    (gone, new)
}

const R: &str = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou";

#[test]
fn a_commented_toml_world_keeps_all_but_the_changed_lines() {
    let dir = temp_dir("toml");
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    std::fs::write(dir.join("db.json"), DB).unwrap();
    std::fs::write(dir.join("cache.json"), CACHE).unwrap();
    assert!(WORLD.lines().count() >= 80);
    let calls = [
        format!("{R}&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=8443/8443&Permissions.1.SourceCidrIp=10.0.0.0/8"),
        "Action=RevokeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-web-old".to_string(),
        "Action=ModifySecurityGroupRule&RegionId=cn-hangzhou&SecurityGroupId=sg-web&SecurityGroupRuleId=sgr-web-ssh&Priority=5".to_string(),
        "Action=CreateSecurityGroup&RegionId=cn-hangzhou&VpcId=vpc-prod&SecurityGroupName=batch".to_string(),
    ];
    for q in &calls {
        let (code, err) = call(&dir, "w.toml", q);
        assert_eq!(code, 0, "{q}: {err}");
        // Only the notes that the imports without `type` are basic groups.
        assert!(
            err.lines()
                .all(|l| l.starts_with("note:") && l.contains("basic")),
            "{q}: {err}"
        );
    }
    let after = std::fs::read_to_string(dir.join("w.toml")).unwrap();
    let (gone, new) = line_diff(WORLD, &after);
    assert_eq!(
        gone,
        vec![
            "  { id = \"sgr-web-ssh\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"22/22\", source_prefix_list_id = \"pl-office\", priority = 10 },",
            "  # a legacy monitoring rule, to be revoked",
            "  { id = \"sgr-web-old\", direction = \"ingress\", ip_protocol = \"UDP\", port_range = \"161/161\", source_cidr_ip = \"192.0.2.0/24\" },",
        ],
        "{after}"
    );
    // The modified rule, the new rule, and the new group (a blank line, its header, 6 keys).
    assert_eq!(new.len(), 2 + 8, "{new:#?}\n{after}");
    assert_eq!(new[0], "  { id = \"sgr-web-ssh\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"22/22\", source_prefix_list_id = \"pl-office\", priority = 5 },");
    assert!(new[1].starts_with("  { id = \"sgr-000000000004\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"8443/8443\""), "{after}");
    assert!(!after.contains("owner_account"), "{after}");
    assert!(
        after.contains("[[security_groups]]\nid = \"sg-000000000001\"\nname = \"batch\""),
        "{after}"
    );
    // The new group comes right after the last group, before the instances.
    assert!(after.find("sg-000000000001").unwrap() < after.find("i-web1").unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_imported_group_that_changes_is_written_in_full_with_a_note() {
    let dir = temp_dir("import");
    std::fs::write(dir.join("w.toml"), WORLD).unwrap();
    std::fs::write(dir.join("db.json"), DB).unwrap();
    std::fs::write(dir.join("cache.json"), CACHE).unwrap();
    let (code, err) = call(
        &dir,
        "w.toml",
        &format!("{R}&SecurityGroupId=sg-db&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=6432/6432&Permissions.1.SourceGroupId=sg-app"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note:")
            && err.contains("sg-db")
            && err.contains("import file is left as it was"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("db.json")).unwrap(), DB);
    let after = std::fs::read_to_string(dir.join("w.toml")).unwrap();
    assert!(!after.contains("import = \"db.json\""), "{after}");
    assert!(after.contains("import = \"cache.json\""), "{after}");
    assert!(
        after.contains("sgr-db-pg") && after.contains("6432/6432"),
        "{after}"
    );
    let (gone, _) = line_diff(WORLD, &after);
    assert_eq!(
        gone,
        vec!["import = \"db.json\"   # DescribeSecurityGroupAttribute of the db group"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_json_world_keeps_its_key_order_and_indentation() {
    let dir = temp_dir("json");
    let world = "{\n    \"security_groups\": [\n        {\n            \"vpc_id\": \"vpc-1\",\n            \"id\": \"sg-1\",\n            \"rules\": []\n        }\n    ],\n    \"vpcs\": [\n        {\n            \"id\": \"vpc-1\"\n        }\n    ]\n}\n";
    std::fs::write(dir.join("w.json"), world).unwrap();
    let (code, err) = call(
        &dir,
        "w.json",
        &format!("{R}&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8"),
    );
    assert_eq!(code, 0, "{err}");
    let after = std::fs::read_to_string(dir.join("w.json")).unwrap();
    assert!(after.starts_with("{\n    \"security_groups\": [\n        {\n            \"vpc_id\": \"vpc-1\",\n            \"id\": \"sg-1\",\n            \"rules\": [\n"), "{after}");
    assert!(
        after.ends_with(
            "    \"vpcs\": [\n        {\n            \"id\": \"vpc-1\"\n        }\n    ]\n}\n"
        ),
        "{after}"
    );
    assert!(!after.contains("owner"), "{after}");
    std::fs::remove_dir_all(&dir).unwrap();
}
