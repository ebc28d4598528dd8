//! A command line that fits people's habits (issue 8): bench flags checked, samples
//! reported; and more of the command line's manners.

use crate::support::{root, run, run_with, Run, TempDir};
use std::process::{Command, Stdio};

#[test]
fn bench_arguments_are_range_checked() {
    let r = run(&["bench", "--generate", "18446744073709551615"]);
    r.assert_error(&["--generate", "18446744073709551615", "not in"]);
    let r = run(&[
        "bench",
        "--generate",
        "10",
        "--threads",
        "99999999999999999999",
    ]);
    r.assert_error(&["--threads"]);
    let r = run(&["bench", "--generate", "10", "--samples", "0"]);
    r.assert_error(&["--repeat", "not in"]);
}

#[test]
fn bench_refuses_flags_that_do_not_apply() {
    let r = run(&["bench", "--world", WEB, "--trace", "x"]);
    r.assert_error(&["--trace", "only with --classbench"]);
    let r = run(&["bench", "--generate", "10", "--to", "i-web"]);
    assert!(r.code == 2, "{r:#?}");
    let r = run(&["bench", "--generate", "10", "--instances", "5"]);
    assert!(r.code == 2, "{r:#?}");
    // Timing flags mean nothing with --write: refused by the name given, alias or not.
    for flag in ["--repeat", "--samples"] {
        let args = [
            "bench",
            "--generate-world",
            "one-group",
            "--write",
            "unused-dir",
            flag,
            "3",
        ];
        run(&args).assert_error(&["--repeat (not with --write)"]);
    }
}

#[test]
fn bench_names_an_unreadable_classbench_file_in_the_common_wording() {
    let r = run(&["bench", "--classbench", "no-such-set"]);
    r.assert_error(&["no-such-set", "cannot read: no such file"]);
}

#[test]
fn enumerated_values_are_case_insensitive_in_every_command() {
    let packet = "tcp 192.168.1.10:40000 -> 8.8.8.8:443";
    let r = run(&["explain", "--world", WEB, "--direction", "Egress", packet]);
    assert!(r.code != 2 && !r.stderr.contains("invalid value"), "{r:#?}");
    let r = run(&["lint", "--world", WEB, "--fail-on", "NEVER"]);
    assert_eq!(r.code, 0, "{r:#?}");
}

/// `bench --generate-world … --write DIR` makes a missing folder and writes its files; a
/// folder it cannot make is a one-line error naming it, and nothing is left behind.
#[test]
fn bench_write_makes_its_folder_and_fails_cleanly() {
    let tmp = TempDir::new("bench-write");
    let dir = tmp.as_path().join("new/nested");
    let d = dir.to_str().unwrap();
    let args = [
        "bench",
        "--generate-world",
        "many-groups",
        "--instances",
        "40",
        "--batch-lines",
        "25",
        "--write",
        d,
    ];
    let r = run(&args);
    assert_eq!(r.code, 0, "{r:#?}");
    let world = std::fs::read_to_string(dir.join("many-groups.toml")).unwrap();
    assert!(world.contains("[[security_groups]]"), "{world}");
    let batch = std::fs::read_to_string(dir.join("many-groups.batch")).unwrap();
    assert_eq!(batch.lines().count(), 25);
    // The written files load: the batch runs against the world.
    let r = run(&[
        "check",
        "--world",
        dir.join("many-groups.toml").to_str().unwrap(),
        "--batch",
        dir.join("many-groups.batch").to_str().unwrap(),
    ]);
    assert_eq!(r.stdout.lines().count(), 25, "{r:#?}");
    // Nothing but the two files (no temporary file left).
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["many-groups.batch", "many-groups.toml"]);
    // A file where the folder should be: one line naming it, the file untouched.
    let file = tmp.as_path().join("plain");
    std::fs::write(&file, "keep").unwrap();
    let f = file.to_str().unwrap();
    let r = run(&[
        "bench",
        "--generate-world",
        "one-group",
        "--instances",
        "5",
        "--write",
        f,
    ]);
    r.assert_error(&[f, "cannot create the folder"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

/// The example world the checks run on.
const WEB: &str = "examples/web.toml";

/// Runs `sgsim FLAGS check --world examples/web.toml ARGS`, with `stdin` piped in when given.
fn check_web(flags: &[&str], args: &[&str], stdin: Option<&str>) -> Run {
    run_with(&[flags, &["check", "--world", WEB], args].concat(), stdin)
}

/// A bench quick enough for a test: 50 generated rules, 3,000 packets, 10 verified.
const SMALL_BENCH: &[&str] = &[
    "bench",
    "--generate",
    "50",
    "--packets",
    "3000",
    "--verify",
    "10",
];

#[test]
fn bench_times_several_samples_and_reports_the_median_with_min_and_max() {
    let r = run(&[SMALL_BENCH, &["--samples", "3"]].concat());
    assert_eq!(r.code, 0, "{r:#?}");
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("matcher single-thread range: ") && l.contains("of 3 runs"))
        .unwrap_or_else(|| panic!("{r:#?}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let median: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("matcher single-thread: "))
        .and_then(|l| l.strip_suffix(" lookups/s"))
        .unwrap()
        .parse()
        .unwrap();
    let (min, max) = (nums[0], nums[1]);
    assert!(min <= median && median <= max, "{r:#?}");
    let r = run(&[SMALL_BENCH, &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["repeats"], 5);
    assert!(v["matcher_single_thread_min"].as_u64() <= v["matcher_single_thread_max"].as_u64());
}

/// A fresh folder with a one-group world `w.toml` (removed when dropped).
fn world_dir(name: &str) -> TempDir {
    let dir = TempDir::new(&format!("people-{name}"));
    dir.write(
        "w.toml",
        "[[vpcs]]\nid = \"vpc-1\"\n\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n",
    );
    dir
}

#[test]
fn the_aliyun_cli_form_is_accepted_beside_the_query_form() {
    let dir = world_dir("aliyun");
    let w = dir.path("w.toml");
    let r = run(&[
        "call",
        "--world",
        &w,
        "--json",
        "AuthorizeSecurityGroup",
        "--RegionId",
        "cn-hangzhou",
        "--SecurityGroupId",
        "sg-1",
        "--Permissions.1.IpProtocol",
        "TCP",
        "--Permissions.1.PortRange",
        "22/22",
        "--Permissions.1.SourceCidrIp=10.0.0.0/8",
        "--Permissions.1.Description",
        "ssh & more",
    ]);
    assert_eq!(r.code, 0, "{r:#?}");
    let text = std::fs::read_to_string(&w).unwrap();
    assert!(
        text.contains("port_range = \"22/22\"") && text.contains("description = \"ssh & more\""),
        "{text}"
    );
    let r = run(&["call", "--world", &w, "AuthorizeSecurityGroup", "stray"]);
    r.assert_error(&["`stray`"]);
}

#[test]
fn an_unknown_parameter_is_warned_about_with_the_nearest_name() {
    let dir = world_dir("unknown");
    let w = dir.path("w.toml");
    let q = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIP=10.0.0.0/8";
    let r = run(&["call", "--world", &w, "--json", q]);
    assert_eq!(
        r.code, 1,
        "the cloud ignores the parameter and the call fails: {r:#?}"
    );
    assert!(
        r.stderr
            .contains("warning: unknown parameter Permissions.1.SourceCidrIP"),
        "{r:#?}"
    );
    assert!(
        r.stderr
            .contains("did you mean Permissions.1.SourceCidrIp?"),
        "{r:#?}"
    );
    assert!(
        r.stdout.contains("MissingParameter.Source"),
        "the response is unchanged: {r:#?}"
    );
    // -q: no warning, the same response.
    let q2 = run(&["-q", "call", "--world", &w, "--json", q]);
    assert_eq!(q2.stdout, r.stdout);
    assert_eq!(q2.stderr, "HTTP 400 MissingParameter.Source\n", "{q2:#?}");
}

#[test]
fn enum_flags_are_case_insensitive() {
    let r = check_web(
        &[],
        &["--direction", "Egress", "tcp 192.168.1.10 -> 1.2.3.4:443"],
        None,
    );
    assert!(r.code == 0 || r.code == 1, "{r:#?}");
    assert!(r.stdout.contains("egress"), "{r:#?}");
    let r = check_web(&[], &["--progress", "NEVER", "--batch", "-"], Some(""));
    assert_eq!(r.code, 0, "{r:#?}");
}

#[test]
fn a_packet_split_by_the_shell_gets_a_hint_to_quote_it() {
    // `check … tcp 1.2.3.4 -> 10.0.0.1:22` unquoted: the shell passes `tcp 1.2.3.4 -`.
    let r = check_web(&[], &["tcp", "1.2.3.4", "-"], None);
    r.assert_error(&["redirect", "quote"]);
    // Split into words but whole: decided, with a hint.
    let r = check_web(&[], &["tcp", "1.2.3.4", "->", "192.168.1.10:22"], None);
    r.assert_error(&["quote it"]);
    // Split at spaces, the arrow lost: refused with the hint.
    let r = check_web(
        &[],
        &["--to", "i-web", "tcp", "1.2.3.4:5", "192.168.1.10:22"],
        None,
    );
    r.assert_error(&["several words", "quote it"]);
}

#[test]
fn completions_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "Elvish", "powershell"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {r:#?}");
        assert!(
            r.stdout.contains("sgsim") && r.stdout.contains("check"),
            "{shell}"
        );
    }
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        r.stdout.contains(".TH sgsim 1") && r.stdout.contains("completions"),
        "{r:#?}"
    );
}

/// `sgsim man COMMAND` prints that command's own page, with its flags; `--dir` writes a
/// page per command.
#[test]
fn a_man_page_per_subcommand() {
    let r = run(&["man", "check"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.contains(".TH sgsim-check 1"), "{r:#?}");
    for flag in ["\\-\\-batch", "\\-\\-threads", "\\-\\-world"] {
        assert!(r.stdout.contains(flag), "{flag} missing: {}", r.stdout);
    }
    let version = concat!("v", env!("CARGO_PKG_VERSION"));
    assert!(r.stdout.contains(version), "no version: {}", r.stdout);
    let r = run(&["man", "scenario", "run"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.contains(".TH sgsim-scenario-run 1"), "{r:#?}");
    assert!(r.stdout.contains(version), "no version: {}", r.stdout);
    let r = run(&["man", "nope"]);
    r.assert_error(&["no command `nope`", "check", "scenario"]);

    let dir = world_dir("man");
    let out = dir.join("pages");
    std::fs::create_dir_all(&out).unwrap();
    let r = run(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:#?}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in [
        "sgsim.1",
        "sgsim-check.1",
        "sgsim-call.1",
        "sgsim-explain.1",
        "sgsim-scenario.1",
        "sgsim-scenario-run.1",
        "sgsim-man.1",
    ] {
        assert!(names.iter().any(|n| n == page), "{page} not in {names:?}");
        let text = std::fs::read_to_string(out.join(page)).unwrap();
        let title = page.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {title} 1")), "{page}");
    }
    // Every file written is listed, one per line.
    assert_eq!(r.stdout.lines().count(), names.len(), "{r:#?}");
    let r = run(&["man", "--dir", dir.join("missing").to_str().unwrap()]);
    r.assert_error(&["missing", "cannot write the man page"]);
}

#[test]
fn a_batch_fed_through_a_pipe_is_answered_line_by_line() {
    for threads in ["1", "2"] {
        a_pipe_is_answered_line_by_line_with(threads);
    }
}

fn a_pipe_is_answered_line_by_line_with(threads: &str) {
    use std::io::{BufRead, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args([
            "check",
            "--world",
            WEB,
            "--batch",
            "-",
            "--threads",
            threads,
        ])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let answers = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in answers.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    // Each line gets its answer while the input is still open.
    for _ in 0..3 {
        writeln!(input, "tcp 1.2.3.4 -> 192.168.1.10:22").unwrap();
        input.flush().unwrap();
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(l) => assert!(l.starts_with("accept") || l.starts_with("drop"), "{l}"),
            Err(_) => {
                let _ = child.kill();
                panic!("no answer before EOF with --threads {threads}");
            }
        }
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

#[test]
fn progress_is_shown_only_when_asked_or_on_a_terminal() {
    let batch = "tcp 1.2.3.4 -> 192.168.1.10:22\n".repeat(10);
    let r = check_web(&[], &["--batch", "-"], Some(&batch));
    assert_eq!(r.stderr, "", "stderr is not a terminal: no progress");
    let r = check_web(&[], &["--batch", "-", "--progress", "always"], Some(&batch));
    assert_eq!(r.stdout.lines().count(), 10);
    assert!(
        !r.stdout.contains("packets"),
        "progress stays off stdout: {r:#?}"
    );
    let r = check_web(
        &["-q"],
        &["--batch", "-", "--progress", "always"],
        Some(&batch),
    );
    assert_eq!(r.stderr, "", "-q: no progress");
}

#[test]
fn quiet_silences_notes_hints_and_progress_but_not_errors() {
    // A call that succeeds with a warning (an unknown parameter, ignored as the cloud does).
    let dir = world_dir("quiet");
    let w = dir.path("w.toml");
    let q = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8&Permissions.1.Descripton=ssh";
    let loud = run(&["call", "--world", &w, "--json", q]);
    assert_eq!(loud.code, 0, "{loud:#?}");
    assert!(
        loud.stderr.contains("warning: unknown parameter"),
        "{loud:#?}"
    );
    let quiet = run(&["-q", "call", "--world", &w, "--json", q]);
    assert_eq!(quiet.code, 0, "{quiet:#?}");
    assert_eq!(quiet.stderr, "", "{quiet:#?}");
    let batch = "tcp 1.2.3.4 -> 192.168.1.10:22\n".repeat(10);
    let progress = check_web(
        &["--quiet"],
        &["--batch", "-", "--progress", "always"],
        Some(&batch),
    );
    assert_eq!(progress.stdout.lines().count(), 10, "{progress:#?}");
    assert_eq!(progress.stderr, "", "-q wins over --progress always");
    let missing = run(&[
        "-q",
        "check",
        "--world",
        "no-such-world.toml",
        "tcp 1.2.3.4 -> 10.0.0.1:22",
    ]);
    assert_eq!(missing.code, 2, "{missing:#?}");
    assert!(
        missing.stderr.starts_with("error: ") && missing.stderr.contains("no-such-world.toml"),
        "errors are still printed: {missing:#?}"
    );
}
