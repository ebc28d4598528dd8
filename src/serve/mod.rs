//! `sgsim serve` (SPEC §9): an HTTP endpoint that answers the ECS API of §4 as the cloud's
//! RPC endpoint does, so the official SDKs, the aliyun CLI and the Terraform provider can
//! be pointed at a world file.
//!
//! - [`sign`]: the two signatures as the SDKs compute them (also used by clients);
//! - [`auth`]: checking a request's signature, with the cloud's rejection codes;
//! - [`credentials`]: the accepted access keys;
//! - [`http`]: HTTP/1.1 with the limits of §9;
//! - [`handler`]: from a request to an API call;
//! - [`world`]: the shared world and its group-committing writer;
//! - [`check`]: packet queries over HTTP;
//! - [`client`]: a small signing client (tests, load).

pub mod auth;
pub mod check;
pub mod client;
pub mod credentials;
pub mod handler;
pub mod http;
pub mod sign;
pub mod world;

use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// At most this many connections are served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;

/// How long a stop waits for requests in flight.
pub const DRAIN: Duration = Duration::from_secs(30);

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`Null` when the answer carries pre-serialized text).
    pub body: Value,
    text: Option<Text>,
    request_id: String,
}

/// A body already serialized.
#[derive(Debug, Clone, PartialEq)]
enum Text {
    /// The whole text.
    Owned(String),
    /// A cached answer shared with its snapshot, whose `RequestId` value (at `at`, as
    /// long as the request id) is replaced by the answer's request id when written.
    Spliced { template: Arc<String>, at: usize },
}

impl Answer {
    /// An error body as the cloud writes it: `RequestId`, `HostId`, `Code`, `Message`,
    /// `Recommend`.
    pub fn error(status: u16, code: &str, message: &str, request_id: &str) -> Answer {
        let mut m = Map::new();
        m.insert("RequestId".into(), Value::from(request_id));
        m.insert("HostId".into(), Value::from("sgsim"));
        m.insert("Code".into(), Value::from(code));
        m.insert("Message".into(), Value::from(message));
        m.insert(
            "Recommend".into(),
            Value::from(format!(
                "https://api.alibabacloud.com/troubleshoot?q={code}&product=Ecs&requestId={request_id}"
            )),
        );
        Answer {
            status,
            body: Value::Object(m),
            text: None,
            request_id: request_id.to_string(),
        }
    }

    /// Any body.
    pub fn raw(status: u16, body: Value, request_id: &str) -> Answer {
        Answer {
            status,
            body,
            text: None,
            request_id: request_id.to_string(),
        }
    }

    /// A body already serialized as JSON text.
    pub fn text(status: u16, text: String, request_id: &str) -> Answer {
        Answer {
            status,
            body: Value::Null,
            text: Some(Text::Owned(text)),
            request_id: request_id.to_string(),
        }
    }

    /// A cached serialized body whose `RequestId` value starts at byte `at` and is as long
    /// as `request_id`, which replaces it when the body is written (no copy until then).
    pub(crate) fn spliced(
        status: u16,
        template: Arc<String>,
        at: usize,
        request_id: &str,
    ) -> Answer {
        Answer {
            status,
            body: Value::Null,
            text: Some(Text::Spliced { template, at }),
            request_id: request_id.to_string(),
        }
    }

    /// The body as JSON text.
    pub fn body_text(&self) -> String {
        let mut out = Vec::new();
        self.write_body(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The body's length in bytes when it is already serialized (`None` for a JSON
    /// value).
    pub fn text_len(&self) -> Option<usize> {
        match &self.text {
            Some(Text::Owned(t)) => Some(t.len()),
            Some(Text::Spliced { template, .. }) => Some(template.len()),
            None => None,
        }
    }

    /// Appends the body's JSON text to `out`.
    pub fn write_body(&self, out: &mut Vec<u8>) {
        match &self.text {
            Some(Text::Owned(t)) => out.extend_from_slice(t.as_bytes()),
            Some(Text::Spliced { template, at }) => {
                let bytes = template.as_bytes();
                let end = at + self.request_id.len();
                out.extend_from_slice(bytes.get(..*at).unwrap_or(&[]));
                out.extend_from_slice(self.request_id.as_bytes());
                out.extend_from_slice(bytes.get(end..).unwrap_or(&[]));
            }
            None => {
                let _ = serde_json::to_writer(&mut *out, &self.body);
            }
        }
    }

    /// The request id (the `x-acs-request-id` header).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl From<crate::api::Response> for Answer {
    fn from(r: crate::api::Response) -> Answer {
        let request_id = r
            .body
            .get("RequestId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Answer {
            status: r.status,
            body: r.body,
            text: None,
            request_id,
        }
    }
}

/// What `sgsim serve` needs.
#[derive(Debug)]
pub struct Config {
    /// The world file.
    pub world: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The accepted keys.
    pub keys: credentials::Credentials,
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight and the queued
/// writes. `ready` is called with the bound address once the socket listens.
pub fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let world = world::WorldHandle::open(&config.world)?;
    let writer = world.start_writer();
    let app = Arc::new(handler::App::new(Arc::clone(&world), config.keys));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server runtime: {e}"))?;
    let result = rt.block_on(serve(config.listen, app, ready));
    rt.shutdown_timeout(Duration::from_secs(1));
    world.close();
    let _ = writer.join();
    result
}

async fn serve(
    listen: SocketAddr,
    app: Arc<handler::App>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: cannot listen: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("{listen}: cannot listen: {e}"))?;
    ready(bound);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let stop_signal = stop_signal();
    tokio::pin!(stop_signal);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop_signal => break,
        };
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                // Out of descriptors and the like: wait a little, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut stop_signal => break,
        };
        let app = Arc::clone(&app);
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            http::serve_connection(stream, app, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection gives its slot back when its request in flight is answered.
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
