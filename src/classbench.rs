//! ClassBench filter sets and header traces (SPEC §7; formats in
//! `tests/data/classbench/README.md`).
//!
//! Line N (from 1) of a filter set becomes an ingress [`EngineRule`] with rank N, policy
//! accept, id `cb-` + N zero-padded to 6 digits, group `classbench`, peer = the source
//! prefix, local CIDR = the destination prefix, protocol and both port ranges exactly as
//! written (`0x00/0x00` = any protocol; port 0 included). The flags column is ignored. Blank
//! lines are skipped but still counted, so ids and ranks are the file's line numbers.
//!
//! A trace line `src dst sport dport proto [flags [idx]]` is a packet as written. The `idx`
//! column is the filter the trace generator aimed at (0-based): an upper bound on the first
//! match, not the first match itself.
//!
//! Errors name the file, the line and the problem; loading never panics.

use crate::engine::rule::EngineRule;
use crate::model::{Packet, Policy, PortRange};
use ipnet::{IpNet, Ipv4Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// The group name ClassBench rules carry.
pub const GROUP: &str = "classbench";

/// A problem with a ClassBench file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassBenchError {
    /// The file (as given) or another name of the input.
    pub source: String,
    /// The line, from 1 (0 when the file could not be read).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ClassBenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}:{}: {}", self.source, self.line, self.message)
        }
    }
}

impl std::error::Error for ClassBenchError {}

/// One trace line: the packet and the filter the generator aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracePacket {
    /// The packet, as written (ports and protocol as they are).
    pub packet: Packet,
    /// The `idx` column (0-based filter index), when present: an upper bound on the first
    /// matching filter.
    pub filter: Option<u32>,
}

fn read(path: &Path) -> Result<String, ClassBenchError> {
    std::fs::read_to_string(path).map_err(|e| ClassBenchError {
        source: path.display().to_string(),
        line: 0,
        message: format!("cannot read: {}", crate::world_file::io_reason(&e)),
    })
}

/// Loads a filter set from a file.
pub fn load_filters(path: &Path) -> Result<Vec<EngineRule>, ClassBenchError> {
    parse_filters(&read(path)?, &path.display().to_string())
}

/// Loads a trace from a file.
pub fn load_trace(path: &Path) -> Result<Vec<TracePacket>, ClassBenchError> {
    parse_trace(&read(path)?, &path.display().to_string())
}

/// The id of the rule of line `n`: `cb-` + `n` zero-padded to 6 digits.
pub fn rule_id(n: usize) -> String {
    format!("cb-{n:06}")
}

fn prefix(tok: &str) -> Result<Ipv4Net, String> {
    let (addr, len) = tok
        .split_once('/')
        .ok_or_else(|| format!("prefix `{tok}` lacks `/length`"))?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("invalid IPv4 address `{addr}`"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("invalid prefix length `{len}`"))?;
    Ipv4Net::new(addr, len)
        .map(|n| n.trunc())
        .map_err(|_| format!("prefix length `{len}` exceeds 32"))
}

fn port(tok: &str) -> Result<u16, String> {
    tok.parse()
        .map_err(|_| format!("invalid port `{tok}` (0-65535)"))
}

fn ports(lo: &str, colon: &str, hi: &str) -> Result<PortRange, String> {
    if colon != ":" {
        return Err(format!("expected `:` in a port range, found `{colon}`"));
    }
    let (a, b) = (port(lo)?, port(hi)?);
    PortRange::new(a, b).ok_or_else(|| format!("port range `{a} : {b}` has start above end"))
}

fn hex_u8(tok: &str) -> Result<u8, String> {
    let digits = tok
        .strip_prefix("0x")
        .or_else(|| tok.strip_prefix("0X"))
        .ok_or_else(|| format!("expected a hexadecimal byte `0x..`, found `{tok}`"))?;
    u8::from_str_radix(digits, 16).map_err(|_| format!("invalid hexadecimal byte `{tok}`"))
}

fn protocol(tok: &str) -> Result<Option<u8>, String> {
    let (v, m) = tok
        .split_once('/')
        .ok_or_else(|| format!("protocol `{tok}` is not of the form `0xPP/0xMM`"))?;
    let (v, m) = (hex_u8(v)?, hex_u8(m)?);
    match m {
        0xFF => Ok(Some(v)),
        0x00 => Ok(None),
        _ => Err(format!(
            "protocol mask `{tok}` unsupported (only 0xFF or 0x00)"
        )),
    }
}

fn filter_line(n: usize, line: &str) -> Result<EngineRule, String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() < 9 {
        return Err(format!(
            "expected at least 9 fields (`@SRC/len DST/len lo : hi lo : hi 0xPP/0xMM`), found {}",
            toks.len()
        ));
    }
    let field = |i: usize| toks.get(i).copied().unwrap_or("");
    let src = field(0)
        .strip_prefix('@')
        .ok_or_else(|| format!("source prefix `{}` must start with `@`", field(0)))?;
    let src = prefix(src)?;
    let dst = prefix(field(1))?;
    let sport = ports(field(2), field(3), field(4))?;
    let dport = ports(field(5), field(6), field(7))?;
    let proto = protocol(field(8))?;
    Ok(EngineRule {
        id: rule_id(n),
        group: GROUP.to_string(),
        rank: u32::try_from(n).map_err(|_| "too many lines".to_string())?,
        policy: Policy::Accept,
        protocol: proto,
        family: None,
        dst_ports: dport,
        src_ports: sport,
        peer: vec![IpNet::V4(src)],
        local: Some(IpNet::V4(dst)),
    })
}

/// Parses a filter set; `source` names the input in errors.
pub fn parse_filters(text: &str, source: &str) -> Result<Vec<EngineRule>, ClassBenchError> {
    let mut rules = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let rule = filter_line(n, line).map_err(|message| ClassBenchError {
            source: source.to_string(),
            line: n,
            message,
        })?;
        rules.push(rule);
    }
    Ok(rules)
}

fn trace_line(line: &str) -> Result<TracePacket, String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() < 5 {
        return Err(format!(
            "expected at least 5 fields (`src dst sport dport proto`), found {}",
            toks.len()
        ));
    }
    let field = |i: usize| toks.get(i).copied().unwrap_or("");
    let addr = |tok: &str| {
        tok.parse::<u32>()
            .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
            .map_err(|_| format!("invalid address `{tok}` (an unsigned 32-bit integer)"))
    };
    let proto: u8 = field(4)
        .parse()
        .map_err(|_| format!("invalid protocol `{}` (0-255)", field(4)))?;
    let filter = match toks.get(6) {
        Some(tok) => Some(
            tok.parse::<u32>()
                .map_err(|_| format!("invalid filter index `{tok}`"))?,
        ),
        None => None,
    };
    Ok(TracePacket {
        packet: Packet::new(
            proto,
            addr(field(0))?,
            port(field(2))?,
            addr(field(1))?,
            port(field(3))?,
        )
        .map_err(|e| e.to_string())?,
        filter,
    })
}

/// Parses a trace; `source` names the input in errors. Blank lines are skipped.
pub fn parse_trace(text: &str, source: &str) -> Result<Vec<TracePacket>, ClassBenchError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(trace_line(line).map_err(|message| ClassBenchError {
            source: source.to_string(),
            line: i + 1,
            message,
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_filter_line() {
        let text = "@237.73.3.4/32\t67.236.63.0/24\t0 : 65535\t1711 : 1711\t0x06/0xFF\t0x0000/0x0200\t\n\n@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\n";
        let rules = parse_filters(text, "t").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].id, "cb-000001");
        assert_eq!(rules[0].rank, 1);
        assert_eq!(rules[0].protocol, Some(6));
        assert_eq!(rules[0].dst_ports, PortRange::single(1711));
        assert_eq!(rules[0].local, Some("67.236.63.0/24".parse().unwrap()));
        assert_eq!(rules[1].id, "cb-000003");
        assert_eq!(rules[1].protocol, None);
        assert_eq!(rules[1].src_ports, PortRange::ANY);
    }

    #[test]
    fn errors_name_line_and_problem() {
        let bad = [
            (
                "@1.2.3.4/33\t0.0.0.0/0\t0 : 1\t0 : 1\t0x06/0xFF",
                "exceeds 32",
            ),
            (
                "1.2.3.4/32\t0.0.0.0/0\t0 : 1\t0 : 1\t0x06/0xFF",
                "must start with `@`",
            ),
            (
                "@1.2.3.4/32\t0.0.0.0/0\t5 : 1\t0 : 1\t0x06/0xFF",
                "start above end",
            ),
            (
                "@1.2.3.4/32\t0.0.0.0/0\t0 : 70000\t0 : 1\t0x06/0xFF",
                "invalid port",
            ),
            (
                "@1.2.3.4/32\t0.0.0.0/0\t0 : 1\t0 : 1\t0x06/0x0F",
                "unsupported",
            ),
            ("@1.2.3.4/32\t0.0.0.0/0", "at least 9"),
        ];
        for (line, want) in bad {
            let text = format!("\n{line}\n");
            let err = parse_filters(&text, "f").unwrap_err();
            assert_eq!(err.line, 2, "{line}");
            assert!(err.message.contains(want), "{err}");
            assert!(err.to_string().starts_with("f:2: "));
        }
    }

    #[test]
    fn parses_a_trace() {
        let t = parse_trace("1923697128\t2273746465\t0\t1221\t6\t4294967295\t261\n", "t").unwrap();
        assert_eq!(t[0].filter, Some(261));
        assert_eq!(t[0].packet.dst_port, 1221);
        assert_eq!(
            t[0].packet.src(),
            "114.169.73.232".parse::<IpAddr>().unwrap()
        );
        let err = parse_trace("1 2 3 70000 6", "t").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(parse_trace("1 2 3 4 256", "t").is_err());
    }
}
