//! One input row to a record, as the core's readers (`sgsim::replay::read`) read it: a CSV,
//! AWS or SLS JSON line as DataFusion's CSV reader gives it (the whole line as one text
//! value), or a Parquet row as its columns cast to text. Every field goes through the core's
//! `parse_fields`, so the engine and the core read a record the same way; messages are the
//! core's too (`field `x`: …` or a whole-line problem).

use sgsim::replay::read::split_csv;
use sgsim::replay::record::{parse_fields, Dialect, FieldError, Item};

/// The record columns (the §10 names), then AWS's name of the first.
pub const NAMES: [&str; 15] = [
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
    "interface-id",
];

/// The slot of a column name in [`NAMES`].
pub fn slot(name: &str) -> Option<usize> {
    Some(match name {
        "eni-id" => 0,
        "srcaddr" => 1,
        "srcport" => 2,
        "dstaddr" => 3,
        "dstport" => 4,
        "protocol" => 5,
        "direction" => 6,
        "start" => 7,
        "end" => 8,
        "packets" => 9,
        "bytes" => 10,
        "action" => 11,
        "log-status" => 12,
        "tcp-flags" => 13,
        "interface-id" => 14,
        _ => return None,
    })
}

/// Where each of [`NAMES`] sits in a header, and how many columns it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's names (normalised: lower case, `_` as `-`).
    pub names: Vec<String>,
    at: [Option<usize>; 15],
}

impl Header {
    /// The header of these (normalised) names; a repeated name is its last column, as the
    /// core's reader has it.
    pub fn new(names: Vec<String>) -> Header {
        let mut at = [None; 15];
        for (i, n) in names.iter().enumerate() {
            if let Some(s) = slot(n) {
                if let Some(a) = at.get_mut(s) {
                    *a = Some(i);
                }
            }
        }
        Header { names, at }
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

/// Parses a CSV or AWS line under its header: `None` for a blank line, the record, or the
/// problem (the core's message).
pub fn parse_split(line: &str, header: &Header, aws: bool) -> Option<Result<Item, String>> {
    let text = line.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return None;
    }
    let owned: Vec<String>;
    let mut fields: Vec<&str> = Vec::with_capacity(header.names.len());
    if aws {
        fields.extend(text.split_ascii_whitespace());
    } else if !text.contains('"') {
        fields.extend(text.split(','));
    } else {
        match split_csv(text) {
            Some(f) => owned = f,
            None => return Some(Err("unterminated quote".into())),
        }
        fields.extend(owned.iter().map(String::as_str));
    }
    if fields.len() != header.names.len() {
        return Some(Err(format!(
            "{} fields where the header has {}",
            fields.len(),
            header.names.len()
        )));
    }
    let dialect = if aws { Dialect::Aws } else { Dialect::Alibaba };
    let get = |name: &str| {
        let at = header.at.get(slot(name)?).copied().flatten()?;
        fields.get(at).copied()
    };
    Some(parse_fields(get, dialect).map_err(field_message))
}

fn is_field(k: &str) -> bool {
    slot(k).is_some_and(|s| s < 14)
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
    let mut texts: [Option<String>; 15] = Default::default();
    for (k, v) in &map {
        let t = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => continue,
            _ => {
                if is_field(k) {
                    return Some(Err(format!("field `{k}`: not a string or number")));
                }
                continue;
            }
        };
        if let Some(slot) = slot(k).and_then(|s| texts.get_mut(s)) {
            *slot = Some(t);
        }
    }
    let get = |name: &str| texts.get(slot(name)?)?.as_deref();
    Some(parse_fields(get, Dialect::Alibaba).map_err(field_message))
}

/// Parses a row from its columns' texts (`get(slot)` for the slots of [`NAMES`]).
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
