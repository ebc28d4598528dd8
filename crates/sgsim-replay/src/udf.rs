//! The registered functions of the replay query: `sg_conn` (a connection's partitioning key)
//! and `sg_decide` (the §3 decision of a record as a new connection), both vectorised over
//! the record columns (every column read as text, as SLS stores it), and `sg_sls` (one SLS
//! JSON line split into those columns).

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Builder, StringArray, StringBuilder, StructArray, UInt64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use sgsim::model::{Reason, Verdict};
use sgsim::replay::record::{parse_fields, Dialect, Item, Record};
use sgsim::replay::session::Fresh;
use sgsim::replay::{ConnKey, Decider};
use std::collections::HashMap;
use std::sync::Arc;

/// The record columns the functions take, in order (the §10 names).
pub const COLUMNS: [&str; 14] = [
    "eni-id",
    "srcaddr",
    "srcport",
    "dstaddr",
    "dstport",
    "protocol",
    "direction",
    "start",
    "end",
    "packets",
    "bytes",
    "action",
    "log-status",
    "tcp-flags",
];

/// The column holding a record's whole-line error (an SLS line that is not a JSON object),
/// null when the line was read; it follows [`COLUMNS`] in the functions' arguments.
pub const ERROR: &str = "sg_error";

/// The functions' arguments: [`COLUMNS`] then [`ERROR`].
pub fn arg_names() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().copied().chain(std::iter::once(ERROR))
}

/// `sg_decide` codes that are not an index into the outcome table.
pub const CODE_BAD: i64 = -1;
/// The record is `log-status` other than `OK`.
pub const CODE_SKIPPED: i64 = -2;
/// The record names no ENI of the world.
pub const CODE_UNKNOWN: i64 = -3;
/// The ENI does not own the local address.
pub const CODE_NO_TARGET: i64 = -4;

/// Text views of the record columns of one batch ([`COLUMNS`] then [`ERROR`]).
pub struct Columns {
    cols: Vec<StringArray>,
}

impl Columns {
    /// Casts each column to text.
    pub fn new(arrays: &[ArrayRef]) -> Result<Columns> {
        let mut cols = Vec::with_capacity(arrays.len());
        for a in arrays {
            let s = cast(a, &DataType::Utf8)?;
            let s = s
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| DataFusionError::Internal("cast to Utf8".into()))?
                .clone();
            cols.push(s);
        }
        Ok(Columns { cols })
    }

    /// Row `i` parsed as a record (the reader's own field parsing).
    pub fn item(&self, i: usize, dialect: Dialect) -> std::result::Result<Item, String> {
        if let Some(e) = self.cols.get(COLUMNS.len()) {
            if i < e.len() && e.is_valid(i) {
                return Err(e.value(i).to_string());
            }
        }
        let get = |name: &str| -> Option<&str> {
            let key = match (dialect, name) {
                (Dialect::Aws, "interface-id") => "eni-id",
                _ => name,
            };
            let at = COLUMNS.iter().position(|c| *c == key)?;
            let col = self.cols.get(at)?;
            (i < col.len() && col.is_valid(i)).then(|| col.value(i))
        };
        parse_fields(get, dialect).map_err(|e| format!("field `{}`: {}", e.field, e.message))
    }
}

fn arrays(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args
        .iter()
        .map(|a| a.to_array(args.number_rows))
        .collect()
}

/// The outcome table of a world: every (verdict, reason) a new connection can get, so a
/// decision travels through the query as one integer.
#[derive(Debug)]
pub struct Outcomes {
    list: Vec<(Verdict, Reason)>,
    index: HashMap<(Verdict, Reason), i64>,
}

impl Outcomes {
    fn new(world: &sgsim::model::World) -> Outcomes {
        let mut list = vec![
            (Verdict::Accept, Reason::Default),
            (Verdict::Drop, Reason::Default),
        ];
        for g in &world.security_groups {
            list.push((
                Verdict::Accept,
                Reason::InnerAccess {
                    group: g.id.clone(),
                },
            ));
            for r in &g.rules {
                list.push((
                    r.policy.into(),
                    Reason::Rule {
                        group: g.id.clone(),
                        rule: r.id.clone(),
                    },
                ));
            }
        }
        let index = list
            .iter()
            .enumerate()
            .map(|(i, o)| (o.clone(), i as i64))
            .collect();
        Outcomes { list, index }
    }

    /// The outcome with a code.
    pub fn get(&self, code: i64) -> Option<&(Verdict, Reason)> {
        usize::try_from(code).ok().and_then(|i| self.list.get(i))
    }
}

/// A world for the query: the decider, its outcome table and the world file's text (JSON),
/// which is how the world travels to Ballista's executors.
#[derive(Debug)]
pub struct Replayed {
    /// The compiled world.
    pub decider: Decider,
    /// Its outcome table.
    pub outcomes: Outcomes,
    /// The world as a JSON world file.
    pub text: String,
}

impl Replayed {
    /// Compiles a world.
    pub fn new(world: &sgsim::model::World) -> std::result::Result<Replayed, String> {
        let text = sgsim::world_file::to_string(world, sgsim::world_file::Format::Json)?;
        Ok(Replayed {
            decider: Decider::new(world)?,
            outcomes: Outcomes::new(world),
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

    fn code(&self, r: &Record) -> i64 {
        let Some(eni) = self.decider.eni(&r.eni) else {
            return CODE_UNKNOWN;
        };
        match self.decider.fresh(eni, r) {
            Fresh::Decided(v, reason) => self
                .outcomes
                .index
                .get(&(v, reason))
                .copied()
                .unwrap_or(CODE_NO_TARGET),
            Fresh::NoTarget(_) => CODE_NO_TARGET,
        }
    }
}

/// `sg_decide(columns…)`: the record's decision code as a new connection.
#[derive(Debug)]
pub struct Decide {
    name: String,
    world: Arc<Replayed>,
    dialect: Dialect,
    signature: Signature,
}

/// `sg_conn(columns…)`: the stable hash of the record's connection (null when the record
/// is bad, skipped or of an unknown ENI).
#[derive(Debug)]
pub struct Conn {
    world: Arc<Replayed>,
    dialect: Dialect,
    signature: Signature,
}

macro_rules! identity_eq {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                std::ptr::eq(self, other)
            }
        }
        impl Eq for $t {}
        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                (self as *const Self as usize).hash(state)
            }
        }
    };
}
identity_eq!(Decide);
identity_eq!(Conn);
identity_eq!(Sls);

impl Decide {
    /// The world it decides in.
    pub fn world(&self) -> &Arc<Replayed> {
        &self.world
    }
    /// The records' dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

impl Conn {
    /// The world whose ENIs it resolves.
    pub fn world(&self) -> &Arc<Replayed> {
        &self.world
    }
    /// The records' dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// The `sg_decide` function for a world, registered under `name`.
pub fn decide_udf(name: &str, world: Arc<Replayed>, dialect: Dialect) -> ScalarUDF {
    ScalarUDF::new_from_impl(Decide {
        name: name.to_string(),
        world,
        dialect,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

/// The `sg_conn` function for a world.
pub fn conn_udf(world: Arc<Replayed>, dialect: Dialect) -> ScalarUDF {
    ScalarUDF::new_from_impl(Conn {
        world,
        dialect,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

impl ScalarUDFImpl for Decide {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let cols = Columns::new(&arrays(&args)?)?;
        let mut out = Int64Builder::with_capacity(n);
        for i in 0..n {
            out.append_value(match cols.item(i, self.dialect) {
                Err(_) => CODE_BAD,
                Ok(Item::Skipped) => CODE_SKIPPED,
                Ok(Item::Record(r)) => self.world.code(&r),
            });
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl ScalarUDFImpl for Conn {
    fn name(&self) -> &str {
        "sg_conn"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let cols = Columns::new(&arrays(&args)?)?;
        let mut out = UInt64Builder::with_capacity(n);
        for i in 0..n {
            match cols.item(i, self.dialect) {
                Ok(Item::Record(r)) => match self.world.decider.eni(&r.eni) {
                    Some(eni) => out.append_value(ConnKey::of(eni, &r).stable_hash()),
                    None => out.append_null(),
                },
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `sg_sls(line)`: one SLS JSON line as a struct of the [`COLUMNS`] (text; numbers through
/// their text, as the core's reader takes them) and [`ERROR`] (why the line is not a
/// record, null otherwise).
#[derive(Debug)]
pub struct Sls {
    signature: Signature,
}

/// The `sg_sls` function.
pub fn sls_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Sls {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

fn sls_fields() -> Fields {
    arg_names()
        .map(|n| Field::new(n, DataType::Utf8, true))
        .collect()
}

/// Splits one SLS line into its fields' texts, or says why it cannot.
fn sls_line(line: &str) -> std::result::Result<Vec<Option<String>>, String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err("not a JSON object".into());
    };
    let mut out = vec![None; COLUMNS.len()];
    for (slot, name) in out.iter_mut().zip(COLUMNS) {
        *slot = match map.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(format!("field `{name}`: not a string or number")),
        };
    }
    Ok(out)
}

impl ScalarUDFImpl for Sls {
    fn name(&self) -> &str {
        "sg_sls"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(sls_fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = arrays(&args)?;
        let line = arrays
            .first()
            .ok_or_else(|| DataFusionError::Internal("sg_sls takes the line".into()))?;
        let line = cast(line, &DataType::Utf8)?;
        let line = line
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| DataFusionError::Internal("cast to Utf8".into()))?;
        let mut builders: Vec<StringBuilder> = arg_names()
            .map(|_| StringBuilder::with_capacity(n, n * 8))
            .collect();
        for i in 0..n {
            let text = if i < line.len() && line.is_valid(i) {
                line.value(i)
            } else {
                ""
            };
            match sls_line(text) {
                Ok(values) => {
                    for (b, v) in builders
                        .iter_mut()
                        .zip(values.iter().map(Some).chain([None]))
                    {
                        b.append_option(v.and_then(|v| v.as_deref()));
                    }
                }
                Err(m) => {
                    let last = builders.len().saturating_sub(1);
                    for (k, b) in builders.iter_mut().enumerate() {
                        if k == last {
                            b.append_value(&m);
                        } else {
                            b.append_null();
                        }
                    }
                }
            }
        }
        let columns: Vec<ArrayRef> = builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let out = StructArray::try_new(sls_fields(), columns, None)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
