//! A record parsed once, packed into a few bytes for the shuffle and the sort: the ENI's
//! index in the world (its `eni-id` is that ENI's id), the addresses, ports, protocol,
//! direction, times, counts, action and flags. The fold unpacks it without parsing text.

use sgsim::model::{Direction, Verdict};
use sgsim::replay::Record;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V6: u8 = 1;
const HAS_DIRECTION: u8 = 2;
const INGRESS: u8 = 4;
const HAS_FLAGS: u8 = 8;
const ACCEPT: u8 = 16;

/// Appends the packed form of `r` (whose ENI is `eni`) to `buf`.
pub fn pack(eni: usize, r: &Record, buf: &mut Vec<u8>) {
    let mut bits = 0u8;
    if r.src.is_ipv6() {
        bits |= V6;
    }
    if let Some(d) = r.direction {
        bits |= HAS_DIRECTION;
        if d == Direction::Ingress {
            bits |= INGRESS;
        }
    }
    if r.tcp_flags.is_some() {
        bits |= HAS_FLAGS;
    }
    if r.action == Verdict::Accept {
        bits |= ACCEPT;
    }
    buf.push(bits);
    buf.extend_from_slice(&(eni as u32).to_le_bytes());
    for a in [r.src, r.dst] {
        match a {
            IpAddr::V4(v) => buf.extend_from_slice(&v.octets()),
            IpAddr::V6(v) => buf.extend_from_slice(&v.octets()),
        }
    }
    buf.extend_from_slice(&r.src_port.to_le_bytes());
    buf.extend_from_slice(&r.dst_port.to_le_bytes());
    buf.push(r.protocol);
    buf.extend_from_slice(&r.start.to_le_bytes());
    buf.extend_from_slice(&r.end.to_le_bytes());
    buf.extend_from_slice(&r.packets.to_le_bytes());
    buf.extend_from_slice(&r.bytes.to_le_bytes());
    buf.extend_from_slice(&r.tcp_flags.unwrap_or(0).to_le_bytes());
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
}

/// A packed record back: its ENI's index and the record, whose `eni` is left empty (the
/// caller names it from the index).
pub fn unpack(bytes: &[u8]) -> Option<(usize, Record)> {
    let mut c = Cursor(bytes);
    let [bits] = c.take::<1>()?;
    let eni = u32::from_le_bytes(c.take::<4>()?) as usize;
    let mut addr = || -> Option<IpAddr> {
        Some(if bits & V6 != 0 {
            IpAddr::V6(Ipv6Addr::from(c.take::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(c.take::<4>()?))
        })
    };
    let src = addr()?;
    let dst = addr()?;
    let src_port = u16::from_le_bytes(c.take::<2>()?);
    let dst_port = u16::from_le_bytes(c.take::<2>()?);
    let [protocol] = c.take::<1>()?;
    let start = i64::from_le_bytes(c.take::<8>()?);
    let end = i64::from_le_bytes(c.take::<8>()?);
    let packets = u64::from_le_bytes(c.take::<8>()?);
    let bytes_ = u64::from_le_bytes(c.take::<8>()?);
    let flags = u16::from_le_bytes(c.take::<2>()?);
    Some((
        eni,
        Record {
            eni: String::new(),
            src,
            src_port,
            dst,
            dst_port,
            protocol,
            direction: (bits & HAS_DIRECTION != 0).then_some(if bits & INGRESS != 0 {
                Direction::Ingress
            } else {
                Direction::Egress
            }),
            start,
            end,
            packets,
            bytes: bytes_,
            action: if bits & ACCEPT != 0 {
                Verdict::Accept
            } else {
                Verdict::Drop
            },
            tcp_flags: (bits & HAS_FLAGS != 0).then_some(flags),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_record_comes_back_whole() {
        for (src, dst, dir, flags) in [
            (
                "10.0.0.1",
                "192.168.1.9",
                Some(Direction::Ingress),
                Some(18u16),
            ),
            ("2001:db8::1", "2001:db8::ff", Some(Direction::Egress), None),
            ("10.0.0.1", "10.0.0.2", None, Some(2)),
        ] {
            let r = Record {
                eni: String::new(),
                src: src.parse().unwrap(),
                src_port: 443,
                dst: dst.parse().unwrap(),
                dst_port: 51234,
                protocol: 6,
                direction: dir,
                start: -5,
                end: 1_700_000_000,
                packets: u64::MAX,
                bytes: 7,
                action: Verdict::Drop,
                tcp_flags: flags,
            };
            let mut buf = Vec::new();
            pack(70_000, &r, &mut buf);
            assert_eq!(unpack(&buf), Some((70_000, r.clone())));
            assert_eq!(unpack(&buf[..buf.len() - 1]), None);
        }
    }
}
