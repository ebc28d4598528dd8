//! `sgsim replay` on Apache DataFusion (SPEC §10): the input files are read by DataFusion's
//! CSV and Parquet readers (text files one line to a row), each row is parsed once and
//! decided by the registered vectorised function `sg_parse`, and the session pass is a
//! partitioned, ordered stage: the records are repartitioned by the hash of their
//! connection and sorted by connection, `start`, SYN-only first and input order within each
//! partition; each partition is then folded through the session model of `sgsim::replay`
//! on its own core. The same physical
//! plan runs on a Ballista cluster (`run_cluster`): the functions, their worlds and the fold
//! travel through the extension codecs of [`codec`].
//!
//! The heavy dependencies live in this workspace member so that the core crate builds and
//! tests without them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cluster;
pub mod codec;
pub mod exec;
pub mod fold;
pub mod lines;
pub mod packed;
pub mod parse;
pub mod plan;
pub mod typed;
pub mod udf;
pub mod wire;

use ballista::prelude::SessionConfigExt;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::prelude::{SessionConfig, SessionContext};
use fold::PartResult;
use sgsim::replay::{InputFormat, Tally};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use udf::Replayed;

/// What to replay.
#[derive(Debug, Clone)]
pub struct Job {
    /// The input files, in order.
    pub files: Vec<String>,
    /// Their format (`None`: from each name).
    pub format: Option<InputFormat>,
    /// Count malformed records instead of failing.
    pub skip_bad: bool,
    /// How many disagreements and changes to keep.
    pub show: usize,
    /// Partitions (cores); 0 for every local core.
    pub threads: usize,
    /// The memory the sorts may hold before they spill to disk.
    pub memory_limit: usize,
}

/// The session configuration of a replay: `partitions` target partitions, one scan
/// partition per file (so `sg_row` numbers each file's rows in order) and the replay's
/// extension codecs for Ballista.
pub fn session_config(partitions: usize) -> SessionConfig {
    let mut config = SessionConfig::new_with_ballista()
        .with_target_partitions(partitions)
        .with_ballista_logical_extension_codec(Arc::new(codec::ReplayLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(codec::ReplayPhysicalCodec::default()));
    config.options_mut().optimizer.repartition_file_scans = false;
    config
}

fn threads_of(job: &Job) -> usize {
    if job.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        job.threads
    }
}

/// Merges the partitions' results and gives the rows of text files their lines (see
/// [`lines`]); the first malformed record in input order is the error unless `skip_bad`.
pub fn merge(job: &Job, parts: Vec<PartResult>) -> Result<Tally, String> {
    let mut tally = Tally::new(job.show);
    let mut first_bad: Option<(u64, String)> = None;
    for part in parts {
        if let Some(b) = part.first_bad {
            if first_bad.as_ref().is_none_or(|f| b.0 < f.0) {
                first_bad = Some(b);
            }
        }
        tally.merge(part.tally);
    }
    let bad = first_bad.filter(|_| !job.skip_bad);
    // The rows to name, per file.
    let mut rows: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let seqs = tally
        .disagreements
        .iter()
        .map(|d| d.place.seq)
        .chain(tally.changes.iter().map(|c| c.place.seq))
        .chain(bad.as_ref().map(|b| b.0));
    for seq in seqs {
        let p = fold::place(&job.files, seq);
        rows.entry(seq >> udf::ROW_BITS).or_default().insert(p.line);
    }
    let mut lines: HashMap<u64, HashMap<u64, u64>> = HashMap::new();
    for (file, rows) in rows {
        let Some(path) = usize::try_from(file).ok().and_then(|f| job.files.get(f)) else {
            continue;
        };
        if plan::format_of(job, path)? != InputFormat::Parquet {
            lines.insert(file, lines::lines_of_rows(path, &rows)?);
        }
    }
    let line_of = |seq: u64, row: u64| {
        lines
            .get(&(seq >> udf::ROW_BITS))
            .and_then(|l| l.get(&row))
            .copied()
            .unwrap_or(row)
    };
    tally.relocate(|p| line_of(p.seq, p.line));
    if let Some((seq, message)) = bad {
        let p = fold::place(&job.files, seq);
        return Err(format!(
            "{} line {}: {message}",
            p.file,
            line_of(seq, p.line)
        ));
    }
    Ok(tally)
}

/// The partitions' results in the rows of a [`exec::SessionFoldExec`]'s output.
pub fn parts_of(batches: &[RecordBatch]) -> Result<Vec<PartResult>, String> {
    let mut out = Vec::new();
    for b in batches {
        let texts = b
            .column_by_name(exec::PART_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or("the replay's result lost its column")?;
        for i in 0..texts.len() {
            out.push(wire::from_wire(texts.value(i))?);
        }
    }
    Ok(out)
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))
}

/// The local session context of a replay (plans are built in it, and run in it locally).
pub fn local_context(job: &Job, partitions: usize) -> Result<SessionContext, String> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(job.memory_limit, 1.0)
        .build_arc()
        .map_err(|e| e.to_string())?;
    Ok(SessionContext::new_with_config_rt(
        session_config(partitions),
        runtime,
    ))
}

/// Runs a replay of `job` against `world` (and, for a what-if, `against`) on local cores.
pub fn run(
    job: &Job,
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
) -> Result<Tally, String> {
    let threads = threads_of(job);
    runtime(threads)?.block_on(async {
        let ctx = local_context(job, threads)?;
        let Some(plan) = plan::build(&ctx, job, threads, world, against).await? else {
            return Ok(Tally::new(job.show));
        };
        let parts = plan.output_partitioning().partition_count();
        let mut tasks = Vec::new();
        for p in 0..parts {
            let stream = plan.execute(p, ctx.task_ctx()).map_err(|e| e.to_string())?;
            tasks.push(tokio::spawn(async move {
                datafusion::physical_plan::common::collect(stream).await
            }));
        }
        let mut batches = Vec::new();
        for t in tasks {
            batches.extend(
                t.await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?,
            );
        }
        merge(job, parts_of(&batches)?)
    })
}

/// Runs a replay of `job` on the Ballista cluster whose scheduler is at `url`
/// (`df://HOST:PORT`): the same plan, with `partitions` partitions (0: twice the local
/// cores), submitted as a physical plan; the fold runs on the executors.
pub fn run_cluster(
    job: &Job,
    url: &str,
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
) -> Result<Tally, String> {
    let scheduler = cluster::scheduler_url(url)?;
    let partitions = threads_of(job);
    runtime(2)?.block_on(async {
        let ctx = local_context(job, partitions)?;
        let Some(plan) = plan::build(&ctx, job, partitions, world, against).await? else {
            return Ok(Tally::new(job.show));
        };
        let batches = cluster::execute(&scheduler, plan, session_config(partitions))
            .await
            .map_err(|e| format!("--cluster {url}: {e}"))?;
        merge(job, parts_of(&batches)?)
    })
}
