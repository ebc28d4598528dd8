//! Property tests of the packet notation parser: no panics, round trips, spellings,
//! mutations (see `parser_support` for the case counts).

mod parser_support;

use parser_support::*;
use proptest::prelude::*;
use sgsim::model::{Packet, PROTO_TCP, PROTO_UDP};
use sgsim::packet::{format_packet, parse_packet, DEFAULT_SOURCE_PORT};
use std::net::IpAddr;

// ---------------------------------------------------------------------------------------
// Packet notation.

fn arb_protocol() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        2 => Just(PROTO_TCP),
        2 => Just(PROTO_UDP),
        1 => prop::sample::select(vec![1u8, 47, 58, 0, 255]),
    ]
}

fn arb_port() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 1u16..=u16::MAX,
        1 => prop::sample::select(vec![1u16, 22, 49152, 65535]),
    ]
}

/// A valid packet: both ends of one family; ports 1–65535 for TCP/UDP, 0 otherwise.
fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        arb_v4(),
        arb_v4(),
        arb_v6(),
        arb_v6(),
        arb_protocol(),
        arb_port(),
        arb_port(),
    )
        .prop_map(|(v6, s4, d4, s6, d6, protocol, sp, dp)| {
            let (src, dst) = if v6 {
                (IpAddr::V6(s6), IpAddr::V6(d6))
            } else {
                (IpAddr::V4(s4), IpAddr::V4(d4))
            };
            let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
            let (sp, dp) = if ports { (sp, dp) } else { (0, 0) };
            Packet::new(protocol, src, sp, dst, dp).unwrap()
        })
}

/// How a valid packet may be written besides the canonical form.
#[derive(Debug, Clone)]
struct Spelling {
    /// 0: the name (if any) in the given case pattern; 1: the number; 2: zero-padded number.
    proto_form: u8,
    case_mask: u8,
    lead: &'static str,
    after_proto: &'static str,
    before_arrow: &'static str,
    after_arrow: &'static str,
    trail: &'static str,
    /// Leave out the source port (TCP/UDP): the parser fills in 49152.
    omit_src_port: bool,
    /// IPv6 ends without a port written in brackets anyway.
    bracket_bare_v6: bool,
    /// IPv6 written in full, uncompressed, upper case hex.
    full_v6: bool,
}

fn arb_spelling() -> impl Strategy<Value = Spelling> {
    let ws = || prop::sample::select(vec!["", " ", "  ", "\t", " \t "]);
    let ws1 = || prop::sample::select(vec![" ", "  ", "\t", " \t "]);
    (
        (0u8..3, any::<u8>(), ws(), ws1(), ws()),
        (ws(), ws(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (proto_form, case_mask, lead, after_proto, before_arrow),
                (after_arrow, trail, omit_src_port, bracket_bare_v6, full_v6),
            )| Spelling {
                proto_form,
                case_mask,
                lead,
                after_proto,
                before_arrow,
                after_arrow,
                trail,
                omit_src_port,
                bracket_bare_v6,
                full_v6,
            },
        )
}

fn known_name(p: u8) -> Option<&'static str> {
    match p {
        6 => Some("tcp"),
        17 => Some("udp"),
        1 => Some("icmp"),
        58 => Some("icmpv6"),
        47 => Some("gre"),
        _ => None,
    }
}

fn spell_end(addr: IpAddr, port: Option<u16>, sp: &Spelling) -> String {
    let text = match addr {
        IpAddr::V6(a) if sp.full_v6 => a
            .segments()
            .iter()
            .map(|s| format!("{s:X}"))
            .collect::<Vec<_>>()
            .join(":"),
        a => a.to_string(),
    };
    match (addr, port) {
        (IpAddr::V4(_), Some(p)) => format!("{text}:{p}"),
        (IpAddr::V6(_), Some(p)) => format!("[{text}]:{p}"),
        (IpAddr::V6(_), None) if sp.bracket_bare_v6 => format!("[{text}]"),
        (_, None) => text,
    }
}

/// Writes `p` in a non-canonical spelling; returns the text and the packet it denotes.
fn spell(p: &Packet, sp: &Spelling) -> (String, Packet) {
    let proto = match (sp.proto_form, known_name(p.protocol)) {
        (0, Some(name)) => name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if sp.case_mask & (1 << (i % 8)) != 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
        (2, _) => format!("{:03}", p.protocol),
        _ => p.protocol.to_string(),
    };
    let ports = p.has_ports();
    let omit = ports && sp.omit_src_port;
    let src = spell_end(p.src(), (ports && !omit).then_some(p.src_port), sp);
    let dst = spell_end(p.dst(), ports.then_some(p.dst_port), sp);
    let text = format!(
        "{}{proto}{}{src}{}->{}{dst}{}",
        sp.lead, sp.after_proto, sp.before_arrow, sp.after_arrow, sp.trail
    );
    let mut want = *p;
    if omit {
        want.src_port = DEFAULT_SOURCE_PORT;
    }
    (text, want)
}

/// The checks every answer of `parse_packet` must pass, whatever the input.
fn check_packet_answer(input: &str) -> Result<(), TestCaseError> {
    match parse_packet(input) {
        Ok(p) => {
            prop_assert_eq!(p.src().is_ipv4(), p.dst().is_ipv4());
            if p.has_ports() {
                prop_assert!(p.src_port >= 1 && p.dst_port >= 1);
            } else {
                prop_assert_eq!((p.src_port, p.dst_port), (0, 0));
            }
            let text = format_packet(&p);
            prop_assert_eq!(parse_packet(&text), Ok(p), "{:?} -> {:?}", input, text);
        }
        Err(e) => {
            let len = input.chars().count();
            prop_assert!(
                e.column >= 1 && e.column <= len + 1,
                "column {} outside 1..={} for {:?}: {}",
                e.column,
                len + 1,
                input,
                e
            );
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn packet_arbitrary_strings_never_panic(s in any::<String>()) {
        check_packet_answer(&s)?;
    }

    #[test]
    fn packet_token_soup_never_panics(
        tokens in prop::collection::vec(
            prop::sample::select(vec![
                "tcp", "UDP", "icmp", "icmpv6", "gre", "6", "17", "255", "256", "007", " ",
                "\t", "->", "-", ">", "1.2.3.4", "::1", "[", "]", "[::1]", ":", "22", "0",
                "65535", "65536", "99999", "2001:db8::1", "::ffff:1.2.3.4", "é", "\u{a0}",
            ]),
            0..12,
        )
    ) {
        check_packet_answer(&tokens.concat())?;
    }

    #[test]
    fn packet_print_parse_round_trip(p in arb_packet()) {
        let text = format_packet(&p);
        prop_assert_eq!(parse_packet(&text), Ok(p), "{}", text);
    }

    #[test]
    fn packet_spellings_parse_and_format_to_a_fixed_point(
        p in arb_packet(),
        sp in arb_spelling(),
    ) {
        let (text, want) = spell(&p, &sp);
        let parsed = parse_packet(&text);
        prop_assert_eq!(parsed.clone(), Ok(want), "{:?}", text);
        let canonical_text = format_packet(&want);
        let again = parse_packet(&canonical_text);
        prop_assert_eq!(again.clone(), Ok(want));
        prop_assert_eq!(format_packet(&again.unwrap()), canonical_text);
    }

    #[test]
    fn packet_mutations_never_panic_and_errors_stay_in_the_input(
        p in arb_packet(),
        sp in arb_spelling(),
        edits in arb_edits(),
    ) {
        let (text, _) = spell(&p, &sp);
        check_packet_answer(&apply_edits(&text, &edits))?;
    }
}

#[test]
fn packet_every_protocol_number_round_trips() {
    for protocol in 0..=255u8 {
        for (src, dst) in [("10.0.0.1", "10.0.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
            let (sp, dp) = if ports { (1, 65535) } else { (0, 0) };
            let p =
                Packet::new(protocol, src.parse().unwrap(), sp, dst.parse().unwrap(), dp).unwrap();
            let text = format_packet(&p);
            assert_eq!(parse_packet(&text), Ok(p), "{text}");
            let numeric = format!("{protocol} {}", text.split_once(' ').unwrap().1);
            assert_eq!(parse_packet(&numeric), Ok(p), "{numeric}");
        }
    }
}
