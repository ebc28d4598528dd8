//! Files safe to share and keep by hand (SPEC §6, "Safety of the file" and "Files read by
//! reference"): ids that keep counting, duplicate keys, bounded references, BOMs, bounded
//! error quoting. Every test runs the built binary on files in a fresh temporary folder.

use crate::support::{run_in, Run, TempDir};
use std::path::Path;
use std::process::Command;

/// Runs `sgsim check --world WORLD --to TO ARGS` in `dir`.
fn check(dir: &Path, world: &str, to: &str, args: &[&str]) -> Run {
    run_in(
        dir,
        &[&["check", "--world", world, "--to", to], args].concat(),
        None,
    )
}

const GROUP: &str = "region_id = \"cn-hangzhou\"\n\n[[vpcs]]\nid = \"vpc-1\"\n\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n";

fn authorize(port: u16) -> String {
    format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={port}/{port}&Permissions.1.SourceCidrIp=10.0.0.0/8")
}

#[test]
fn rule_ids_keep_counting_past_twelve_digits() {
    let dir = TempDir::new("ids");
    let world = format!(
        "{GROUP}rules = [\n  {{ id = \"sgr-999999999999\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"1/1\", source_cidr_ip = \"10.0.0.0/8\" }},\n]\n"
    );
    std::fs::write(dir.join("w.toml"), world).unwrap();
    for port in [2, 3] {
        let r = run_in(
            dir.as_path(),
            &["call", "--world", "w.toml", &authorize(port)],
            None,
        );
        assert_eq!(r.code, 0, "{r:#?}");
    }
    let text = std::fs::read_to_string(dir.join("w.toml")).unwrap();
    assert!(text.contains("sgr-1000000000000"), "{text}");
    assert!(text.contains("sgr-1000000000001"), "{text}");
    let r = check(
        dir.as_path(),
        "w.toml",
        "sg-1",
        &["tcp 10.0.0.1 -> 10.0.0.2:3"],
    );
    assert_eq!(r.code, 0, "the written world loads again: {r:#?}");
    assert!(r.stdout.contains("sgr-1000000000001"), "{r:#?}");
}

#[test]
fn a_json_key_twice_is_refused_with_the_key_and_place() {
    let dir = TempDir::new("dupkeys");
    let world = r#"{
  "security_groups": [
    {
      "id": "sg-1",
      "rules": [],
      "rules": [ { "direction": "ingress", "ip_protocol": "TCP", "port_range": "22/22", "source_cidr_ip": "10.0.0.0/8" } ]
    }
  ]
}
"#;
    std::fs::write(dir.join("w.json"), world).unwrap();
    let r = check(
        dir.as_path(),
        "w.json",
        "sg-1",
        &["tcp 10.0.0.1 -> 10.0.0.2:22"],
    );
    r.assert_error(&["w.json:6:", "`rules`", "twice"]);
    // In an imported Describe response too.
    std::fs::write(
        dir.join("d.json"),
        r#"{ "SecurityGroupId": "sg-d", "SecurityGroupId": "sg-e", "Permissions": { "Permission": [] } }"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("i.toml"),
        "[[security_groups]]\nimport = \"d.json\"\n",
    )
    .unwrap();
    let r = check(
        dir.as_path(),
        "i.toml",
        "sg-d",
        &["tcp 10.0.0.1 -> 10.0.0.2:22"],
    );
    r.assert_error(&["d.json:1:", "`SecurityGroupId`", "twice"]);
}

/// A world whose one group is `{ import = NAME }`, checked: the error it gives.
fn import_error(dir: &Path, name: &str) -> Run {
    std::fs::write(
        dir.join("w.toml"),
        format!("[[security_groups]]\nimport = \"{name}\"\n"),
    )
    .unwrap();
    check(dir, "w.toml", "sg-d", &["tcp 10.0.0.1 -> 10.0.0.2:22"])
}

#[test]
fn imports_are_bounded_regular_files_under_the_world_folder() {
    let base = TempDir::new("imports");
    let dir = base.join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let describe = r#"{ "SecurityGroupId": "sg-d", "Permissions": { "Permission": [] } }"#;
    std::fs::write(base.join("outside.json"), describe).unwrap();
    std::fs::write(dir.join("ok.json"), describe).unwrap();
    let r = import_error(&dir, "ok.json");
    assert_eq!(r.code, 1, "a good import loads: {r:#?}");

    import_error(&dir, "../outside.json").assert_error(&["`..`"]);
    let abs = base.join("outside.json").display().to_string();
    import_error(&dir, &abs).assert_error(&["absolute path"]);
    import_error(&dir, "/dev/zero").assert_error(&["absolute path"]);
    std::os::unix::fs::symlink(base.join("outside.json"), dir.join("link.json")).unwrap();
    import_error(&dir, "link.json").assert_error(&["outside the world file's folder"]);
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.json")).unwrap();
    import_error(&dir, "zero.json").assert_error(&["zero.json"]);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    import_error(&dir, "sub").assert_error(&["not a regular file"]);
    let fifo = Command::new("mkfifo")
        .arg(dir.join("fifo.json"))
        .status()
        .unwrap();
    assert!(fifo.success());
    import_error(&dir, "fifo.json").assert_error(&["fifo.json", "not a regular file"]);
    let big = std::fs::File::create(dir.join("big.json")).unwrap();
    big.set_len(16 * 1024 * 1024 + 1).unwrap();
    import_error(&dir, "big.json").assert_error(&["big.json", "16 MiB"]);
}

#[test]
fn a_byte_order_mark_is_ignored_in_worlds_calls_and_batches() {
    let dir = TempDir::new("bom");
    std::fs::write(dir.join("w.toml"), format!("\u{feff}{GROUP}")).unwrap();
    std::fs::write(
        dir.join("w.json"),
        "\u{feff}{ \"vpcs\": [ { \"id\": \"vpc-1\" } ], \"security_groups\": [ { \"id\": \"sg-1\", \"vpc_id\": \"vpc-1\" } ] }",
    )
    .unwrap();
    for w in ["w.toml", "w.json"] {
        let r = check(dir.as_path(), w, "sg-1", &["tcp 10.0.0.1 -> 10.0.0.2:22"]);
        assert_eq!(r.code, 1, "{w}: {r:#?}");
    }
    std::fs::write(
        dir.join("calls.txt"),
        format!("\u{feff}{}\n", authorize(22)),
    )
    .unwrap();
    let r = run_in(
        dir.as_path(),
        &["call", "--world", "w.toml", "--calls", "calls.txt"],
        None,
    );
    assert_eq!(r.code, 0, "{r:#?}");
    std::fs::write(
        dir.join("batch.txt"),
        "\u{feff}tcp 10.0.0.1 -> 10.0.0.2:22\n",
    )
    .unwrap();
    let r = check(dir.as_path(), "w.toml", "sg-1", &["--batch", "batch.txt"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.starts_with("accept rule"), "{r:#?}");
    let r = run_in(
        dir.as_path(),
        &["check", "--world", "w.toml", "--to", "sg-1", "--batch", "-"],
        Some("\u{feff}tcp 10.0.0.1 -> 10.0.0.2:22\n".as_bytes()),
    );
    assert!(r.stdout.starts_with("accept rule"), "{r:#?}");
}

#[test]
fn a_huge_bad_line_gives_a_short_error() {
    let dir = TempDir::new("huge");
    std::fs::write(dir.join("w.toml"), GROUP).unwrap();
    let huge = "x".repeat(20 * 1024 * 1024);
    let r = run_in(
        dir.as_path(),
        &["check", "--world", "w.toml", "--to", "sg-1", "--batch", "-"],
        Some(format!("tcp {huge} -> 10.0.0.2:22\n").as_bytes()),
    );
    r.assert_error(&["-:1:"]);
    assert!(r.stderr.len() < 2000, "{} bytes of error", r.stderr.len());
    let r = run_in(
        dir.as_path(),
        &["call", "--world", "w.toml", "--calls", "-"],
        Some(format!("Action=%{huge}\n").as_bytes()),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.len() < 2000, "{} bytes of error", r.stderr.len());
    std::fs::write(
        dir.join("bad.toml"),
        format!("region_id = \"cn\"\n[[security_groups]]\nid = \"sg-1\"\nname = {huge}\n"),
    )
    .unwrap();
    let r = check(
        dir.as_path(),
        "bad.toml",
        "sg-1",
        &["tcp 10.0.0.1 -> 10.0.0.2:22"],
    );
    r.assert_error(&["bad.toml:4:"]);
    assert!(r.stderr.len() < 2000, "{} bytes of error", r.stderr.len());
}

#[test]
fn an_imported_response_taken_as_a_basic_group_is_noted() {
    let dir = TempDir::new("basic");
    std::fs::write(
        dir.join("d.json"),
        r#"{ "SecurityGroupId": "sg-d", "Permissions": { "Permission": [] } }"#,
    )
    .unwrap();
    let check = |world: &str, quiet: bool| {
        std::fs::write(dir.join("w.toml"), world).unwrap();
        let mut args = vec![
            "check",
            "--world",
            "w.toml",
            "--to",
            "sg-d",
            "tcp 10.0.0.1 -> 10.0.0.2:22",
        ];
        if quiet {
            args.insert(0, "-q");
        }
        run_in(dir.as_path(), &args, None)
    };
    let r = check("[[security_groups]]\nimport = \"d.json\"\n", false);
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(
        r.stderr.starts_with("note: group `sg-d`") && r.stderr.contains("basic (normal)"),
        "{r:#?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "{r:#?}");
    let r = check(
        "[[security_groups]]\nimport = \"d.json\"\ntype = \"normal\"\n",
        false,
    );
    assert_eq!(r.stderr, "", "a type given: no note");
    let r = check("[[security_groups]]\nimport = \"d.json\"\n", true);
    assert_eq!(r.stderr, "", "-q: no note");
}
