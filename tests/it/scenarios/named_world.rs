//! Scenarios that name their world (`world = "PATH"`, SPEC §5).

use crate::support::TempDir;
use sgsim::scenario::{collect, load, run_file};
use std::path::Path;

/// A world whose group `sg-web` is imported from `web.json` beside the world file.
const WORLD_TOML: &str = r#"region_id = "cn-hangzhou"

[[vpcs]]
id = "vpc-1"

[[security_groups]]
import = "web.json"

[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10"]
"#;

/// A `DescribeSecurityGroupAttribute` response: SSH from 10/8 only.
const WEB_JSON: &str = r#"{"SecurityGroupId": "sg-web", "VpcId": "vpc-1", "Permissions": {"Permission": [
  {"SecurityGroupRuleId": "sgr-ssh", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8", "Policy": "Accept", "Priority": "1"}]}}"#;

const WORLD_JSON: &str = r#"{
  "region_id": "cn-hangzhou",
  "vpcs": [{"id": "vpc-1"}],
  "security_groups": [{"id": "sg-web", "vpc_id": "vpc-1", "rules": [
    {"id": "sgr-ssh", "direction": "ingress", "ip_protocol": "TCP", "port_range": "22/22", "source_cidr_ip": "10.0.0.0/8"}]}],
  "instances": [{"id": "i-web", "vpc_id": "vpc-1", "security_groups": ["sg-web"], "private_ips": ["192.168.1.10"]}]
}"#;

/// Steps that change the scenario's copy: one rule, a call adds a second, HTTP opens.
const STEPS: &str = r#"
[[steps]]
count_rules = "sg-web"
expect_count = 1

[[steps]]
packet = "tcp 10.1.2.3:40000 -> 192.168.1.10:22"
expect = "accept"
expect_rule = "sgr-ssh"

[[steps]]
packet = "tcp 10.1.2.3:40000 -> 192.168.1.10:80"
expect = "drop"
expect_reason = "default"

[[steps]]
call = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0"
expect = "ok"

[[steps]]
count_rules = "sg-web"
expect_count = 2

[[steps]]
packet = "tcp 10.1.2.3:40000 -> 192.168.1.10:80"
expect = "accept"
"#;

fn scenario(world: &str) -> String {
    format!("name = \"named world\"\nworld = \"{world}\"\n{STEPS}")
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn load_error(path: &Path) -> String {
    let e = load(path).unwrap_err();
    let o = run_file(path);
    assert_eq!(
        o.failure.as_deref(),
        Some(format!("cannot load: {e}").as_str())
    );
    e
}

#[test]
fn a_toml_world_is_read_with_its_imports_and_left_unchanged() {
    let dir = TempDir::new("toml");
    let world = dir.file("shared/worlds/base.toml", WORLD_TOML);
    let web = dir.file("shared/worlds/web.json", WEB_JSON);
    let (world_before, web_before) = (bytes(&world), bytes(&web));
    let s = dir.file("team/ssh.toml", &scenario("../shared/worlds/base.toml"));
    let loaded = load(&s).unwrap();
    let named = dir.join("team/../shared/worlds/base.toml");
    assert_eq!(loaded.world_file, Some(named));
    assert_eq!(loaded.world.group("sg-web").unwrap().rules.len(), 1);
    let o = run_file(&s);
    assert_eq!(o.failure, None);
    assert_eq!(o.steps_run, 6);
    // The call changed the scenario's copy only.
    assert_eq!(bytes(&world), world_before);
    assert_eq!(bytes(&web), web_before);
    // A second run starts again from the file's world.
    assert_eq!(run_file(&s).failure, None);
}

#[test]
fn a_json_world_is_read_and_left_unchanged() {
    let dir = TempDir::new("json");
    let world = dir.file("world.json", WORLD_JSON);
    let before = bytes(&world);
    let s = dir.file("ssh.toml", &scenario("world.json"));
    let o = run_file(&s);
    assert_eq!(o.failure, None);
    assert_eq!(o.steps_run, 6);
    assert_eq!(bytes(&world), before);
}

#[test]
fn a_failing_step_is_reported_as_for_an_inline_world() {
    let dir = TempDir::new("fail");
    dir.file("world.json", WORLD_JSON);
    let s = dir.file(
        "wrong.toml",
        "world = \"world.json\"\n[[steps]]\ncount_rules = \"sg-web\"\nexpect_count = 5\n",
    );
    let o = run_file(&s);
    assert_eq!(
        o.failure.as_deref(),
        Some("step 1: count_rules `sg-web`: expected 5 rules, found 1")
    );
    let s = dir.file(
            "packet.toml",
            "world = \"world.json\"\n[[steps]]\npacket = \"tcp 10.1.2.3:40000 -> 192.168.1.10:22\"\nexpect = \"drop\"\n",
        );
    let e = run_file(&s).failure.unwrap();
    let want = "step 1: packet `tcp 10.1.2.3:40000 -> 192.168.1.10:22` (ingress): \
                    expected drop, found accept by rule sgr-ssh of sg-web (";
    assert!(e.starts_with(want), "{e}");
}

#[test]
fn world_keys_beside_world_are_refused_by_name() {
    let dir = TempDir::new("both");
    dir.file("world.json", WORLD_JSON);
    let s = dir.file(
            "both.toml",
            &format!(
                "world = \"world.json\"\nregion_id = \"cn-hangzhou\"\n[limits]\nrules_per_group = 3\n[[vpcs]]\nid = \"vpc-9\"\n{STEPS}"
            ),
        );
    let e = load_error(&s);
    assert!(e.starts_with(&s.display().to_string()), "{e}");
    assert!(e.contains("world = \"world.json\""), "{e}");
    assert!(e.contains("`region_id`, `limits`, `vpcs`"), "{e}");
    assert!(!e.contains("`steps`"), "{e}");
}

#[test]
fn a_missing_world_file_names_the_scenario_and_the_path() {
    let dir = TempDir::new("missing");
    let s = dir.file("s.toml", &scenario("worlds/nope.toml"));
    let e = load_error(&s);
    assert!(
        e.starts_with(&format!("{}: world `worlds/nope.toml`: ", s.display())),
        "{e}"
    );
    assert!(e.contains("nope.toml: cannot read: no such file"), "{e}");
}

#[test]
fn an_invalid_world_names_the_scenario_the_path_and_the_place() {
    let dir = TempDir::new("invalid");
    let bad = WORLD_TOML.replace("private_ips = [\"192.168.1.10\"]", "private_ips = 7");
    let world = dir.file("worlds/bad.toml", &bad);
    let s = dir.file("s.toml", &scenario("worlds/bad.toml"));
    let e = load_error(&s);
    let prefix = format!(
        "{}: world `worlds/bad.toml`: {}:",
        s.display(),
        world.display()
    );
    assert!(e.starts_with(&prefix), "{e}");
    // The world file's own line and column, and the field.
    assert!(e.contains("bad.toml:13:15: "), "{e}");
    assert!(e.contains("private_ips"), "{e}");
    // A rule the API refuses: the group, the rule's index and the field.
    let rule = WORLD_JSON.replace("\"22/22\"", "\"22/2\"");
    dir.file("worlds/rule.json", &rule);
    let s = dir.file("r.toml", &scenario("worlds/rule.json"));
    let e = load_error(&s);
    assert!(e.contains("world `worlds/rule.json`"), "{e}");
    assert!(e.contains("sg-web") && e.contains("rule 1"), "{e}");
}

/// The example of `docs/scenarios.md`, as written there: its ```toml blocks that start
/// with `# file: PATH` are written to a folder `team/`, which is then run.
#[test]
fn the_documented_example_passes_and_leaves_its_world_unchanged() {
    let doc = std::fs::read_to_string(crate::support::root().join("docs/scenarios.md")).unwrap();
    let dir = TempDir::new("doc");
    let mut files = Vec::new();
    for block in doc.split("```toml\n").skip(1) {
        let block = block.split("```").next().unwrap();
        if let Some(rest) = block.strip_prefix("# file: ") {
            let (rel, _) = rest.split_once('\n').unwrap();
            files.push(dir.file(&format!("team/{rel}"), block));
        }
    }
    assert_eq!(files.len(), 2, "the world and the scenario");
    let world = bytes(&files[0]);
    let found = collect(&[dir.join("team")]).unwrap();
    assert_eq!(found, vec![dir.join("team/https.toml")]);
    let o = run_file(&found[0]);
    assert_eq!(o.failure, None);
    assert_eq!(o.steps_run, 7);
    assert_eq!(bytes(&files[0]), world);
}

#[test]
fn a_world_must_be_a_world_file() {
    let dir = TempDir::new("kind");
    dir.file("world.yaml", "");
    let e = load_error(&dir.file("a.toml", &scenario("world.yaml")));
    assert!(e.contains("world `world.yaml`: not a world file"), "{e}");
    let e = load_error(&dir.file("b.toml", &scenario("")));
    assert!(e.contains("`world` is empty"), "{e}");
    // A scenario is not a world: its steps are an unknown key there.
    dir.file("worlds/base.toml", WORLD_TOML);
    dir.file("worlds/web.json", WEB_JSON);
    dir.file("c.toml", &scenario("worlds/base.toml"));
    let e = load_error(&dir.file("d.toml", &scenario("c.toml")));
    assert!(
        e.contains("world `c.toml`") && e.contains("only scenario files"),
        "{e}"
    );
    // The runner skips the `worlds` folder: c.toml runs, d.toml fails, nothing else.
    let found = collect(&[dir.as_path().to_path_buf()]).unwrap();
    let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap()).collect();
    assert_eq!(names, ["a.toml", "b.toml", "c.toml", "d.toml"]);
    assert_eq!(run_file(&dir.join("c.toml")).failure, None);
}
