//! One input row to a record, as the core's readers (`sgsim::replay::read`) read it: a CSV,
//! AWS or SLS JSON line as DataFusion's CSV reader gives it (the whole line as one text
//! value), or a Parquet row as its columns cast to text. Every field goes through the core's
//! `parse_fields`, so the engine and the core read a record the same way; messages are the
//! core's too (`field `x`: …` or a whole-line problem).

use sgsim::replay::read::{json_text, split_csv};
use sgsim::replay::record::{parse_fields, Dialect, FieldError, Item, COLUMNS};

/// AWS's name of the first column (`eni-id`).
pub const AWS_ENI: &str = "interface-id";

/// How many slots there are: [`COLUMNS`], then [`AWS_ENI`].
pub const SLOTS: usize = COLUMNS.len() + 1;

/// The name of a slot: a column of [`COLUMNS`], or [`AWS_ENI`] after them.
pub fn slot_name(slot: usize) -> Option<&'static str> {
    COLUMNS
        .get(slot)
        .copied()
        .or((slot == COLUMNS.len()).then_some(AWS_ENI))
}

/// The slot of a column name (see [`slot_name`]). Each record looks up every field by
/// name, so the name's length and a letter narrow it to one slot before it is compared.
pub fn slot(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    let s = match (b.len(), b.first()?, b.get(3)) {
        (3, _, _) => 8,
        (5, b's', _) => 7,
        (5, _, _) => 10,
        (6, b'e', _) => 0,
        (6, _, _) => 11,
        (7, b's', Some(b'a')) => 1,
        (7, b's', _) => 2,
        (7, b'd', Some(b'a')) => 3,
        (7, b'd', _) => 4,
        (7, _, _) => 9,
        (8, _, _) => 5,
        (9, b'd', _) => 6,
        (9, _, _) => 13,
        (10, _, _) => 12,
        (12, _, _) => COLUMNS.len(),
        _ => return None,
    };
    (slot_name(s)? == name).then_some(s)
}

/// Where each slot's column sits in a header, and how many columns it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's names (normalised: lower case, `_` as `-`).
    pub names: Vec<String>,
    /// The slot each column fills, by the column's index (`None`: a column not read, or a
    /// repeated name's earlier column).
    slots: Vec<Option<usize>>,
}

impl Header {
    /// The header of these (normalised) names; a repeated name is its last column, as the
    /// core's reader has it.
    pub fn new(names: Vec<String>) -> Header {
        let mut at = [None; SLOTS];
        for (i, n) in names.iter().enumerate() {
            if let Some(a) = slot(n).and_then(|s| at.get_mut(s)) {
                *a = Some(i);
            }
        }
        let mut slots = vec![None; names.len()];
        for (s, i) in at.iter().enumerate() {
            if let Some(c) = i.and_then(|i| slots.get_mut(i)) {
                *c = Some(s);
            }
        }
        Header { names, slots }
    }
}

/// How a file's rows become records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// CSV lines under a header.
    Csv(Header),
    /// AWS v2 lines (space-separated) under a header.
    Aws(Header),
    /// SLS JSON lines.
    Json,
    /// Parquet rows (the columns, as text).
    Columns,
}

fn field_message(e: FieldError) -> String {
    format!("field `{}`: {}", e.field, e.message)
}

/// A line's fields by slot, and how many fields it has.
struct Split<'a> {
    values: [Option<&'a str>; SLOTS],
    count: usize,
}

impl<'a> Split<'a> {
    fn of(fields: impl Iterator<Item = &'a str>, header: &Header) -> Split<'a> {
        let mut values = [None; SLOTS];
        let mut count = 0;
        for f in fields {
            if let Some(v) = header
                .slots
                .get(count)
                .copied()
                .flatten()
                .and_then(|s| values.get_mut(s))
            {
                *v = Some(f);
            }
            count += 1;
        }
        Split { values, count }
    }

    fn parse(&self, header: &Header, dialect: Dialect) -> Result<Item, String> {
        if self.count != header.names.len() {
            return Err(format!(
                "{} fields where the header has {}",
                self.count,
                header.names.len()
            ));
        }
        let get = |name: &str| self.values.get(slot(name)?).copied().flatten();
        parse_fields(get, dialect).map_err(field_message)
    }
}

/// The fields of a line without quotes, as `text.split(',')` gives them (a byte scan: the
/// fields are short).
fn commas(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.bytes().position(|b| b == b',') {
            Some(p) => {
                rest = t.get(p + 1..);
                t.get(..p)
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

/// Parses a CSV or AWS line under its header: `None` for a blank line, the record, or the
/// problem (the core's message).
pub fn parse_split(line: &str, header: &Header, aws: bool) -> Option<Result<Item, String>> {
    let text = line.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return None;
    }
    Some(if aws {
        Split::of(text.split_ascii_whitespace(), header).parse(header, Dialect::Aws)
    } else if memchr::memchr(b'"', text.as_bytes()).is_none() {
        Split::of(commas(text), header).parse(header, Dialect::Alibaba)
    } else {
        match split_csv(text) {
            Some(f) => {
                Split::of(f.iter().map(String::as_str), header).parse(header, Dialect::Alibaba)
            }
            None => Err("unterminated quote".into()),
        }
    })
}

/// Parses an SLS JSON line: `None` for a blank line, the record, or the problem.
pub fn parse_json(line: &str) -> Option<Result<Item, String>> {
    if line.trim().is_empty() {
        return None;
    }
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        // The core reads the line with its newline: the message counts it too.
        Err(_) => {
            let with_newline = format!("{}\n", line.trim_end_matches(['\n', '\r']));
            let e = serde_json::from_str::<serde_json::Value>(&with_newline)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            return Some(Err(format!("not a JSON object: {e}")));
        }
    };
    let serde_json::Value::Object(map) = v else {
        return Some(Err("not a JSON object".into()));
    };
    // Values may be strings or numbers: numbers are read through their text.
    let mut texts: [Option<String>; SLOTS] = Default::default();
    for (k, v) in &map {
        let t = match json_text(k, v) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => return Some(Err(field_message(e))),
        };
        if let Some(slot) = slot(k).and_then(|s| texts.get_mut(s)) {
            *slot = Some(t);
        }
    }
    let get = |name: &str| texts.get(slot(name)?)?.as_deref();
    Some(parse_fields(get, Dialect::Alibaba).map_err(field_message))
}

/// Parses a row from its columns' texts (`get(slot)` for the slots of [`slot_name`]).
pub fn parse_columns<'a>(
    get: impl Fn(usize) -> Option<&'a str>,
    dialect: Dialect,
) -> Result<Item, String> {
    parse_fields(|name| get(slot(name)?), dialect).map_err(field_message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgsim::replay::read::{InputFormat, Reader};

    const HEADER: &str = "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,start,end,packets,bytes,action,log-status,tcp-flags";

    fn header(text: &str) -> Header {
        Header::new(
            split_csv(text)
                .unwrap()
                .iter()
                .map(|n| n.trim().to_ascii_lowercase().replace('_', "-"))
                .collect(),
        )
    }

    /// The core reader's outcome of each line after the header, as `parse_split` says.
    fn core(text: &str, format: InputFormat) -> Vec<Result<Item, String>> {
        Reader::new("f", format, std::io::Cursor::new(text.to_string()))
            .map(|r| {
                r.map(|(_, i)| i).map_err(|e| {
                    let s = e.to_string();
                    s.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or(s)
                })
            })
            .collect()
    }

    #[test]
    fn slots_are_the_columns_then_the_aws_name() {
        for (i, name) in COLUMNS.iter().chain([&AWS_ENI]).enumerate() {
            assert_eq!(slot(name), Some(i), "{name}");
            assert_eq!(slot_name(i), Some(*name));
        }
        assert_eq!(slot_name(SLOTS), None);
        for other in [
            "",
            "x",
            "eni",
            "eni-ix",
            "srcaddx",
            "dstportx",
            "Start",
            "tcp_flags",
            "foo",
            "bar",
            "ends",
            "interface-ix",
            "log-statux",
            "directiom",
            "protocoi",
            "actiom",
            "bytez",
        ] {
            assert_eq!(slot(other), None, "{other}");
        }
    }

    #[test]
    fn commas_split_as_str_split() {
        for t in ["", ",", "a", "a,b", ",a,,b,", "é,ü,,"] {
            assert_eq!(
                commas(t).collect::<Vec<_>>(),
                t.split(',').collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn csv_lines_read_as_the_core_reads_them() {
        let lines = [
            "eni-1,10.0.0.1,5000,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,OK,2",
            "eni-1,10.0.0.1,5000,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,OK",
            "eni-1,10.0.0.1,5000,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,OK,2,extra",
            "\"eni-1\",10.0.0.1,5000,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,OK,2\r",
            "\"eni-1,10.0.0.1,5000",
            "eni-1,10.0.0.1,99999,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,OK,2",
            "eni-1,10.0.0.1,5000,10.0.0.2,443,6,in,100,160,3,300,ACCEPT,NODATA,2",
        ];
        let h = header(HEADER);
        let text = format!("{HEADER}\n{}\n", lines.join("\n"));
        let want = core(&text, InputFormat::Csv);
        let got: Vec<_> = lines
            .iter()
            .filter_map(|l| parse_split(l, &h, false))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got[1], Err("13 fields where the header has 14".to_string()));
        assert!(parse_split("  \r", &h, false).is_none());
    }

    #[test]
    fn json_lines_read_as_the_core_reads_them() {
        let lines = [
            r#"{"eni-id":"eni-1","srcaddr":"10.0.0.1","srcport":5000,"dstaddr":"10.0.0.2","dstport":"443","protocol":6,"direction":"in","start":100,"end":160,"action":"ACCEPT","log-status":"OK"}"#,
            r#"{"eni-id":"eni-1","srcaddr":"10.0.0.1","srcport":[1]}"#,
            "{not json",
            "[1,2]",
            r#"{"eni-id":"eni-1","log-status":"OK"}"#,
        ];
        let text = format!("{}\n", lines.join("\n"));
        let want = core(&text, InputFormat::SlsJson);
        let got: Vec<_> = lines.iter().filter_map(|l| parse_json(l)).collect();
        assert_eq!(got, want);
        assert!(parse_json(" \t").is_none());
    }
}
