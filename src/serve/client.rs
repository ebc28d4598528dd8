//! A small blocking client that signs as the SDKs do (V3 like the Tea SDK: parameters in
//! the query, action in `x-acs-action`; V1 like the core SDK: everything in the query, or
//! a form body), over one keep-alive connection. Used by the tests and `sgsim serve
//! --bench`-style load runs; not a general HTTP client.

use super::auth::format_timestamp;
use super::sign;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Which signature a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// ACS3-HMAC-SHA256, parameters in the query.
    V3,
    /// HMAC-SHA1, parameters in the query.
    V1,
    /// HMAC-SHA1, common parameters in the query, business parameters in a form body (as
    /// the Terraform provider sends).
    V1Form,
}

/// A signing client on one connection.
pub struct Client {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    key_id: String,
    secret: String,
    seq: u64,
    seed: u64,
    /// Sends this nonce instead of a fresh one (to test replays).
    pub nonce: Option<String>,
    /// Seconds added to the clock in the timestamp (to test skew).
    pub clock_offset: i64,
}

/// A response: status and body text.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The error `Code`, if the body has one.
    pub fn code(&self) -> Option<String> {
        self.json()
            .get("Code")
            .and_then(|c| c.as_str())
            .map(str::to_string)
    }
}

impl Client {
    /// Connects to the endpoint.
    pub fn connect(addr: SocketAddr, key_id: &str, secret: &str) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        // Clients connected at the same clock reading (threads started together, a coarse
        // clock) must not share a seed, or their nonces repeat and the server refuses them
        // as replays: a process-wide count of clients goes into it too.
        static CLIENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id())
            ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Ok(Client {
            addr,
            reader: BufReader::new(stream),
            key_id: key_id.to_string(),
            secret: secret.to_string(),
            seq: 0,
            seed,
            nonce: None,
            clock_offset: 0,
        })
    }

    fn next_nonce(&mut self) -> String {
        if let Some(n) = &self.nonce {
            return n.clone();
        }
        self.seq += 1;
        let mut a = crate::api::hash::Fnv64::new(self.seed);
        a.bytes(&self.seq.to_le_bytes());
        let mut b = crate::api::hash::Fnv64::new(self.seed.rotate_left(17));
        b.bytes(&self.seq.to_le_bytes());
        format!("{:016x}{:016x}", a.finish(), b.finish())
    }

    fn timestamp(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        format_timestamp(now + self.clock_offset)
    }

    /// Makes an ECS call: `params` are the business parameters (with `Action`).
    pub fn call(&mut self, sig: Sig, params: &[(&str, &str)]) -> std::io::Result<Reply> {
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map_or("", |(_, v)| *v)
            .to_string();
        let business: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "Action")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match sig {
            Sig::V3 => {
                let query = form_encode(&business);
                self.send_v3(&action, &query, "", "")
            }
            Sig::V1 | Sig::V1Form => {
                let mut common: Vec<(String, String)> = vec![
                    ("Action".into(), action),
                    ("Format".into(), "json".into()),
                    ("Version".into(), "2014-05-26".into()),
                    ("AccessKeyId".into(), self.key_id.clone()),
                    ("SignatureMethod".into(), "HMAC-SHA1".into()),
                    ("SignatureVersion".into(), "1.0".into()),
                    ("SignatureNonce".into(), self.next_nonce()),
                    ("Timestamp".into(), self.timestamp()),
                ];
                let body: Vec<(String, String)> = if sig == Sig::V1Form {
                    business
                } else {
                    common.extend(business);
                    Vec::new()
                };
                let all: Vec<(&str, &str)> = common
                    .iter()
                    .chain(body.iter())
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let method = if body.is_empty() { "GET" } else { "POST" };
                let sts = sign::v1_string_to_sign(method, all);
                common.push(("Signature".into(), sign::v1_signature(&self.secret, &sts)));
                let target = format!("/?{}", form_encode(&common));
                let (ctype, body) = if body.is_empty() {
                    (None, String::new())
                } else {
                    (
                        Some("application/x-www-form-urlencoded"),
                        form_encode(&body),
                    )
                };
                let mut headers = Vec::new();
                if let Some(c) = ctype {
                    headers.push(("Content-Type".to_string(), c.to_string()));
                }
                self.send(method, &target, &headers, body.as_bytes())
            }
        }
    }

    /// A V3-signed POST to `path` with a JSON body (the packet queries).
    pub fn post_json(&mut self, path: &str, action: &str, body: &str) -> std::io::Result<Reply> {
        self.send_v3_to(path, action, "", body, "application/json")
    }

    fn send_v3(
        &mut self,
        action: &str,
        query: &str,
        body: &str,
        ctype: &str,
    ) -> std::io::Result<Reply> {
        self.send_v3_to("/", action, query, body, ctype)
    }

    fn send_v3_to(
        &mut self,
        path: &str,
        action: &str,
        query: &str,
        body: &str,
        ctype: &str,
    ) -> std::io::Result<Reply> {
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.addr.to_string()),
            ("x-acs-action".into(), action.to_string()),
            ("x-acs-version".into(), "2014-05-26".into()),
            ("x-acs-date".into(), self.timestamp()),
            ("x-acs-signature-nonce".into(), self.next_nonce()),
            (
                "x-acs-content-sha256".into(),
                sign::sha256_hex(body.as_bytes()),
            ),
        ];
        if !ctype.is_empty() {
            headers.push(("content-type".into(), ctype.to_string()));
        }
        headers.sort();
        let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let pairs = sign::form_decode(query).unwrap_or_default();
        let cr = sign::v3_canonical_request(
            "POST",
            path,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &signed,
            |n| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()),
            &sign::sha256_hex(body.as_bytes()),
        );
        let sig = sign::v3_signature(&self.secret, &sign::v3_string_to_sign(&cr));
        headers.push((
            "Authorization".into(),
            format!(
                "{} Credential={},SignedHeaders={},Signature={sig}",
                sign::V3_ALGORITHM,
                self.key_id,
                signed.join(";")
            ),
        ));
        let target = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        self.send("POST", &target, &headers, body.as_bytes())
    }

    /// Sends one raw request and reads the answer.
    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let mut out = format!("{method} {target} HTTP/1.1\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            out.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let stream = self.reader.get_mut();
        stream.write_all(out.as_bytes())?;
        stream.write_all(body)?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().map_err(|_| bad("bad Content-Length"))?;
                }
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body)?;
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Form-encodes pairs as the Tea SDK's transport does (`+` for a space).
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| sign::pct(s).replace("%20", "+");
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
