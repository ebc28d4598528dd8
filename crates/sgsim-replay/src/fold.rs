//! The session pass over one sorted partition: records arrive ordered by connection,
//! `start`, SYN-only first and input order, already parsed by `sg_parse`, and go through
//! `sgsim::replay`'s session model; a record is decided (§3) only when its connection has
//! nothing open, and each side of a connection once.

use crate::packed::unpack;
use crate::udf::{Replayed, CODE_BAD, CODE_RECORD, CODE_SKIPPED, CODE_UNKNOWN, ROW_BITS, SEQ};
use datafusion::arrow::array::{
    Array, BinaryArray, Int32Array, Int64Array, RecordBatch, UInt64Array,
};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use sgsim::model::{Direction, Verdict};
use sgsim::replay::record::Record;
use sgsim::replay::report::Place;
use sgsim::replay::session::Fresh;
use sgsim::replay::{ConnKey, Session, Step, Tally};
use std::borrow::Cow;

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

/// The decisions made for one connection, per side: its records are its two ends in
/// either order (`true`: the record's source is the key's first end) and direction, and a
/// new-connection decision depends on nothing else, so each side is decided once.
type Decided = Vec<((bool, Option<Direction>), Fresh)>;

/// A connection of the current hash: its key, and in each world its session, the step of
/// a record riding it while it is open, and the decisions made for it.
struct Conn {
    key: ConnKey,
    session: Session,
    session_new: Session,
    riding: Option<Step>,
    riding_new: Option<Step>,
    decided: Decided,
    decided_new: Decided,
}

/// The step of the next record of a connection: when it rides the open connection, that
/// connection's step, kept in `riding` (made once per opening, not for each record); else
/// [`Session::step`]'s.
fn advance<'a>(
    session: &mut Session,
    riding: &'a mut Option<Step>,
    start: i64,
    end: i64,
    decide: impl FnOnce() -> Fresh,
) -> Cow<'a, Step> {
    if let Some(reason) = session.ride(start, end) {
        return Cow::Borrowed(riding.get_or_insert_with(|| Step::Session(reason.clone())));
    }
    let s = session.step(start, end, decide);
    *riding = match &s {
        Step::New(Verdict::Accept, reason) => Some(Step::Session(reason.clone())),
        _ => None,
    };
    Cow::Owned(s)
}

/// The decision of `r`, a record of the connection `key` at `eni`, as a new connection in
/// `w`: made once per side (see [`Decided`]).
fn decide(decided: &mut Decided, key: &ConnKey, w: &Replayed, eni: usize, r: &Record) -> Fresh {
    let side = ((r.src, r.src_port) == key.a, r.direction);
    if let Some((_, f)) = decided.iter().find(|(s, _)| *s == side) {
        return f.clone();
    }
    let f = w.decider.fresh(eni, r);
    decided.push((side, f.clone()));
    f
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
    // The connections of the current hash (almost always one).
    let mut conns: Vec<Conn> = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        let seqs = column::<Int64Array>(&batch, SEQ)?;
        let code = column::<Int32Array>(&batch, "sg_fresh")?;
        let code_new = column::<Int32Array>(&batch, "sg_fresh_new")?;
        let conn = column::<UInt64Array>(&batch, "sg_conn")?;
        let rec = column::<BinaryArray>(&batch, "sg_rec")?;
        for i in 0..batch.num_rows() {
            let seq = u64::try_from(seqs.value(i)).unwrap_or(0);
            match code.value(i) {
                CODE_RECORD => {}
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
                _ => continue, // CODE_BLANK: not a record
            }
            let (eni, r) = unpack(rec.value(i)).ok_or("the replay query garbled a record")?;
            let h = conn.is_valid(i).then(|| conn.value(i));
            if h != current {
                conns.clear();
                current = h;
            }
            let named = |r: &Record| -> (Place, Record) {
                let mut r = r.clone();
                r.eni = world.decider.eni_id(eni).to_string();
                (place(files, seq), r)
            };
            let key = ConnKey::of(eni, &r);
            if !conns.iter().any(|c| c.key == key) {
                conns.push(Conn {
                    key,
                    session: Session::new(),
                    session_new: Session::new(),
                    riding: None,
                    riding_new: None,
                    decided: Vec::new(),
                    decided_new: Vec::new(),
                });
            }
            let Some(c) = conns.iter_mut().find(|c| c.key == key) else {
                continue;
            };
            let decided = &mut c.decided;
            let step = advance(&mut c.session, &mut c.riding, r.start, r.end, || {
                decide(decided, &key, world, eni, &r)
            });
            tally.add_with(seq, r.action, eni, &step, || named(&r));
            let Some(new) = against else {
                continue;
            };
            if code_new.is_null(i) || code_new.value(i) != CODE_RECORD {
                continue;
            }
            let decided_new = &mut c.decided_new;
            let after = advance(
                &mut c.session_new,
                &mut c.riding_new,
                r.start,
                r.end,
                || {
                    // The same ENI in the changed world (`sg_parse` found it there).
                    let eni2 = new.decider.eni(world.decider.eni_id(eni)).unwrap_or(eni);
                    decide(decided_new, &key, new, eni2, &r)
                },
            );
            tally.compare_with(seq, &step, &after, || named(&r));
        }
    }
    Ok(PartResult { tally, first_bad })
}
