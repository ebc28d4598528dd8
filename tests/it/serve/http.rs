//! `sgsim serve` end to end over loopback with the project's signing client: both
//! signatures, the rejections of SPEC §9 (none changing the world), the limits, sharing
//! the file with `sgsim call`, packet queries, and a clean stop on SIGTERM.

use super::common::*;
use crate::support::{root, sgsim};
use sgsim::serve::client::{Client, Reply, Sig};
use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::Duration;

/// Asserts that a reply is the refusal `status` with error `code`.
#[track_caller]
fn assert_refused(r: &Reply, status: u16, code: &str) {
    assert_eq!(
        (r.status, r.code().as_deref()),
        (status, Some(code)),
        "{}",
        r.body
    );
}

/// `DescribeSecurityGroups` of a region, with more parameters.
fn describe_groups(c: &mut Client, sig: Sig, region: &str, more: &[(&str, &str)]) -> Reply {
    let params = [
        &[("Action", "DescribeSecurityGroups"), ("RegionId", region)],
        more,
    ]
    .concat();
    c.call(sig, &params).unwrap()
}

/// Runs `sgsim COMMAND --world WORLD ARGS` on the server's world file.
fn cli_on(s: &Server, command: &str, args: &[&str]) -> Output {
    let world = s.world.to_str().unwrap();
    sgsim(&[&[command, "--world", world], args].concat())
}

/// A server on a copy of `examples/web.toml`.
fn start_web(tag: &str) -> Server {
    start(
        tag,
        &std::fs::read_to_string(root().join("examples/web.toml")).unwrap(),
    )
}

#[test]
fn both_signatures_apply_calls_durably() {
    let s = start("calls", EMPTY_WORLD);
    let mut c = client(&s);
    let g = create_group(&mut c, Sig::V3);
    for (sig, port) in [(Sig::V3, 22), (Sig::V1, 80), (Sig::V1Form, 443)] {
        let r = authorize(&mut c, sig, &g, port);
        assert_eq!(r.status, 200, "{sig:?}: {}", r.body);
        assert!(r.json()["RequestId"].is_string());
    }
    let rules = rules_of(&mut c, &g);
    assert_eq!(rules.len(), 3);
    // A repeated Describe (answered from the snapshot's cache) differs only in RequestId.
    let describe = [
        ("Action", "DescribeSecurityGroupAttribute"),
        ("RegionId", R),
        ("SecurityGroupId", g.as_str()),
    ];
    let (a, b) = (
        c.call(Sig::V3, &describe).unwrap().json(),
        c.call(Sig::V1, &describe).unwrap().json(),
    );
    assert_ne!(a["RequestId"], b["RequestId"]);
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("RequestId");
        v
    };
    assert_eq!(strip(a), strip(b));
    assert!(rules
        .iter()
        .all(|r| r["Description"] == "a b*c~d+e=f&g/h é中" && r["Priority"] == "1"));
    // Acknowledged means on disk.
    let w = load(&s.world);
    assert_eq!(w.group(&g).unwrap().rules.len(), 3);
    // Revoke in flat form, as Terraform sends it, in a form body.
    let r = c
        .call(
            Sig::V1Form,
            &[
                ("Action", "RevokeSecurityGroup"),
                ("RegionId", R),
                ("SecurityGroupId", &g),
                ("IpProtocol", "tcp"),
                ("PortRange", "80/80"),
                ("SourceCidrIp", "10.0.0.0/8"),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rules_of(&mut c, &g).len(), 2); // a new snapshot, a new cache
    assert_eq!(load(&s.world).group(&g).unwrap().rules.len(), 2);
    // An API error keeps its status and code.
    let r = c
        .call(
            Sig::V3,
            &[
                ("Action", "AuthorizeSecurityGroup"),
                ("RegionId", R),
                ("SecurityGroupId", &g),
                ("Permissions.1.IpProtocol", "TCP"),
                ("Permissions.1.PortRange", "22/abc"),
                ("Permissions.1.SourceCidrIp", "10.0.0.0/8"),
            ],
        )
        .unwrap();
    assert_refused(&r, 400, "InvalidParam.PortRange");
    let r = c
        .call(Sig::V1, &[("Action", "NoSuchThing"), ("RegionId", R)])
        .unwrap();
    assert_refused(&r, 400, "InvalidAction.NotFound");
    let r = describe_groups(&mut c, Sig::V3, "cn-beijing", &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn rejections_change_nothing() {
    let s = start("reject", EMPTY_WORLD);
    let mut c = client(&s);
    let g = create_group(&mut c, Sig::V3);
    // After the idle checkpoint, which may change the files while the test runs.
    let before = settled_disk(&s);

    let mut wrong = Client::connect(s.addr, "testid", "not-the-secret").unwrap();
    for sig in [Sig::V3, Sig::V1, Sig::V1Form] {
        let r = authorize(&mut wrong, sig, &g, 22);
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("SignatureDoesNotMatch")),
            "{sig:?}"
        );
        let msg = r.json()["Message"].as_str().unwrap().to_string();
        let (_, sts) = msg.split_once(':').unwrap();
        assert!(
            sts.starts_with("ACS3-HMAC-SHA256\n")
                || sts.starts_with("GET&%2F&")
                || sts.starts_with("POST&%2F&"),
            "{msg}"
        );
    }
    let mut unknown = Client::connect(s.addr, "nobody", "testsecret").unwrap();
    for sig in [Sig::V3, Sig::V1] {
        let r = authorize(&mut unknown, sig, &g, 22);
        assert_refused(&r, 404, "InvalidAccessKeyId.NotFound");
    }
    for sig in [Sig::V3, Sig::V1] {
        let mut stale = client(&s);
        stale.clock_offset = -16 * 60;
        let r = authorize(&mut stale, sig, &g, 22);
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("InvalidTimeStamp.Expired")),
            "{sig:?}"
        );
        stale.clock_offset = 16 * 60;
        let r = authorize(&mut stale, sig, &g, 22);
        assert_eq!(r.code().as_deref(), Some("InvalidTimeStamp.Expired"));
    }
    // Nothing so far changed the file.
    assert_eq!(disk(&s), before);

    // A replayed nonce: the first use succeeds, the second is refused and changes nothing.
    for (sig, port) in [(Sig::V3, 1001), (Sig::V1, 1002)] {
        let mut replay = client(&s);
        replay.nonce = Some(format!("0123456789abcdef0123456789abcde{}", port % 10));
        assert_eq!(authorize(&mut replay, sig, &g, port).status, 200);
        let after_first = settled_disk(&s);
        let r = authorize(&mut replay, sig, &g, port + 100);
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("SignatureNonceUsed")),
            "{sig:?}"
        );
        assert_eq!(disk(&s), after_first);
    }

    // Missing pieces and an unsupported method.
    let mut raw = client(&s);
    let r = raw
        .send(
            "GET",
            "/?Action=DescribeSecurityGroups&RegionId=cn-hangzhou",
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.code().as_deref(), Some("IncompleteSignature"));
    let r = raw
        .send(
            "GET",
            "/?Action=DescribeSecurityGroups&RegionId=cn-hangzhou&AccessKeyId=testid&Signature=x&SignatureMethod=HMAC-SHA256&SignatureNonce=1&Timestamp=2026-01-01T00%3A00%3A00Z",
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(r.code().as_deref(), Some("InvalidSignatureMethod"));
    let auth = |v: &str| vec![("Authorization".to_string(), v.to_string())];
    let r = raw
        .send(
            "POST",
            "/",
            &auth("ACS3-HMAC-SM3 Credential=testid,SignedHeaders=host,Signature=00"),
            b"",
        )
        .unwrap();
    assert_eq!(r.code().as_deref(), Some("InvalidSignatureMethod"));
    let r = raw
        .send(
            "POST",
            "/",
            &auth("ACS3-HMAC-SHA256 Credential=testid"),
            b"",
        )
        .unwrap();
    assert_eq!(r.code().as_deref(), Some("IncompleteSignature"));
    let r = raw.send("DELETE", "/", &[], b"").unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(load(&s.world).group(&g).unwrap().rules.len(), 2);
}

#[test]
fn limits_of_the_endpoint() {
    let s = start("limits", EMPTY_WORLD);
    let mut c = client(&s);
    // A query over 1 MiB: 413.
    let long = format!(
        "/?Action=DescribeSecurityGroups&X={}",
        "a".repeat((1 << 20) + 10)
    );
    let r = c.send("GET", &long, &[], b"").unwrap();
    assert_refused(&r, 413, "RequestTooLarge");
    // A ~0.6 MB query is served (here refused only by its missing signature).
    let mut c = client(&s);
    let ok = format!("/?Action=DescribeSecurityGroups&X={}", "a".repeat(600_000));
    let r = c.send("GET", &ok, &[], b"").unwrap();
    assert_eq!(r.code().as_deref(), Some("IncompleteSignature"));
    // Headers over 16 KiB: 431.
    let mut c = client(&s);
    let big = vec![("X-Filler".to_string(), "b".repeat(17 * 1024))];
    let r = c.send("GET", "/", &big, b"").unwrap();
    assert_eq!(r.status, 431);
    // A body over 1 MiB: 413.
    let mut c = client(&s);
    let r = c
        .send("POST", "/", &[], &vec![b'a'; (1 << 20) + 1])
        .unwrap();
    assert_eq!(r.status, 413);
    // More than 5,000 parameters: 400 InvalidParameter.
    let mut c = client(&s);
    let many: String = (0..5001).map(|i| format!("&P{i}=1")).collect();
    let r = c
        .send("GET", &format!("/?Action=X{many}"), &[], b"")
        .unwrap();
    assert_refused(&r, 400, "InvalidParameter");
    // Different values of a name in query and body: 400 InvalidParameter.
    let mut c = client(&s);
    let form = vec![(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let r = c
        .send("POST", "/?RegionId=a", &form, b"RegionId=b")
        .unwrap();
    assert_refused(&r, 400, "InvalidParameter");
    // XML and an unknown version are refused.
    let mut c = client(&s);
    let r = describe_groups(&mut c, Sig::V3, R, &[("Format", "XML")]);
    assert_refused(&r, 400, "InvalidParameter");
    let r = describe_groups(&mut c, Sig::V3, R, &[("Format", "JSON")]);
    assert_eq!(r.status, 200);
    // A silent client is dropped after 30 s; a half-sent request as well (not waited for
    // here: the timer is a constant of the code, `serve::http::IDLE`).
    assert_eq!(sgsim::serve::http::IDLE, Duration::from_secs(30));
}

#[test]
fn shares_the_file_with_sgsim_call() {
    let s = start("share", EMPTY_WORLD);
    let mut c = client(&s);
    let g = create_group(&mut c, Sig::V3);
    assert_eq!(authorize(&mut c, Sig::V3, &g, 22).status, 200);
    // `sgsim call` sees serve's change and adds its own...
    let out = cli_on(&s, "call", &[&format!("Action=AuthorizeSecurityGroup&RegionId={R}&SecurityGroupId={g}&Permissions.1.IpProtocol=UDP&Permissions.1.PortRange=53%2F53&Permissions.1.SourceCidrIp=10.0.0.0%2F8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...which serve sees on the next request, read or write.
    assert_eq!(rules_of(&mut c, &g).len(), 2);
    assert_eq!(authorize(&mut c, Sig::V1, &g, 80).status, 200);
    assert_eq!(load(&s.world).group(&g).unwrap().rules.len(), 3);
}

#[test]
fn packet_check_over_http() {
    let s = start_web("check");
    let mut c = client(&s);
    let r = c
        .post_json(
            "/sgsim/check",
            "SgsimCheck",
            r#"{"packet":"tcp 203.0.113.7:50000 -> 192.168.1.10:22"}"#,
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let cli = cli_on(
        &s,
        "check",
        &["--json", "tcp 203.0.113.7:50000 -> 192.168.1.10:22"],
    );
    let expected: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(r.json(), expected);
    assert_refusals(
        &s,
        &mut c,
        "/sgsim/check",
        "SgsimCheck",
        ("DescribeSecurityGroups", "{}"),
    );
}

/// The refusals `/sgsim/check` and `/sgsim/explain` share: a packet that does not parse,
/// an action the endpoint does not answer (`wrong`: action and body), a wrong signature.
fn assert_refusals(s: &Server, c: &mut Client, path: &str, action: &str, wrong: (&str, &str)) {
    let r = c
        .post_json(path, action, r#"{"packet":"nonsense"}"#)
        .unwrap();
    assert_refused(&r, 400, "InvalidParameter");
    let r = c.post_json(path, wrong.0, wrong.1).unwrap();
    assert_eq!(r.code().as_deref(), Some("InvalidAction.NotFound"));
    let mut bad_key = Client::connect(s.addr, "testid", "nope").unwrap();
    let r = bad_key
        .post_json(
            path,
            action,
            r#"{"packet":"tcp 1.2.3.4:1 -> 192.168.1.10:22"}"#,
        )
        .unwrap();
    assert_eq!(r.code().as_deref(), Some("SignatureDoesNotMatch"));
}

#[test]
fn packet_explain_over_http() {
    let s = start_web("explain");
    let mut c = client(&s);
    // An accepted packet, a dropped one (default), and one given with its target and
    // direction: each the object `sgsim explain --json` prints.
    for (packet, extra) in [
        ("tcp 203.0.113.7:50000 -> 47.0.0.10:443", vec![]),
        ("tcp 203.0.113.7:50000 -> 192.168.1.10:22", vec![]),
        (
            "tcp 192.168.2.20:40000 -> 10.9.9.9:443",
            vec!["--to", "i-db", "--direction", "egress"],
        ),
    ] {
        let mut body = serde_json::json!({ "packet": packet });
        if !extra.is_empty() {
            body["to"] = extra[1].into();
            body["direction"] = extra[3].into();
        }
        let r = c
            .post_json("/sgsim/explain", "SgsimExplain", &body.to_string())
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let cli = cli_on(
            &s,
            "explain",
            &[&["--json"], &extra[..], &[packet]].concat(),
        );
        assert!(cli.status.code().is_some_and(|c| c < 2), "{cli:?}");
        let expected: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
        assert_eq!(r.json(), expected, "{packet}");
        assert!(r.json()["rules"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(r.json()["decision"]["decision"].is_string());
    }
    // The explanation sees the endpoint's own writes.
    let r = c
        .call(
            Sig::V3,
            &[
                ("Action", "AuthorizeSecurityGroup"),
                ("RegionId", R),
                ("SecurityGroupId", "sg-web"),
                ("Permissions.1.IpProtocol", "TCP"),
                ("Permissions.1.PortRange", "2222/2222"),
                ("Permissions.1.SourceCidrIp", "203.0.113.0/24"),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c
        .post_json(
            "/sgsim/explain",
            "SgsimExplain",
            r#"{"packet":"tcp 203.0.113.7:50000 -> 192.168.1.10:2222"}"#,
        )
        .unwrap();
    assert_eq!(r.json()["decision"]["decision"], "accept", "{}", r.body);
    // Refusals: an unknown target, then those /sgsim/check has too.
    let r = c
        .post_json(
            "/sgsim/explain",
            "SgsimExplain",
            r#"{"packet":"tcp 1.2.3.4:1 -> 192.168.1.10:22","to":"i-nope"}"#,
        )
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert_refusals(
        &s,
        &mut c,
        "/sgsim/explain",
        "SgsimExplain",
        (
            "SgsimCheck",
            r#"{"packet":"tcp 1.2.3.4:1 -> 192.168.1.10:22"}"#,
        ),
    );
}

#[test]
fn credentials_and_refusal_to_start() {
    // No credentials at all: serve refuses to start.
    let dir = temp_dir("nocreds");
    let path = dir.join("w.toml");
    std::fs::write(&path, EMPTY_WORLD).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sgsim"))
        .args(["serve", "--listen", "127.0.0.1:0", "--world"])
        .arg(&path)
        .env_remove("SGSIM_CREDENTIALS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no credentials"));
    // From the environment, and from a file.
    let s = start_with(
        "envcreds",
        EMPTY_WORLD,
        &[],
        &[("SGSIM_CREDENTIALS", "ak1:sk1,ak2:sk2")],
    );
    let mut c = Client::connect(s.addr, "ak2", "sk2").unwrap();
    assert_eq!(describe_groups(&mut c, Sig::V3, R, &[]).status, 200);
    let mut c = Client::connect(s.addr, "testid", "testsecret").unwrap();
    assert_eq!(describe_groups(&mut c, Sig::V3, R, &[]).status, 404);
    let creds = dir.join("keys.toml");
    std::fs::write(
        &creds,
        "[[keys]]\nid = \"fileid\"\nsecret = \"filesecret\"\n",
    )
    .unwrap();
    let s2 = start_with(
        "filecreds",
        EMPTY_WORLD,
        &["--credentials", creds.to_str().unwrap()],
        &[],
    );
    let mut c = Client::connect(s2.addr, "fileid", "filesecret").unwrap();
    assert_eq!(describe_groups(&mut c, Sig::V1, R, &[]).status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_finishes_and_leaves_the_file_whole() {
    let mut s = start("term", EMPTY_WORLD);
    let mut c = client(&s);
    let g = create_group(&mut c, Sig::V3);
    for port in 1..=20 {
        assert_eq!(authorize(&mut c, Sig::V3, &g, port).status, 200);
    }
    // An idle keep-alive connection must not hold the stop up.
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    s.terminate();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let _ = idle.write_all(b"GET / HTTP/1.1\r\n\r\n");
    let mut sink = Vec::new();
    let _ = idle.read_to_end(&mut sink);
    assert_eq!(load(&s.world).group(&g).unwrap().rules.len(), 20);
    // The stop folded the journal into the world file itself.
    let plain = sgsim::world_file::load(&s.world).unwrap();
    assert_eq!(plain.group(&g).unwrap().rules.len(), 20);
}

#[test]
fn journal_is_folded_into_the_file_when_idle() {
    let s = start("idle", EMPTY_WORLD);
    let mut c = client(&s);
    let g = create_group(&mut c, Sig::V3);
    for port in 1..=5 {
        assert_eq!(authorize(&mut c, Sig::V1, &g, port).status, 200);
    }
    let started = std::time::Instant::now();
    loop {
        let plain = sgsim::world_file::load(&s.world).unwrap();
        if plain.group(&g).is_some_and(|x| x.rules.len() == 5) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no checkpoint after 10 s idle"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(load(&s.world).group(&g).unwrap().rules.len(), 5);
}
