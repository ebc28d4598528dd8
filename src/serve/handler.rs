//! Turning an HTTP request into an API call (SPEC §9): parameters from the query and the
//! form body merged by name, the signature, `Action`/`Version`/`Format`, then the call
//! (a read on the shared snapshot, a write through the writer) or a packet query.

use super::auth::{self, Nonces, SignedRequest};
use super::credentials::Credentials;
use super::http::{Handler, Request};
use super::world::WorldHandle;
use super::{sign, Answer};
use crate::api::{self, Params};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The most parameters a request may carry (query and body together).
pub const MAX_PARAMS: usize = 5_000;

/// The API version sgsim answers.
pub const API_VERSION: &str = "2014-05-26";

/// The endpoint's state: the world, the keys, the nonces seen.
pub struct App {
    /// The world.
    pub world: Arc<WorldHandle>,
    keys: Credentials,
    nonces: Nonces,
    seed: u64,
    counter: AtomicU64,
}

impl App {
    /// An endpoint over a world with these keys.
    pub fn new(world: Arc<WorldHandle>, keys: Credentials) -> App {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        App {
            world,
            keys,
            nonces: Nonces::default(),
            seed,
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh `RequestId`, UUID-shaped.
    fn request_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut h = api::hash::Fnv64::new(self.seed);
        h.bytes(&n.to_le_bytes());
        let a = h.finish();
        format!(
            "{:08X}-{:04X}-4{:03X}-{:04X}-{:012X}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((self.seed >> 48) & 0x3fff),
            n & 0xffff_ffff_ffff
        )
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn bad(code: &str, message: String, rid: &str) -> Answer {
    Answer::error(400, code, &message, rid)
}

/// The parameters of a request: the query's pairs (decoded, blanks kept), and query and
/// form body merged by name.
struct Parsed {
    query: Vec<(String, String)>,
    merged: BTreeMap<String, String>,
}

fn parse_params(req: &Request, rid: &str) -> Result<Parsed, Box<Answer>> {
    let query = sign::form_decode(&req.query).map_err(|e| {
        bad(
            "InvalidParameter",
            format!("The query string is not valid: {e}."),
            rid,
        )
    })?;
    let form = req.header("content-type").is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let body_pairs = if form && !req.body.is_empty() {
        let text = std::str::from_utf8(&req.body).map_err(|_| {
            Box::new(bad(
                "InvalidParameter",
                "The form body is not UTF-8 text.".into(),
                rid,
            ))
        })?;
        sign::form_decode(text).map_err(|e| {
            bad(
                "InvalidParameter",
                format!("The form body is not valid: {e}."),
                rid,
            )
        })?
    } else {
        Vec::new()
    };
    if query.len() + body_pairs.len() > MAX_PARAMS {
        return Err(Box::new(bad(
            "InvalidParameter",
            format!("The request has more than {MAX_PARAMS} parameters."),
            rid,
        )));
    }
    let mut merged: BTreeMap<String, String> = query.iter().cloned().collect();
    let mut from_body: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in body_pairs {
        from_body.insert(k, v);
    }
    for (k, v) in from_body {
        match merged.get(&k) {
            Some(q) if *q != v => {
                return Err(Box::new(bad(
                    "InvalidParameter",
                    format!(
                    "The parameter \"{k}\" is given twice with different values (query and body)."
                ),
                    rid,
                )))
            }
            _ => {
                merged.insert(k, v);
            }
        }
    }
    Ok(Parsed { query, merged })
}

/// `Action` or `Version` from the parameters, else from the `x-acs-…` header; both given
/// and different is 400 `InvalidParameter`.
fn common(
    parsed: &Parsed,
    req: &Request,
    name: &str,
    header: &str,
    v3: bool,
    rid: &str,
) -> Result<Option<String>, Box<Answer>> {
    let param = parsed.merged.get(name).filter(|v| !v.is_empty());
    let head = req.header(header).map(str::trim).filter(|v| !v.is_empty());
    match (param, head) {
        // V1 clients send the header unsigned: the signed parameter wins.
        (Some(p), Some(h)) if v3 && p != h => Err(Box::new(bad(
            "InvalidParameter",
            format!("The parameter \"{name}\" \"{p}\" differs from the header {header} \"{h}\"."),
            rid,
        ))),
        (Some(p), _) => Ok(Some(p.clone())),
        (None, Some(h)) => Ok(Some(h.to_string())),
        (None, None) => Ok(None),
    }
}

/// Re-encodes merged parameters (blank ones dropped) as the API's query form.
fn to_params(merged: &BTreeMap<String, String>, action: &str) -> Result<Params, String> {
    let mut q = format!("Action={}", sign::pct(action));
    for (k, v) in merged {
        if k == "Action" || v.is_empty() {
            continue;
        }
        q.push('&');
        q.push_str(&sign::pct(k));
        q.push('=');
        q.push_str(&sign::pct(v));
    }
    api::parse_query(&q).map_err(|e| e.to_string())
}

impl App {
    async fn answer(&self, req: Request) -> Answer {
        let rid = self.request_id();
        let route = req.path.as_str();
        let packet_query = match route {
            "/" => None,
            "/sgsim/check" => Some(super::check::Kind::Check),
            "/sgsim/explain" => Some(super::check::Kind::Explain),
            _ => {
                return Answer::error(
                    404,
                    "InvalidPath.NotFound",
                    &format!(
                        "The path \"{}\" is not served: use / (or /sgsim/check, /sgsim/explain).",
                        route.escape_debug()
                    ),
                    &rid,
                )
            }
        };
        let allowed = match packet_query {
            None => req.method == "GET" || req.method == "POST",
            Some(_) => req.method == "POST",
        };
        if !allowed {
            return Answer::error(
                405,
                "UnsupportedHTTPMethod",
                &format!(
                    "The method {} is not supported here.",
                    req.method.escape_debug()
                ),
                &rid,
            );
        }
        let parsed = match parse_params(&req, &rid) {
            Ok(p) => p,
            Err(a) => return *a,
        };
        let signed = SignedRequest {
            method: &req.method,
            path: &req.path,
            query: &parsed.query,
            params: &parsed.merged,
            headers: &req.headers,
            body: &req.body,
        };
        let verified = match auth::verify(&signed, &self.keys, &self.nonces, now_secs()) {
            Ok(v) => v,
            Err(r) => return Answer::error(r.status, r.code, &r.message, &rid),
        };
        let v3 = verified.version == auth::Version::V3;
        let action = match common(&parsed, &req, "Action", "x-acs-action", v3, &rid) {
            Ok(a) => a,
            Err(a) => return *a,
        };
        let version = match common(&parsed, &req, "Version", "x-acs-version", v3, &rid) {
            Ok(a) => a,
            Err(a) => return *a,
        };
        let Some(action) = action else {
            return Answer::error(
                400,
                "MissingParameter",
                "The input parameter \"Action\" that is mandatory for processing this request is not supplied.",
                &rid,
            );
        };
        match version.as_deref() {
            Some(API_VERSION) => {}
            None => {
                return Answer::error(
                    400,
                    "MissingParameter",
                    "The input parameter \"Version\" that is mandatory for processing this request is not supplied.",
                    &rid,
                )
            }
            Some(other) => {
                return bad(
                    "InvalidVersion",
                    format!("Specified parameter Version \"{other}\" is not valid: use {API_VERSION}."),
                    &rid,
                )
            }
        }
        if let Some(format) = parsed.merged.get("Format").filter(|f| !f.is_empty()) {
            if !format.eq_ignore_ascii_case("json") {
                return bad(
                    "InvalidParameter",
                    format!("Specified parameter Format \"{format}\" is not valid: sgsim answers JSON only."),
                    &rid,
                );
            }
        }
        if let Some(kind) = packet_query {
            return super::check::answer(self, kind, &action, &req.body, &rid);
        }
        let params = match to_params(&parsed.merged, &action) {
            Ok(p) => p,
            Err(e) => return bad("InvalidParameter", e, &rid),
        };
        let snap = match self.world.snapshot() {
            Ok(s) => s,
            Err(e) => return super::world::internal(&rid, &e, ""),
        };
        let read_only = api::Action::parse(&action).is_some_and(api::Action::is_read_only);
        let key = read_only.then(|| {
            let mut k = action.clone();
            for (name, value) in params.business() {
                k.push('&');
                k.push_str(&sign::pct(&name));
                k.push('=');
                k.push_str(&sign::pct(&value));
            }
            k
        });
        if let Some(answer) = key.as_deref().and_then(|k| snap.cache.get(k, &rid)) {
            return answer;
        }
        if let Some(r) = api::call_shared(&snap.world, &params, &rid) {
            if let (Some(k), true) = (key, r.status == 200) {
                let text = r.body.to_string();
                snap.cache.put(k, &text, &rid);
                return Answer::text(200, text, &rid);
            }
            return Answer::from(r);
        }
        drop(snap);
        self.world.submit(params, rid).await
    }
}

impl Handler for App {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Answer> + Send {
        self.answer(req)
    }
}
