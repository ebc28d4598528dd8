//! The example worlds survive a write and a re-load in both formats.

use sgsim::world_file::{load, load_str, to_string, Format};

#[test]
fn examples_round_trip_through_both_formats() {
    let dir = crate::support::root().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if Format::of_path(&path).is_none() {
            continue;
        }
        let world = load(&path).unwrap_or_else(|e| panic!("{e}"));
        for format in [Format::Toml, Format::Json] {
            let text = to_string(&world, format).unwrap();
            let again =
                load_str(&text, format, "round trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(world, again, "{} via {format:?}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn a_public_ip_is_ipv4() {
    let world = |public: &str| {
        format!(
            "[[vpcs]]\nid = \"vpc-1\"\n[[security_groups]]\nid = \"sg-a\"\nvpc_id = \"vpc-1\"\n\
             [[instances]]\nid = \"i-a\"\nvpc_id = \"vpc-1\"\nsecurity_groups = [\"sg-a\"]\n\
             private_ips = [\"10.0.0.1\"]\npublic_ip = \"{public}\"\n"
        )
    };
    let w = load_str(&world("47.0.0.1"), Format::Toml, "w.toml").unwrap();
    assert_eq!(w.instances[0].public_ip, Some([47, 0, 0, 1].into()));
    let e = load_str(&world("2001:db8::1"), Format::Toml, "w.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("instance `i-a`") || e.contains("i-a"),
        "names the instance: {e}"
    );
    assert!(
        e.contains("field `public_ip`: `2001:db8::1` is an IPv6 address; a public IP is IPv4"),
        "{e}"
    );
}
