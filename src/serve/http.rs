//! HTTP/1.1 on tokio, with the limits of SPEC §9: a request line up to 1 MiB of query,
//! headers up to 16 KiB (else 431), a body up to 1 MiB (else 413), a client silent for
//! 30 s dropped, keep-alive and pipelining, and a graceful stop that finishes the request
//! in flight on each connection.
//!
//! hyper is not used because it refuses any request URI over 64 KiB, and the Tea SDK puts
//! a 100-permission call (about 0.5 MB) in the query; the head is parsed by httparse, the
//! parser hyper itself uses.

use super::Answer;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest query string (and body) accepted: 1 MiB.
pub const MAX_QUERY: usize = 1 << 20;
/// The largest body accepted: 1 MiB.
pub const MAX_BODY: usize = 1 << 20;
/// The largest header block (after the request line) accepted: 16 KiB.
pub const MAX_HEADERS: usize = 16 << 10;
/// An over-limit body up to this size is read and dropped before the 413.
pub const DISCARD_LIMIT: usize = 8 << 20;
/// The most header lines parsed.
pub const MAX_HEADER_COUNT: usize = 256;
/// How long a client may send nothing (or read nothing) before it is dropped.
pub const IDLE: Duration = Duration::from_secs(30);

/// One request, as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (after `?`), not decoded.
    pub query: String,
    /// The headers, names lower-case, in wire order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the client asked to close after this request (`Connection: close`, or
    /// HTTP/1.0 without keep-alive).
    pub close: bool,
}

impl Request {
    /// The first value of a header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a connection does with a request: answer it (the handler is async because a write
/// waits for the commit).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Answer> + Send;
}

/// Why reading a request stopped.
enum ReadError {
    /// The connection ended or went idle between requests: close quietly.
    Closed,
    /// A malformed or over-limit request: answer it, then close.
    Refuse(Answer),
}

fn refuse(status: u16, code: &str, message: &str) -> ReadError {
    ReadError::Refuse(Answer::error(status, code, message, ""))
}

/// Reads more bytes into `buf`, waiting at most [`IDLE`]; `Ok(false)` at the end of the
/// stream.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<bool, ReadError> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout(IDLE, stream.read(&mut chunk)).await {
        Err(_) | Ok(Err(_)) => Err(ReadError::Closed),
        Ok(Ok(0)) => Ok(false),
        Ok(Ok(n)) => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
            Ok(true)
        }
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Reads one request from the connection; `buf` keeps bytes of the next (pipelining).
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    // The request line, then the header block, each with its own limit.
    let mut scanned: usize = 0;
    let line_end = loop {
        if let Some(i) = find(buf, b"\r\n", scanned.saturating_sub(1)) {
            break i;
        }
        scanned = buf.len();
        if buf.len() > MAX_QUERY + 8 * 1024 {
            return Err(refuse(
                413,
                "RequestTooLarge",
                "The request line is longer than 1 MiB.",
            ));
        }
        if !fill(stream, buf).await? {
            return Err(ReadError::Closed);
        }
    };
    let mut scanned = line_end;
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n", scanned.saturating_sub(3).max(line_end)) {
            break i + 4;
        }
        scanned = buf.len();
        if buf.len() - line_end > MAX_HEADERS + 4 {
            return Err(refuse(
                431,
                "RequestHeaderFieldsTooLarge",
                "The request's headers are larger than 16 KiB.",
            ));
        }
        if !fill(stream, buf).await? {
            return Err(ReadError::Closed);
        }
    };
    if head_end - line_end > MAX_HEADERS + 4 {
        return Err(refuse(
            431,
            "RequestHeaderFieldsTooLarge",
            "The request's headers are larger than 16 KiB.",
        ));
    }
    let mut slots = vec![httparse::EMPTY_HEADER; MAX_HEADER_COUNT];
    let mut parsed = httparse::Request::new(&mut slots);
    let head = buf.get(..head_end).unwrap_or(&[]);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(refuse(400, "BadRequest", "The request head is incomplete."))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refuse(
                431,
                "RequestHeaderFieldsTooLarge",
                "The request has too many headers.",
            ))
        }
        Err(e) => {
            return Err(refuse(
                400,
                "BadRequest",
                &format!("The request is not valid HTTP/1.1: {e}."),
            ))
        }
    }
    let http10 = parsed.version == Some(0);
    let method = parsed.method.unwrap_or("").to_string();
    let target = parsed.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if query.len() > MAX_QUERY {
        return Err(refuse(
            413,
            "RequestTooLarge",
            "The query string is longer than 1 MiB.",
        ));
    }
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = String::from_utf8_lossy(h.value).into_owned();
        headers.push((h.name.to_ascii_lowercase(), value));
    }
    let mut req = Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
        close: false,
    };
    let connection = req
        .header("connection")
        .map(|v| v.trim().to_ascii_lowercase());
    req.close = match connection.as_deref() {
        Some("close") => true,
        Some("keep-alive") => false,
        _ => http10,
    };
    if req
        .header("transfer-encoding")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(refuse(
            411,
            "MissingContentLength",
            "Chunked bodies are not supported: send Content-Length.",
        ));
    }
    let length = match req.header("content-length") {
        None => 0,
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            refuse(
                400,
                "BadRequest",
                "The Content-Length header is not a number.",
            )
        })?,
    };
    if length > MAX_BODY {
        // Read a body of up to 8 MiB away first, so the client (still sending) gets the
        // answer instead of a reset connection; larger ones are cut off at once.
        if length <= DISCARD_LIMIT {
            let mut left = length.saturating_sub(buf.len().saturating_sub(head_end));
            buf.clear();
            while left > 0 {
                if !fill(stream, buf).await? {
                    break;
                }
                left = left.saturating_sub(buf.len());
                buf.clear();
            }
        }
        return Err(refuse(
            413,
            "RequestTooLarge",
            "The body is larger than 1 MiB.",
        ));
    }
    buf.drain(..head_end);
    if length > buf.len()
        && req
            .header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
    }
    while buf.len() < length {
        if !fill(stream, buf).await? {
            return Err(ReadError::Closed);
        }
    }
    req.body = buf.drain(..length).collect();
    Ok(req)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes the answer's head and body into `out` (cleared first, kept for the
/// connection's next answer) and sends it in one write.
async fn write_answer(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    answer: &Answer,
    keep_alive: bool,
) -> bool {
    use std::io::Write as _;
    let json = match answer.text_len() {
        Some(_) => None,
        None => Some(answer.body_text()),
    };
    let length = json
        .as_ref()
        .map_or(answer.text_len().unwrap_or(0), String::len);
    out.clear();
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: {}\r\nx-acs-request-id: {}\r\nConnection: {}\r\n\r\n",
        answer.status,
        reason(answer.status),
        length,
        answer.request_id(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    match &json {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        None => answer.write_body(out),
    }
    let ok = matches!(
        tokio::time::timeout(IDLE, stream.write_all(out)).await,
        Ok(Ok(()))
    );
    // A buffer grown by a large answer is not kept.
    if out.capacity() > 4 * MAX_BODY {
        *out = Vec::new();
    }
    ok
}

/// Serves one connection until the client closes it, goes idle, or `stop` turns true
/// (checked between requests, so a request in flight is finished).
pub async fn serve_connection<H: Handler>(
    mut stream: TcpStream,
    handler: std::sync::Arc<H>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    loop {
        if *stop.borrow() {
            return;
        }
        // Between requests, a stop closes the connection at once.
        if buf.is_empty() {
            let mut chunk = [0u8; 16 * 1024];
            tokio::select! {
                r = tokio::time::timeout(IDLE, stream.read(&mut chunk)) => match r {
                    Ok(Ok(n)) if n > 0 => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
                    _ => return,
                },
                _ = stop.changed() => return,
            }
        }
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(r) => r,
            Err(ReadError::Closed) => return,
            Err(ReadError::Refuse(answer)) => {
                let _ = write_answer(&mut stream, &mut out, &answer, false).await;
                return;
            }
        };
        let close = req.close;
        let answer = handler.handle(req).await;
        let keep_alive = !close && !*stop.borrow();
        if !write_answer(&mut stream, &mut out, &answer, keep_alive).await || !keep_alive {
            let _ = stream.shutdown().await;
            return;
        }
    }
}
