//! Checking a request's signature (SPEC §9): which version, the key, the timestamp, the
//! signature itself and the nonce, with the cloud's rejection codes. Nothing here touches
//! the world; a refused request changes nothing.

use super::credentials::Credentials;
use super::sign;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;

/// How far a request's timestamp may be from the server's clock, and how long a nonce is
/// remembered: 15 minutes.
pub const WINDOW_SECS: i64 = 15 * 60;

/// At most this many nonces are remembered (about 32 bytes each); past it, new requests
/// are refused with 503 `ServiceUnavailable` until old ones expire, so memory stays
/// bounded (about 130 MB).
pub const MAX_NONCES: usize = 4_000_000;

/// A refused request: HTTP status, the cloud's code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// The error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl Rejection {
    /// A rejection.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            status,
            code,
            message: message.into(),
        }
    }
}

fn incomplete(what: &str) -> Rejection {
    Rejection::new(
        400,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards: {what}."),
    )
}

/// The request as the signature sees it.
pub struct SignedRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The path (`/`, `/sgsim/check`).
    pub path: &'a str,
    /// The query's pairs, form-decoded, blanks kept, in wire order.
    pub query: &'a [(String, String)],
    /// Query and form body merged by name (the V1 signature covers these).
    pub params: &'a BTreeMap<String, String>,
    /// The headers, names lower-case, in wire order.
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// A header's value by lower-case name (repeated headers joined by `,`).
    pub fn header(&self, name: &str) -> Option<String> {
        let mut found: Option<String> = None;
        for (k, v) in self.headers {
            if k == name {
                match &mut found {
                    Some(f) => {
                        f.push(',');
                        f.push_str(v);
                    }
                    None => found = Some(v.clone()),
                }
            }
        }
        found
    }
}

/// Which signature a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// ACS3-HMAC-SHA256 in the `Authorization` header.
    V3,
    /// HMAC-SHA1 in the `Signature` parameter.
    V1,
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id.
    pub key_id: String,
    /// The signature version.
    pub version: Version,
}

/// Nonces seen in the last [`WINDOW_SECS`], per key id.
#[derive(Default)]
pub struct Nonces {
    inner: Mutex<NonceInner>,
}

#[derive(Default)]
struct NonceInner {
    seen: HashSet<u64>,
    /// (expiry, nonce) in arrival order.
    order: VecDeque<(i64, u64)>,
}

impl Nonces {
    /// Records a nonce at time `now` (seconds) of a request stamped `stamp`; `Err` when
    /// it was seen in the window or the store is full. A nonce is kept until 15 minutes
    /// after the later of the two, so a replay is refused by either its nonce or its
    /// timestamp.
    fn record(&self, key_id: &str, nonce: &str, now: i64, stamp: i64) -> Result<(), Rejection> {
        let mut h = Sha256::new();
        h.update(key_id.as_bytes());
        h.update([0]);
        h.update(nonce.as_bytes());
        let digest = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        // 64 bits: a collision (odds ~1e-6 at the cap) only refuses a request, never
        // lets a replay in.
        let id = u64::from_le_bytes(b);
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while let Some(&(t, old)) = inner.order.front() {
            if t >= now {
                break;
            }
            inner.seen.remove(&old);
            inner.order.pop_front();
        }
        if inner.seen.contains(&id) {
            return Err(Rejection::new(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        if inner.seen.len() >= MAX_NONCES {
            return Err(Rejection::new(
                503,
                "ServiceUnavailable",
                "The request has failed due to too many recent requests; retry later.",
            ));
        }
        inner.seen.insert(id);
        inner.order.push_back((now.max(stamp) + WINDOW_SECS, id));
        Ok(())
    }
}

/// Seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds allowed).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b.last() != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = text.get(19..text.len() - 1)?;
    if !(frac.is_empty()
        || (frac.len() > 1
            && frac.starts_with('.')
            && frac.bytes().skip(1).all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

pub use crate::api::format_timestamp;

fn check_time(text: &str, now: i64, name: &str) -> Result<i64, Rejection> {
    let t = parse_timestamp(text).ok_or_else(|| {
        Rejection::new(
            400,
            "InvalidTimeStamp.Format",
            format!("Specified {name} \"{text}\" is not valid: use YYYY-MM-DDThh:mm:ssZ (UTC)."),
        )
    })?;
    if (t - now).abs() > WINDOW_SECS {
        return Err(Rejection::new(
            400,
            "InvalidTimeStamp.Expired",
            format!("Specified time stamp or date value is expired: {name} {text} is more than 15 minutes from the server's time {}.", format_timestamp(now)),
        ));
    }
    Ok(t)
}

fn unknown_key(id: &str) -> Rejection {
    Rejection::new(
        404,
        "InvalidAccessKeyId.NotFound",
        format!("Specified access key \"{id}\" is not found."),
    )
}

fn mismatch(string_to_sign: &str) -> Rejection {
    Rejection::new(
        400,
        "SignatureDoesNotMatch",
        format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
    )
}

/// The headers a V3 request must sign, besides every `x-acs-*` header it sends.
const V3_REQUIRED: &[&str] = &[
    "host",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// Checks a request's signature at time `now` (seconds since the epoch); records its
/// nonce only when everything else passed.
pub fn verify(
    req: &SignedRequest<'_>,
    keys: &Credentials,
    nonces: &Nonces,
    now: i64,
) -> Result<Verified, Rejection> {
    match req.header("authorization") {
        Some(h) if h.trim_start().starts_with("ACS3-") => verify_v3(req, &h, keys, nonces, now),
        Some(h) if !req.params.contains_key("Signature") => Err(Rejection::new(
            400,
            "InvalidSignatureMethod",
            format!(
                "Specified signature method \"{}\" is not supported: use ACS3-HMAC-SHA256 or HMAC-SHA1.",
                h.split_whitespace().next().unwrap_or("")
            ),
        )),
        _ => verify_v1(req, keys, nonces, now),
    }
}

fn verify_v3(
    req: &SignedRequest<'_>,
    header: &str,
    keys: &Credentials,
    nonces: &Nonces,
    now: i64,
) -> Result<Verified, Rejection> {
    let auth = sign::parse_authorization(header);
    if auth.algorithm != sign::V3_ALGORITHM {
        return Err(Rejection::new(
            400,
            "InvalidSignatureMethod",
            format!(
                "Specified signature method \"{}\" is not supported: use ACS3-HMAC-SHA256 or HMAC-SHA1.",
                auth.algorithm
            ),
        ));
    }
    for (piece, missing) in [
        ("Credential", auth.credential.is_empty()),
        ("SignedHeaders", auth.signed_headers.is_empty()),
        ("Signature", auth.signature.is_empty()),
    ] {
        if missing {
            return Err(incomplete(&format!("Authorization has no {piece}")));
        }
    }
    for name in V3_REQUIRED {
        if req.header(name).is_none() {
            return Err(incomplete(&format!("header {name} is missing")));
        }
    }
    let signed = |n: &str| auth.signed_headers.iter().any(|h| h == n);
    for name in V3_REQUIRED {
        if !signed(name) {
            return Err(incomplete(&format!("SignedHeaders lacks {name}")));
        }
    }
    for (name, _) in req.headers {
        if name.starts_with("x-acs-") && !signed(name) {
            return Err(incomplete(&format!("SignedHeaders lacks {name}")));
        }
    }
    if !req.body.is_empty() && !signed("content-type") {
        return Err(incomplete("SignedHeaders lacks content-type"));
    }
    let secret = keys
        .secret(&auth.credential)
        .ok_or_else(|| unknown_key(&auth.credential))?;
    let date = req.header("x-acs-date").unwrap_or_default();
    let stamp = check_time(date.trim(), now, "x-acs-date")?;
    let body_hash = sign::sha256_hex(req.body);
    let canonical = sign::v3_canonical_request(
        req.method,
        req.path,
        req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &auth.signed_headers,
        |n| req.header(n),
        &body_hash,
    );
    let sts = sign::v3_string_to_sign(&canonical);
    let content_hash = req.header("x-acs-content-sha256").unwrap_or_default();
    if !sign::same_signature(&sign::v3_signature(secret, &sts), &auth.signature)
        || content_hash.trim() != body_hash
    {
        return Err(mismatch(&sts));
    }
    let nonce = req.header("x-acs-signature-nonce").unwrap_or_default();
    nonces.record(&auth.credential, nonce.trim(), now, stamp)?;
    Ok(Verified {
        key_id: auth.credential,
        version: Version::V3,
    })
}

fn verify_v1(
    req: &SignedRequest<'_>,
    keys: &Credentials,
    nonces: &Nonces,
    now: i64,
) -> Result<Verified, Rejection> {
    let get = |n: &str| req.params.get(n).map(String::as_str).unwrap_or("");
    for name in [
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureNonce",
        "Timestamp",
    ] {
        if get(name).is_empty() {
            return Err(incomplete(&format!("{name} is missing")));
        }
    }
    if get("SignatureMethod") != "HMAC-SHA1" {
        return Err(Rejection::new(
            400,
            "InvalidSignatureMethod",
            format!(
                "Specified signature method \"{}\" is not supported: use HMAC-SHA1.",
                get("SignatureMethod")
            ),
        ));
    }
    let version = get("SignatureVersion");
    if !version.is_empty() && version != "1.0" {
        return Err(Rejection::new(
            400,
            "InvalidSignatureMethod",
            format!("Specified SignatureVersion \"{version}\" is not supported: use 1.0."),
        ));
    }
    let id = get("AccessKeyId");
    let secret = keys.secret(id).ok_or_else(|| unknown_key(id))?;
    let stamp = check_time(get("Timestamp"), now, "Timestamp")?;
    let sts = sign::v1_string_to_sign(
        req.method,
        req.params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if !sign::same_signature(&sign::v1_signature(secret, &sts), get("Signature")) {
        return Err(mismatch(&sts));
    }
    nonces.record(id, get("SignatureNonce"), now, stamp)?;
    Ok(Verified {
        key_id: id.to_string(),
        version: Version::V1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z"), Some(1_767_225_600));
        assert_eq!(
            parse_timestamp("2026-01-01T00:00:00.250Z"),
            Some(1_767_225_600)
        );
        assert_eq!(format_timestamp(1_767_225_600), "2026-01-01T00:00:00Z");
        let t = 1_800_000_123;
        assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
        for bad in [
            "2026-01-01 00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "x",
            "2026-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn nonces_expire_and_repeat() {
        let n = Nonces::default();
        assert!(n.record("k", "a", 1000, 1000).is_ok());
        assert_eq!(
            n.record("k", "a", 1001, 1000).unwrap_err().code,
            "SignatureNonceUsed"
        );
        assert!(n.record("other", "a", 1001, 1001).is_ok());
        assert!(n
            .record("k", "a", 1000 + WINDOW_SECS + 1, 1000 + WINDOW_SECS + 1)
            .is_ok());
        // A request stamped in the future keeps its nonce until its stamp expires.
        assert!(n.record("k", "f", 5000, 5000 + WINDOW_SECS).is_ok());
        assert!(n
            .record("k", "f", 5000 + WINDOW_SECS + 10, 5000 + WINDOW_SECS)
            .is_err());
    }
}
