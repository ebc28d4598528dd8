//! A replay in memory, one connection after another: the oracle the DataFusion engine is
//! tested against, and the reading of a whole input (tests, the generator's checks).

use super::decide::Decider;
use super::read::{InputFormat, ReadError, Reader};
use super::record::{Item, Record};
use super::report::{Place, Tally};
use super::session::{ConnKey, OrderKey, Session, Step};
use std::collections::HashMap;

/// One input record with where it came from; `item` is `None` for a malformed record
/// (read with `skip_bad`).
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it came from.
    pub place: Place,
    /// The record, or `Skipped`, or `None` when malformed.
    pub item: Option<Item>,
}

/// Reads whole files (in the order given) into memory; a malformed record is an error
/// unless `skip_bad`, then it is kept as `item: None`.
pub fn read_all(
    paths: &[String],
    format: Option<InputFormat>,
    skip_bad: bool,
) -> Result<Vec<Input>, ReadError> {
    let mut out = Vec::new();
    for path in paths {
        let f = format
            .or_else(|| InputFormat::of_path(path))
            .ok_or_else(|| ReadError {
                file: path.clone(),
                line: 0,
                field: None,
                message: "cannot tell the format from the name: give --format".into(),
            })?;
        for r in Reader::open(path, f)? {
            match r {
                Ok((line, item)) => out.push(Input {
                    place: Place {
                        file: path.clone(),
                        line,
                        seq: out.len() as u64,
                    },
                    item: Some(item),
                }),
                Err(e) if skip_bad && e.line > 0 => out.push(Input {
                    place: Place {
                        file: path.clone(),
                        line: e.line,
                        seq: out.len() as u64,
                    },
                    item: None,
                }),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

/// Replays records in memory: each record's outcome (`None` when skipped, unknown or bad),
/// in input order.
pub fn outcomes(decider: &Decider, inputs: &[Input]) -> Vec<Option<(usize, Step)>> {
    let mut conns: HashMap<ConnKey, Vec<(OrderKey, usize)>> = HashMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let Some(Item::Record(r)) = &input.item else {
            continue;
        };
        let Some(eni) = decider.eni(&r.eni) else {
            continue;
        };
        conns.entry(ConnKey::of(eni, r)).or_default().push((
            OrderKey {
                start: r.start,
                syn_only: r.syn_only(),
                seq: input.place.seq,
            },
            i,
        ));
    }
    let mut out: Vec<Option<(usize, Step)>> = vec![None; inputs.len()];
    for (key, mut recs) in conns {
        recs.sort_by_key(|(k, _)| *k);
        let mut s = Session::new();
        for (_, i) in recs {
            let Some(Item::Record(r)) = inputs.get(i).and_then(|x| x.item.as_ref()) else {
                continue;
            };
            let step = s.step(r.start, r.end, || decider.fresh(key.eni, r));
            if let Some(slot) = out.get_mut(i) {
                *slot = Some((key.eni, step));
            }
        }
    }
    out
}

/// Counts a replay of `inputs` (with `outcomes` from [`outcomes`]).
pub fn tally(
    decider: &Decider,
    inputs: &[Input],
    outcomes: &[Option<(usize, Step)>],
    show: usize,
) -> Tally {
    let mut t = Tally::new(show);
    for (input, o) in inputs.iter().zip(outcomes) {
        match (&input.item, o) {
            (None, _) => t.add_bad(),
            (Some(Item::Skipped), _) => t.add_skipped(),
            (Some(Item::Record(r)), Some((eni, step))) => t.add(&input.place, r, *eni, step),
            (Some(Item::Record(r)), None) => {
                if decider.eni(&r.eni).is_none() {
                    t.add_unknown();
                }
            }
        }
    }
    t
}

/// Replays `inputs` against one world and, given a second, compares the two.
pub fn replay(
    decider: &Decider,
    against: Option<&Decider>,
    inputs: &[Input],
    show: usize,
) -> Tally {
    let before = outcomes(decider, inputs);
    let mut t = tally(decider, inputs, &before, show);
    if let Some(new) = against {
        let after = outcomes(new, inputs);
        for ((input, b), a) in inputs.iter().zip(&before).zip(&after) {
            if let (Some(Item::Record(r)), Some((_, b)), Some((_, a))) = (&input.item, b, a) {
                t.compare(&input.place, r, b, a);
            }
        }
    }
    t
}

/// The records of `inputs` (for writers and generators).
pub fn records(inputs: &[Input]) -> impl Iterator<Item = &Record> {
    inputs.iter().filter_map(|i| match &i.item {
        Some(Item::Record(r)) => Some(r),
        _ => None,
    })
}
