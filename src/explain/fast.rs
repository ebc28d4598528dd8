//! The decision JSON object written straight into a byte buffer, for batches: the same
//! bytes as serializing a [`DecisionView`](super::DecisionView), from fragments serialized
//! once (each group's `{"id":…,"name":…}`, each rule's `rule_fields`) and fixed keys, with
//! ids, addresses and the packet written without going through `fmt`.

use super::{rule_json, Explainer};
use crate::engine::target::Resolved;
use crate::model::{
    Decision, Packet, Reason, PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// Appends `s` as a JSON string: as is when nothing in it needs escaping, else by serde.
pub(super) fn push_str(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        // A string always serializes.
        let _ = serde_json::to_writer(&mut *buf, s);
    }
}

/// Appends `s` as a JSON string, or `null`.
fn push_opt(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(buf, s),
        None => buf.extend_from_slice(b"null"),
    }
}

/// Appends a number in decimal.
fn push_u16(buf: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut k = digits.len();
    let mut n = n;
    loop {
        k -= 1;
        if let Some(d) = digits.get_mut(k) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || k == 0 {
            break;
        }
    }
    buf.extend_from_slice(digits.get(k..).unwrap_or_default());
}

fn push_ipv4(buf: &mut Vec<u8>, a: Ipv4Addr) {
    for (k, octet) in a.octets().into_iter().enumerate() {
        if k > 0 {
            buf.push(b'.');
        }
        push_u16(buf, u16::from(octet));
    }
}

/// Appends an address as `Display` writes it.
pub(super) fn push_addr(buf: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => push_ipv4(buf, a),
        // Writing to memory cannot fail.
        IpAddr::V6(a) => {
            let _ = write!(buf, "{a}");
        }
    }
}

/// Appends a packet in the notation ([`crate::packet::Notation`]): only ASCII letters,
/// digits and `.:[]-> `, so it needs no escaping inside a JSON string.
pub(super) fn push_packet(buf: &mut Vec<u8>, p: &Packet) {
    let ports = p.protocol == PROTO_TCP || p.protocol == PROTO_UDP;
    match p.protocol {
        PROTO_TCP => buf.extend_from_slice(b"tcp"),
        PROTO_UDP => buf.extend_from_slice(b"udp"),
        PROTO_ICMP => buf.extend_from_slice(b"icmp"),
        PROTO_ICMPV6 => buf.extend_from_slice(b"icmpv6"),
        PROTO_GRE => buf.extend_from_slice(b"gre"),
        n => push_u16(buf, u16::from(n)),
    }
    let end = |buf: &mut Vec<u8>, addr: IpAddr, port: u16| match (addr, ports) {
        (IpAddr::V4(a), true) => {
            push_ipv4(buf, a);
            buf.push(b':');
            push_u16(buf, port);
        }
        (IpAddr::V4(a), false) => push_ipv4(buf, a),
        (IpAddr::V6(a), true) => {
            let _ = write!(buf, "[{a}]:{port}");
        }
        (IpAddr::V6(a), false) => {
            let _ = write!(buf, "{a}");
        }
    };
    buf.push(b' ');
    end(buf, p.src(), p.src_port);
    buf.extend_from_slice(b" -> ");
    end(buf, p.dst(), p.dst_port);
}

impl Explainer<'_> {
    /// Appends the decision JSON object of `d` (no newline), decided at the target `r`
    /// resolved in the world's index: the same bytes as
    /// [`DecisionView::write_json`](super::DecisionView::write_json) on the view of `d` at
    /// that target, written faster.
    pub fn write_batch_json(&self, d: &Decision, r: &Resolved<'_>, buf: &mut Vec<u8>) {
        buf.extend_from_slice(match d.verdict {
            crate::model::Verdict::Accept => b"{\"decision\":\"accept\",\"reason\":",
            crate::model::Verdict::Drop => b"{\"decision\":\"drop\",\"reason\":",
        });
        let mut rule_fields = None;
        match &d.reason {
            Reason::Rule { group, rule } => {
                buf.extend_from_slice(b"\"rule\",\"rule\":");
                push_str(buf, rule);
                buf.extend_from_slice(b",\"group\":");
                push_str(buf, group);
                buf.extend_from_slice(b",\"group_name\":");
                let entry = self.rules.get(rule.as_str());
                let name = match entry {
                    Some(e) if e.group == group.as_str() => e.group_name,
                    _ => self.group_name(group),
                };
                push_opt(buf, name);
                rule_fields = entry;
            }
            Reason::InnerAccess { group } => {
                buf.extend_from_slice(b"\"inner-access\",\"rule\":null,\"group\":");
                push_str(buf, group);
                buf.extend_from_slice(b",\"group_name\":");
                push_opt(buf, self.group_name(group));
            }
            Reason::Default => {
                buf.extend_from_slice(
                    b"\"default\",\"rule\":null,\"group\":null,\"group_name\":null",
                );
            }
        }
        buf.extend_from_slice(b",\"packet\":\"");
        push_packet(buf, &d.packet);
        buf.extend_from_slice(b"\",\"target\":");
        push_str(buf, &d.target);
        buf.extend_from_slice(b",\"direction\":\"");
        buf.extend_from_slice(d.direction.as_str().as_bytes());
        buf.push(b'"');
        if let Some(e) = rule_fields {
            buf.extend_from_slice(b",\"rule_fields\":");
            buf.extend_from_slice(e.json.get_or_init(|| rule_json(e.rule)).get().as_bytes());
        }
        buf.extend_from_slice(b",\"groups\":[");
        for (k, g) in r.groups.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            if let Some(j) = self.group_json.get(*g) {
                buf.extend_from_slice(j.as_bytes());
            }
        }
        buf.extend_from_slice(b"],\"local\":\"");
        push_addr(buf, r.local);
        buf.extend_from_slice(b"\",\"nic\":");
        push_opt(buf, r.nic.map(|n| n.as_str()));
        buf.extend_from_slice(b",\"notes\":[");
        // The notes of `nat_note` and `nic_note`, written in place: addresses and NIC
        // names need no escaping.
        let local = d.packet.local(d.direction);
        let mut first = true;
        if r.local != local {
            buf.extend_from_slice(b"\"public address ");
            push_addr(buf, local);
            buf.extend_from_slice(b" is decided as the primary private address ");
            push_addr(buf, r.local);
            buf.extend_from_slice(b" (VPC NAT)\"");
            first = false;
        }
        if let Some(nic) = r.nic {
            if !first {
                buf.push(b',');
            }
            let nic = nic.as_str().as_bytes();
            buf.extend_from_slice(b"\"classic network, ");
            buf.extend_from_slice(nic);
            buf.extend_from_slice(b" NIC: only nic_type ");
            buf.extend_from_slice(nic);
            buf.extend_from_slice(b" rules apply\"");
        }
        buf.extend_from_slice(b"]}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{format_packet, parse_packet, Address};

    #[test]
    fn writers_match_display() {
        for n in [0u16, 7, 10, 99, 100, 999, 1000, 49152, 65535] {
            let mut b = Vec::new();
            push_u16(&mut b, n);
            assert_eq!(String::from_utf8(b).unwrap(), n.to_string());
        }
        for a in [
            "0.0.0.0",
            "255.255.255.255",
            "10.1.20.203",
            "::",
            "2001:db8::10",
            "::ffff:1.2.3.4",
        ] {
            let a: IpAddr = a.parse().unwrap();
            let mut b = Vec::new();
            push_addr(&mut b, a);
            assert_eq!(String::from_utf8(b).unwrap(), Address(a).to_string());
        }
        for p in [
            "tcp 1.2.3.4 -> 5.6.7.8:22",
            "udp 10.0.0.1:53 -> 10.0.0.2:65535",
            "icmp 1.2.3.4 -> 5.6.7.8",
            "icmpv6 [2001:db8::1] -> [2001:db8::2]",
            "tcp [2001:db8::1]:1 -> [::1]:443",
            "gre 1.1.1.1 -> 2.2.2.2",
            "47 1.1.1.1 -> 2.2.2.2",
            "0 1.1.1.1 -> 2.2.2.2",
            "255 [::] -> [::2]",
        ] {
            let p = parse_packet(p).unwrap();
            let mut b = Vec::new();
            push_packet(&mut b, &p);
            assert_eq!(String::from_utf8(b).unwrap(), format_packet(&p));
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_does() {
        for s in [
            "sg-web",
            "",
            "a\"b",
            "back\\slash",
            "tab\there",
            "é ünï",
            "\u{7f}",
        ] {
            let mut b = Vec::new();
            push_str(&mut b, s);
            assert_eq!(
                String::from_utf8(b).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }
}
