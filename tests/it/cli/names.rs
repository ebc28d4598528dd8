//! Group names beside ids (issue 8: "output names groups only by id"), the one decision
//! JSON shape of single checks, batches and explain, and the documentation's samples of
//! `check` and `explain` as the binary prints them.

use crate::support::{root, run, run_with, shell_words, TempDir};
use serde_json::{json, Value};

const WEB: &str = "examples/web.toml";

/// A world whose groups have awkward names, one none, and an ENI in two groups.
const NAMED: &str = r#"
[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-a"
name = "front \"door\""
vpc_id = "vpc-1"
rules = [
  { id = "sgr-a-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "0.0.0.0/0" },
]

[[security_groups]]
id = "sg-b"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-b-web", direction = "ingress", ip_protocol = "TCP", port_range = "80/80", source_cidr_ip = "0.0.0.0/0" },
]

[[instances]]
id = "i-1"
vpc_id = "vpc-1"
security_groups = ["sg-a", "sg-b"]
private_ips = ["10.0.0.1"]
public_ip = "47.0.0.1"

[[instances]]
id = "i-2"
vpc_id = "vpc-1"
security_groups = ["sg-a"]
private_ips = ["10.0.0.2"]
"#;

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn check_text_shows_group_names_beside_ids() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "tcp 203.0.113.7:50000 -> 192.168.1.10:22",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        r.stdout
            .contains("reason: rule sgr-000000000001 of security group sg-web (web)\n"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("groups: sg-web (web)\n"), "{r:#?}");
    let r = run(&[
        "check",
        "--world",
        WEB,
        "tcp 192.168.1.11 -> 192.168.1.10:3306",
    ]);
    assert!(
        r.stdout
            .contains("reason: inner access of security group sg-web (web): inner_access_policy"),
        "{r:#?}"
    );
    // A group without a name is its id alone; several groups in the ENI's order.
    let dir = TempDir::new("names-text");
    let world = dir.write("w.toml", NAMED);
    let r = run(&["check", "--world", &world, "tcp 1.2.3.4 -> 10.0.0.1:80"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        r.stdout
            .contains("reason: rule sgr-b-web of security group sg-b\n"),
        "{r:#?}"
    );
    assert!(
        r.stdout.contains("groups: sg-a (front \"door\"), sg-b\n"),
        "{r:#?}"
    );
}

#[test]
fn decision_json_carries_group_names() {
    let r = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 203.0.113.7:50000 -> 192.168.1.10:22",
    ]);
    let v = json_line(&r.stdout);
    assert_eq!(v["group"], "sg-web");
    assert_eq!(v["group_name"], "web");
    assert_eq!(v["groups"], json!([{"id": "sg-web", "name": "web"}]));
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "decision",
            "reason",
            "rule",
            "group",
            "group_name",
            "packet",
            "target",
            "direction",
            "rule_fields",
            "groups",
            "local",
            "nic",
            "notes"
        ]
    );
    let dir = TempDir::new("names-json");
    let world = dir.write("w.toml", NAMED);
    let r = run(&[
        "check",
        "--world",
        &world,
        "--json",
        "tcp 1.2.3.4 -> 10.0.0.1:80",
    ]);
    let v = json_line(&r.stdout);
    assert_eq!(
        (&v["group"], &v["group_name"]),
        (&json!("sg-b"), &Value::Null)
    );
    assert_eq!(
        v["groups"],
        json!([{"id": "sg-a", "name": "front \"door\""}, {"id": "sg-b", "name": null}])
    );
    let r = run(&[
        "check",
        "--world",
        &world,
        "--json",
        "udp 1.2.3.4 -> 10.0.0.1:9",
    ]);
    let v = json_line(&r.stdout);
    assert_eq!(
        (&v["group"], &v["group_name"]),
        (&Value::Null, &Value::Null)
    );
}

/// Lines covering every reason, NAT, IPv6, per-line options and names with quotes.
const LINES: [&str; 9] = [
    "tcp 203.0.113.7:50000 -> 192.168.1.10:22",
    "udp 8.8.8.8 -> 47.0.0.10:53",
    "tcp 192.168.1.10 -> 8.8.8.8:443 egress",
    "tcp 192.168.1.11 -> 192.168.1.10:3306",
    "tcp 198.51.100.9 -> 192.168.1.10:443 to=i-web",
    "tcp 192.168.2.20 -> 192.168.0.2:53 egress",
    "tcp [2001:db8::99] -> [2001:db8::10]:443",
    "icmp 1.2.3.4 -> 47.0.0.10",
    "tcp 192.168.1.10 -> 10.0.0.5:5432 to=sg-db",
];

/// Each line of a batch `--json` is the object `check --json` prints for that packet, byte
/// for byte, whatever the thread count: the batch's fast writer and the single check's
/// serde view are one shape.
#[test]
fn batch_json_is_the_single_check_json_of_each_line() {
    let cases: Vec<(String, Vec<String>)> = vec![
        (WEB.into(), LINES.iter().map(|l| l.to_string()).collect()),
        ("examples/classic.toml".into(), classic_lines()),
        ("examples/egress.toml".into(), egress_lines()),
    ];
    let dir = TempDir::new("names-batch");
    let named = dir.write("named.toml", NAMED);
    let mut cases = cases;
    cases.push((
        named,
        vec![
            "tcp 1.2.3.4 -> 10.0.0.1:80".into(),
            "tcp 1.2.3.4 -> 47.0.0.1:22".into(),
            "tcp 10.0.0.2 -> 10.0.0.1:22".into(),
            "udp 1.2.3.4 -> 10.0.0.2:1".into(),
        ],
    ));
    for (world, lines) in &cases {
        let input = lines.join("\n") + "\n";
        for threads in ["1", "2"] {
            let r = run_with(
                &[
                    "check",
                    "--world",
                    world,
                    "--batch",
                    "-",
                    "--json",
                    "--threads",
                    threads,
                ],
                Some(&input),
            );
            assert_eq!(r.code, 0, "{world}: {r:#?}");
            let got = r.stdout_lines();
            assert_eq!(got.len(), lines.len(), "{world}: {r:#?}");
            for (line, answer) in lines.iter().zip(&got) {
                let words = split_options(line);
                let mut args = vec!["check", "--world", world.as_str(), "--json"];
                args.extend(words.1.iter().map(String::as_str));
                args.push(&words.0);
                let single = run(&args);
                assert_eq!(
                    single.stdout.trim_end(),
                    *answer,
                    "{world}: `{line}` answered differently in a batch"
                );
            }
        }
    }
}

/// A batch line as `check` arguments: the packet, and `--to`/`--direction` for its options.
fn split_options(line: &str) -> (String, Vec<String>) {
    let mut words: Vec<&str> = line.split(' ').collect();
    let mut flags = Vec::new();
    while let Some(last) = words.last() {
        if let Some(id) = last.strip_prefix("to=") {
            flags.extend(["--to".to_string(), id.to_string()]);
        } else if *last == "egress" || *last == "ingress" {
            flags.extend(["--direction".to_string(), last.to_string()]);
        } else {
            break;
        }
        words.pop();
    }
    (words.join(" "), flags)
}

fn classic_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("examples/classic.toml")).unwrap();
    addresses(&text)
        .iter()
        .flat_map(|a| {
            [
                format!("tcp 8.8.8.8 -> {a}:22"),
                format!("tcp 10.0.0.9 -> {a}:80"),
                format!("tcp {a} -> 8.8.8.8:443 egress"),
            ]
        })
        .collect()
}

fn egress_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("examples/egress.toml")).unwrap();
    addresses(&text)
        .iter()
        .flat_map(|a| {
            [
                format!("tcp {a} -> 8.8.8.8:443 egress"),
                format!("udp {a} -> 10.0.0.2:53 egress"),
                format!("tcp 10.0.0.9 -> {a}:5432"),
            ]
        })
        .collect()
}

/// The IPv4 addresses quoted in a world file's `private_ips` and `public_ip`.
fn addresses(world: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in world.lines() {
        if !(line.contains("private_ips") || line.contains("public_ip")) {
            continue;
        }
        for part in line.split('"').skip(1).step_by(2) {
            if part.parse::<std::net::Ipv4Addr>().is_ok() && !out.contains(&part.to_string()) {
                out.push(part.to_string());
            }
        }
    }
    out
}

#[test]
fn explain_shows_group_names() {
    let r = run(&[
        "explain",
        "--world",
        WEB,
        "tcp 192.168.1.11 -> 192.168.1.10:3306",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.contains("groups:  sg-web (web)\n"), "{r:#?}");
    assert!(
        r.stdout.contains("inner access: yes, by sg-web (web)\n"),
        "{r:#?}"
    );
    assert!(
        r.stdout
            .contains("decision: accept by inner-access sg-web (web)\n"),
        "{r:#?}"
    );
    let r = run(&[
        "explain",
        "--world",
        WEB,
        "--json",
        "tcp 192.168.1.11 -> 192.168.1.10:3306",
    ]);
    let v = json_line(&r.stdout);
    assert_eq!(v["groups"], json!([{"id": "sg-web", "name": "web"}]));
    assert_eq!(v["decision"]["group_name"], "web");
    // explain's `decision` is the object `check --json` prints.
    let single = run(&[
        "check",
        "--world",
        WEB,
        "--json",
        "tcp 192.168.1.11 -> 192.168.1.10:3306",
    ]);
    assert_eq!(v["decision"], json_line(&single.stdout));
}

/// The `$ sgsim check` and `$ sgsim explain` samples of the documentation (commands that
/// read only shipped files, without pipes) print what the documentation shows.
#[test]
fn documented_check_and_explain_samples_are_current() {
    let mut checked = 0;
    for doc in ["docs/commands.md", "docs/packets.md", "README.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let l = line.trim_start();
            let indent = line.len() - l.len();
            let Some(cmd) = l.strip_prefix("$ sgsim ") else {
                continue;
            };
            if !(cmd.starts_with("check ") || cmd.starts_with("explain ")) {
                continue;
            }
            let (cmd, with_exit) = match cmd.strip_suffix("; echo \"exit $?\"") {
                Some(c) => (c, true),
                None => (cmd, false),
            };
            if cmd.contains('|') || cmd.contains("/tmp/") || cmd.contains("batch.txt") {
                continue;
            }
            let expected: Vec<String> = lines[i + 1..]
                .iter()
                .take_while(|l| {
                    let t = l.trim_start();
                    !t.starts_with("$ ") && !t.starts_with("```") && !t.starts_with("# exit")
                })
                .map(|l| l.get(indent..).unwrap_or("").to_string())
                .collect();
            let words = shell_words(&cmd.replace('"', "'"));
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let r = run(&args);
            let mut got: Vec<String> = r.stdout.lines().map(str::to_string).collect();
            got.extend(r.stderr.lines().map(str::to_string));
            if with_exit {
                got.push(format!("exit {}", r.code));
            }
            assert_eq!(got, expected, "{doc}:{}: `{cmd}`", i + 1);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} samples found");
}
