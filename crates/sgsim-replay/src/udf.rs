//! `sg_parse`, the registered vectorised function of the replay query: each row of the
//! input (a CSV, AWS or SLS JSON line, or a Parquet row's columns: Int64 number columns as
//! integers, see [`crate::typed`], the others as text) is parsed once
//! with the core's field parser and, when it is a record of a known ENI, given its
//! connection's hash. Its value is a struct: the connection's hash (the partitioning key),
//! `start` and SYN-only (sort keys), what the row is in each world (a record of a known ENI,
//! or skipped, unknown, malformed, blank) and the record packed into bytes (see
//! [`crate::packed`]), or the problem of a malformed record. Nothing is decided here: most
//! records fall inside a connection opened before them, so the fold
//! ([`crate::fold`]) decides only the records that open one.

use crate::packed::pack;
use crate::parse::{parse_json, parse_split, slot, Source, SLOTS};
use crate::typed::{parse_values, Value, INT_COLUMNS};
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Int32Builder, Int64Array, Int64Builder,
    StringArray, StructArray, UInt64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use sgsim::replay::record::{Dialect, Item};
use sgsim::replay::{ConnKey, Decider};
use std::sync::Arc;

/// The record columns (the §10 names): a Parquet file's columns, as text.
pub use sgsim::replay::record::COLUMNS;

/// The column of a text file's line (null for Parquet rows).
pub const LINE: &str = "sg_line";

/// The column of a row's place in the input: the file's index times 2^40 plus the row.
pub const SEQ: &str = "sg_seq";

/// The bits of [`SEQ`] that hold the row.
pub const ROW_BITS: u32 = 40;

/// The arguments that carry a Parquet file's Int64 columns (one per
/// [`INT_COLUMNS`], in that order; null for other files and columns).
pub const INT_ARGS: [&str; 8] = [
    "sg_int_srcport",
    "sg_int_dstport",
    "sg_int_protocol",
    "sg_int_start",
    "sg_int_end",
    "sg_int_packets",
    "sg_int_bytes",
    "sg_int_tcp_flags",
];

/// `sg_parse`'s arguments: [`SEQ`], [`LINE`], then [`COLUMNS`] (text), then [`INT_ARGS`].
pub fn arg_names() -> impl Iterator<Item = &'static str> {
    [SEQ, LINE].into_iter().chain(COLUMNS).chain(INT_ARGS)
}

/// A record of a known ENI: the fold decides it when its connection needs a decision.
pub const CODE_RECORD: i32 = 0;
/// A malformed record.
pub const CODE_BAD: i32 = -1;
/// The record is `log-status` other than `OK`.
pub const CODE_SKIPPED: i32 = -2;
/// The record names no ENI of the world.
pub const CODE_UNKNOWN: i32 = -3;
/// A blank line: not a record.
pub const CODE_BLANK: i32 = -5;

/// A world for the query: the decider and the world file's text (JSON), which is how the
/// world travels to Ballista's executors.
#[derive(Debug)]
pub struct Replayed {
    /// The compiled world.
    pub decider: Decider,
    /// The world as a JSON world file.
    pub text: String,
}

impl Replayed {
    /// Compiles a world.
    pub fn new(world: &sgsim::model::World) -> std::result::Result<Replayed, String> {
        let text = sgsim::world_file::to_string(world, sgsim::world_file::Format::Json)?;
        Ok(Replayed {
            decider: Decider::new(world)?,
            text,
        })
    }

    /// Compiles a world from its JSON world-file text (as [`Replayed::text`] holds it).
    pub fn from_text(text: &str) -> std::result::Result<Replayed, String> {
        let world = sgsim::world_file::load_str(
            text,
            sgsim::world_file::Format::Json,
            "the replayed world",
        )
        .map_err(|e| e.to_string())?;
        Replayed::new(&world)
    }
}

/// `sg_parse(sg_seq, sg_line, columns…)`: see the module's documentation.
#[derive(Debug)]
pub struct Parse {
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
    dialect: Dialect,
    sources: Vec<Source>,
    signature: Signature,
}

impl PartialEq for Parse {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Parse {}
impl std::hash::Hash for Parse {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self as *const Self as usize).hash(state)
    }
}

impl Parse {
    /// The world it decides in.
    pub fn world(&self) -> &Arc<Replayed> {
        &self.world
    }
    /// The changed world of a what-if.
    pub fn against(&self) -> Option<&Arc<Replayed>> {
        self.against.as_ref()
    }
    /// The records' dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
    /// How each file's rows are read, by the file's index.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
}

/// The `sg_parse` function.
pub fn parse_udf(
    world: Arc<Replayed>,
    against: Option<Arc<Replayed>>,
    dialect: Dialect,
    sources: Vec<Source>,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(Parse {
        world,
        against,
        dialect,
        sources,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

/// The fields of `sg_parse`'s struct: `conn` (the connection's hash, null unless a record
/// of a known ENI), `start`, `late` (false when SYN-only), `fresh` and `fresh_new` (the
/// row's code, `CODE_…`, in the two worlds), `rec` (the packed record, or a malformed record's
/// problem as text).
pub fn row_fields() -> Fields {
    Fields::from(vec![
        Field::new("conn", DataType::UInt64, true),
        Field::new("start", DataType::Int64, true),
        Field::new("late", DataType::Boolean, true),
        Field::new("fresh", DataType::Int32, false),
        Field::new("fresh_new", DataType::Int32, true),
        Field::new("rec", DataType::Binary, true),
    ])
}

/// An argument cast to the array type `T` of `ty` (Utf8: `StringArray`, Int64:
/// `Int64Array`).
fn cast_column<T: Array + Clone + 'static>(a: &ArrayRef, ty: &DataType) -> Result<T> {
    let s = cast(a, ty)?;
    s.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| DataFusionError::Internal(format!("cast to {ty}")))
}

fn value(col: &StringArray, i: usize) -> Option<&str> {
    (i < col.len() && col.is_valid(i)).then(|| col.value(i))
}

struct Out {
    conn: UInt64Builder,
    start: Int64Builder,
    late: BooleanBuilder,
    fresh: Int32Builder,
    fresh_new: Int32Builder,
    rec: BinaryBuilder,
    buf: Vec<u8>,
}

impl Out {
    fn other(&mut self, code: i32, message: Option<&str>) {
        self.conn.append_null();
        self.start.append_null();
        self.late.append_null();
        self.fresh.append_value(code);
        self.fresh_new.append_null();
        self.rec.append_option(message.map(str::as_bytes));
    }
}

impl ScalarUDFImpl for Parse {
    fn name(&self) -> &str {
        "sg_parse"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(row_fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let internal = |m: &str| DataFusionError::Internal(format!("sg_parse: {m}"));
        let seq = arrays
            .first()
            .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
            .ok_or_else(|| internal("no sg_seq"))?;
        let texts: Vec<StringArray> = arrays
            .iter()
            .skip(1)
            .take(1 + COLUMNS.len())
            .map(|a| cast_column::<StringArray>(a, &DataType::Utf8))
            .collect::<Result<_>>()?;
        let ints: Vec<Int64Array> = arrays
            .iter()
            .skip(2 + COLUMNS.len())
            .map(|a| cast_column::<Int64Array>(a, &DataType::Int64))
            .collect::<Result<_>>()?;
        // The Int64 argument of each slot, if it has one.
        let mut int_of = [None; SLOTS];
        for (k, name) in INT_COLUMNS.iter().enumerate() {
            if let Some(at) = slot(name).and_then(|s| int_of.get_mut(s)) {
                *at = ints.get(k);
            }
        }
        let line = texts.first().ok_or_else(|| internal("no sg_line"))?;
        let mut out = Out {
            conn: UInt64Builder::with_capacity(n),
            start: Int64Builder::with_capacity(n),
            late: BooleanBuilder::with_capacity(n),
            fresh: Int32Builder::with_capacity(n),
            fresh_new: Int32Builder::with_capacity(n),
            rec: BinaryBuilder::with_capacity(n, n * 56),
            buf: Vec::with_capacity(64),
        };
        for i in 0..n {
            let file = usize::try_from(seq.value(i) >> ROW_BITS).unwrap_or(usize::MAX);
            let parsed = match self.sources.get(file) {
                Some(Source::Csv(h)) => parse_split(value(line, i).unwrap_or(""), h, false),
                Some(Source::Aws(h)) => parse_split(value(line, i).unwrap_or(""), h, true),
                Some(Source::Json) => parse_json(value(line, i).unwrap_or("")),
                Some(Source::Columns) => Some(parse_values(
                    |slot| match texts.get(slot + 1).and_then(|c| value(c, i)) {
                        Some(t) => Some(Value::Text(t)),
                        None => int_of
                            .get(slot)
                            .copied()
                            .flatten()
                            .filter(|c| i < c.len() && c.is_valid(i))
                            .map(|c| Value::Int(c.value(i))),
                    },
                    self.dialect,
                )),
                None => return Err(internal("a row of no file")),
            };
            let r = match parsed {
                None => {
                    out.other(CODE_BLANK, None);
                    continue;
                }
                Some(Err(m)) => {
                    out.other(CODE_BAD, Some(&m));
                    continue;
                }
                Some(Ok(Item::Skipped)) => {
                    out.other(CODE_SKIPPED, None);
                    continue;
                }
                Some(Ok(Item::Record(r))) => r,
            };
            let Some(eni) = self.world.decider.eni(&r.eni) else {
                out.other(CODE_UNKNOWN, None);
                continue;
            };
            out.conn.append_value(ConnKey::of(eni, &r).stable_hash());
            out.start.append_value(r.start);
            out.late.append_value(!r.syn_only());
            out.fresh.append_value(CODE_RECORD);
            match &self.against {
                Some(new) => out.fresh_new.append_value(match new.decider.eni(&r.eni) {
                    Some(_) => CODE_RECORD,
                    None => CODE_UNKNOWN,
                }),
                None => out.fresh_new.append_null(),
            }
            out.buf.clear();
            pack(eni, &r, &mut out.buf);
            out.rec.append_value(&out.buf);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(out.conn.finish()),
            Arc::new(out.start.finish()),
            Arc::new(out.late.finish()),
            Arc::new(out.fresh.finish()),
            Arc::new(out.fresh_new.finish()),
            Arc::new(out.rec.finish()),
        ];
        let s = StructArray::try_new(row_fields(), columns, None)?;
        Ok(ColumnarValue::Array(Arc::new(s)))
    }
}
