//! Packet notation (SPEC §5): `PROTO SRC -> DST`.
//!
//! ```
//! use sgsim::packet::{parse_packet, format_packet};
//! let p = parse_packet("tcp 10.1.2.3 -> 192.168.1.10:22").unwrap();
//! assert_eq!(p.src_port, 49152); // an omitted source port
//! assert_eq!(format_packet(&p), "tcp 10.1.2.3:49152 -> 192.168.1.10:22");
//! assert!(parse_packet("udp [2001:db8::1]:5353 -> [2001:db8::2]:53").is_ok());
//! assert!(parse_packet("tcp 10.0.0.1 -> 10.0.0.2").is_err()); // TCP needs a port
//! ```

use crate::model::{Packet, PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The source port a TCP or UDP packet gets when the notation omits it.
pub const DEFAULT_SOURCE_PORT: u16 = 49152;

/// A malformed packet: the 1-based column where the problem is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError {
    /// 1-based character column in the input.
    pub column: usize,
    /// What is wrong, lower case, naming the offending text.
    pub message: String,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for PacketError {}

fn err(column: usize, message: impl Into<String>) -> PacketError {
    PacketError {
        column,
        message: message.into(),
    }
}

/// Parses a protocol name (`tcp`, `udp`, `icmp`, `icmpv6`, `gre`, any case) or number 0–255.
pub fn parse_protocol(s: &str) -> Option<u8> {
    const NAMES: [(&str, u8); 5] = [
        ("tcp", PROTO_TCP),
        ("udp", PROTO_UDP),
        ("icmp", PROTO_ICMP),
        ("icmpv6", PROTO_ICMPV6),
        ("gre", PROTO_GRE),
    ];
    if let Some(p) = crate::model::named(s, &NAMES) {
        return Some(p);
    }
    if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    None
}

/// The notation's name of a protocol number (`tcp`, …), or the number itself.
pub fn protocol_name(p: u8) -> String {
    match p {
        PROTO_TCP => "tcp".into(),
        PROTO_UDP => "udp".into(),
        PROTO_ICMP => "icmp".into(),
        PROTO_ICMPV6 => "icmpv6".into(),
        PROTO_GRE => "gre".into(),
        n => n.to_string(),
    }
}

/// The byte offset of the first `->` in `s` (a byte search: no substring searcher is set
/// up for each line of a batch).
fn find_arrow(s: &str) -> Option<usize> {
    s.as_bytes().windows(2).position(|w| w == b"->")
}

/// One end of a packet as written: an address and an optional port.
fn parse_end(s: &str, col: usize, which: &str) -> Result<(IpAddr, Option<u16>), PacketError> {
    if s.is_empty() {
        return Err(err(col, format!("missing {which} address")));
    }
    let parse_port = |p: &str, pcol: usize| -> Result<u16, PacketError> {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(pcol, format!("invalid {which} port `{p}`")));
        }
        match p.parse::<u32>() {
            Ok(v @ 1..=65535) => Ok(v as u16),
            _ => Err(err(pcol, format!("{which} port `{p}` is outside 1-65535"))),
        }
    };
    if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(err(col, format!("unclosed `[` in {which} `{s}`")));
        };
        let addr_text = &rest[..close];
        let addr: Ipv6Addr = addr_text.parse().map_err(|_| {
            err(
                col + 1,
                format!("invalid IPv6 {which} address `{addr_text}`"),
            )
        })?;
        let after = &rest[close + 1..];
        let pcol = col + 2 + close;
        if after.is_empty() {
            return Ok((IpAddr::V6(addr), None));
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(err(
                pcol,
                format!("unexpected `{after}` after the {which} address"),
            ));
        };
        return Ok((IpAddr::V6(addr), Some(parse_port(port, pcol + 1)?)));
    }
    if let Ok(addr) = s.parse::<IpAddr>() {
        return Ok((addr, None));
    }
    match s.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') => {
            let addr: IpAddr = a
                .parse()
                .map_err(|_| err(col, format!("invalid {which} address `{a}`")))?;
            Ok((addr, Some(parse_port(p, col + a.chars().count() + 1)?)))
        }
        Some(_) => Err(err(
            col,
            format!("invalid {which} `{s}` (write an IPv6 address with a port as `[addr]:port`)"),
        )),
        None => Err(err(col, format!("invalid {which} address `{s}`"))),
    }
}

/// Parses packet notation. TCP and UDP need a destination port; an omitted source port is
/// [`DEFAULT_SOURCE_PORT`]; other protocols take no ports (and get 0). Both ends must be of
/// one family.
pub fn parse_packet(input: &str) -> Result<Packet, PacketError> {
    // Column of a byte offset, 1-based, in characters (a byte each while ASCII).
    let col_of = |offset: usize| {
        let before = &input[..offset];
        if before.is_ascii() {
            offset + 1
        } else {
            before.chars().count() + 1
        }
    };
    let start = input.len() - input.trim_start().len();
    let body = input.trim();
    if body.is_empty() {
        return Err(err(1, "empty packet: expected `PROTO SRC -> DST`"));
    }
    let proto_end = body.find(char::is_whitespace).unwrap_or(body.len());
    let proto_text = &body[..proto_end];
    let protocol = parse_protocol(proto_text).ok_or_else(|| {
        err(
            col_of(start),
            format!("unknown protocol `{proto_text}` (expected tcp, udp, icmp, icmpv6, gre or a number 0-255)"),
        )
    })?;
    let rest_offset = start + proto_end;
    let rest = &input[rest_offset..];
    let Some(arrow) = find_arrow(rest) else {
        return Err(err(
            col_of(rest_offset),
            "missing `->` between source and destination",
        ));
    };
    let src_raw = &rest[..arrow];
    let dst_raw = &rest[arrow + 2..];
    let src_text = src_raw.trim();
    let src_offset = rest_offset + (src_raw.len() - src_raw.trim_start().len());
    let dst_offset = rest_offset + arrow + 2 + (dst_raw.len() - dst_raw.trim_start().len());
    let dst_text = dst_raw.trim_end().trim_start();
    if src_text.contains(char::is_whitespace) {
        return Err(err(
            col_of(src_offset),
            format!("unexpected text in source `{src_text}`"),
        ));
    }
    if dst_text.contains(char::is_whitespace) || find_arrow(dst_text).is_some() {
        return Err(err(
            col_of(dst_offset),
            format!("unexpected text in destination `{dst_text}`"),
        ));
    }
    let (src, src_port) = parse_end(src_text, col_of(src_offset), "source")?;
    let (dst, dst_port) = parse_end(dst_text, col_of(dst_offset), "destination")?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(err(
            col_of(dst_offset),
            format!("source `{src}` and destination `{dst}` are of different address families"),
        ));
    }
    let with_ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
    let name = || protocol_name(protocol);
    let (src_port, dst_port) = if with_ports {
        let Some(dp) = dst_port else {
            return Err(err(
                col_of(dst_offset),
                format!(
                    "{} needs a destination port, as in `{dst}:22` or `[addr]:22`",
                    name()
                ),
            ));
        };
        (src_port.unwrap_or(DEFAULT_SOURCE_PORT), dp)
    } else {
        if src_port.is_some() {
            return Err(err(
                col_of(src_offset),
                format!("protocol {} takes no ports", name()),
            ));
        }
        if dst_port.is_some() {
            return Err(err(
                col_of(dst_offset),
                format!("protocol {} takes no ports", name()),
            ));
        }
        (0, 0)
    };
    // The families were compared above, so this cannot fail; the error is kept anyway.
    Packet::new(protocol, src, src_port, dst, dst_port).map_err(|e| err(col_of(0), e.to_string()))
}

/// A packet in the notation, with its ports (TCP and UDP) filled in, written without
/// building strings: `tcp 10.0.0.1:49152 -> 10.0.0.2:22`.
#[derive(Debug, Clone, Copy)]
pub struct Notation<'a>(pub &'a Packet);

impl std::fmt::Display for Notation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.0;
        let ports = p.protocol == PROTO_TCP || p.protocol == PROTO_UDP;
        match p.protocol {
            PROTO_TCP => f.write_str("tcp")?,
            PROTO_UDP => f.write_str("udp")?,
            PROTO_ICMP => f.write_str("icmp")?,
            PROTO_ICMPV6 => f.write_str("icmpv6")?,
            PROTO_GRE => f.write_str("gre")?,
            n => write!(f, "{n}")?,
        }
        let end = |f: &mut std::fmt::Formatter<'_>, addr: IpAddr, port: u16| match (addr, ports) {
            (IpAddr::V4(a), true) => {
                write_ipv4(f, a)?;
                f.write_str(":")?;
                write_u16(f, port)
            }
            (IpAddr::V4(a), false) => write_ipv4(f, a),
            (IpAddr::V6(a), true) => write!(f, "[{a}]:{port}"),
            (IpAddr::V6(a), false) => write!(f, "{a}"),
        };
        f.write_str(" ")?;
        end(f, p.src(), p.src_port)?;
        f.write_str(" -> ")?;
        end(f, p.dst(), p.dst_port)
    }
}

/// Writes `n` in decimal without the formatting machinery (a batch writes millions).
fn write_u16(f: &mut impl std::fmt::Write, n: u16) -> std::fmt::Result {
    let mut buf = [0u8; 5];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    f.write_str(std::str::from_utf8(buf.get(i..).unwrap_or_default()).unwrap_or_default())
}

/// Writes a dotted-quad IPv4 address, as its `Display` does, but faster.
fn write_ipv4(f: &mut impl std::fmt::Write, a: std::net::Ipv4Addr) -> std::fmt::Result {
    for (k, octet) in a.octets().into_iter().enumerate() {
        if k > 0 {
            f.write_str(".")?;
        }
        write_u16(f, u16::from(octet))?;
    }
    Ok(())
}

/// An address as `Display` writes it, written faster for IPv4.
#[derive(Debug, Clone, Copy)]
pub struct Address(pub IpAddr);

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write_ipv4(f, a),
            IpAddr::V6(a) => write!(f, "{a}"),
        }
    }
}

/// Writes a packet in the notation, with its ports (TCP and UDP) filled in.
pub fn format_packet(p: &Packet) -> String {
    Notation(p).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_writers_match_display() {
        for n in [0u16, 7, 10, 99, 100, 49152, 65535] {
            let mut s = String::new();
            write_u16(&mut s, n).unwrap();
            assert_eq!(s, n.to_string());
        }
        for a in ["0.0.0.0", "255.255.255.255", "10.1.20.203", "192.168.0.2"] {
            let a: std::net::Ipv4Addr = a.parse().unwrap();
            let mut s = String::new();
            write_ipv4(&mut s, a).unwrap();
            assert_eq!(s, a.to_string());
        }
    }

    #[test]
    fn forms_of_the_spec() {
        let p = parse_packet("tcp 10.1.2.3:40000 -> 192.168.1.10:22").unwrap();
        assert_eq!((p.protocol, p.src_port, p.dst_port), (6, 40000, 22));
        let p = parse_packet("udp [2001:db8::1]:5353 -> [2001:db8::2]:53").unwrap();
        assert_eq!(
            format_packet(&p),
            "udp [2001:db8::1]:5353 -> [2001:db8::2]:53"
        );
        let p = parse_packet("icmp 10.0.0.1 -> 10.0.0.2").unwrap();
        assert_eq!((p.protocol, p.src_port, p.dst_port), (1, 0, 0));
        let p = parse_packet("50 2001:db8::1 -> 2001:db8::2").unwrap();
        assert_eq!(format_packet(&p), "50 2001:db8::1 -> 2001:db8::2");
        let p = parse_packet("6 0.0.0.0 -> 0.0.0.0:1").unwrap();
        assert_eq!(format_packet(&p), "tcp 0.0.0.0:49152 -> 0.0.0.0:1");
        let p = parse_packet("  TCP   10.0.0.1->10.0.0.2:65535  ").unwrap();
        assert_eq!(p.dst_port, 65535);
    }

    #[test]
    fn protocol_names_in_any_case() {
        for (text, want) in [
            ("tcp", Some(6)),
            ("TCP", Some(6)),
            ("Udp", Some(17)),
            ("ICMPv6", Some(58)),
            ("gre", Some(47)),
            ("255", Some(255)),
            ("256", None),
            ("tcpx", None),
            ("tc", None),
            ("", None),
        ] {
            assert_eq!(parse_protocol(text), want, "{text}");
        }
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("tpc 1.1.1.1 -> 2.2.2.2:1", 1, "unknown protocol `tpc`"),
            ("tcp 1.1.1.1 2.2.2.2:1", 4, "missing `->`"),
            ("tcp 1.1.1.1 -> 2.2.2.2", 16, "needs a destination port"),
            ("tcp 1.1.1.1 -> 2.2.2.2:0", 24, "outside 1-65535"),
            ("tcp 1.1.1.1 -> 2.2.2.2:65536", 24, "outside 1-65535"),
            ("icmp 1.1.1.1:5 -> 2.2.2.2", 6, "takes no ports"),
            ("tcp 1.1.1.1 -> [::1]:22", 16, "different address families"),
            (
                "tcp 1.1.1 -> 2.2.2.2:1",
                5,
                "invalid source address `1.1.1`",
            ),
            ("tcp [::1 -> [::2]:1", 5, "unclosed"),
            ("tcp ::1 -> 2001:db8::2:22", 12, "needs a destination port"),
            ("256 1.1.1.1 -> 2.2.2.2", 1, "unknown protocol"),
            ("", 1, "empty packet"),
            ("tcp 1.1.1.1 -> ", 16, "missing destination address"),
            // Columns count characters, not bytes, past a non-ASCII character.
            ("tcp 1.1.1.é -> 2.2.2.2:1", 5, "invalid source address"),
            ("tcp 1.1.1.1 -> é", 16, "invalid destination address"),
            (
                "tcp\u{3000}1.1.1.1 -> 2.2.2.2",
                16,
                "needs a destination port",
            ),
            (
                "tcp 1.1.1.1 -> 2.2.2.2:1 -> 3.3.3.3:1",
                16,
                "unexpected text",
            ),
        ];
        for (input, column, text) in cases {
            let e = parse_packet(input).unwrap_err();
            assert_eq!(e.column, column, "{input}: {e}");
            assert!(e.message.contains(text), "{input}: {e}");
        }
    }
}
