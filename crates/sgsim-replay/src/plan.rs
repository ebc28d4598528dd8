//! The replay's physical plan, the same on local cores and on a Ballista cluster:
//!
//! 1. one scan per file with DataFusion's readers, each with its row numbers: CSV, AWS and
//!    SLS JSON lines through the CSV reader as one text column per line (`sg_line`; no
//!    byte of a line is taken as a delimiter or a quote), the header's row dropped; Parquet
//!    through the Parquet reader, its §10 columns cast to text but for Int64 number columns,
//!    which stay integers (see [`crate::typed`]);
//! 2. the numbered rows dealt round robin to every partition (when there are fewer files
//!    than partitions), where `sg_parse` parses each row once, gives a record its
//!    connection's hash and packs it;
//! 3. a hash repartition by the connection's hash (the shuffle: a connection's records
//!    meet in one partition), carrying six narrow columns;
//! 4. a sort within each partition by connection, `start`, SYN-only first and input order;
//! 5. [`SessionFoldExec`]: the session pass over each partition, which decides the records
//!    that open connections (in both worlds for a what-if), one row out per partition.

use crate::exec::{FoldParams, SessionFoldExec};
use crate::parse::{Header, Source};
use crate::typed::INT_COLUMNS;
use crate::udf::{parse_udf, Replayed, COLUMNS, INT_ARGS, LINE, ROW_BITS, SEQ};
use crate::Job;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{binary_expr, cast, col, lit, Expr, Operator};
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

/// The format of one input file: `--format`, or from its name.
pub(crate) fn format_of(job: &Job, path: &str) -> Result<InputFormat, String> {
    job.format
        .or_else(|| InputFormat::of_path(path))
        .ok_or_else(|| format!("{path}: cannot tell the format from the name: give --format"))
}

/// A CSV or AWS file's header as the core's reader takes it (the first line that is not
/// blank; names in lower case, `_` as `-`) and its row as the CSV reader numbers rows
/// (every non-empty line); `None` for a file with no header.
fn header(path: &str, format: InputFormat) -> Result<Option<(Header, u64)>, String> {
    let io = |e: std::io::Error| format!("{path}: {}", sgsim::world_file::io_reason(&e));
    let f = std::fs::File::open(path).map_err(io)?;
    let mut input = std::io::BufReader::new(f);
    let (mut lineno, mut row) = (0u64, 0u64);
    let mut line = String::new();
    let text = loop {
        line.clear();
        if input.read_line(&mut line).map_err(io)? == 0 {
            return Ok(None);
        }
        lineno += 1;
        let body = line.strip_suffix('\n').unwrap_or(&line);
        if !body.is_empty() {
            row += 1;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            break text.to_string();
        }
    };
    let fields: Vec<String> = if format == InputFormat::Csv {
        split_csv(&text).ok_or_else(|| format!("{path} line {lineno}: unterminated quote"))?
    } else {
        text.split_ascii_whitespace().map(str::to_string).collect()
    };
    let names: Vec<String> = fields
        .iter()
        .map(|f| f.trim().to_ascii_lowercase().replace('_', "-"))
        .collect();
    let need = if format == InputFormat::Aws {
        "interface-id"
    } else {
        "eni-id"
    };
    if !names.iter().any(|n| n == need) {
        return Err(format!(
            "{path} line {lineno}: the header names no `{need}` column"
        ));
    }
    Ok(Some((Header::new(names), row)))
}

/// One file's rows: [`SEQ`], [`LINE`], the [`COLUMNS`] (text; the line for text files,
/// the columns for Parquet, the others null) and the [`INT_ARGS`] (a Parquet file's Int64
/// number columns, the others null), and how `sg_parse` reads them; `None` for a
/// CSV or AWS file with no header.
async fn file_frame(
    ctx: &SessionContext,
    index: usize,
    path: &str,
    format: InputFormat,
) -> Result<Option<(DataFrame, Source)>, String> {
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
    let (df, source, skip) = match format {
        InputFormat::Csv | InputFormat::Aws | InputFormat::SlsJson => {
            let (source, skip) = match format {
                InputFormat::SlsJson => (Source::Json, 0),
                _ => {
                    let Some((h, row)) = header(path, format)? else {
                        return Ok(None);
                    };
                    let s = if format == InputFormat::Aws {
                        Source::Aws(h)
                    } else {
                        Source::Csv(h)
                    };
                    (s, row)
                }
            };
            // One text column per line: the delimiter and quote are bytes no line holds
            // (0x1f, 0x1e: not in JSON text, nor in flow-log fields), only `\n` ends a
            // line (a `\r` before it stays in the line, as the core's reader trims it).
            let schema = Schema::new(vec![Field::new(LINE, DataType::Utf8, true)]);
            let opts = CsvReadOptions::new()
                .has_header(false)
                .delimiter(0x1f)
                .quote(0x1e)
                .terminator(Some(b'\n'))
                .schema(&schema)
                .file_extension(&ext);
            let df = ctx.read_csv(abs.as_str(), opts).await.map_err(place)?;
            (df, source, skip)
        }
        InputFormat::Parquet => {
            let df = ctx
                .read_parquet(
                    abs.as_str(),
                    ParquetReadOptions::default().file_extension(&ext),
                )
                .await
                .map_err(place)?;
            (df, Source::Columns, 0)
        }
    };
    let df = df
        .window(vec![row_number().alias("sg_row")])
        .map_err(place)?;
    let df = if skip > 0 {
        df.filter(binary_expr(column("sg_row"), Operator::Gt, lit(skip)))
            .map_err(place)?
    } else {
        df
    };
    let have: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut exprs = Vec::new();
    exprs.push(
        binary_expr(
            cast(column("sg_row"), DataType::Int64),
            Operator::Plus,
            lit((index as i64) << ROW_BITS),
        )
        .alias(SEQ),
    );
    exprs.push(if source == Source::Columns {
        lit(ScalarValue::Utf8(None)).alias(LINE)
    } else {
        column(LINE)
    });
    // Parquet: an Int64 number column goes as it is (see `crate::typed`), any other column
    // as text.
    let int64 = |name: &str| {
        source == Source::Columns
            && df
                .schema()
                .field_with_unqualified_name(name)
                .is_ok_and(|f| f.data_type() == &DataType::Int64)
    };
    let source_name = |name: &'static str| match (format, name) {
        (InputFormat::Aws, "eni-id") => "interface-id",
        _ => name,
    };
    for name in COLUMNS {
        let from = source_name(name);
        let e = if source == Source::Columns
            && have.iter().any(|h| h == from)
            && !(INT_COLUMNS.contains(&name) && int64(from))
        {
            cast(col(Column::new_unqualified(from)), DataType::Utf8)
        } else {
            lit(ScalarValue::Utf8(None))
        };
        exprs.push(e.alias(name));
    }
    for (name, arg) in INT_COLUMNS.iter().zip(INT_ARGS) {
        let from = source_name(name);
        let e = if int64(from) {
            col(Column::new_unqualified(from))
        } else {
            lit(ScalarValue::Int64(None))
        };
        exprs.push(e.alias(arg));
    }
    let df = df.select(exprs).map_err(place)?;
    Ok(Some((df, source)))
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
    let mut sources = Vec::new();
    let mut frame: Option<DataFrame> = None;
    for (i, path) in job.files.iter().enumerate() {
        let format = format_of(job, path)?;
        formats.push(format);
        let Some((df, source)) = file_frame(ctx, i, path, format).await? else {
            sources.push(Source::Json);
            continue;
        };
        sources.push(source);
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
    let args: Vec<Expr> = crate::udf::arg_names().map(column).collect();
    let parse = parse_udf(world.clone(), against.clone(), dialect, sources).call(args);
    // The function runs on every partition: the scans' rows (numbered) are dealt round
    // robin, then each row is parsed and decided, then the records are repartitioned by
    // connection and sorted within each partition.
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
    let parsed: Arc<dyn ExecutionPlan> = Arc::new(
        ProjectionExec::try_new(
            vec![
                ProjectionExpr::from((pcol(SEQ, &input).map_err(fail)?, SEQ.to_string())),
                ProjectionExpr::from((
                    state.create_physical_expr(parse, &dfschema).map_err(fail)?,
                    "sg_p".to_string(),
                )),
            ],
            dealt,
        )
        .map_err(fail)?,
    );
    let parsed_schema = DFSchema::try_from(parsed.schema().as_ref().clone()).map_err(fail)?;
    let mut exprs: Vec<ProjectionExpr> = vec![ProjectionExpr::from((
        pcol(SEQ, &parsed.schema()).map_err(fail)?,
        SEQ.to_string(),
    ))];
    for (field, name) in [
        ("conn", "sg_conn"),
        ("start", "sg_start"),
        ("late", "sg_late"),
        ("fresh", "sg_fresh"),
        ("fresh_new", "sg_fresh_new"),
        ("rec", "sg_rec"),
    ] {
        let e = state
            .create_physical_expr(get_field(column("sg_p"), field), &parsed_schema)
            .map_err(fail)?;
        exprs.push((e, name.to_string()).into());
    }
    let projected: Arc<dyn ExecutionPlan> =
        Arc::new(ProjectionExec::try_new(exprs, parsed).map_err(fail)?);
    let schema = projected.schema();
    let by_conn: Arc<dyn ExecutionPlan> = Arc::new(
        RepartitionExec::try_new(
            projected,
            Partitioning::Hash(vec![pcol("sg_conn", &schema).map_err(fail)?], partitions),
        )
        .map_err(fail)?,
    );
    let mut keys = Vec::new();
    for k in ["sg_conn", "sg_start", "sg_late", SEQ] {
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
        files: job.files.clone(),
        show: job.show,
    };
    Ok(Some(Arc::new(SessionFoldExec::new(
        sorted,
        Arc::new(params),
    ))))
}
