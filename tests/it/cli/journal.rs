//! Every command that reads a world sees the calls a running `sgsim serve` has
//! acknowledged: the journal beside the world file is folded in (docs/serve.md).

use crate::support::{root, run, TempDir};
use sgsim::journal::{entry_line, hash_hex, header, path_of};

/// A call serve acknowledged: RDP open to the internet on `sg-web`.
const OPEN_RDP: &str = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=3389%2F3389&Permissions.1.SourceCidrIp=0.0.0.0%2F0";

const RDP: &str = "tcp 203.0.113.7:50000 -> 192.168.1.10:3389";

/// Two copies of the example world: `plain.toml` alone, `served.toml` with a journal
/// holding [`OPEN_RDP`].
fn worlds() -> (TempDir, String, String) {
    let dir = TempDir::new("journal-readers");
    let text = std::fs::read_to_string(root().join("examples/web.toml")).unwrap();
    let plain = dir.write("plain.toml", &text);
    let served = dir.write("served.toml", &text);
    let target = std::fs::canonicalize(&served).unwrap();
    let journal =
        header(&hash_hex(text.as_bytes())) + &entry_line("2026-12-01T00:00:00Z", "R1", OPEN_RDP);
    std::fs::write(path_of(&target), journal).unwrap();
    (dir, plain, served)
}

#[test]
fn check_and_explain_see_the_journal() {
    let (_dir, plain, served) = worlds();
    for cmd in ["check", "explain"] {
        assert_eq!(
            run(&[cmd, "--world", &plain, RDP]).code,
            1,
            "{cmd} of the file alone"
        );
        let r = run(&[cmd, "--world", &served, RDP]);
        assert_eq!(r.code, 0, "{cmd} with the journal: {}", r.stdout);
        assert!(r.stdout.contains("accept"), "{cmd}: {}", r.stdout);
    }
}

#[test]
fn lint_and_audit_see_the_journal() {
    let (_dir, plain, served) = worlds();
    for cmd in [
        &["lint", "--fail-on", "never", "--world"][..],
        &["audit", "--world"][..],
    ] {
        let before = run(&[cmd, &[plain.as_str()]].concat());
        let after = run(&[cmd, &[served.as_str()]].concat());
        assert_eq!((before.code, after.code), (0, 0), "{cmd:?}");
        assert!(
            !before.stdout.contains("3389"),
            "{cmd:?}: {}",
            before.stdout
        );
        assert!(after.stdout.contains("3389"), "{cmd:?}: {}", after.stdout);
    }
}

#[test]
fn diff_sees_the_journal_of_either_world() {
    let (_dir, plain, served) = worlds();
    let r = run(&["diff", &plain, &served]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("3389"), "{}", r.stdout);
    // With --world, the old world is the served one: revoking the journal's rule is a change.
    let revoke = OPEN_RDP.replace("AuthorizeSecurityGroup", "RevokeSecurityGroup");
    let r = run(&["diff", "--world", &served, "--call", &revoke]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("3389"), "{}", r.stdout);
    let r = run(&["diff", "--world", &plain, "--call", &revoke]);
    assert_ne!(
        r.code, 1,
        "revoking a rule the file lacks changes nothing: {}",
        r.stdout
    );
}
