//! Property tests of CIDR parsing and canonicalisation.

use crate::support::arb::*;
use crate::support::config;
use ipnet::IpNet;
use proptest::prelude::*;
use sgsim::api::permission::{validate_permission, ParamForm};
use sgsim::model::{canonical, host_net, parse_cidr, Direction, Peer};

// ---------------------------------------------------------------------------------------
// CIDRs.

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn cidr_arbitrary_strings_never_panic(
        s in prop_oneof![any::<String>(), "[0-9a-fA-F:./%\\[\\] -]{0,48}"]
    ) {
        if let Some(net) = parse_cidr(&s) {
            // Whatever parses prints to something that parses to the same network.
            prop_assert_eq!(parse_cidr(&net.to_string()), Some(net));
        }
    }

    #[test]
    fn cidr_print_parse_round_trip(net in arb_net()) {
        prop_assert_eq!(parse_cidr(&net.to_string()), Some(net));
        let c = canonical(net);
        prop_assert_eq!(parse_cidr(&c.to_string()), Some(c));
    }

    #[test]
    fn cidr_bare_address_is_a_host_network(addr in arb_ip()) {
        let net = parse_cidr(&addr.to_string());
        prop_assert_eq!(net, Some(host_net(addr)));
        let net = net.unwrap();
        prop_assert_eq!(net.prefix_len(), net.max_prefix_len());
        prop_assert_eq!(canonical(net), net);
    }

    #[test]
    fn cidr_prefix_beyond_the_family_is_refused(addr in arb_ip(), extra in 1u16..300) {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let text = format!("{addr}/{}", max + extra);
        prop_assert_eq!(parse_cidr(&text), None, "{}", text);
    }

    #[test]
    fn cidr_canonicalisation(net in arb_net()) {
        let c = canonical(net);
        prop_assert_eq!(canonical(c), c);
        prop_assert_eq!(c.prefix_len(), net.prefix_len());
        prop_assert_eq!(c.addr(), net.network());
        prop_assert!(c.contains(&net.addr()));
        prop_assert_eq!(c == net, net.addr() == net.network());
    }

    /// The API stores a CIDR with host bits set as its network (SPEC §2).
    #[test]
    fn cidr_rules_store_the_canonical_network(net in arb_net(), egress in any::<bool>()) {
        let world = port_world();
        let group = &world.security_groups[0];
        let direction = if egress { Direction::Egress } else { Direction::Ingress };
        let field = match (egress, net) {
            (false, IpNet::V4(_)) => "SourceCidrIp",
            (false, IpNet::V6(_)) => "Ipv6SourceCidrIp",
            (true, IpNet::V4(_)) => "DestCidrIp",
            (true, IpNet::V6(_)) => "Ipv6DestCidrIp",
        };
        let fields = fields(&[("IpProtocol", "TCP"), ("PortRange", "1/65535"), (field, &net.to_string())]);
        let rule = validate_permission(&world, group, direction, &fields, ParamForm::Flat)
            .map_err(|e| TestCaseError::fail(format!("{net}: {e}")))?;
        prop_assert_eq!(rule.peer, Peer::Cidr(canonical(net)));
    }
}
