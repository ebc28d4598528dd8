//! Ballista's extension codecs for the replay: how `sg_parse` (the registered function,
//! with its worlds and how each file's rows are read) and [`SessionFoldExec`] (the session pass)
//! travel from the client to the scheduler and on to the executors. Everything else is
//! left to Ballista's own codecs, which these wrap.
//!
//! A world travels as its JSON world-file text and is compiled once per process (a small
//! cache keyed by that text), not once per task.

use crate::exec::{FoldParams, SessionFoldExec};
use crate::parse::{Header, Source};
use crate::udf::{parse_udf, Parse, Replayed};
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde_json::{json, Value};
use sgsim::replay::record::Dialect;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Marks the bytes this codec wrote (anything else is Ballista's).
const MAGIC: &[u8] = b"sgsim-replay/1:";

fn err(m: impl Into<String>) -> DataFusionError {
    DataFusionError::Internal(format!("sgsim-replay codec: {}", m.into()))
}

/// A world compiled from its text, once per process.
fn world_of(text: &str) -> Result<Arc<Replayed>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Replayed>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(w) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
        return Ok(w);
    }
    let w = Arc::new(Replayed::from_text(text).map_err(err)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 16 {
            c.clear();
        }
        c.insert(text.to_string(), w.clone());
    }
    Ok(w)
}

fn dialect_word(d: Dialect) -> &'static str {
    match d {
        Dialect::Alibaba => "alibaba",
        Dialect::Aws => "aws",
    }
}

fn dialect_of(v: &Value) -> Result<Dialect> {
    match v.as_str() {
        Some("alibaba") => Ok(Dialect::Alibaba),
        Some("aws") => Ok(Dialect::Aws),
        _ => Err(err("no dialect")),
    }
}

fn write(buf: &mut Vec<u8>, v: &Value) {
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(v.to_string().as_bytes());
}

fn read(buf: &[u8]) -> Option<Result<Value>> {
    let body = buf.strip_prefix(MAGIC)?;
    Some(serde_json::from_slice(body).map_err(|e| err(e.to_string())))
}

fn source_json(s: &Source) -> Value {
    match s {
        Source::Csv(h) => json!({"csv": h.names}),
        Source::Aws(h) => json!({"aws": h.names}),
        Source::Json => json!("json"),
        Source::Columns => json!("columns"),
    }
}

fn source_from(v: &Value) -> Result<Source> {
    let names = |k: &str| -> Option<Vec<String>> {
        v.get(k)?
            .as_array()?
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect()
    };
    if let Some(n) = names("csv") {
        return Ok(Source::Csv(Header::new(n)));
    }
    if let Some(n) = names("aws") {
        return Ok(Source::Aws(Header::new(n)));
    }
    match v.as_str() {
        Some("json") => Ok(Source::Json),
        Some("columns") => Ok(Source::Columns),
        _ => Err(err("an unknown source")),
    }
}

fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> bool {
    let Some(p) = node.inner().downcast_ref::<Parse>() else {
        return false;
    };
    let v = json!({
        "fn": "parse",
        "world": p.world().text,
        "against": p.against().map(|a| a.text.clone()),
        "dialect": dialect_word(p.dialect()),
        "sources": p.sources().iter().map(source_json).collect::<Vec<_>>(),
    });
    write(buf, &v);
    true
}

fn decode_udf(v: &Value) -> Result<Arc<ScalarUDF>> {
    if v.get("fn").and_then(Value::as_str) != Some("parse") {
        return Err(err("an unknown function"));
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    let world = world_of(text("world").ok_or_else(|| err("a function without its world"))?)?;
    let against = match text("against") {
        Some(t) => Some(world_of(t)?),
        None => None,
    };
    let sources = v
        .get("sources")
        .and_then(Value::as_array)
        .ok_or_else(|| err("a function without its sources"))?
        .iter()
        .map(source_from)
        .collect::<Result<Vec<_>>>()?;
    let dialect = dialect_of(v.get("dialect").unwrap_or(&Value::Null))?;
    Ok(Arc::new(parse_udf(world, against, dialect, sources)))
}

fn encode_fold(f: &SessionFoldExec, buf: &mut Vec<u8>) {
    let p = f.params();
    let v = json!({
        "fold": 1,
        "world": p.world.text,
        "against": p.against.as_ref().map(|a| a.text.clone()),
        "files": p.files,
        "show": p.show,
    });
    write(buf, &v);
}

fn decode_fold(v: &Value, inputs: &[Arc<dyn ExecutionPlan>]) -> Result<Arc<dyn ExecutionPlan>> {
    let input = inputs
        .first()
        .cloned()
        .ok_or_else(|| err("SessionFoldExec without its input"))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    let world = world_of(text("world").ok_or_else(|| err("SessionFoldExec without a world"))?)?;
    let against = match text("against") {
        Some(t) => Some(world_of(t)?),
        None => None,
    };
    let strings = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let params = FoldParams {
        world,
        against,
        files: strings("files"),
        show: v
            .get("show")
            .and_then(Value::as_u64)
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(20),
    };
    Ok(Arc::new(SessionFoldExec::new(input, Arc::new(params))))
}

/// The physical codec: the replay's functions and operator, then Ballista's nodes.
#[derive(Debug, Default)]
pub struct ReplayPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for ReplayPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match read(buf) {
            Some(v) => decode_fold(&v?, inputs),
            None => self.inner.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(f) = (node.as_ref() as &dyn std::any::Any).downcast_ref::<SessionFoldExec>() {
            encode_fold(f, buf);
            return Ok(());
        }
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match read(buf) {
            Some(v) => decode_udf(&v?),
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf) {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }
}

/// The logical codec: the replay's functions, then Ballista's nodes (for a logical plan
/// sent to the scheduler, as `SessionContext::remote_with_state` does).
#[derive(Debug, Default)]
pub struct ReplayLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for ReplayLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match read(buf) {
            Some(v) => decode_udf(&v?),
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf) {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }
}
