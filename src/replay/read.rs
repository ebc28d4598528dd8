//! Streaming readers of flow-log files: Alibaba SLS JSON lines, CSV with a header row and
//! AWS VPC flow logs v2 (SPEC §10). Each yields records one at a time with their line
//! number; errors name the file, the line and the field.

use super::record::{parse_fields, Dialect, FieldError, Item, COLUMNS};
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

/// The input formats a reader understands (Parquet is read by the DataFusion engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// One JSON object per line (the SLS export); values strings or numbers.
    SlsJson,
    /// CSV with a header row of the §10 column names.
    Csv,
    /// AWS VPC flow logs v2: space-separated, with the header line.
    Aws,
    /// Parquet with the §10 column names.
    Parquet,
}

impl InputFormat {
    /// Parses `sls-json`, `csv`, `aws` or `parquet`.
    pub fn parse(s: &str) -> Option<InputFormat> {
        match s {
            "sls-json" | "json" => Some(InputFormat::SlsJson),
            "csv" => Some(InputFormat::Csv),
            "aws" => Some(InputFormat::Aws),
            "parquet" => Some(InputFormat::Parquet),
            _ => None,
        }
    }

    /// The format a file's name suggests: `.json`/`.jsonl`/`.ndjson`, `.csv`, `.parquet`,
    /// `.log`/`.txt` (AWS).
    pub fn of_path(path: &str) -> Option<InputFormat> {
        let ext = path.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" | "jsonl" | "ndjson" => Some(InputFormat::SlsJson),
            "csv" => Some(InputFormat::Csv),
            "parquet" => Some(InputFormat::Parquet),
            "log" | "txt" => Some(InputFormat::Aws),
            _ => None,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::SlsJson => "sls-json",
            InputFormat::Csv => "csv",
            InputFormat::Aws => "aws",
            InputFormat::Parquet => "parquet",
        }
    }
}

/// A record that could not be read: the file, the line (row) and, when one is at fault, the
/// field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The file as given.
    pub file: String,
    /// The line (CSV and AWS count the header as line 1; Parquet rows count from 1); 0 when
    /// the file itself could not be read.
    pub line: u64,
    /// The field at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        match &self.field {
            Some(field) => write!(
                f,
                "{} line {}: field `{}`: {}",
                self.file, self.line, field, self.message
            ),
            None => write!(f, "{} line {}: {}", self.file, self.line, self.message),
        }
    }
}

impl std::error::Error for ReadError {}

/// A streaming reader of one file: an iterator of `(line, item)` or errors. After an error
/// of the file itself (line 0) it yields nothing more; after a bad record it goes on.
pub struct Reader<R> {
    file: String,
    format: InputFormat,
    input: R,
    line: u64,
    header: Option<HashMap<String, usize>>,
    buf: String,
    done: bool,
}

impl Reader<std::io::BufReader<std::fs::File>> {
    /// Opens a file for reading in a format (not Parquet).
    pub fn open(path: &str, format: InputFormat) -> Result<Self, ReadError> {
        let f = std::fs::File::open(path).map_err(|e| ReadError {
            file: path.to_string(),
            line: 0,
            field: None,
            message: crate::world_file::io_reason(&e),
        })?;
        Ok(Reader::new(
            path,
            format,
            std::io::BufReader::with_capacity(1 << 16, f),
        ))
    }
}

impl<R: BufRead> Reader<R> {
    /// A reader of `input`, named `file` in errors.
    pub fn new(file: &str, format: InputFormat, input: R) -> Self {
        Reader {
            file: file.to_string(),
            format,
            input,
            line: 0,
            header: None,
            buf: String::new(),
            done: false,
        }
    }

    fn error(&self, line: u64, e: FieldError) -> ReadError {
        ReadError {
            file: self.file.clone(),
            line,
            field: Some(e.field),
            message: e.message,
        }
    }

    fn whole(&self, line: u64, message: impl Into<String>) -> ReadError {
        ReadError {
            file: self.file.clone(),
            line,
            field: None,
            message: message.into(),
        }
    }

    fn parse_line(&mut self, line: u64) -> Option<Result<(u64, Item), ReadError>> {
        let text = self.buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return None;
        }
        match self.format {
            InputFormat::SlsJson => Some(self.parse_json(line)),
            InputFormat::Csv | InputFormat::Aws => {
                let fields: Vec<String> = if self.format == InputFormat::Csv {
                    match split_csv(text) {
                        Some(f) => f,
                        None => return Some(Err(self.whole(line, "unterminated quote"))),
                    }
                } else {
                    text.split_ascii_whitespace().map(str::to_string).collect()
                };
                let Some(header) = &self.header else {
                    let names: HashMap<String, usize> = fields
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (n.trim().to_ascii_lowercase().replace('_', "-"), i))
                        .collect();
                    let need = if self.format == InputFormat::Aws {
                        "interface-id"
                    } else {
                        "eni-id"
                    };
                    if !names.contains_key(need) {
                        self.done = true;
                        return Some(Err(
                            self.whole(line, format!("the header names no `{need}` column"))
                        ));
                    }
                    self.header = Some(names);
                    return None;
                };
                if fields.len() != header.len() {
                    return Some(Err(self.whole(
                        line,
                        format!(
                            "{} fields where the header has {}",
                            fields.len(),
                            header.len()
                        ),
                    )));
                }
                let dialect = if self.format == InputFormat::Aws {
                    Dialect::Aws
                } else {
                    Dialect::Alibaba
                };
                let get = |name: &str| {
                    header
                        .get(name)
                        .and_then(|&i| fields.get(i))
                        .map(|s| s.as_str())
                };
                Some(
                    parse_fields(get, dialect)
                        .map(|item| (line, item))
                        .map_err(|e| self.error(line, e)),
                )
            }
            InputFormat::Parquet => {
                self.done = true;
                Some(Err(
                    self.whole(0, "Parquet is read by the DataFusion engine")
                ))
            }
        }
    }

    fn parse_json(&self, line: u64) -> Result<(u64, Item), ReadError> {
        let v: serde_json::Value = serde_json::from_str(&self.buf)
            .map_err(|e| self.whole(line, format!("not a JSON object: {e}")))?;
        let serde_json::Value::Object(map) = v else {
            return Err(self.whole(line, "not a JSON object"));
        };
        let mut texts: HashMap<&str, String> = HashMap::with_capacity(map.len());
        for (k, v) in &map {
            match json_text(k, v) {
                Ok(Some(t)) => {
                    texts.insert(k.as_str(), t);
                }
                Ok(None) => {}
                Err(e) => return Err(self.error(line, e)),
            }
        }
        let get = |name: &str| texts.get(name).map(|s| s.as_str());
        parse_fields(get, Dialect::Alibaba)
            .map(|item| (line, item))
            .map_err(|e| self.error(line, e))
    }
}

/// The text of an SLS JSON value for the field `k`: a string as it is, a number through its
/// text, `None` for null or (outside the record's columns) any other value; an array,
/// object or boolean in a column is an error.
pub fn json_text(k: &str, v: &serde_json::Value) -> Result<Option<String>, FieldError> {
    match v {
        serde_json::Value::String(s) => Ok(Some(s.clone())),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::Null => Ok(None),
        _ if COLUMNS.contains(&k) => Err(FieldError {
            field: k.to_string(),
            message: "not a string or number".into(),
        }),
        _ => Ok(None),
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<(u64, Item), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.input.read_line(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    if self.header.is_none()
                        && matches!(self.format, InputFormat::Csv | InputFormat::Aws)
                        && self.line == 0
                    {
                        return None;
                    }
                }
                Ok(_) => {
                    self.line += 1;
                    if let Some(r) = self.parse_line(self.line) {
                        return Some(r);
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(
                        self.whole(self.line + 1, crate::world_file::io_reason(&e))
                    ));
                }
            }
        }
        None
    }
}

/// Splits one CSV line (RFC 4180 quoting within the line); `None` on an unterminated quote.
pub fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if quoted {
        return None;
    }
    out.push(cur);
    Some(out)
}
