//! The analysis commands on the examples under `examples/analysis/`: exit statuses, what
//! they print, and every witness re-decided by the reference.

use crate::support::claims::*;
use sgsim::analysis::{audit, diff, lint};
use sgsim::model::Direction;
use std::path::Path;
use std::process::Command;

fn world(name: &str) -> sgsim::model::World {
    sgsim::world_file::load(&Path::new("examples/analysis").join(name)).unwrap()
}

fn sgsim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lint_examples_and_fail_on() {
    let (code, out, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/exposure.toml",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("high exposure i-web ingress sgr-web-ssh6"),
        "{out}"
    );
    // i-db's SSH is closed by a stronger drop: no exposure there.
    assert!(!out.lines().any(|l| l.contains("exposure i-db")), "{out}");
    let (code, out, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/clean.toml",
        "--fail-on",
        "high",
    ]);
    assert_eq!((code, out.as_str()), (0, "no findings\n"));
    let (code, _, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/shadowed.toml",
        "--fail-on",
        "medium",
    ]);
    assert_eq!(code, 1);
    let (code, _, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/exposure.toml",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0);
    let (code, out, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/shadowed.toml",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for k in [
        "shadowed",
        "redundant",
        "tie-overlap",
        "unmatchable",
        "empty-peer",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let shadowed = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "shadowed")
        .unwrap();
    assert_eq!(shadowed["rule"], "sgr-app-wide");
    assert_eq!(
        shadowed["covering"],
        serde_json::json!(["sgr-app-high", "sgr-app-low"])
    );
    assert_eq!(shadowed["different_action"], true);
    assert_eq!(shadowed["severity"], "medium");
    let (code, _, err) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/clean.toml",
        "--to",
        "i-nope",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown target `i-nope`"), "{err}");
}

#[test]
fn lint_witnesses_hold() {
    for name in [
        "shadowed.toml",
        "exposure.toml",
        "clean.toml",
        "before.toml",
        "after.toml",
    ] {
        let w = world(name);
        let f = lint::lint(&w, &[]).unwrap();
        check_findings(&w, &f).unwrap();
    }
}

#[test]
fn audit_rows_are_exact() {
    let w = world("exposure.toml");
    for from in ["internet", "any", "10.0.0.0/8", "sg-db"] {
        let src = audit::Source::parse(from).unwrap();
        let rows = audit::audit(&w, &[], &src, Direction::Ingress).unwrap();
        check_audit(&w, &rows).unwrap();
    }
    let rows = audit::audit(
        &w,
        &["i-db".into()],
        &audit::Source::Internet,
        Direction::Ingress,
    )
    .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    let (code, out, _) = sgsim(&[
        "audit",
        "--world",
        "examples/analysis/exposure.toml",
        "--to",
        "i-web",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &v["rows"][0];
    assert_eq!(row["reason"], "rule");
    assert_eq!(row["region"]["protocols"], serde_json::json!(["6"]));
    assert_eq!(row["region"]["local_ports"], serde_json::json!(["443-443"]));
}

#[test]
fn diff_examples() {
    let (a, b, s) = (
        world("before.toml"),
        world("after.toml"),
        world("same.toml"),
    );
    let rows = diff::diff(&a, &b, &[], false).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    check_diff(&a, &b, &rows).unwrap();
    assert!(diff::diff(&a, &s, &[], false).unwrap().is_empty());
    let reasons = diff::diff(&a, &s, &[], true).unwrap();
    assert!(!reasons.is_empty());
    check_diff(&a, &s, &reasons).unwrap();
    let (code, out, _) = sgsim(&[
        "diff",
        "examples/analysis/before.toml",
        "examples/analysis/same.toml",
    ]);
    assert_eq!((code, out.as_str()), (0, "equivalent\n"));
    let (code, out, _) = sgsim(&[
        "diff",
        "examples/analysis/before.toml",
        "examples/analysis/after.toml",
        "--json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["equivalent"], false);
    assert_eq!(v["rows"].as_array().unwrap().len(), 3);
    // The what-if forms.
    let (code, out, _) = sgsim(&[
        "diff", "--world", "examples/analysis/before.toml", "--call",
        "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&IpProtocol=TCP&PortRange=3306/3306&SourceCidrIp=10.0.0.0/8",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("drop by default -> accept by rule"), "{out}");
    let (code, _, err) = sgsim(&["diff", "--world", "examples/analysis/before.toml", "--call", "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-nope&IpProtocol=TCP&PortRange=1/1&SourceCidrIp=1.1.1.1"]);
    assert_eq!(code, 2);
    assert!(err.contains("the call failed"), "{err}");
}

#[test]
fn diff_plan() {
    let a = world("before.toml");
    let mut b = a.clone();
    let text = std::fs::read_to_string("examples/analysis/plan.json").unwrap();
    sgsim::analysis::plan::apply_plan(&mut b, &text, "plan.json").unwrap();
    let rows = diff::diff(&a, &b, &[], false).unwrap();
    assert!(!rows.is_empty());
    check_diff(&a, &b, &rows).unwrap();
    let (code, out, err) = sgsim(&[
        "diff",
        "--world",
        "examples/analysis/before.toml",
        "--plan",
        "examples/analysis/plan.json",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("3306"), "{out}");
    // An unknown value that names no group of the plan is an error naming the resource.
    let bad = text.replace(
        r#""alicloud_security_group.admin.id", "alicloud_security_group.admin""#,
        r#""var.group""#,
    );
    let dir = std::env::temp_dir().join(format!("sgsim-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, bad).unwrap();
    let (code, _, err) = sgsim(&[
        "diff",
        "--world",
        "examples/analysis/before.toml",
        "--plan",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("alicloud_security_group_rule.admin_ssh") && err.contains("security_group_id"),
        "{err}"
    );
}

#[test]
fn explain_example() {
    let (code, out, _) = sgsim(&[
        "explain",
        "--world",
        "examples/analysis/exposure.toml",
        "tcp 8.8.8.8 -> 47.0.0.10:22",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nat:"), "{out}");
    assert!(
        out.contains("decision: drop by rule sgr-web-nossh"),
        "{out}"
    );
    let (code, out, _) = sgsim(&[
        "explain",
        "--world",
        "examples/analysis/exposure.toml",
        "--json",
        "tcp [2001:4860::1] -> [2001:db8::10]:22",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in [
        "packet",
        "target",
        "direction",
        "nic",
        "nat",
        "groups",
        "inner_access",
        "rules",
        "decision",
    ] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
    assert_eq!(v["decision"]["rule"], "sgr-web-ssh6");
    let first = &v["rules"][0];
    assert_eq!(first["id"], "sgr-web-nossh");
    assert_eq!(first["failed"], "peer");
}

#[test]
fn allow_list_steps_fail_with_a_witness() {
    let text = std::fs::read_to_string("scenarios/analysis/allow-list.toml").unwrap();
    let dir = std::env::temp_dir().join(format!("sgsim-allow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        // ICMP is accepted but not listed.
        (
            text.replace(r#"expect_only = ["tcp 443", "icmp"]"#, r#"expect_only = ["tcp 443"]"#),
            "packet `icmp 198.51.100.1 -> 47.0.0.10` is accepted outside expect_only [tcp 443]: accept by rule sgr-ping",
        ),
        // SSH from outside the office is dropped by the stronger drop.
        (
            text.replace(r#"expect_all = ["tcp 443"]"#, r#"expect_all = ["tcp 443", "tcp 22"]"#),
            "is not accepted although in expect_all [tcp 443, tcp 22]: drop by rule sgr-ssh-deny",
        ),
        // Without the drop, SSH from everyone is accepted by the weaker rule: step 5's list
        // without tcp 22 breaks.
        (
            text.replace(
                "expect = \"ok\"\n\n[[steps]]\nreachable_from = \"198.51.100.0/24\"\nto = \"i-web\"\nexpect_only = [\"tcp 443\", \"icmp\", \"tcp 22\"]",
                "expect = \"ok\"\n\n[[steps]]\nreachable_from = \"198.51.100.0/24\"\nto = \"i-web\"\nexpect_only = [\"tcp 443\", \"icmp\"]",
            ),
            "tcp 198.51.100.1:49152 -> 47.0.0.10:22` is accepted outside expect_only [tcp 443, icmp]: accept by rule sgr-ssh-any",
        ),
    ];
    for (i, (scenario, want)) in cases.iter().enumerate() {
        assert_ne!(scenario, &text, "case {i} changed nothing");
        let path = dir.join(format!("case{i}.toml"));
        std::fs::write(&path, scenario).unwrap();
        let (code, out, _) = sgsim(&["scenario", "run", path.to_str().unwrap()]);
        assert_eq!(code, 1, "case {i}: {out}");
        assert!(out.contains(want), "case {i}: {out}");
    }
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        text.replace(r#"expect_all = ["tcp 443"]"#, r#"expect_all = ["tcp 0"]"#),
    )
    .unwrap();
    let (code, out, _) = sgsim(&["scenario", "run", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("invalid service `tcp 0`"), "{out}");
}

#[test]
fn readme_shows_real_output() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find("## Questions about whole rule sets").unwrap();
    let section = &readme[start..];
    let section = &section[..section.find("\n## ").map_or(section.len(), |i| i + 1)];
    let mut lines = section.lines().peekable();
    let mut checked = 0;
    while let Some(line) = lines.next() {
        let Some(cmd) = line.strip_prefix("$ sgsim ") else {
            continue;
        };
        let mut want = String::new();
        let mut code = None;
        for l in lines.by_ref() {
            if let Some(c) = l.strip_prefix("# exit ") {
                code = Some(c.parse::<i32>().unwrap());
                break;
            }
            want.push_str(l);
            want.push('\n');
        }
        let args = crate::support::shell_words(cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got_code, out, err) = sgsim(&args);
        assert_eq!(
            out, want,
            "README output of `sgsim {cmd}` ({args:?}): {err}"
        );
        assert_eq!(Some(got_code), code, "README exit status of `sgsim {cmd}`");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} commands found");
}

/// A finding merged across targets carries a witness of each target's own (their local
/// addresses differ), and each one is re-decided by the reference for its target.
#[test]
fn merged_findings_witness_every_target() {
    let text = r#"
[[vpcs]]
id = "vpc-1"
[[security_groups]]
id = "sg-a"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-wide", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "0.0.0.0/0", priority = 2 },
  { id = "sgr-narrow", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8", priority = 3 },
]
[[instances]]
id = "i-one"
vpc_id = "vpc-1"
security_groups = ["sg-a"]
private_ips = ["192.168.1.10"]
[[instances]]
id = "i-two"
vpc_id = "vpc-1"
security_groups = ["sg-a"]
private_ips = ["192.168.1.11"]
"#;
    let w = sgsim::world_file::load_str(text, sgsim::world_file::Format::Toml, "t.toml").unwrap();
    let findings = lint::lint(&w, &[]).unwrap();
    let shadowed = findings
        .iter()
        .find(|f| f.kind == "shadowed" && f.rule.as_deref() == Some("sgr-narrow"))
        .unwrap();
    assert_eq!(shadowed.targets, vec!["i-one", "i-two"]);
    let locals: Vec<String> = shadowed
        .witnesses
        .iter()
        .map(|p| p.unwrap().dst().to_string())
        .collect();
    assert_eq!(locals, vec!["192.168.1.10", "192.168.1.11"]);
    check_findings(&w, &findings).unwrap();
    let json = shadowed.to_json();
    assert_eq!(json["witnesses"][1]["target"], "i-two");
}

#[test]
fn lint_names_groups_beside_ids() {
    let (_, out, _) = sgsim(&["lint", "--world", "examples/analysis/exposure.toml"]);
    assert!(
        out.contains("high exposure i-web ingress sgr-web-ssh6 in sg-web (web): "),
        "{out}"
    );
    assert!(out.contains("sgr-db-ssh in sg-db (db): "), "{out}");
    let (_, out, _) = sgsim(&[
        "lint",
        "--world",
        "examples/analysis/exposure.toml",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        let want = match f["group"].as_str() {
            Some("sg-web") => "web",
            Some("sg-db") => "db",
            other => panic!("unexpected group {other:?}: {f}"),
        };
        assert_eq!(f["group_name"], want, "{f}");
    }
    // A world without names shows the id alone and a null name.
    let (_, out, _) = sgsim(&["lint", "--world", "examples/analysis/before.toml", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for f in v["findings"].as_array().unwrap() {
        assert!(f["group_name"].is_null(), "{f}");
    }
}
