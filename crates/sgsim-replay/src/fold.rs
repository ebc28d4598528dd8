//! The session pass over one sorted partition: records arrive ordered by connection,
//! `start`, SYN-only first and input order, already parsed and decided by `sg_parse`, and
//! go through `sgsim::replay`'s session model.

use crate::packed::unpack;
use crate::udf::{Replayed, CODE_BAD, CODE_BLANK, CODE_SKIPPED, CODE_UNKNOWN, ROW_BITS, SEQ};
use datafusion::arrow::array::{
    Array, BinaryArray, Int32Array, Int64Array, RecordBatch, UInt64Array,
};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use sgsim::replay::record::Record;
use sgsim::replay::report::Place;
use sgsim::replay::session::Fresh;
use sgsim::replay::{ConnKey, Session, Tally};
use std::collections::HashMap;

/// A partition's counts and its first malformed record (input place, problem).
pub struct PartResult {
    /// The counts.
    pub tally: Tally,
    /// The first malformed record in input order: its place in the input (see
    /// [`crate::udf::SEQ`]) and its problem (without the place).
    pub first_bad: Option<(u64, String)>,
}

/// The place of the row with `seq` (file index and row, see [`crate::udf::SEQ`]), its line
/// still the row's number: [`crate::lines`] turns rows of text files into lines.
pub fn place(files: &[String], seq: u64) -> Place {
    let f = usize::try_from(seq >> ROW_BITS).unwrap_or(usize::MAX);
    Place {
        file: files.get(f).cloned().unwrap_or_default(),
        line: seq & ((1u64 << ROW_BITS) - 1),
        seq,
    }
}

fn fresh(w: &Replayed, code: i32, eni: usize, r: &Record) -> Fresh {
    match w.outcomes.get(code) {
        Some((v, reason)) => Fresh::Decided(*v, reason.clone()),
        None => w.decider.fresh(eni, r),
    }
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| format!("the replay query lost its column {name}"))
}

/// Folds one partition.
pub async fn fold(
    mut stream: SendableRecordBatchStream,
    world: &Replayed,
    against: Option<&Replayed>,
    files: &[String],
    show: usize,
) -> Result<PartResult, String> {
    let mut tally = Tally::new(show);
    let mut first_bad: Option<(u64, String)> = None;
    let mut current: Option<u64> = None;
    let mut sessions: HashMap<ConnKey, (Session, Session)> = HashMap::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        let seqs = column::<Int64Array>(&batch, SEQ)?;
        let code = column::<Int32Array>(&batch, "sg_fresh")?;
        let code_new = column::<Int32Array>(&batch, "sg_fresh_new")?;
        let conn = column::<UInt64Array>(&batch, "sg_conn")?;
        let rec = column::<BinaryArray>(&batch, "sg_rec")?;
        for i in 0..batch.num_rows() {
            let seq = u64::try_from(seqs.value(i)).unwrap_or(0);
            let c = code.value(i);
            match c {
                CODE_BLANK => continue,
                CODE_BAD => {
                    tally.add_bad();
                    if first_bad.as_ref().is_none_or(|(s, _)| seq < *s) {
                        let m = String::from_utf8_lossy(rec.value(i)).to_string();
                        first_bad = Some((seq, m));
                    }
                    continue;
                }
                CODE_SKIPPED => {
                    tally.add_skipped();
                    continue;
                }
                CODE_UNKNOWN => {
                    tally.add_unknown();
                    continue;
                }
                _ => {}
            }
            let (eni, r) = unpack(rec.value(i)).ok_or("the replay query garbled a record")?;
            let h = conn.is_valid(i).then(|| conn.value(i));
            if h != current {
                sessions.clear();
                current = h;
            }
            let named = |r: &Record| -> (Place, Record) {
                let mut r = r.clone();
                r.eni = world.decider.eni_id(eni).to_string();
                (place(files, seq), r)
            };
            let key = ConnKey::of(eni, &r);
            let (s, s_new) = sessions.entry(key).or_default();
            let step = s.step(r.start, r.end, || fresh(world, c, eni, &r));
            tally.add_with(seq, r.action, eni, &step, || named(&r));
            let Some(new) = against else {
                continue;
            };
            let c2 = code_new.value(i);
            if code_new.is_null(i) || c2 == CODE_UNKNOWN {
                continue;
            }
            let after = s_new.step(r.start, r.end, || {
                // The same ENI in the changed world (`sg_parse` found it there).
                let eni2 = new.decider.eni(world.decider.eni_id(eni)).unwrap_or(eni);
                fresh(new, c2, eni2, &r)
            });
            tally.compare_with(seq, &step, &after, || named(&r));
        }
    }
    Ok(PartResult { tally, first_bad })
}
