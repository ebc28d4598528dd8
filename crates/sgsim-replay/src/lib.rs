//! `sgsim replay` on Apache DataFusion (SPEC §10): the input files are read by DataFusion's
//! CSV, JSON and Parquet readers, each record is decided by the registered vectorised
//! function `sg_decide`, and the session pass is a partitioned, ordered stage: the records
//! are repartitioned by the hash of their connection (`sg_conn`) and sorted by connection,
//! `start`, SYN-only first and input order within each partition; each partition is then
//! folded through the session model of `sgsim::replay` on its own core.
//!
//! The heavy dependencies live in this workspace member so that the core crate builds and
//! tests without them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fold;
pub mod udf;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    binary_expr, cast, lit, try_cast, when, Expr, Operator, Partitioning,
};
use datafusion::physical_expr::expressions::col as pcol;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion::prelude::{
    CsvReadOptions, DataFrame, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use sgsim::replay::record::Dialect;
use sgsim::replay::{InputFormat, Tally};
use std::sync::Arc;
use udf::{conn_udf, decide_udf, Replayed, COLUMNS};

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

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn format_of(job: &Job, path: &str) -> Result<InputFormat, String> {
    job.format
        .or_else(|| InputFormat::of_path(path))
        .ok_or_else(|| format!("{path}: cannot tell the format from the name: give --format"))
}

async fn read_one(
    ctx: &SessionContext,
    path: &str,
    format: InputFormat,
) -> datafusion::common::Result<DataFrame> {
    let ext = std::path::Path::new(path)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    match format {
        InputFormat::Csv => {
            ctx.read_csv(
                path,
                CsvReadOptions::new().has_header(true).file_extension(&ext),
            )
            .await
        }
        InputFormat::Aws => {
            ctx.read_csv(
                path,
                CsvReadOptions::new()
                    .has_header(true)
                    .delimiter(b' ')
                    .file_extension(&ext),
            )
            .await
        }
        InputFormat::SlsJson => {
            ctx.read_json(path, JsonReadOptions::default().file_extension(&ext))
                .await
        }
        InputFormat::Parquet => {
            ctx.read_parquet(path, ParquetReadOptions::default().file_extension(&ext))
                .await
        }
    }
}

/// The record columns of one file under the §10 names (text), its index and row number.
async fn file_frame(
    ctx: &SessionContext,
    index: usize,
    path: &str,
    format: InputFormat,
) -> Result<DataFrame, String> {
    let df = read_one(ctx, path, format)
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    let have: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut exprs = Vec::new();
    for name in COLUMNS {
        let source = match (format, name) {
            (InputFormat::Aws, "eni-id") => "interface-id",
            _ => name,
        };
        let e = if have.iter().any(|h| h == source) {
            cast(column(source), DataType::Utf8)
        } else {
            lit(ScalarValue::Utf8(None))
        };
        exprs.push(e.alias(name));
    }
    exprs.push(lit(index as i64).alias("sg_file"));
    exprs.push(cast(column("sg_row"), DataType::Int64).alias("sg_row"));
    df.window(vec![row_number().alias("sg_row")])
        .and_then(|d| d.select(exprs))
        .map_err(|e| format!("{path}: {e}"))
}

/// Runs a replay of `job` against `world` (and, for a what-if, `against`).
pub fn run(
    job: &Job,
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
) -> Result<Tally, String> {
    let threads = if job.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        job.threads
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    rt.block_on(run_async(job, threads, world, against))
}

async fn run_async(
    job: &Job,
    threads: usize,
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
) -> Result<Tally, String> {
    let mut config = SessionConfig::new().with_target_partitions(threads);
    // One scan partition per file keeps each file's rows in order for `sg_row`.
    config.options_mut().optimizer.repartition_file_scans = false;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(job.memory_limit, 1.0)
        .build_arc()
        .map_err(|e| e.to_string())?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let mut formats = Vec::new();
    let mut frame: Option<DataFrame> = None;
    for (i, path) in job.files.iter().enumerate() {
        let format = format_of(job, path)?;
        formats.push(format);
        let df = file_frame(&ctx, i, path, format).await?;
        frame = Some(match frame {
            None => df,
            Some(f) => f.union(df).map_err(|e| e.to_string())?,
        });
    }
    let Some(frame) = frame else {
        return Ok(Tally::new(job.show));
    };
    // One dialect for the whole input: AWS files are not mixed with Alibaba ones.
    let aws = formats.iter().filter(|f| **f == InputFormat::Aws).count();
    if aws != 0 && aws != formats.len() {
        return Err("--flows: AWS and Alibaba records cannot be replayed together".into());
    }
    let dialect = if aws > 0 {
        Dialect::Aws
    } else {
        Dialect::Alibaba
    };
    let args: Vec<Expr> = COLUMNS.iter().map(|c| column(c)).collect();
    let conn = conn_udf(world.clone(), dialect);
    let decide = decide_udf("sg_decide", world.clone(), dialect);
    let syn_only = binary_expr(
        binary_expr(
            try_cast(column("tcp-flags"), DataType::Int64),
            Operator::BitwiseAnd,
            lit(18i64),
        ),
        Operator::Eq,
        lit(2i64),
    );
    let mut df = frame
        .with_column("sg_conn", conn.call(args.clone()))
        .and_then(|d| d.repartition(Partitioning::Hash(vec![column("sg_conn")], threads)))
        .and_then(|d| d.with_column("sg_fresh", decide.call(args.clone())))
        .and_then(|d| d.with_column("sg_start", try_cast(column("start"), DataType::Int64)))
        .and_then(|d| d.with_column("sg_late", when(syn_only, lit(0i64)).otherwise(lit(1i64))?))
        .map_err(|e| e.to_string())?;
    if let Some(new) = &against {
        let decide2 = decide_udf("sg_decide_new", new.clone(), dialect);
        df = df
            .with_column("sg_fresh_new", decide2.call(args))
            .map_err(|e| e.to_string())?;
    }
    let plan = df.create_physical_plan().await.map_err(|e| e.to_string())?;
    let schema = plan.schema();
    let mut keys = Vec::new();
    for k in ["sg_conn", "sg_start", "sg_late", "sg_file", "sg_row"] {
        keys.push(PhysicalSortExpr::new_default(
            pcol(k, &schema).map_err(|e| e.to_string())?,
        ));
    }
    let ordering = LexOrdering::new(keys).ok_or("no sort keys")?;
    let sorted: Arc<dyn ExecutionPlan> =
        Arc::new(SortExec::new(ordering, plan).with_preserve_partitioning(true));
    let parts = sorted.output_partitioning().partition_count();
    let mut tasks = Vec::new();
    for p in 0..parts {
        let stream = sorted
            .execute(p, ctx.task_ctx())
            .map_err(|e| e.to_string())?;
        let w = world.clone();
        let a = against.clone();
        let files = job.files.clone();
        let formats = formats.clone();
        let show = job.show;
        tasks.push(tokio::spawn(async move {
            fold::fold(stream, &w, a.as_deref(), dialect, &files, &formats, show).await
        }));
    }
    let mut tally = Tally::new(job.show);
    let mut first_bad: Option<(u64, String)> = None;
    for t in tasks {
        let part = t.await.map_err(|e| e.to_string())??;
        if let Some(b) = part.first_bad {
            if first_bad.as_ref().is_none_or(|f| b.0 < f.0) {
                first_bad = Some(b);
            }
        }
        tally.merge(part.tally);
    }
    if let (Some((_, message)), false) = (first_bad, job.skip_bad) {
        return Err(message);
    }
    Ok(tally)
}
