//! The session pass over one sorted partition: records arrive ordered by connection,
//! `start`, SYN-only first and input order, and go through `sgsim::replay`'s session model.

use crate::udf::{arg_names, Columns, Replayed, CODE_BAD};
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, UInt64Array};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use sgsim::replay::record::{Dialect, Item, Record};
use sgsim::replay::report::Place;
use sgsim::replay::session::Fresh;
use sgsim::replay::{ConnKey, InputFormat, Session, Tally};
use std::collections::HashMap;

/// A partition's counts and its first malformed record (input place, message).
pub struct PartResult {
    /// The counts.
    pub tally: Tally,
    /// The first malformed record in input order, with its error.
    pub first_bad: Option<(u64, String)>,
}

/// The place of file `file`'s row `row` (1-based): CSV and AWS count the header as line 1.
pub fn place(files: &[String], formats: &[InputFormat], file: i64, row: i64) -> Place {
    let f = usize::try_from(file).unwrap_or(0);
    let row = u64::try_from(row).unwrap_or(0);
    let header = matches!(formats.get(f), Some(InputFormat::Csv | InputFormat::Aws));
    Place {
        file: files.get(f).cloned().unwrap_or_default(),
        line: row + u64::from(header),
        seq: ((f as u64) << 40) | row,
    }
}

fn fresh(w: &Replayed, code: i64, eni: usize, r: &Record) -> Fresh {
    match w.outcomes.get(code) {
        Some((v, reason)) => Fresh::Decided(*v, reason.clone()),
        None => w.decider.fresh(eni, r),
    }
}

fn int64<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, String> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| format!("the replay query lost its column {name}"))
}

/// Folds one partition.
#[allow(clippy::too_many_arguments)]
pub async fn fold(
    mut stream: SendableRecordBatchStream,
    world: &Replayed,
    against: Option<&Replayed>,
    dialect: Dialect,
    files: &[String],
    formats: &[InputFormat],
    show: usize,
) -> Result<PartResult, String> {
    let mut tally = Tally::new(show);
    let mut first_bad: Option<(u64, String)> = None;
    let mut current: Option<u64> = None;
    let mut sessions: HashMap<ConnKey, (Session, Session)> = HashMap::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        let cols: Vec<_> = arg_names()
            .map(|c| {
                batch
                    .column_by_name(c)
                    .cloned()
                    .ok_or_else(|| format!("the replay query lost its column {c}"))
            })
            .collect::<Result<_, _>>()?;
        let cols = Columns::new(&cols).map_err(|e| e.to_string())?;
        let file = int64(&batch, "sg_file")?;
        let row = int64(&batch, "sg_row")?;
        let code = int64(&batch, "sg_fresh")?;
        let code_new = match against {
            Some(_) => Some(int64(&batch, "sg_fresh_new")?),
            None => None,
        };
        let conn = batch
            .column_by_name("sg_conn")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or("the replay query lost its column sg_conn")?;
        for i in 0..batch.num_rows() {
            let p = place(files, formats, file.value(i), row.value(i));
            let r = match cols.item(i, dialect) {
                Err(m) => {
                    tally.add_bad();
                    if first_bad.as_ref().is_none_or(|(s, _)| p.seq < *s) {
                        first_bad = Some((p.seq, format!("{} line {}: {m}", p.file, p.line)));
                    }
                    continue;
                }
                Ok(Item::Skipped) => {
                    tally.add_skipped();
                    continue;
                }
                Ok(Item::Record(r)) => r,
            };
            let Some(eni) = world.decider.eni(&r.eni) else {
                tally.add_unknown();
                continue;
            };
            let c = code.value(i);
            debug_assert_ne!(c, CODE_BAD);
            let h = conn.is_valid(i).then(|| conn.value(i));
            if h != current {
                sessions.clear();
                current = h;
            }
            let key = ConnKey::of(eni, &r);
            let (s, s_new) = sessions.entry(key).or_default();
            let step = s.step(r.start, r.end, || fresh(world, c, eni, &r));
            tally.add(&p, &r, eni, &step);
            if let (Some(new), Some(codes)) = (against, code_new) {
                if let Some(eni2) = new.decider.eni(&r.eni) {
                    let c2 = codes.value(i);
                    let after = s_new.step(r.start, r.end, || fresh(new, c2, eni2, &r));
                    tally.compare(&p, &r, &step, &after);
                }
            }
        }
    }
    Ok(PartResult { tally, first_bad })
}
