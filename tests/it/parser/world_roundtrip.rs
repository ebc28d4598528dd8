//! Property tests of world files: print then load again gives the same world.

use crate::support::arb::*;
use crate::support::config;
use ipnet::IpNet;
use proptest::prelude::*;
use sgsim::model::Peer;
use sgsim::world_file::{load_str, to_string, Format};
use std::collections::BTreeMap;

use crate::support::world_doc::*;
use crate::support::world_gen::*;

proptest! {
    #![proptest_config(config(128))]

    /// parse ∘ print is the identity on valid worlds, in both formats, and printing is
    /// stable.
    #[test]
    fn world_print_parse_round_trip(g in arb_gen_world(), toml_input in any::<bool>()) {
        let doc = build_doc(&g);
        let (text, format) = render(&doc, toml_input);
        let world = load_str(&text, format, "gen.file")
            .map_err(|e| TestCaseError::fail(format!("a generated world is refused: {e}\n{text}")))?;
        for out_format in [Format::Toml, Format::Json] {
            let printed = to_string(&world, out_format)
                .map_err(|e| TestCaseError::fail(format!("cannot print: {e}")))?;
            let again = load_str(&printed, out_format, "printed.file")
                .map_err(|e| TestCaseError::fail(format!("a printed world is refused: {e}\n{printed}")))?;
            prop_assert_eq!(&again, &world, "{:?}:\n{}", out_format, printed);
            prop_assert_eq!(to_string(&again, out_format).unwrap(), printed);
        }
    }

    /// The same document in TOML and in JSON is the same world.
    #[test]
    fn world_formats_agree(g in arb_gen_world()) {
        let doc = build_doc(&g);
        let (toml_text, _) = render(&doc, true);
        let (json_text, _) = render(&doc, false);
        let a = load_str(&toml_text, Format::Toml, "a.toml");
        let b = load_str(&json_text, Format::Json, "b.json");
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "toml {:?}\njson {:?}", a.err(), b.err()),
        }
    }
}

#[test]
fn world_example_round_trips() {
    let (toml_text, json_text) = example_texts();
    let world = load_str(&toml_text, Format::Toml, "web.toml").unwrap();
    let from_json = load_str(&json_text, Format::Json, "web.json").unwrap();
    assert_eq!(from_json, world);
    let printed = to_string(&world, Format::Toml).unwrap();
    assert_eq!(
        load_str(&printed, Format::Toml, "web2.toml").unwrap(),
        world
    );
}

/// The world generator reaches every kind of rule and object (so the round trip above is not
/// vacuous).
#[test]
fn world_generator_covers_the_schema() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_gen_world();
    let mut seen = BTreeMap::<&str, usize>::new();
    for _ in 0..200 {
        let g = strategy.new_tree(&mut runner).unwrap().current();
        let (text, format) = render(&build_doc(&g), false);
        let w = load_str(&text, format, "gen.json").unwrap();
        let mut see = |k| *seen.entry(k).or_default() += 1;
        for grp in &w.security_groups {
            see(if grp.is_classic() {
                "classic group"
            } else {
                "vpc group"
            });
            if grp.group_type == sgsim::model::GroupType::Enterprise {
                see("enterprise group");
            }
            for r in &grp.rules {
                see(match &r.peer {
                    Peer::Cidr(IpNet::V4(_)) => "v4 peer",
                    Peer::Cidr(IpNet::V6(_)) => "v6 peer",
                    Peer::Group { .. } => "group peer",
                    Peer::PrefixList(_) => "prefix-list peer",
                });
                if r.local_cidr.is_some() {
                    see("local cidr");
                }
                if r.source_port_range.is_some() {
                    see("source ports");
                }
            }
        }
        for i in &w.instances {
            see("instance");
            if !i.network_interfaces.is_empty() {
                see("secondary eni");
            }
        }
        if !w.prefix_lists.is_empty() {
            see("prefix list");
        }
        if !w.client_tokens.is_empty() {
            see("client token");
        }
    }
    for kind in [
        "classic group",
        "vpc group",
        "enterprise group",
        "v4 peer",
        "v6 peer",
        "group peer",
        "prefix-list peer",
        "local cidr",
        "source ports",
        "instance",
        "secondary eni",
        "prefix list",
        "client token",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) >= 5,
            "{kind}: {seen:?}"
        );
    }
}

/// SPEC §1: a new id is 1 + the largest number of its kind among all ids of the world, so
/// it never repeats an id the file gives to another kind of object.
#[test]
fn world_assigned_rule_ids_are_unique() {
    let text = r#"
[[vpcs]]
id = "sgr-000000000001"

[[security_groups]]
id = "sg-1"
vpc_id = "sgr-000000000001"
rules = [ { direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "0.0.0.0/0" } ]
"#;
    let world = load_str(text, Format::Toml, "ids.toml").unwrap();
    let mut ids: Vec<&str> = world.all_ids().collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(
        ids.len(),
        n,
        "duplicate ids: {:?}",
        world.all_ids().collect::<Vec<_>>()
    );
    let printed = to_string(&world, Format::Toml).unwrap();
    assert_eq!(
        load_str(&printed, Format::Toml, "ids2.toml").unwrap(),
        world
    );
}
