//! The replay's physical plan, the same on local cores and on a Ballista cluster:
//!
//! 1. one scan per file with DataFusion's readers (CSV and AWS through the CSV reader with
//!    the header's columns declared as text; SLS JSON lines through the CSV reader as one
//!    text column per line, split by `sg_sls`; Parquet through the Parquet reader), each
//!    with its row numbers, projected to the §10 columns as text;
//! 2. the numbered rows dealt round robin to every partition (when there are fewer files
//!    than partitions), where `sg_conn` (the
//!    connection's hash) and `sg_decide` (and `sg_decide_new` for a what-if) run over the
//!    record columns;
//! 3. a hash repartition by `sg_conn` (the shuffle: a connection's records meet in one
//!    partition);
//! 4. a sort within each partition by connection, `start`, SYN-only first, file and row;
//! 5. [`SessionFoldExec`]: the session pass over each partition, one row out per partition.

use crate::exec::{FoldParams, SessionFoldExec};
use crate::udf::{arg_names, conn_udf, decide_udf, sls_udf, Replayed, COLUMNS, ERROR};
use crate::Job;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{Column, ScalarValue};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{binary_expr, cast, col, lit, try_cast, when, Expr, Operator};
use datafusion::physical_expr::expressions::col as pcol;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions, SessionContext};
use sgsim::replay::read::split_csv;
use sgsim::replay::record::Dialect;
use sgsim::replay::InputFormat;
use std::io::BufRead;
use std::sync::Arc;

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn format_of(job: &Job, path: &str) -> Result<InputFormat, String> {
    job.format
        .or_else(|| InputFormat::of_path(path))
        .ok_or_else(|| format!("{path}: cannot tell the format from the name: give --format"))
}

/// The column names of a CSV or AWS file's header (normalised as the core's reader does:
/// lower case, `_` as `-`); `None` for an empty file.
fn header(path: &str, format: InputFormat) -> Result<Option<Vec<String>>, String> {
    let f = std::fs::File::open(path)
        .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?;
    let mut line = String::new();
    let n = std::io::BufReader::new(f)
        .read_line(&mut line)
        .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?;
    if n == 0 {
        return Ok(None);
    }
    let text = line.trim_end_matches(['\n', '\r']);
    let fields: Vec<String> = if format == InputFormat::Csv {
        split_csv(text).ok_or_else(|| format!("{path} line 1: unterminated quote"))?
    } else {
        text.split(' ').map(str::to_string).collect()
    };
    let mut names: Vec<String> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let n = f.trim().to_ascii_lowercase().replace('_', "-");
        // A repeated or empty name keeps its place under a name no query asks for.
        let n = if n.is_empty() || names.contains(&n) {
            format!("sg_column_{i}")
        } else {
            n
        };
        names.push(n);
    }
    let need = if format == InputFormat::Aws {
        "interface-id"
    } else {
        "eni-id"
    };
    if !names.iter().any(|n| n == need) {
        return Err(format!(
            "{path} line 1: the header names no `{need}` column"
        ));
    }
    Ok(Some(names))
}

fn text_schema(names: &[String]) -> Schema {
    Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    )
}

/// The record columns of one file under the §10 names (text), `sg_error`, the file's index
/// and the row number; `None` for an empty CSV or AWS file.
async fn file_frame(
    ctx: &SessionContext,
    index: usize,
    path: &str,
    format: InputFormat,
) -> Result<Option<DataFrame>, String> {
    let place = |e: datafusion::error::DataFusionError| format!("{path}: {e}");
    // DataFusion reads a missing path as an empty table: it must be an error.
    std::fs::File::open(path)
        .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?;
    // Executors open the file by its absolute path.
    let abs = std::path::absolute(path)
        .map_err(|e| format!("{path}: {}", sgsim::world_file::io_reason(&e)))?
        .to_string_lossy()
        .to_string();
    let ext = std::path::Path::new(path)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let df = match format {
        InputFormat::Csv | InputFormat::Aws => {
            let Some(names) = header(path, format)? else {
                return Ok(None);
            };
            let schema = text_schema(&names);
            let delimiter = if format == InputFormat::Aws {
                b' '
            } else {
                b','
            };
            let opts = CsvReadOptions::new()
                .has_header(true)
                .delimiter(delimiter)
                .schema(&schema)
                .file_extension(&ext);
            ctx.read_csv(abs.as_str(), opts).await.map_err(place)?
        }
        InputFormat::SlsJson => {
            // One text column per line: no byte of a JSON line is 0x1e or 0x1f.
            let schema = text_schema(&["sg_line".to_string()]);
            let opts = CsvReadOptions::new()
                .has_header(false)
                .delimiter(0x1f)
                .quote(0x1e)
                .schema(&schema)
                .file_extension(&ext);
            ctx.read_csv(abs.as_str(), opts).await.map_err(place)?
        }
        InputFormat::Parquet => ctx
            .read_parquet(
                abs.as_str(),
                ParquetReadOptions::default().file_extension(&ext),
            )
            .await
            .map_err(place)?,
    };
    let df = df
        .window(vec![row_number().alias("sg_row")])
        .map_err(place)?;
    let have: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut exprs = Vec::new();
    if format == InputFormat::SlsJson {
        let df = df
            .filter(binary_expr(
                datafusion::functions::string::expr_fn::btrim(vec![column("sg_line")]),
                Operator::NotEq,
                lit(""),
            ))
            .and_then(|d| {
                d.select(vec![
                    sls_udf().call(vec![column("sg_line")]).alias("sg_rec"),
                    column("sg_row"),
                ])
            })
            .map_err(place)?;
        for name in arg_names() {
            exprs.push(get_field(column("sg_rec"), name).alias(name));
        }
        exprs.push(lit(index as i64).alias("sg_file"));
        exprs.push(cast(column("sg_row"), DataType::Int64).alias("sg_row"));
        return df.select(exprs).map(Some).map_err(place);
    }
    for name in COLUMNS {
        let source = match (format, name) {
            (InputFormat::Aws, "eni-id") => "interface-id",
            _ => name,
        };
        let e = if have.iter().any(|h| h == source) {
            cast(col(Column::new_unqualified(source)), DataType::Utf8)
        } else {
            lit(ScalarValue::Utf8(None))
        };
        exprs.push(e.alias(name));
    }
    exprs.push(lit(ScalarValue::Utf8(None)).alias(ERROR));
    exprs.push(lit(index as i64).alias("sg_file"));
    exprs.push(cast(column("sg_row"), DataType::Int64).alias("sg_row"));
    df.select(exprs).map(Some).map_err(place)
}

/// The physical plan of a replay, ending in [`SessionFoldExec`] with `partitions`
/// partitions; `None` when no file holds a record.
pub async fn build(
    ctx: &SessionContext,
    job: &Job,
    partitions: usize,
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
) -> Result<Option<Arc<dyn ExecutionPlan>>, String> {
    let mut formats = Vec::new();
    let mut frame: Option<DataFrame> = None;
    for (i, path) in job.files.iter().enumerate() {
        let format = format_of(job, path)?;
        formats.push(format);
        let Some(df) = file_frame(ctx, i, path, format).await? else {
            continue;
        };
        frame = Some(match frame {
            None => df,
            Some(f) => f.union(df).map_err(|e| e.to_string())?,
        });
    }
    let Some(frame) = frame else {
        return Ok(None);
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
    let args: Vec<Expr> = arg_names().map(column).collect();
    let syn_only = binary_expr(
        binary_expr(
            try_cast(column("tcp-flags"), DataType::Int64),
            Operator::BitwiseAnd,
            lit(18i64),
        ),
        Operator::Eq,
        lit(2i64),
    );
    let mut computed: Vec<(Expr, &str)> = vec![
        (
            conn_udf(world.clone(), dialect).call(args.clone()),
            "sg_conn",
        ),
        (
            decide_udf("sg_decide", world.clone(), dialect).call(args.clone()),
            "sg_fresh",
        ),
        (try_cast(column("start"), DataType::Int64), "sg_start"),
        (
            when(syn_only, lit(0i64))
                .otherwise(lit(1i64))
                .map_err(|e| e.to_string())?,
            "sg_late",
        ),
    ];
    if let Some(new) = &against {
        computed.push((
            decide_udf("sg_decide_new", new.clone(), dialect).call(args),
            "sg_fresh_new",
        ));
    }
    // The functions run on every partition: the scans' rows (numbered) are dealt round
    // robin, then each record gets its connection and decisions, then the records are
    // repartitioned by connection and sorted within each partition.
    let dfschema = frame.schema().clone();
    let state = ctx.state();
    let fail = |e: datafusion::error::DataFusionError| e.to_string();
    let scans = frame.create_physical_plan().await.map_err(fail)?;
    // Fewer files than partitions: deal the rows round robin so every core decides (on
    // Ballista a stage of its own); otherwise each file's scan decides its own records.
    let dealt: Arc<dyn ExecutionPlan> = if job.files.len() < partitions {
        Arc::new(
            RepartitionExec::try_new(scans, Partitioning::RoundRobinBatch(partitions))
                .map_err(fail)?,
        )
    } else {
        scans
    };
    let input = dealt.schema();
    let mut exprs: Vec<ProjectionExpr> = Vec::new();
    for f in input.fields() {
        exprs.push((pcol(f.name(), &input).map_err(fail)?, f.name().clone()).into());
    }
    for (e, name) in computed {
        let pe = state.create_physical_expr(e, &dfschema).map_err(fail)?;
        exprs.push((pe, name.to_string()).into());
    }
    let projected: Arc<dyn ExecutionPlan> =
        Arc::new(ProjectionExec::try_new(exprs, dealt).map_err(fail)?);
    let schema = projected.schema();
    let by_conn: Arc<dyn ExecutionPlan> = Arc::new(
        RepartitionExec::try_new(
            projected,
            Partitioning::Hash(vec![pcol("sg_conn", &schema).map_err(fail)?], partitions),
        )
        .map_err(fail)?,
    );
    let mut keys = Vec::new();
    for k in ["sg_conn", "sg_start", "sg_late", "sg_file", "sg_row"] {
        keys.push(PhysicalSortExpr::new_default(
            pcol(k, &schema).map_err(fail)?,
        ));
    }
    let ordering = LexOrdering::new(keys).ok_or("no sort keys")?;
    let sorted: Arc<dyn ExecutionPlan> =
        Arc::new(SortExec::new(ordering, by_conn).with_preserve_partitioning(true));
    let params = FoldParams {
        world,
        against,
        dialect,
        files: job.files.clone(),
        formats,
        show: job.show,
    };
    Ok(Some(Arc::new(SessionFoldExec::new(
        sorted,
        Arc::new(params),
    ))))
}
