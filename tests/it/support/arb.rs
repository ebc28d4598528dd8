//! Strategies and fixtures of the parser property tests (`parser::*`): addresses, text
//! edits, the example world and the port-range world. Case counts are
//! [`super::config`]'s.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use serde_json::Value;
use sgsim::model::World;
use sgsim::world_file::{load_str, to_string, Format};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------
// Addresses.

pub fn arb_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        6 => any::<u32>().prop_map(Ipv4Addr::from),
        1 => Just(Ipv4Addr::UNSPECIFIED),
        1 => Just(Ipv4Addr::BROADCAST),
        1 => (0u32..=255).prop_map(Ipv4Addr::from),
    ]
}

pub fn arb_v6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        4 => any::<u128>().prop_map(Ipv6Addr::from),
        // Runs of zero segments, so every `::` compression shows up.
        4 => (any::<[u16; 8]>(), any::<u8>()).prop_map(|(mut s, mask)| {
            for (i, seg) in s.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    *seg = 0;
                }
            }
            Ipv6Addr::from(s)
        }),
        1 => (0u128..=0xffff).prop_map(Ipv6Addr::from),
        1 => any::<u32>().prop_map(|v| Ipv4Addr::from(v).to_ipv6_mapped()),
        1 => Just(Ipv6Addr::UNSPECIFIED),
    ]
}

pub fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![arb_v4().prop_map(IpAddr::V4), arb_v6().prop_map(IpAddr::V6)]
}

pub fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (arb_v4(), 0u8..=32).prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(a, l).unwrap())),
        (arb_v6(), 0u8..=128).prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(a, l).unwrap())),
    ]
}

// ---------------------------------------------------------------------------------------
// Text edits.

/// One edit of a text, by character position (taken modulo the length).
#[derive(Debug, Clone)]
pub enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

pub fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            ' ', '\t', '-', '>', ':', '[', ']', '.', '/', '0', '1', '9', 'a', 'f', 'x', 't',
            'c', 'p', '#', '=',
        ]),
        // Multi-byte characters and Unicode whitespace, which must not upset columns.
        2 => prop::sample::select(vec![
            'é', '中', '\u{a0}', '\u{2003}', '\u{3000}', '\u{0}', '\n', '\u{feff}', '🦀',
        ]),
        1 => any::<char>(),
    ]
}

pub fn arb_edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), arb_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<usize>().prop_map(Edit::Delete),
            (any::<usize>(), arb_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        ],
        1..6,
    )
}

pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        match *e {
            Edit::Insert(i, c) => {
                let i = i % (chars.len() + 1);
                chars.insert(i, c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                let i = i % chars.len();
                chars.remove(i);
            }
            Edit::Replace(i, c) if !chars.is_empty() => {
                let i = i % chars.len();
                chars[i] = c;
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// Fixtures.

/// The example world, as text in each format.
pub fn example_texts() -> (String, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/web.toml");
    let toml_text = std::fs::read_to_string(path).expect("examples/web.toml");
    let world = load_str(&toml_text, Format::Toml, path).expect("the example loads");
    let json_text = to_string(&world, Format::Json).expect("prints");
    (toml_text, json_text)
}

/// A world with one VPC group (index 0) and one classic group (index 1).
pub fn port_world() -> World {
    let text = r#"
[[vpcs]]
id = "vpc-1"

[[security_groups]]
id = "sg-vpc"
vpc_id = "vpc-1"

[[security_groups]]
id = "sg-classic"
"#;
    load_str(text, Format::Toml, "port_world.toml").expect("the port world loads")
}

pub fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A JSON document as the text of a world file in one of the two formats.
pub fn render(doc: &Value, toml_format: bool) -> (String, Format) {
    if toml_format {
        let text = toml::to_string(doc).expect("a JSON document without nulls is TOML");
        (text, Format::Toml)
    } else {
        (serde_json::to_string_pretty(doc).unwrap(), Format::Json)
    }
}
