//! Parquet rows whose number columns are Int64, read without text: the columns that hold
//! numbers ([`INT_COLUMNS`]) reach `sg_parse` as integers when the file stores them as
//! Int64, and a row is read from them directly when it is a well-formed record. Any other
//! row (a missing field, a value out of range, text where a number was expected, an `end`
//! before its `start`…) goes through the core's `parse_fields` with the integers written
//! as text, as DataFusion's cast would write them, so the outcome and its message are the
//! core's, the same as when every column was cast to text.

use crate::parse::{parse_columns, slot, AWS_ENI, SLOTS};
use sgsim::model::{Direction, Verdict, PROTO_TCP, PROTO_UDP};
use sgsim::replay::record::{Dialect, Item, Record};
use std::net::IpAddr;

/// The record columns that hold numbers: a Parquet file may store them as Int64.
pub const INT_COLUMNS: [&str; 8] = [
    "srcport",
    "dstport",
    "protocol",
    "start",
    "end",
    "packets",
    "bytes",
    "tcp-flags",
];

/// A field of a Parquet row: text, or the value of an Int64 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A text column's value (or any column cast to text).
    Text(&'a str),
    /// An Int64 column's value.
    Int(i64),
}

/// The record of a well-formed row, as `parse_fields` reads it; `None` for any other row.
fn well_formed<'a>(get: &impl Fn(usize) -> Option<Value<'a>>, dialect: Dialect) -> Option<Item> {
    let value = |name: &str| get(slot(name)?);
    let text = |name: &str| match value(name)? {
        Value::Text(s) => Some(s.trim()),
        Value::Int(_) => None,
    };
    let int = |name: &str| match value(name)? {
        Value::Int(n) => Some(n),
        Value::Text(_) => None,
    };
    // Optional numbers: absent is 0 (counts) or no flags; present, an Int64 in range.
    let optional = |name: &str| match value(name) {
        None => Some(None),
        Some(Value::Int(n)) => Some(Some(n)),
        Some(Value::Text(_)) => None,
    };
    if text("log-status")? != "OK" {
        return Some(Item::Skipped);
    }
    let eni = text(match dialect {
        Dialect::Alibaba => "eni-id",
        Dialect::Aws => AWS_ENI,
    })?;
    if eni.is_empty() || eni == "-" {
        return None;
    }
    let src: IpAddr = text("srcaddr")?.parse().ok()?;
    let dst: IpAddr = text("dstaddr")?.parse().ok()?;
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    let protocol = u8::try_from(int("protocol")?).ok()?;
    let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
    let port = |name: &str| {
        let p = u16::try_from(int(name)?).ok()?;
        Some(if ports { p } else { 0 })
    };
    let src_port = port("srcport")?;
    let dst_port = port("dstport")?;
    let direction = match dialect {
        Dialect::Aws => None,
        Dialect::Alibaba => Some(match text("direction")? {
            "in" => Direction::Ingress,
            "out" => Direction::Egress,
            _ => return None,
        }),
    };
    let start = int("start")?;
    let end = int("end")?;
    if end < start {
        return None;
    }
    let count = |name: &str| match optional(name)? {
        None => Some(0),
        Some(n) => u64::try_from(n).ok(),
    };
    let packets = count("packets")?;
    let bytes = count("bytes")?;
    let action = match text("action")? {
        "ACCEPT" => Verdict::Accept,
        "REJECT" => Verdict::Drop,
        _ => return None,
    };
    let tcp_flags = match optional("tcp-flags")? {
        None => None,
        Some(n) => Some(u16::try_from(n).ok()?),
    };
    Some(Item::Record(Record {
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

/// Parses a row from its fields (`get(slot)` for the slots of
/// [`slot_name`](crate::parse::slot_name)): as [`parse_columns`] parses the row with every
/// integer written as text.
pub fn parse_values<'a>(
    get: impl Fn(usize) -> Option<Value<'a>>,
    dialect: Dialect,
) -> Result<Item, String> {
    if let Some(item) = well_formed(&get, dialect) {
        return Ok(item);
    }
    let texts: Vec<Option<String>> = (0..SLOTS)
        .map(|s| {
            get(s).map(|v| match v {
                Value::Text(t) => t.to_string(),
                Value::Int(n) => n.to_string(),
            })
        })
        .collect();
    parse_columns(|s| texts.get(s)?.as_deref(), dialect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::slot_name;

    /// A row's fields by name: a number column's value as an integer when `typed`.
    fn row(fields: &[(&str, &str)], typed: bool) -> Vec<Option<Value<'static>>> {
        let mut out = vec![None; SLOTS];
        for (name, v) in fields {
            let v: &'static str = Box::leak(v.to_string().into_boxed_str());
            let value = match v.parse::<i64>() {
                Ok(n) if typed && INT_COLUMNS.contains(name) => Value::Int(n),
                _ => Value::Text(v),
            };
            out[slot(name).unwrap()] = Some(value);
        }
        out
    }

    #[test]
    fn typed_rows_read_as_their_text() {
        let base = [
            ("eni-id", "eni-1"),
            ("srcaddr", "10.0.0.1"),
            ("srcport", "5000"),
            ("dstaddr", "10.0.0.2"),
            ("dstport", "443"),
            ("protocol", "6"),
            ("direction", "in"),
            ("start", "100"),
            ("end", "160"),
            ("packets", "3"),
            ("bytes", "300"),
            ("action", "ACCEPT"),
            ("log-status", "OK"),
            ("tcp-flags", "2"),
        ];
        // Each variant changes one field of the base row (or drops it, for "").
        let variants: &[(&str, &[&str])] = &[
            ("eni-id", &["", " eni-2 ", "-"]),
            ("srcaddr", &["", "::1", "10.0.0.300", " 10.0.0.9"]),
            ("srcport", &["", "-1", "65535", "65536", "x"]),
            ("dstport", &["", "0", "70000"]),
            ("protocol", &["", "1", "17", "255", "256", "-6"]),
            ("direction", &["", "out", " in ", "up"]),
            ("start", &["", "-5", "160", "161", "9223372036854775807"]),
            ("end", &["", "100", "99", "-9223372036854775808"]),
            ("packets", &["", "0", "-1", "-"]),
            ("bytes", &["", "18446744073709551615", "-3"]),
            ("action", &["", "REJECT", "accept"]),
            ("log-status", &["", "NODATA", " OK"]),
            ("tcp-flags", &["", "0", "65535", "65536", "-1", "-"]),
        ];
        let mut rows = vec![base.to_vec()];
        for (name, values) in variants {
            for v in values.iter() {
                let r: Vec<(&str, &str)> = base
                    .iter()
                    .filter(|(n, _)| n != name || !v.is_empty())
                    .map(|(n, x)| if n == name { (*n, *v) } else { (*n, *x) })
                    .collect();
                rows.push(r);
            }
        }
        let mut records = 0;
        for fields in &rows {
            let text = row(fields, false);
            let typed = row(fields, true);
            let want = parse_columns(
                |s| match text.get(s).copied().flatten() {
                    Some(Value::Text(t)) => Some(t),
                    _ => None,
                },
                Dialect::Alibaba,
            );
            let got = parse_values(|s| typed.get(s).copied().flatten(), Dialect::Alibaba);
            assert_eq!(got, want, "{fields:?}");
            records += usize::from(matches!(want, Ok(Item::Record(_))));
        }
        assert!(records > 10, "only {records} rows are records");
        assert!(rows.len() - records > 20);
        for name in INT_COLUMNS {
            assert!(slot(name).and_then(slot_name) == Some(name));
        }
    }
}
