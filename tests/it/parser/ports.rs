//! Property tests of port ranges through the API's permission checks and world files.

use crate::support::arb::*;
use crate::support::config;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use sgsim::api::permission::{validate_permission, ParamForm};
use sgsim::model::{Direction, IpProtocol};
use sgsim::world_file::load_str;

// ---------------------------------------------------------------------------------------
// Port ranges through the API's permission checks.

/// A port-range string: mostly `a/b` with interesting integers, sometimes anything.
fn arb_range_text() -> impl Strategy<Value = String> {
    let int = || {
        prop_oneof![
            3 => prop::sample::select(vec![-1i64, 0, 1, 2, 22, 80, 443, 1024, 65534, 65535, 65536, 99999, -2, -65535]),
            2 => -70000i64..70000,
            1 => 1i64..=65535,
        ]
    };
    prop_oneof![
        6 => (int(), int()).prop_map(|(a, b)| format!("{a}/{b}")),
        1 => Just(String::new()),
        1 => prop::sample::select(vec![
            "-1/-1", "1/65535", "22", "/", "22/", "/22", "a/b", "1//2", "1/2/3", " 1/2", "1/2 ",
            "+1/2", "-0/-0", "0x16/22", "1.0/2", "２２/２２", "-/-", "--1/-1",
        ]).prop_map(String::from),
        1 => "\\PC{0,12}",
    ]
}

/// What the oracle expects of one permission: `Ok((port_range, source_port_range))` or the
/// error code and the parameter it names.
type Expected = Result<(Option<(u16, u16)>, Option<(u16, u16)>), (&'static str, &'static str)>;

/// A strict `a/b` of optionally negative decimal integers (at most 12 chars are generated).
fn oracle_pair(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once('/')?;
    let int = |t: &str| {
        let digits = t.strip_prefix('-').unwrap_or(t);
        (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse::<i64>().ok())
            .flatten()
    };
    Some((int(a)?, int(b)?))
}

fn oracle(protocol: IpProtocol, port: Option<&str>, source: Option<&str>) -> Expected {
    let ports = protocol.has_ports();
    let port = port.filter(|s| !s.is_empty());
    let Some(port) = port else {
        return Err(("InvalidPortRange.Malformed", "PortRange"));
    };
    let Some((a, b)) = oracle_pair(port) else {
        return Err(("InvalidParam.PortRange", "PortRange"));
    };
    let in_api = |p: i64| (1..=65535).contains(&p);
    let range = if ports {
        if (a, b) == (-1, -1) {
            return Err(("OperationDenied", "PortRange"));
        }
        if !in_api(a) || !in_api(b) {
            return Err(("InvalidParam.PortRange", "PortRange"));
        }
        if a > b {
            return Err(("InvalidIpProtocol.Malformed", "PortRange"));
        }
        Some((a as u16, b as u16))
    } else {
        if (a, b) != (-1, -1) {
            return Err(("InvalidParam.PortRange", "PortRange"));
        }
        None
    };
    let bad_source = Err(("InvalidSourcePortRange.Malformed", "SourcePortRange"));
    let source = match source.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match oracle_pair(s) {
            None => return bad_source,
            Some((-1, -1)) => None,
            Some(_) if !ports => return bad_source,
            Some((a, b)) if in_api(a) && in_api(b) && a <= b => Some((a as u16, b as u16)),
            Some(_) => return bad_source,
        },
    };
    Ok((range, source))
}

fn arb_api_protocol() -> impl Strategy<Value = (IpProtocol, String)> {
    (
        prop::sample::select(vec![
            IpProtocol::Tcp,
            IpProtocol::Udp,
            IpProtocol::Icmp,
            IpProtocol::Icmpv6,
            IpProtocol::Gre,
            IpProtocol::All,
        ]),
        any::<u8>(),
    )
        .prop_map(|(p, mask)| {
            let text = p
                .as_str()
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << (i % 8)) != 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            (p, text)
        })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn port_ranges_follow_the_validation_rows(
        (protocol, protocol_text) in arb_api_protocol(),
        port in prop::option::weighted(0.95, arb_range_text()),
        source in prop::option::weighted(0.5, arb_range_text()),
        egress in any::<bool>(),
        classic in any::<bool>(),
    ) {
        let world = port_world();
        let group = &world.security_groups[usize::from(classic)];
        let direction = if egress { Direction::Egress } else { Direction::Ingress };
        // A peer of the protocol's family, so only the ports can be wrong.
        let peer = match (protocol == IpProtocol::Icmpv6, egress) {
            (false, false) => ("SourceCidrIp", "0.0.0.0/0"),
            (false, true) => ("DestCidrIp", "0.0.0.0/0"),
            (true, false) => ("Ipv6SourceCidrIp", "::/0"),
            (true, true) => ("Ipv6DestCidrIp", "::/0"),
        };
        let mut pairs = vec![("IpProtocol", protocol_text.as_str()), peer];
        if let Some(p) = &port {
            pairs.push(("PortRange", p));
        }
        if let Some(s) = &source {
            pairs.push(("SourcePortRange", s));
        }
        let got = validate_permission(&world, group, direction, &fields(&pairs), ParamForm::Flat);
        let want = oracle(protocol, port.as_deref(), source.as_deref());
        match (&got, &want) {
            (Ok(rule), Ok((range, src))) => {
                prop_assert_eq!(rule.protocol, protocol);
                for r in rule.port_range.iter().chain(rule.source_port_range.iter()) {
                    prop_assert!(1 <= r.start() && r.start() <= r.end(), "{:?}", r);
                }
                prop_assert_eq!(rule.port_range.map(|r| (r.start(), r.end())), *range);
                prop_assert_eq!(rule.source_port_range.map(|r| (r.start(), r.end())), *src);
                if !protocol.has_ports() {
                    prop_assert!(rule.port_range.is_none() && rule.source_port_range.is_none());
                }
            }
            (Err(e), Err((code, param))) => {
                prop_assert_eq!(e.code.as_str(), *code);
                prop_assert_eq!(e.param.as_deref(), Some(*param));
                prop_assert!(matches!(e.status, 400), "{}", e);
            }
            _ => prop_assert!(false, "port {:?} source {:?} ({}): got {:?}, want {:?}",
                port, source, protocol, got, want),
        }
    }

    /// The same through a world file: an invalid range is refused naming the group, the
    /// rule's index and the field.
    #[test]
    fn port_ranges_in_world_files_name_the_field(
        (protocol, protocol_text) in arb_api_protocol(),
        port in arb_range_text(),
        source in prop::option::weighted(0.5, arb_range_text()),
        toml_format in any::<bool>(),
    ) {
        let peer = if protocol == IpProtocol::Icmpv6 {
            ("ipv6_source_cidr_ip", "::/0")
        } else {
            ("source_cidr_ip", "0.0.0.0/0")
        };
        let mut rule = Map::new();
        rule.insert("direction".into(), json!("ingress"));
        rule.insert("ip_protocol".into(), json!(protocol_text));
        rule.insert("port_range".into(), json!(port));
        rule.insert(peer.0.into(), json!(peer.1));
        if let Some(s) = &source {
            rule.insert("source_port_range".into(), json!(s));
        }
        let doc = json!({
            "vpcs": [{ "id": "vpc-1" }],
            "security_groups": [
                { "id": "sg-other", "vpc_id": "vpc-1" },
                { "id": "sg-web", "vpc_id": "vpc-1", "rules": [
                    { "direction": "ingress", "ip_protocol": "TCP", "port_range": "22/22",
                      "source_cidr_ip": "10.0.0.0/8" },
                    Value::Object(rule),
                ]},
            ],
        });
        let (text, format) = render(&doc, toml_format);
        let got = load_str(&text, format, "w.file");
        match (got, oracle(protocol, Some(&port), source.as_deref())) {
            (Ok(w), Ok((range, _))) => {
                let g = w.group("sg-web").unwrap();
                prop_assert!(!g.rules.is_empty());
                let r = g.rules.last().unwrap();
                prop_assert_eq!(r.port_range.map(|r| (r.start(), r.end())), range);
            }
            (Err(e), Err((code, param))) => {
                let msg = e.to_string();
                let key = if param == "PortRange" { "port_range" } else { "source_port_range" };
                prop_assert!(msg.starts_with("w.file"), "{}", msg);
                prop_assert!(msg.contains("`sg-web` rule 2"), "{}", msg);
                prop_assert!(msg.contains(&format!("field `{key}`")), "{}", msg);
                prop_assert!(msg.contains(code), "{}", msg);
                prop_assert_eq!(e.api_error.map(|a| a.code.as_str()), Some(code));
            }
            (got, want) => prop_assert!(false, "got {:?}, want {:?}", got, want),
        }
    }
}
