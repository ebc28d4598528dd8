//! Flow-log records (SPEC §10) and the parsing of one record from its named fields, shared
//! by every reader.

use crate::model::{Direction, MixedFamily, Packet, Verdict, PROTO_TCP, PROTO_UDP};
use std::fmt;
use std::net::IpAddr;

/// The record's columns (the §10 names), in the order the CSV writer and the Parquet
/// files use.
pub const COLUMNS: [&str; 14] = [
    "eni-id",
    "srcaddr",
    "srcport",
    "dstaddr",
    "dstport",
    "protocol",
    "direction",
    "start",
    "end",
    "packets",
    "bytes",
    "action",
    "log-status",
    "tcp-flags",
];

/// One flow-log record: one ENI, direction and time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `eni-id`: an ENI or an instance (its primary ENI).
    pub eni: String,
    /// `srcaddr`.
    pub src: IpAddr,
    /// `srcport` (0 for protocols without ports).
    pub src_port: u16,
    /// `dstaddr`.
    pub dst: IpAddr,
    /// `dstport` (0 for protocols without ports).
    pub dst_port: u16,
    /// `protocol` (IANA number).
    pub protocol: u8,
    /// `direction`: `Some` as logged; `None` for AWS records, whose direction follows from
    /// the ENI's addresses ([`Record::direction_for`]).
    pub direction: Option<Direction>,
    /// `start` (Unix seconds).
    pub start: i64,
    /// `end` (Unix seconds).
    pub end: i64,
    /// `packets`.
    pub packets: u64,
    /// `bytes`.
    pub bytes: u64,
    /// `action`: `ACCEPT` is accept, `REJECT` drop.
    pub action: Verdict,
    /// `tcp-flags`, when logged (the OR of the window's flags).
    pub tcp_flags: Option<u16>,
}

impl Record {
    /// The packet of the record (ports 0 unless TCP or UDP); readers refuse records
    /// whose addresses differ in family, so this fails only for records built otherwise.
    pub fn packet(&self) -> Result<Packet, MixedFamily> {
        Packet::new(
            self.protocol,
            self.src,
            self.src_port,
            self.dst,
            self.dst_port,
        )
    }

    /// Whether the flags show a SYN without ACK (`flags & 18 == 2`).
    pub fn syn_only(&self) -> bool {
        self.tcp_flags.is_some_and(|f| f & 18 == 2)
    }

    /// The record's direction: as logged, or (AWS) ingress when `owns(dstaddr)`.
    pub fn direction_for(&self, owns: impl Fn(IpAddr) -> bool) -> Direction {
        match self.direction {
            Some(d) => d,
            None if owns(self.dst) => Direction::Ingress,
            None => Direction::Egress,
        }
    }

    /// The record as the §10 columns, for reports.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("eni-id".into(), self.eni.clone().into());
        m.insert("srcaddr".into(), self.src.to_string().into());
        m.insert("srcport".into(), self.src_port.into());
        m.insert("dstaddr".into(), self.dst.to_string().into());
        m.insert("dstport".into(), self.dst_port.into());
        m.insert("protocol".into(), self.protocol.into());
        if let Some(d) = self.direction {
            m.insert("direction".into(), dir_word(d).into());
        }
        m.insert("start".into(), self.start.into());
        m.insert("end".into(), self.end.into());
        m.insert("packets".into(), self.packets.into());
        m.insert("bytes".into(), self.bytes.into());
        m.insert("action".into(), action_word(self.action).into());
        if let Some(f) = self.tcp_flags {
            m.insert("tcp-flags".into(), f.into());
        }
        serde_json::Value::Object(m)
    }
}

/// `in` or `out`.
pub fn dir_word(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "in",
        Direction::Egress => "out",
    }
}

/// `ACCEPT` or `REJECT`.
pub fn action_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "ACCEPT",
        Verdict::Drop => "REJECT",
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.direction.map_or("?", dir_word);
        write!(
            f,
            "{} {} {} {} [{}, {}] {}",
            self.eni,
            dir,
            crate::packet::protocol_name(self.protocol),
            if self.protocol == PROTO_TCP || self.protocol == PROTO_UDP {
                format!(
                    "{} -> {}",
                    sock(self.src, self.src_port),
                    sock(self.dst, self.dst_port)
                )
            } else {
                format!("{} -> {}", self.src, self.dst)
            },
            self.start,
            self.end,
            action_word(self.action)
        )
    }
}

fn sock(a: IpAddr, p: u16) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}:{p}"),
        IpAddr::V6(_) => format!("[{a}]:{p}"),
    }
}

/// What a reader yields for one input record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A record to replay.
    Record(Record),
    /// `log-status` other than `OK`: counted, not looked at further.
    Skipped,
}

/// A field of a record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (the §10 column name).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn ferr(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Which dialect the fields come from: AWS writes `-` for absent values and logs no
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Alibaba's columns (`eni-id`, `direction`, …).
    Alibaba,
    /// AWS VPC flow logs v2 (`interface-id`, no direction, `-` for absent values).
    Aws,
}

/// Parses one record from a field lookup (`get(name)` gives the field's text, numbers
/// written as text). `log-status` is looked at first: anything but `OK` is
/// [`Item::Skipped`].
pub fn parse_fields<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    dialect: Dialect,
) -> Result<Item, FieldError> {
    let field = |name: &str| -> Result<&'a str, FieldError> {
        get(name)
            .map(str::trim)
            .ok_or_else(|| ferr(name, "missing"))
    };
    let status = field("log-status")?;
    if status != "OK" {
        return Ok(Item::Skipped);
    }
    let eni_key = match dialect {
        Dialect::Alibaba => "eni-id",
        Dialect::Aws => "interface-id",
    };
    let eni = field(eni_key)?;
    if eni.is_empty() || eni == "-" {
        return Err(ferr(eni_key, "empty"));
    }
    let addr = |name: &str| -> Result<IpAddr, FieldError> {
        let s = field(name)?;
        s.parse()
            .map_err(|_| ferr(name, format!("not an IP address: {s:?}")))
    };
    let src = addr("srcaddr")?;
    let dst = addr("dstaddr")?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(ferr("dstaddr", "not of srcaddr's address family"));
    }
    let protocol = {
        let s = field("protocol")?;
        s.parse::<u8>()
            .map_err(|_| ferr("protocol", format!("not a protocol number 0-255: {s:?}")))?
    };
    let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
    let port = |name: &str| -> Result<u16, FieldError> {
        let s = field(name)?;
        if s == "-" && dialect == Dialect::Aws {
            return Ok(0);
        }
        let p = s
            .parse::<u16>()
            .map_err(|_| ferr(name, format!("not a port 0-65535: {s:?}")))?;
        Ok(if ports { p } else { 0 })
    };
    let src_port = port("srcport")?;
    let dst_port = port("dstport")?;
    let direction = match dialect {
        Dialect::Aws => None,
        Dialect::Alibaba => match field("direction")? {
            "in" => Some(Direction::Ingress),
            "out" => Some(Direction::Egress),
            s => return Err(ferr("direction", format!("not `in` or `out`: {s:?}"))),
        },
    };
    let time = |name: &str| -> Result<i64, FieldError> {
        let s = field(name)?;
        s.parse::<i64>()
            .map_err(|_| ferr(name, format!("not Unix seconds: {s:?}")))
    };
    let start = time("start")?;
    let end = time("end")?;
    if end < start {
        return Err(ferr("end", format!("before start ({end} < {start})")));
    }
    let count = |name: &str| -> Result<u64, FieldError> {
        match get(name).map(str::trim) {
            None | Some("-") | Some("") => Ok(0),
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| ferr(name, format!("not a count: {s:?}"))),
        }
    };
    let packets = count("packets")?;
    let bytes = count("bytes")?;
    let action = match field("action")? {
        "ACCEPT" => Verdict::Accept,
        "REJECT" => Verdict::Drop,
        s => return Err(ferr("action", format!("not ACCEPT or REJECT: {s:?}"))),
    };
    let tcp_flags = match get("tcp-flags").map(str::trim) {
        None | Some("-") | Some("") => None,
        Some(s) => Some(
            s.parse::<u16>()
                .map_err(|_| ferr("tcp-flags", format!("not a flags number: {s:?}")))?,
        ),
    };
    Ok(Item::Record(Record {
        eni: eni.to_string(),
        src,
        src_port,
        dst,
        dst_port,
        protocol,
        direction,
        start,
        end,
        packets,
        bytes,
        action,
        tcp_flags,
    }))
}
