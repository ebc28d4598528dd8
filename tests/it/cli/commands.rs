//! Integration tests of the `sgsim` binary (SPEC §6): exit codes, output, one-line errors.
//!
//! Every test runs the built binary from the package root, so `examples/web.toml` resolves
//! as in the README; files a test needs are written to a fresh folder under the system's
//! temporary directory and removed afterwards (`crate::support`).

use crate::support::{root, run, run_with, run_with_closed_stdout, shell_words, TempDir};
use serde_json::Value;

const WEB: &str = "examples/web.toml";

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

const JSON_KEYS: [&str; 12] = [
    "decision",
    "reason",
    "rule",
    "group",
    "group_name",
    "packet",
    "target",
    "direction",
    "groups",
    "local",
    "nic",
    "notes",
];

fn assert_json_keys(v: &Value) {
    for k in JSON_KEYS {
        assert!(v.get(k).is_some(), "key `{k}` missing in {v}");
    }
}

// ---------------------------------------------------------------------------------------
// The README.

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The arguments of the README's first command (`cargo run -q -- ARGS`).
fn readme_first_command() -> Vec<String> {
    let text = readme();
    let line = text
        .lines()
        .find(|l| l.starts_with("cargo run"))
        .expect("the README has a `cargo run` command");
    let words = shell_words(line);
    let dashes = words.iter().position(|w| w == "--").expect("`--` in it");
    words[dashes + 1..].to_vec()
}

#[test]
fn readme_first_command_accepts_and_explains() {
    let args = readme_first_command();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(args[0], "check");
    let r = run(&args);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stderr.is_empty(), "{r:#?}");
    let lines = r.stdout_lines();
    assert!(lines[0].starts_with("ACCEPT"), "{r:#?}");
    assert!(
        lines[0].contains("tcp 203.0.113.7:50000 -> 192.168.1.10:22"),
        "{r:#?}"
    );
    assert!(lines[0].contains("ingress at i-web"), "{r:#?}");
    assert!(
        r.stdout
            .contains("reason: rule sgr-000000000001 of security group sg-web"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("from pl-office"), "{r:#?}");
}

/// The output the README shows is the output the binary prints.
#[test]
fn readme_sample_output_is_current() {
    let text = readme();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("$ sgsim check"));
    let command = lines
        .next()
        .expect("a `$ sgsim check` sample in the README");
    let indent = command.len() - command.trim_start().len();
    let expected: Vec<String> = lines
        .take_while(|l| !l.trim_start().starts_with("```"))
        .map(|l| l.get(indent..).unwrap_or("").to_string())
        .collect();
    let words = shell_words(command.trim_start().trim_start_matches("$ sgsim "));
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let r = run(&args);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout_lines(), expected);
}

// ---------------------------------------------------------------------------------------
// Single checks.

#[test]
fn check_drop_by_default_exits_1() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "tcp 203.0.113.7:50000 -> 192.168.1.10:23",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stdout.starts_with("DROP"), "{r:#?}");
    assert!(r.stdout.contains("dropped by default"), "{r:#?}");
    assert!(r.stderr.is_empty(), "{r:#?}");
}

#[test]
fn check_drop_by_rule_exits_1_and_names_the_rule() {
    // The drop rule and the HTTPS accept rule tie at priority 1: drop wins.
    let r = run(&[
        "check",
        "--world",
        WEB,
        "tcp 198.51.100.1:1000 -> 192.168.1.10:443",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stdout.starts_with("DROP"), "{r:#?}");
    assert!(
        r.stdout
            .contains("rule sgr-web-bad-net of security group sg-web"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("known scanners"), "{r:#?}");
}

#[test]
fn check_fills_in_the_default_source_port() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 203.0.113.7 -> 192.168.1.10:443",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_eq!(v["packet"], "tcp 203.0.113.7:49152 -> 192.168.1.10:443");
}

#[test]
fn check_json_accept_by_rule() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 203.0.113.7:50000 -> 192.168.1.10:22",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout_lines().len(), 1, "one object: {r:#?}");
    let v = json_line(&r.stdout);
    assert_json_keys(&v);
    assert_eq!(v["decision"], "accept");
    assert_eq!(v["reason"], "rule");
    assert_eq!(v["rule"], "sgr-000000000001");
    assert_eq!(v["group"], "sg-web");
    assert_eq!(v["packet"], "tcp 203.0.113.7:50000 -> 192.168.1.10:22");
    assert_eq!(v["target"], "i-web");
    assert_eq!(v["direction"], "ingress");
}

#[test]
fn check_json_default_has_null_rule_and_group() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 203.0.113.7:50000 -> 192.168.1.10:23",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_json_keys(&v);
    assert_eq!(v["decision"], "drop");
    assert_eq!(v["reason"], "default");
    assert!(v["rule"].is_null(), "{v}");
    assert!(v["group"].is_null(), "{v}");
}

#[test]
fn check_json_egress_of_an_advanced_group_drops_by_default() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--direction",
        "egress",
        "--json",
        "tcp 192.168.3.30 -> 8.8.8.8:443",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_json_keys(&v);
    assert_eq!(v["decision"], "drop");
    assert_eq!(v["reason"], "default");
    assert_eq!(v["target"], "i-bastion");
    assert_eq!(v["direction"], "egress");
    assert_eq!(v["packet"], "tcp 192.168.3.30:49152 -> 8.8.8.8:443");
    assert!(v["rule"].is_null() && v["group"].is_null(), "{v}");
}

#[test]
fn check_json_inner_access_names_the_group_but_no_rule() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 192.168.1.11:1000 -> 192.168.1.10:9999",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_json_keys(&v);
    assert_eq!(v["reason"], "inner-access");
    assert!(v["rule"].is_null(), "{v}");
    assert_eq!(v["group"], "sg-web");
}

#[test]
fn check_to_a_group_decides_for_that_group() {
    let packet = "tcp 203.0.113.9 -> 192.168.3.30:22";
    let r = run(&["check", "--world", WEB, "--json", packet]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(json_line(r.stdout.trim_end())["rule"], "sgr-bastion-ssh");
    let r = run(&["check", "--world", WEB, "--json", "--to", "sg-web", packet]);
    assert_eq!(r.code, 0, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_eq!(v["target"], "sg-web");
    assert_eq!(v["rule"], "sgr-000000000001");
}

#[test]
fn check_public_address_is_decided_for_its_instance() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "icmp 203.0.113.7 -> 47.0.0.10",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_eq!(v["target"], "i-web");
    assert_eq!(v["rule"], "sgr-web-ping");
}

// ---------------------------------------------------------------------------------------
// Bad input: one line on stderr, exit 2, never a panic.

#[test]
fn error_malformed_packet_names_the_column() {
    let r = run(&["check", "--world", WEB, "tcp 1.1.1.1 -> 192.168.1.10:99999"]);
    r.assert_error(&["invalid packet", "column 29", "99999"]);
    assert!(r.stdout.is_empty(), "{r:#?}");
}

#[test]
fn error_unknown_protocol_names_column_1() {
    let r = run(&["check", "--world", WEB, "tpc 1.1.1.1 -> 192.168.1.10:22"]);
    r.assert_error(&["column 1", "tpc"]);
}

#[test]
fn error_unknown_target() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--to",
        "i-nope",
        "tcp 1.1.1.1 -> 192.168.1.10:22",
    ]);
    r.assert_error(&["i-nope"]);
}

#[test]
fn error_target_that_does_not_own_the_address() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--to",
        "i-db",
        "tcp 1.1.1.1 -> 192.168.3.30:22",
    ]);
    r.assert_error(&["i-db", "192.168.3.30", "i-bastion"]);
}

#[test]
fn error_address_nobody_owns() {
    let r = run(&["check", "--world", WEB, "tcp 1.1.1.1 -> 10.9.9.9:22"]);
    r.assert_error(&["10.9.9.9"]);
}

const BAD_RULE_WORLD: &str = r#"
[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-x"
vpc_id = "vpc-1"
rules = [
  { direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "0.0.0.0/0" },
  { direction = "ingress", ip_protocol = "TCP", port_range = "80/22", source_cidr_ip = "0.0.0.0/0" },
]

[[instances]]
id = "i-x"
vpc_id = "vpc-1"
security_groups = ["sg-x"]
private_ips = ["10.0.0.1"]
"#;

#[test]
fn error_world_with_an_invalid_rule_names_file_group_rule_and_field() {
    let dir = TempDir::new("bad-rule");
    let world = dir.write("bad-rule.toml", BAD_RULE_WORLD);
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "sg-x", "rule 2", "port_range", "80/22"]);
    assert!(r.stdout.is_empty(), "{r:#?}");
}

#[test]
fn error_world_with_an_invalid_rule_in_json() {
    let dir = TempDir::new("bad-rule-json");
    let text = r#"{
  "vpcs": [{ "id": "vpc-1" }],
  "security_groups": [{ "id": "sg-j", "vpc_id": "vpc-1", "rules": [
    { "direction": "egress", "ip_protocol": "ICMP", "port_range": "-1/-1",
      "ipv6_dest_cidr_ip": "::/0" }
  ]}]
}"#;
    let world = dir.write("bad.json", text);
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "sg-j", "rule 1", "ipv6_dest_cidr_ip"]);
}

#[test]
fn error_world_with_an_unknown_key() {
    let dir = TempDir::new("unknown-key");
    let world = dir.write(
        "unknown-key.toml",
        "region_id = \"cn-hangzhou\"\ncolour = \"blue\"\n",
    );
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "colour", ":2:"]);
}

#[test]
fn error_world_with_an_unknown_key_in_a_rule_names_group_and_rule() {
    let dir = TempDir::new("unknown-rule-key");
    let world = dir.write(
        "unknown-rule-key.toml",
        r#"
[[security_groups]]
id = "sg-1"
rules = [
  { direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "0.0.0.0/0" },
  { direction = "ingress", ip_protocol = "TCP", port_range = "23/23", source_cidr_ip = "0.0.0.0/0", prot = "x" },
]
"#,
    );
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "prot", "sg-1", "rule 2"]);
}

#[test]
fn error_missing_world_file() {
    let dir = TempDir::new("missing-world");
    let world = dir.path("nope.toml");
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "no such file"]);
}

#[test]
fn error_world_file_of_an_unknown_format() {
    let dir = TempDir::new("yaml");
    let world = dir.write("w.yaml", "region_id: x\n");
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, ".toml"]);
}

#[test]
fn error_missing_batch_file() {
    let dir = TempDir::new("missing-batch");
    let batch = dir.path("nope.txt");
    let r = run(&["check", "--world", WEB, "--batch", &batch]);
    r.assert_error(&[&batch, "no such file"]);
    assert!(r.stdout.is_empty(), "{r:#?}");
}

#[test]
fn error_world_with_a_line_break_in_a_value_is_still_one_line() {
    let dir = TempDir::new("newline");
    let world = dir.write(
        "nl.toml",
        "[[vpcs]]\nid = \"a\\nb\"\n[[vpcs]]\nid = \"a\\nb\"\n",
    );
    let r = run(&["check", "--world", &world, "tcp 1.1.1.1 -> 10.0.0.1:22"]);
    r.assert_error(&[&world, "used twice"]);
}

#[test]
fn error_usage_is_one_line() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--direction",
        "sideways",
        "tcp 1.1.1.1 -> 192.168.1.10:22",
    ]);
    r.assert_error(&["sideways"]);
    let r = run(&["check", "--world", WEB]);
    r.assert_error(&["PACKET"]);
}

#[test]
fn usage_errors_exit_2_without_a_panic() {
    for args in [
        &[
            "check",
            "--world",
            WEB,
            "--direction",
            "sideways",
            "tcp 1.1.1.1 -> 1.1.1.2:1",
        ][..],
        &["check", "--world", WEB],
        &["check", "tcp 1.1.1.1 -> 192.168.1.10:22"],
        &["frobnicate"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:#?}");
        assert!(r.stderr.starts_with("error:"), "{args:?}: {r:#?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:#?}");
    }
}

#[test]
fn help_exits_0() {
    for args in [
        &["--help"][..],
        &["check", "--help"],
        &["scenario", "--help"],
        &["scenario", "run", "--help"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {r:#?}");
        assert!(r.stdout.contains("Usage"), "{args:?}: {r:#?}");
    }
}

// ---------------------------------------------------------------------------------------
// Batch mode.

const BATCH: &str = "\
# answers in input order; options after the packet
tcp 203.0.113.7:50000 -> 192.168.1.10:22

tcp 203.0.113.7:50000 -> 192.168.1.10:23
   # an indented comment
udp 192.168.2.20 -> 192.168.0.2:53 egress
tcp 192.168.1.11:1000 -> 192.168.1.10:9999 to=i-web
tcp 203.0.113.9 -> 192.168.3.30:22
tcp 203.0.113.9 -> 192.168.3.30:22 to=sg-web ingress
tcp 192.168.3.30 -> 8.8.8.8:443 to=i-bastion egress
tcp 192.168.2.20 -> 8.8.8.8:443 egress to=i-db
";

const BATCH_ANSWERS: [&str; 8] = [
    "accept rule sgr-000000000001 sg-web",
    "drop default",
    "accept rule sgr-db-dns sg-db",
    "accept inner-access sg-web",
    "accept rule sgr-bastion-ssh sg-bastion",
    "accept rule sgr-000000000001 sg-web",
    "drop default",
    "drop rule sgr-db-no-egress sg-db",
];

#[test]
fn batch_answers_every_line_in_order() {
    let dir = TempDir::new("batch");
    let batch = dir.write("packets.txt", BATCH);
    let r = run(&["check", "--world", WEB, "--batch", &batch]);
    assert_eq!(
        r.code, 0,
        "batch mode exits 0 whatever the decisions: {r:#?}"
    );
    assert_eq!(r.stdout_lines(), BATCH_ANSWERS, "{r:#?}");
    assert!(r.stderr.is_empty(), "{r:#?}");
}

#[test]
fn batch_from_stdin() {
    let r = run_with(&["check", "--world", WEB, "--batch", "-"], Some(BATCH));
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout_lines(), BATCH_ANSWERS, "{r:#?}");
}

#[test]
fn batch_flags_apply_to_lines_without_options() {
    let input = "tcp 192.168.3.30 -> 8.8.8.8:443\ntcp 203.0.113.9 -> 192.168.3.30:22 ingress\n";
    let r = run_with(
        &[
            "check",
            "--world",
            WEB,
            "--direction",
            "egress",
            "--batch",
            "-",
        ],
        Some(input),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(
        r.stdout_lines(),
        ["drop default", "accept rule sgr-bastion-ssh sg-bastion"]
    );
}

#[test]
fn batch_json_prints_one_object_per_line() {
    let r = run_with(
        &["check", "--world", WEB, "--json", "--batch", "-"],
        Some(BATCH),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    let lines = r.stdout_lines();
    assert_eq!(lines.len(), BATCH_ANSWERS.len(), "{r:#?}");
    for (line, answer) in lines.iter().zip(BATCH_ANSWERS) {
        let v = json_line(line);
        assert_json_keys(&v);
        let words: Vec<&str> = answer.split(' ').collect();
        assert_eq!(v["decision"], words[0], "{line}");
        assert_eq!(v["reason"], words[1], "{line}");
        match words[1] {
            "rule" => {
                assert_eq!(v["rule"], words[2], "{line}");
                assert_eq!(v["group"], words[3], "{line}");
            }
            "inner-access" => {
                assert!(v["rule"].is_null(), "{line}");
                assert_eq!(v["group"], words[2], "{line}");
            }
            _ => assert!(v["rule"].is_null() && v["group"].is_null(), "{line}"),
        }
    }
    let third = json_line(lines[2]);
    assert_eq!(third["direction"], "egress");
    assert_eq!(third["target"], "i-db");
    assert_eq!(json_line(lines[5])["target"], "sg-web");
}

#[test]
fn batch_bad_packet_is_reported_with_its_line_number_after_earlier_answers() {
    let dir = TempDir::new("batch-bad");
    let input = "\
# line 1
tcp 203.0.113.7:50000 -> 192.168.1.10:22

tcp 203.0.113.7:50000 -> 192.168.1.10:23
tcp 1.1.1.1 -> 192.168.1.10:0
tcp 203.0.113.7:50000 -> 192.168.1.10:443
";
    let batch = dir.write("bad.txt", input);
    let r = run(&["check", "--world", WEB, "--batch", &batch]);
    r.assert_error(&[&format!("{batch}:5:"), "192.168.1.10:0"]);
    assert_eq!(
        r.stdout_lines(),
        ["accept rule sgr-000000000001 sg-web", "drop default"],
        "the answers before the bad line and none after: {r:#?}"
    );
}

#[test]
fn batch_bad_target_is_reported_with_its_line_number() {
    let input = "tcp 203.0.113.7:50000 -> 192.168.1.10:22\n\ntcp 203.0.113.7:50000 -> 192.168.1.10:22 to=i-nope\ntcp 203.0.113.7:50000 -> 192.168.1.10:22\n";
    let r = run_with(
        &["check", "--world", WEB, "--json", "--batch", "-"],
        Some(input),
    );
    r.assert_error(&["-:3:", "i-nope"]);
    let lines = r.stdout_lines();
    assert_eq!(lines.len(), 1, "{r:#?}");
    assert_eq!(json_line(lines[0])["decision"], "accept");
}

#[test]
fn batch_address_nobody_owns_is_reported_with_its_line_number() {
    let input = "tcp 1.1.1.1 -> 10.9.9.9:22\n";
    let r = run_with(&["check", "--world", WEB, "--batch", "-"], Some(input));
    r.assert_error(&["-:1:", "10.9.9.9"]);
    assert!(r.stdout.is_empty(), "{r:#?}");
}

#[test]
fn batch_of_only_comments_prints_nothing_and_exits_0() {
    let r = run_with(
        &["check", "--world", WEB, "--batch", "-"],
        Some("# nothing\n\n   \n"),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.is_empty() && r.stderr.is_empty(), "{r:#?}");
}

// ---------------------------------------------------------------------------------------
// Scenarios.

const PASSING_SCENARIO: &str = r#"
name = "ssh from the office"

[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-a"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-a-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
]

[[instances]]
id = "i-a"
vpc_id = "vpc-1"
security_groups = ["sg-a"]
private_ips = ["192.168.0.10"]

[[steps]]
packet = "tcp 10.1.2.3:40000 -> 192.168.0.10:22"
expect = "accept"
expect_rule = "sgr-a-ssh"

[[steps]]
count_rules = "sg-a"
expect_count = 1
"#;

/// The same world, expecting what it does not do.
fn failing_scenario() -> String {
    PASSING_SCENARIO.replace("expect = \"accept\"", "expect = \"drop\"")
}

#[test]
fn scenario_run_counts_passes_and_failures() {
    let dir = TempDir::new("scenarios");
    let pass = dir.write("suite/a-pass.toml", PASSING_SCENARIO);
    let fail = dir.write("suite/b-fail.toml", &failing_scenario());
    dir.write("suite/notes.txt", "not a scenario");
    let r = run(&["scenario", "run", &dir.path("suite")]);
    assert_eq!(r.code, 1, "{r:#?}");
    let lines = r.stdout_lines();
    assert_eq!(lines.len(), 3, "{r:#?}");
    assert!(
        lines[0].contains(&pass) && !lines[0].starts_with("FAIL"),
        "{r:#?}"
    );
    assert!(
        lines[1].starts_with("FAIL") && lines[1].contains(&fail),
        "{r:#?}"
    );
    assert!(lines[1].contains("step 1"), "{r:#?}");
    assert_eq!(lines.last().copied(), Some("1 passed, 1 failed"), "{r:#?}");
    assert!(r.stderr.is_empty(), "nothing on stderr: {r:#?}");
}

#[test]
fn scenario_run_all_passing_exits_0() {
    let dir = TempDir::new("scenarios-pass");
    let a = dir.write("a.toml", PASSING_SCENARIO);
    let b = dir.write("nested/deeper/b.toml", PASSING_SCENARIO);
    let r = run(&["scenario", "run", &a, &dir.path("nested")]);
    assert_eq!(r.code, 0, "{r:#?}");
    let lines = r.stdout_lines();
    assert!(lines[1].contains(&b), "{r:#?}");
    assert_eq!(lines.last().copied(), Some("2 passed, 0 failed"), "{r:#?}");
}

#[test]
fn scenario_run_filter_keeps_matching_paths() {
    let dir = TempDir::new("scenarios-filter");
    dir.write("a-pass.toml", PASSING_SCENARIO);
    dir.write("b-fail.toml", &failing_scenario());
    let r = run(&["scenario", "run", &dir.path(""), "--filter", "pass"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout_lines().last().copied(), Some("1 passed, 0 failed"));
}

#[test]
fn scenario_that_cannot_load_counts_as_failed() {
    let dir = TempDir::new("scenarios-broken");
    dir.write("a-pass.toml", PASSING_SCENARIO);
    let broken = dir.write(
        "b-broken.toml",
        &PASSING_SCENARIO.replace("\"22/22\"", "\"80/22\""),
    );
    let r = run(&["scenario", "run", &dir.path("")]);
    assert_eq!(r.code, 1, "{r:#?}");
    let lines = r.stdout_lines();
    assert!(
        lines[1].starts_with("FAIL") && lines[1].contains(&broken),
        "{r:#?}"
    );
    assert!(lines[1].contains("port_range"), "{r:#?}");
    assert_eq!(lines.last().copied(), Some("1 passed, 1 failed"));
}

#[test]
fn scenario_run_missing_path_exits_2() {
    let dir = TempDir::new("scenarios-missing");
    let missing = dir.path("nowhere");
    let r = run(&["scenario", "run", &missing]);
    r.assert_error(&[&missing]);
}

#[test]
fn scenario_run_empty_folder_exits_2() {
    let dir = TempDir::new("scenarios-empty");
    dir.write("readme.txt", "no scenarios here");
    let r = run(&["scenario", "run", &dir.path("")]);
    r.assert_error(&["no scenario"]);
}

#[test]
fn scenario_run_writes_junit() {
    let dir = TempDir::new("scenarios-junit");
    dir.write("suite/a-pass.toml", PASSING_SCENARIO);
    dir.write("suite/b-fail.toml", &failing_scenario());
    let report = dir.path("report.xml");
    let r = run(&["scenario", "run", &dir.path("suite"), "--junit", &report]);
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.stdout_lines().last().copied(), Some("1 passed, 1 failed"));
    let xml = std::fs::read_to_string(&report).expect("the JUnit report is written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<testsuite"), "{xml}");
    assert!(xml.contains("tests=\"2\""), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains("b-fail.toml"), "{xml}");
    assert!(xml.trim_end().ends_with("</testsuite>"), "{xml}");
    // Every element that opens closes (a rough well-formedness check).
    assert_eq!(
        xml.matches("<testsuite").count(),
        xml.matches("</testsuite>").count()
    );
}

#[test]
fn scenario_run_junit_to_an_unwritable_path_exits_2() {
    let dir = TempDir::new("scenarios-junit-bad");
    dir.write("a.toml", PASSING_SCENARIO);
    let report = dir.path("no/such/folder/report.xml");
    let r = run(&["scenario", "run", &dir.path("a.toml"), "--junit", &report]);
    r.assert_error(&[&report]);
}

#[test]
fn batch_line_that_is_not_utf8_is_reported_with_its_line_number() {
    let dir = TempDir::new("batch-utf8");
    let path = dir.join("bytes.txt");
    std::fs::write(
        &path,
        b"tcp 203.0.113.7:50000 -> 192.168.1.10:22\n\xff\xfe\ntcp 203.0.113.7:50000 -> 192.168.1.10:22\n",
    )
    .unwrap();
    let batch = path.display().to_string();
    let r = run(&["check", "--world", WEB, "--batch", &batch]);
    r.assert_error(&[&format!("{batch}:2:"), "UTF-8"]);
    assert_eq!(r.stdout_lines(), ["accept rule sgr-000000000001 sg-web"]);
}

// ---------------------------------------------------------------------------------------
// A reader that goes away (`sgsim … | head -0`).

#[test]
fn batch_with_a_closed_stdout_stops_quietly() {
    let dir = TempDir::new("batch-pipe");
    let batch = dir.write("packets.txt", &BATCH.repeat(200));
    let r = run_with_closed_stdout(&["check", "--world", WEB, "--batch", &batch]);
    assert!(!r.stderr.contains("panicked"), "{r:#?}");
    assert_eq!(r.code, 0, "{r:#?}");
}

#[test]
fn single_check_and_scenario_run_with_a_closed_stdout_do_not_panic() {
    let r = run_with_closed_stdout(&[
        "check",
        "--world",
        WEB,
        "tcp 203.0.113.7:50000 -> 192.168.1.10:22",
    ]);
    assert!(!r.stderr.contains("panicked"), "{r:#?}");
    assert_ne!(r.code, 101, "{r:#?}");
    let r = run_with_closed_stdout(&["scenario", "run", "scenarios"]);
    assert!(!r.stderr.contains("panicked"), "{r:#?}");
    assert_ne!(r.code, 101, "{r:#?}");
}

#[test]
fn check_reads_a_json_world() {
    let dir = TempDir::new("json-world");
    let world = dir.write(
        "w.json",
        r#"{
  "vpcs": [{ "id": "vpc-1" }],
  "security_groups": [{ "id": "sg-j", "vpc_id": "vpc-1", "rules": [
    { "id": "sgr-j-dns", "direction": "ingress", "ip_protocol": "udp", "port_range": "53/53",
      "ipv6_source_cidr_ip": "2001:db8::/32", "priority": "5" }
  ]}],
  "instances": [{ "id": "i-j", "vpc_id": "vpc-1", "security_groups": ["sg-j"],
                  "private_ips": ["10.0.0.1", "2001:db8::53"] }]
}"#,
    );
    let r = run(&[
        "check",
        "--world",
        &world,
        "--json",
        "udp [2001:db8:1::1]:5353 -> [2001:db8::53]:53",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    let v = json_line(r.stdout.trim_end());
    assert_eq!(v["rule"], "sgr-j-dns");
    assert_eq!(v["target"], "i-j");
    assert_eq!(v["packet"], "udp [2001:db8:1::1]:5353 -> [2001:db8::53]:53");
    let r = run(&[
        "check",
        "--world",
        &world,
        "udp [2001:db9::1]:5353 -> [2001:db8::53]:53",
    ]);
    assert_eq!(r.code, 1, "{r:#?}");
}
