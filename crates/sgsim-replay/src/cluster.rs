//! The replay on Ballista: submitting the plan to a scheduler, an in-process cluster
//! (Ballista's standalone mode) and the scheduler and executor processes of
//! `sgsim-replay-scheduler` and `sgsim-replay-executor`, which are Ballista's own with the
//! replay's extension codecs registered.

use crate::codec::{ReplayLogicalCodec, ReplayPhysicalCodec};
use crate::session_config;
use ballista_core::config::BallistaConfig;
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

/// The scheduler's gRPC address of a `df://HOST:PORT` URL.
pub fn scheduler_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("df://")
        .ok_or_else(|| format!("--cluster {url}: not of the form df://HOST:PORT"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("--cluster {url}: no port (df://HOST:PORT)"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("--cluster {url}: not of the form df://HOST:PORT"));
    }
    Ok(format!("http://{host}:{port}"))
}

fn session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("sgsim-replay-{}-{nanos}", std::process::id())
}

/// Submits a physical plan to the scheduler at `scheduler` (`http://HOST:PORT`) and
/// collects its output.
pub async fn execute(
    scheduler: &str,
    plan: Arc<dyn ExecutionPlan>,
    config: SessionConfig,
) -> Result<Vec<RecordBatch>, String> {
    let codec = ReplayPhysicalCodec::default();
    let stream = execute_physical_plan::<PhysicalPlanNode>(
        scheduler.to_string(),
        &BallistaConfig::default(),
        plan,
        &codec,
        session_id(),
        config,
    )
    .await
    .map_err(|e| e.to_string())?;
    stream.try_collect().await.map_err(|e| e.to_string())
}

async fn connect(url: &str, within: Duration) -> Result<SchedulerGrpcClient<Channel>, String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        match SchedulerGrpcClient::connect(url.to_string()).await {
            Ok(c) => return Ok(c),
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(format!("{url}: the scheduler does not answer: {e}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Starts Ballista's standalone mode in this process: a scheduler and an executor with
/// `slots` task slots, both with the replay's codecs. Returns the scheduler's URL
/// (`http://localhost:PORT`).
pub async fn standalone(slots: usize) -> Result<String, String> {
    let state = SessionStateBuilder::new()
        .with_config(session_config(slots))
        .with_default_features()
        .build();
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state)
        .await
        .map_err(|e| format!("starting the in-process scheduler: {e}"))?;
    let url = format!("http://localhost:{}", addr.port());
    let client = connect(&url, Duration::from_secs(30)).await?;
    ballista_executor::new_standalone_executor_from_state(client, slots, &state)
        .await
        .map_err(|e| format!("starting the in-process executor: {e}"))?;
    Ok(url)
}

/// Runs a Ballista scheduler on `addr` with the replay's codecs until it fails.
pub async fn serve_scheduler(addr: SocketAddr) -> Result<(), String> {
    let mut config = ballista_scheduler::config::SchedulerConfig::default()
        .with_hostname(addr.ip().to_string())
        .with_port(addr.port());
    config.bind_host = addr.ip().to_string();
    config.override_logical_codec = Some(Arc::new(ReplayLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(ReplayPhysicalCodec::default()));
    config.override_config_producer = Some(Arc::new(|| session_config(2)));
    let cluster = ballista_scheduler::cluster::BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("the scheduler on {addr}: {e}"))?;
    ballista_scheduler::scheduler_process::start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| format!("the scheduler on {addr}: {e}"))
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The address to bind (and advertise).
    pub host: String,
    /// The Arrow Flight port (shuffle data).
    pub port: u16,
    /// The gRPC port.
    pub grpc_port: u16,
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// Task slots.
    pub slots: usize,
    /// The directory for shuffle files.
    pub work_dir: Option<String>,
}

/// Runs a Ballista executor with the replay's codecs until it stops.
pub async fn serve_executor(o: &ExecutorOptions) -> Result<(), String> {
    let config = ballista_executor::executor_process::ExecutorProcessConfig {
        bind_host: o.host.clone(),
        external_host: Some(o.host.clone()),
        port: o.port,
        grpc_port: o.grpc_port,
        scheduler_host: o.scheduler_host.clone(),
        scheduler_port: o.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: o.slots.max(1),
        work_dir: o.work_dir.clone(),
        override_logical_codec: Some(Arc::new(ReplayLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(ReplayPhysicalCodec::default())),
        override_config_producer: Some(Arc::new(|| session_config(2))),
        ..Default::default()
    };
    ballista_executor::executor_process::start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("the executor on {}:{}: {e}", o.host, o.port))
}
