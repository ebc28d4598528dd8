//! Request parsing of the RPC form (SPEC §4 "Request form"): `Name=value` pairs joined by
//! `&`, percent-encoded (with the form encoding's `+` for a space, as the official SDK
//! sends it), lists flattened as `Name.N` and `Name.N.Field`.
//!
//! Parsing is total: any string either yields [`Params`] or a [`QueryError`] naming the
//! place and the problem; it never panics.

use std::collections::BTreeMap;
use std::fmt;

/// A query string that cannot be decoded (bad percent-encoding, invalid UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// One line, lower case, naming the place and the problem.
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

/// The common and signature parameters of the RPC protocol: never business parameters,
/// so they are ignored when `ClientToken` calls are compared.
pub const COMMON_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
    "BearerToken",
    "ClientToken",
];

/// The decoded parameters of one call: names are case-sensitive, the last value of a
/// repeated name wins, and an empty value is the same as an absent one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    // INVARIANT: no value is empty.
    map: BTreeMap<String, String>,
}

impl Params {
    /// The value of a parameter, if given (non-empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Whether a parameter is given.
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Every parameter, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The business parameters (all but [`COMMON_PARAMS`]), sorted by name.
    pub fn business(&self) -> Vec<(String, String)> {
        self.map
            .iter()
            .filter(|(k, _)| !COMMON_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The items of an object list `PREFIX.N.Field`, N a decimal number in `1..=max`
    /// without leading zeros, keyed by N in increasing order; each item maps its field
    /// names to values. Only fields named in `fields` count; other names are unknown
    /// parameters and ignored.
    pub fn objects(
        &self,
        prefix: &str,
        max: u32,
        fields: &[&str],
    ) -> BTreeMap<u32, BTreeMap<String, String>> {
        let mut out: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (name, value) in &self.map {
            let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            let Some(n) = list_index(n, max) else {
                continue;
            };
            if fields.contains(&field) {
                out.entry(n)
                    .or_default()
                    .insert(field.to_string(), value.clone());
            }
        }
        out
    }

    /// The items of a scalar list `PREFIX.N`, N as in [`Params::objects`], in increasing N.
    pub fn list(&self, prefix: &str, max: u32) -> Vec<(u32, String)> {
        let mut out: Vec<(u32, String)> = self
            .map
            .iter()
            .filter_map(|(name, value)| {
                let n = name.strip_prefix(prefix)?.strip_prefix('.')?;
                Some((list_index(n, max)?, value.clone()))
            })
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out
    }
}

/// `N` of a list parameter: decimal digits, no leading zero, 1 to `max`.
fn list_index(text: &str, max: u32) -> Option<u32> {
    if text.is_empty()
        || text.len() > 10
        || text.starts_with('0')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = text.parse().ok()?;
    (1..=max).contains(&n).then_some(n)
}

/// Parses a query string. A leading `http(s)://host/?` (or a bare `?`) and whitespace or
/// line breaks around `&` are ignored, so a sample can be pasted as the docs lay it out.
/// `%XX` decodes to a byte and `+` to a space; the result must be UTF-8.
pub fn parse_query(query: &str) -> Result<Params, QueryError> {
    let mut text = query.trim();
    let starts_ci = |t: &str, prefix: &str| {
        t.as_bytes()
            .get(..prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    if ["http://", "https://", "http(s)://"]
        .iter()
        .any(|p| starts_ci(text, p))
    {
        text = match text.find('?') {
            Some(i) => text.get(i + 1..).unwrap_or(""),
            None => "",
        };
    } else if let Some(rest) = text.strip_prefix('?') {
        text = rest;
    }
    let mut map = BTreeMap::new();
    for piece in text.split('&') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        // Each part's offset in the query, for error messages.
        let offset = |part: &str| (part.as_ptr() as usize).saturating_sub(query.as_ptr() as usize);
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let (name, value) = (name.trim(), value.trim());
        let name = decode(name, offset(name))?;
        let value = decode(value, offset(value))?;
        if name.is_empty() {
            continue;
        }
        map.insert(name, value);
    }
    map.retain(|_, v| !v.is_empty());
    Ok(Params { map })
}

/// Percent-decodes one name or value (`+` is a space); `at` is the piece's offset in the
/// query, for the error message.
fn decode(s: &str, at: usize) -> Result<String, QueryError> {
    form_decode(s).map_err(|e| QueryError {
        message: match e {
            DecodeError::Escape(i) => format!(
                "invalid percent-encoding `{}` in `{}` at column {}",
                escape_at(s, i).escape_debug(),
                s.escape_debug(),
                at + i + 1
            ),
            DecodeError::Utf8 => format!(
                "`{}` at column {} does not decode to UTF-8 text",
                s.escape_debug(),
                at + 1
            ),
        },
    })
}

/// Why a piece of form text does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A `%` at this byte offset is not followed by two hex digits.
    Escape(usize),
    /// The decoded bytes are not UTF-8.
    Utf8,
}

/// The (at most three characters of the) bad escape at byte `i` of `s`, for messages.
pub(crate) fn escape_at(s: &str, i: usize) -> String {
    s.get(i..).unwrap_or("").chars().take(3).collect()
}

/// Percent-decodes form-encoded text (`application/x-www-form-urlencoded`: `%XX` is a
/// byte, `+` is a space).
pub(crate) fn form_decode(s: &str) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
                let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(DecodeError::Escape(i));
                };
                // Two hex digits are at most 255.
                out.push(u8::try_from(h * 16 + l).unwrap_or(u8::MAX));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::Utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_layout_is_accepted() {
        let q = "http(s)://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup\n      &SecurityGroupId=sg-1\n &Permissions.1.PortRange=22%2F22\n&<Common request parameters>";
        let p = parse_query(q).unwrap();
        assert_eq!(p.get("Action"), Some("AuthorizeSecurityGroup"));
        let q = "https://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup\n      &SecurityGroupId=sg-1\n &Permissions.1.PortRange=22%2F22\n&<Common request parameters>";
        let p = parse_query(q).unwrap();
        assert_eq!(p.get("Action"), Some("AuthorizeSecurityGroup"));
        assert_eq!(p.get("SecurityGroupId"), Some("sg-1"));
        assert_eq!(p.get("Permissions.1.PortRange"), Some("22/22"));
    }

    #[test]
    fn last_wins_and_empty_is_absent() {
        let p = parse_query("A=1&A=2&B=3&B=&C").unwrap();
        assert_eq!(p.get("A"), Some("2"));
        assert!(!p.has("B"));
        assert!(!p.has("C"));
    }

    #[test]
    fn decoding() {
        let p = parse_query("D=a+b%2Ac~d%2Be%3Df%26g%2Fh+%C3%A9%E4%B8%AD").unwrap();
        assert_eq!(p.get("D"), Some("a b*c~d+e=f&g/h é中"));
        let e = parse_query("A=1&D=x%zz").unwrap_err();
        assert_eq!(
            e.message,
            "invalid percent-encoding `%zz` in `x%zz` at column 8"
        );
        let e = parse_query("D=%C3").unwrap_err();
        assert_eq!(e.message, "`%C3` at column 3 does not decode to UTF-8 text");
        assert_eq!(form_decode("a%2"), Err(DecodeError::Escape(1)));
        assert!(parse_query("D=%").is_err());
    }

    #[test]
    fn lists() {
        let p = parse_query(
            "P.1.A=x&P.2.A=y&P.02.A=z&P.0.A=w&P.101.A=v&P.3.Unknown=u&R.1=a&R.3=b&R.x=c",
        )
        .unwrap();
        let o = p.objects("P", 100, &["A"]);
        assert_eq!(o.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(p.list("R", 100), vec![(1, "a".into()), (3, "b".into())]);
    }
}
