//! A partition's result as it leaves the fold stage: one JSON text per partition (the
//! counts, hits, replayed ENIs, the first disagreements and changes and the first malformed
//! record), so the stage's output is one small row per partition whether it ran on a local
//! core or on a Ballista executor.

use crate::fold::PartResult;
use serde_json::{json, Value};
use sgsim::model::{Direction, Reason, Verdict};
use sgsim::replay::report::{Change, ChangeCount, Disagreement, Hits, Place};
use sgsim::replay::{Record, Step, Tally};

fn reason_json(r: &Reason) -> Value {
    match r {
        Reason::Rule { group, rule } => json!(["rule", group, rule]),
        Reason::InnerAccess { group } => json!(["inner", group]),
        Reason::Default => json!(["default"]),
    }
}

fn reason_from(v: &Value) -> Option<Reason> {
    let a = v.as_array()?;
    let s = |i: usize| a.get(i).and_then(Value::as_str).map(str::to_string);
    Some(match s(0)?.as_str() {
        "rule" => Reason::Rule {
            group: s(1)?,
            rule: s(2)?,
        },
        "inner" => Reason::InnerAccess { group: s(1)? },
        "default" => Reason::Default,
        _ => return None,
    })
}

fn verdict_json(v: Verdict) -> bool {
    v == Verdict::Accept
}

fn verdict_from(v: &Value) -> Option<Verdict> {
    Some(if v.as_bool()? {
        Verdict::Accept
    } else {
        Verdict::Drop
    })
}

fn step_json(s: &Step) -> Value {
    match s {
        Step::New(v, r) => json!({"new": verdict_json(*v), "reason": reason_json(r)}),
        Step::Session(r) => json!({"session": reason_json(r)}),
        Step::NoTarget(m) => json!({"no_target": m}),
    }
}

fn step_from(v: &Value) -> Option<Step> {
    if let Some(m) = v.get("no_target") {
        return Some(Step::NoTarget(m.as_str()?.to_string()));
    }
    if let Some(r) = v.get("session") {
        return Some(Step::Session(reason_from(r)?));
    }
    Some(Step::New(
        verdict_from(v.get("new")?)?,
        reason_from(v.get("reason")?)?,
    ))
}

fn record_json(r: &Record) -> Value {
    json!([
        r.eni,
        r.src.to_string(),
        r.src_port,
        r.dst.to_string(),
        r.dst_port,
        r.protocol,
        r.direction.map(|d| d == Direction::Ingress),
        r.start,
        r.end,
        r.packets,
        r.bytes,
        verdict_json(r.action),
        r.tcp_flags,
    ])
}

fn record_from(v: &Value) -> Option<Record> {
    let a = v.as_array()?;
    let at = |i: usize| a.get(i);
    let u = |i: usize| at(i).and_then(Value::as_u64);
    let i = |i: usize| at(i).and_then(Value::as_i64);
    Some(Record {
        eni: at(0)?.as_str()?.to_string(),
        src: at(1)?.as_str()?.parse().ok()?,
        src_port: u16::try_from(u(2)?).ok()?,
        dst: at(3)?.as_str()?.parse().ok()?,
        dst_port: u16::try_from(u(4)?).ok()?,
        protocol: u8::try_from(u(5)?).ok()?,
        direction: match at(6)? {
            Value::Null => None,
            d => Some(if d.as_bool()? {
                Direction::Ingress
            } else {
                Direction::Egress
            }),
        },
        start: i(7)?,
        end: i(8)?,
        packets: u(9)?,
        bytes: u(10)?,
        action: verdict_from(at(11)?)?,
        tcp_flags: match at(12)? {
            Value::Null => None,
            f => Some(u16::try_from(f.as_u64()?).ok()?),
        },
    })
}

fn place_json(p: &Place) -> Value {
    json!([p.file, p.line, p.seq])
}

fn place_from(v: &Value) -> Option<Place> {
    let a = v.as_array()?;
    Some(Place {
        file: a.first()?.as_str()?.to_string(),
        line: a.get(1)?.as_u64()?,
        seq: a.get(2)?.as_u64()?,
    })
}

/// A partition's result as JSON text.
pub fn to_wire(p: &PartResult) -> String {
    let t = &p.tally;
    let v = json!({
        "counts": [t.records, t.skipped, t.unknown_eni, t.bad, t.unowned, t.decided,
                   t.agree, t.disagree, t.changed],
        "show": t.show,
        "rules": t.rules.iter().map(|(k, h)| json!([k, h.accepted, h.refused])).collect::<Vec<_>>(),
        "replayed": t.replayed.iter().collect::<Vec<_>>(),
        "change_rules": t.change_rules.iter()
            .map(|(k, c)| json!([k, c.broken, c.opened])).collect::<Vec<_>>(),
        "disagreements": t.disagreements.iter()
            .map(|d| json!([place_json(&d.place), record_json(&d.record), step_json(&d.step)]))
            .collect::<Vec<_>>(),
        "changes": t.changes.iter()
            .map(|c| json!([place_json(&c.place), record_json(&c.record),
                            step_json(&c.before), step_json(&c.after)]))
            .collect::<Vec<_>>(),
        "first_bad": p.first_bad.as_ref().map(|(s, m)| json!([s, m])),
    });
    v.to_string()
}

fn tally_from(v: &Value) -> Option<PartResult> {
    let c = v.get("counts")?.as_array()?;
    let n = |i: usize| c.get(i).and_then(Value::as_u64);
    let mut t = Tally::new(usize::try_from(v.get("show")?.as_u64()?).ok()?);
    t.records = n(0)?;
    t.skipped = n(1)?;
    t.unknown_eni = n(2)?;
    t.bad = n(3)?;
    t.unowned = n(4)?;
    t.decided = n(5)?;
    t.agree = n(6)?;
    t.disagree = n(7)?;
    t.changed = n(8)?;
    for r in v.get("rules")?.as_array()? {
        let a = r.as_array()?;
        t.rules.insert(
            a.first()?.as_str()?.to_string(),
            Hits {
                accepted: a.get(1)?.as_u64()?,
                refused: a.get(2)?.as_u64()?,
            },
        );
    }
    for e in v.get("replayed")?.as_array()? {
        t.replayed.insert(usize::try_from(e.as_u64()?).ok()?);
    }
    for r in v.get("change_rules")?.as_array()? {
        let a = r.as_array()?;
        t.change_rules.insert(
            a.first()?.as_str()?.to_string(),
            ChangeCount {
                broken: a.get(1)?.as_u64()?,
                opened: a.get(2)?.as_u64()?,
            },
        );
    }
    for d in v.get("disagreements")?.as_array()? {
        let a = d.as_array()?;
        t.disagreements.push(Disagreement {
            place: place_from(a.first()?)?,
            record: record_from(a.get(1)?)?,
            step: step_from(a.get(2)?)?,
        });
    }
    for d in v.get("changes")?.as_array()? {
        let a = d.as_array()?;
        t.changes.push(Change {
            place: place_from(a.first()?)?,
            record: record_from(a.get(1)?)?,
            before: step_from(a.get(2)?)?,
            after: step_from(a.get(3)?)?,
        });
    }
    let first_bad = match v.get("first_bad")? {
        Value::Null => None,
        b => {
            let a = b.as_array()?;
            Some((a.first()?.as_u64()?, a.get(1)?.as_str()?.to_string()))
        }
    };
    Some(PartResult {
        tally: t,
        first_bad,
    })
}

/// Reads a partition's result back.
pub fn from_wire(text: &str) -> Result<PartResult, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("a partition's result is not JSON: {e}"))?;
    tally_from(&v).ok_or_else(|| "a partition's result is malformed".to_string())
}
