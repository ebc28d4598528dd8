//! Counting a replay's outcomes and writing them: the summary, the disagreements, hits per
//! rule, the unused rules and, with a second world, the changes (SPEC §10 keys).

use super::decide::Decider;
use super::record::{action_word, Record};
use super::session::Step;
use crate::model::{Reason, Verdict};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Where a record came from: file, line and its place in the whole input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file as given.
    pub file: String,
    /// The line (row).
    pub line: u64,
    /// The place in the input (files in the order given, then lines).
    pub seq: u64,
}

/// Connections a rule decided: opened (accepted) and refused (dropped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hits {
    /// New connections the rule accepted.
    pub accepted: u64,
    /// New connections the rule dropped.
    pub refused: u64,
}

/// A record sgsim decides differently from the logged `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// Where it came from.
    pub place: Place,
    /// The record.
    pub record: Record,
    /// sgsim's outcome.
    pub step: Step,
}

/// A record whose decision differs between two worlds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where it came from.
    pub place: Place,
    /// The record.
    pub record: Record,
    /// The outcome in the world replayed.
    pub before: Step,
    /// The outcome in the changed world.
    pub after: Step,
}

/// Changed records counted for one rule: decisions it made that the change turned from
/// accept to drop (`broken`) or from drop to accept (`opened`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCount {
    /// Accepted before, dropped after.
    pub broken: u64,
    /// Dropped before, accepted after.
    pub opened: u64,
}

/// The counts of a replay; tallies of parts of the input merge into the whole.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Every input record.
    pub records: u64,
    /// `log-status` other than `OK`.
    pub skipped: u64,
    /// Naming no ENI or instance of the world.
    pub unknown_eni: u64,
    /// Malformed (with `--skip-bad`).
    pub bad: u64,
    /// New connections that could not be decided: the ENI does not own the local address.
    pub unowned: u64,
    /// Decided.
    pub decided: u64,
    /// Decided as logged.
    pub agree: u64,
    /// Decided otherwise than logged.
    pub disagree: u64,
    /// The first disagreements in input order (at most `show`).
    pub disagreements: Vec<Disagreement>,
    /// Hits per rule id.
    pub rules: BTreeMap<String, Hits>,
    /// ENIs (indexes) with a decided record.
    pub replayed: BTreeSet<usize>,
    /// Records whose decision differs in the second world.
    pub changed: u64,
    /// The first changes in input order (at most `show`).
    pub changes: Vec<Change>,
    /// Changed records per rule.
    pub change_rules: BTreeMap<String, ChangeCount>,
    /// How many disagreements and changes to keep.
    pub show: usize,
}

fn keep_first<T>(list: &mut Vec<T>, item: T, show: usize, seq: impl Fn(&T) -> u64) {
    if show == 0 {
        return;
    }
    if list.len() >= show && list.last().is_some_and(|l| seq(l) < seq(&item)) {
        return;
    }
    let at = list.partition_point(|l| seq(l) < seq(&item));
    list.insert(at, item);
    list.truncate(show);
}

impl Tally {
    /// An empty tally keeping `show` disagreements and changes.
    pub fn new(show: usize) -> Tally {
        Tally {
            show,
            ..Tally::default()
        }
    }

    /// Counts a record's outcome (`eni` is `Some` for a record of a known ENI).
    pub fn add(&mut self, place: &Place, record: &Record, eni: usize, step: &Step) {
        self.add_with(place.seq, record.action, eni, step, || {
            (place.clone(), record.clone())
        });
    }

    /// Counts a record's outcome as [`Tally::add`] does, given its place in the input
    /// (`seq`) and its logged `action`; `item` makes its place and record, called only
    /// when the record is kept as a disagreement.
    pub fn add_with(
        &mut self,
        seq: u64,
        action: Verdict,
        eni: usize,
        step: &Step,
        item: impl FnOnce() -> (Place, Record),
    ) {
        self.records += 1;
        let Some(verdict) = step.verdict() else {
            self.unowned += 1;
            return;
        };
        self.decided += 1;
        self.replayed.insert(eni);
        if let Step::New(v, Reason::Rule { rule, .. }) = step {
            match self.rules.get_mut(rule.as_str()) {
                Some(h) => match v {
                    Verdict::Accept => h.accepted += 1,
                    Verdict::Drop => h.refused += 1,
                },
                None => {
                    let mut h = Hits::default();
                    match v {
                        Verdict::Accept => h.accepted += 1,
                        Verdict::Drop => h.refused += 1,
                    }
                    self.rules.insert(rule.clone(), h);
                }
            }
        }
        if verdict == action {
            self.agree += 1;
        } else {
            self.disagree += 1;
            let show = self.show;
            let kept = show > 0
                && (self.disagreements.len() < show
                    || self.disagreements.last().is_some_and(|l| l.place.seq > seq));
            if kept {
                let (place, record) = item();
                keep_first(
                    &mut self.disagreements,
                    Disagreement {
                        place,
                        record,
                        step: step.clone(),
                    },
                    show,
                    |d| d.place.seq,
                );
            }
        }
    }

    /// Counts a record that was not decided: `skipped`, `unknown_eni` or `bad`.
    pub fn add_skipped(&mut self) {
        self.records += 1;
        self.skipped += 1;
    }

    /// Counts a record naming no ENI of the world.
    pub fn add_unknown(&mut self) {
        self.records += 1;
        self.unknown_eni += 1;
    }

    /// Counts a malformed record (with `--skip-bad`).
    pub fn add_bad(&mut self) {
        self.records += 1;
        self.bad += 1;
    }

    /// Compares a record's outcome in the two worlds; counts it when the verdict changed.
    pub fn compare(&mut self, place: &Place, record: &Record, before: &Step, after: &Step) {
        self.compare_with(place.seq, before, after, || (place.clone(), record.clone()));
    }

    /// Compares as [`Tally::compare`] does, given the record's place in the input (`seq`);
    /// `item` makes its place and record, called only when the change is kept.
    pub fn compare_with(
        &mut self,
        seq: u64,
        before: &Step,
        after: &Step,
        item: impl FnOnce() -> (Place, Record),
    ) {
        let (Some(b), Some(a)) = (before.verdict(), after.verdict()) else {
            if before.verdict() != after.verdict() {
                self.changed += 1;
                self.push_change(seq, before, after, item);
            }
            return;
        };
        if a == b {
            return;
        }
        self.changed += 1;
        let mut ids: Vec<&str> = Vec::new();
        for s in [before, after] {
            if let Some(r) = step_rule(s) {
                if !ids.contains(&r) {
                    ids.push(r);
                }
            }
        }
        for id in ids {
            let c = self.change_rules.entry(id.to_string()).or_default();
            if a == Verdict::Drop {
                c.broken += 1;
            } else {
                c.opened += 1;
            }
        }
        self.push_change(seq, before, after, item);
    }

    fn push_change(
        &mut self,
        seq: u64,
        before: &Step,
        after: &Step,
        item: impl FnOnce() -> (Place, Record),
    ) {
        let show = self.show;
        let kept = show > 0
            && (self.changes.len() < show
                || self.changes.last().is_some_and(|l| l.place.seq > seq));
        if !kept {
            return;
        }
        let (place, record) = item();
        keep_first(
            &mut self.changes,
            Change {
                place,
                record,
                before: before.clone(),
                after: after.clone(),
            },
            show,
            |c| c.place.seq,
        );
    }

    /// Rewrites the line of every kept disagreement and change (`line(place)`), as an
    /// engine that numbers rows rather than lines does once it knows the lines.
    pub fn relocate(&mut self, mut line: impl FnMut(&Place) -> u64) {
        for d in &mut self.disagreements {
            d.place.line = line(&d.place);
        }
        for c in &mut self.changes {
            c.place.line = line(&c.place);
        }
    }

    /// Adds another tally (of another part of the input) to this one.
    pub fn merge(&mut self, o: Tally) {
        self.records += o.records;
        self.skipped += o.skipped;
        self.unknown_eni += o.unknown_eni;
        self.bad += o.bad;
        self.unowned += o.unowned;
        self.decided += o.decided;
        self.agree += o.agree;
        self.disagree += o.disagree;
        self.changed += o.changed;
        let show = self.show;
        for d in o.disagreements {
            keep_first(&mut self.disagreements, d, show, |d| d.place.seq);
        }
        for c in o.changes {
            keep_first(&mut self.changes, c, show, |c| c.place.seq);
        }
        for (k, h) in o.rules {
            let e = self.rules.entry(k).or_default();
            e.accepted += h.accepted;
            e.refused += h.refused;
        }
        for (k, c) in o.change_rules {
            let e = self.change_rules.entry(k).or_default();
            e.broken += c.broken;
            e.opened += c.opened;
        }
        self.replayed.extend(o.replayed);
    }

    /// The rule ids of groups attached to a replayed ENI that decided no connection, in
    /// order and without repeats.
    pub fn unused(&self, decider: &Decider) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for &e in &self.replayed {
            for r in decider.eni_rules(e) {
                if !self.rules.contains_key(r) && seen.insert(r.to_string()) {
                    out.push(r.to_string());
                }
            }
        }
        out
    }
}

/// The rule a step names: the deciding rule, or the rule that opened its connection.
pub fn step_rule(s: &Step) -> Option<&str> {
    match s {
        Step::New(_, r) | Step::Session(r) => r.rule_id(),
        Step::NoTarget(_) => None,
    }
}

/// A step's `{decision, reason, rule}` (plus `group` and, for a session, `opened_by`).
pub fn step_json(s: &Step) -> Value {
    match s {
        Step::New(v, r) => json!({
            "decision": v.as_str(),
            "reason": r.kind(),
            "rule": r.rule_id(),
            "group": r.group(),
        }),
        Step::Session(r) => json!({
            "decision": "accept",
            "reason": "session",
            "rule": r.rule_id(),
            "group": r.group(),
            "opened_by": r.kind(),
        }),
        Step::NoTarget(m) => json!({
            "decision": null,
            "reason": "no-target",
            "rule": null,
            "message": m,
        }),
    }
}

/// A step in words: `accept (rule sgr-1 of sg-1)`, `accept (session opened by …)`.
pub fn step_text(s: &Step) -> String {
    fn why(r: &Reason) -> String {
        match r {
            Reason::Rule { group, rule } => format!("rule {rule} of {group}"),
            Reason::InnerAccess { group } => format!("inner access of {group}"),
            Reason::Default => "default".to_string(),
        }
    }
    match s {
        Step::New(v, r) => format!("{} ({})", v.as_str(), why(r)),
        Step::Session(r) => format!("accept (session opened by {})", why(r)),
        Step::NoTarget(m) => format!("undecided ({m})"),
    }
}

/// The report as one JSON object with the §10 keys; `what_if` adds `changed` and `changes`.
pub fn to_json(t: &Tally, decider: &Decider, what_if: bool) -> Value {
    let rules: serde_json::Map<String, Value> = t
        .rules
        .iter()
        .map(|(k, h)| {
            (
                k.clone(),
                json!({"accepted": h.accepted, "refused": h.refused}),
            )
        })
        .collect();
    let mut v = json!({
        "records": t.records,
        "skipped": t.skipped,
        "unknown_eni": t.unknown_eni,
        "bad": t.bad,
        "unowned": t.unowned,
        "decided": t.decided,
        "agree": t.agree,
        "disagree": t.disagree,
        "disagreements": t.disagreements.iter().map(|d| {
            let s = step_json(&d.step);
            json!({
                "file": d.place.file,
                "line": d.place.line,
                "record": d.record.to_json(),
                "logged": action_word(d.record.action),
                "decision": s.get("decision").cloned().unwrap_or_default(),
                "reason": s.get("reason").cloned().unwrap_or_default(),
                "rule": s.get("rule").cloned().unwrap_or_default(),
            })
        }).collect::<Vec<_>>(),
        "rules": rules,
        "unused": t.unused(decider),
    });
    if what_if {
        if let Value::Object(m) = &mut v {
            m.insert("changed".into(), t.changed.into());
            m.insert(
                "changes".into(),
                t.changes
                    .iter()
                    .map(|c| {
                        json!({
                            "file": c.place.file,
                            "line": c.place.line,
                            "record": c.record.to_json(),
                            "before": step_json(&c.before),
                            "after": step_json(&c.after),
                        })
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
            let per: serde_json::Map<String, Value> = t
                .change_rules
                .iter()
                .map(|(k, c)| (k.clone(), json!({"broken": c.broken, "opened": c.opened})))
                .collect();
            m.insert("changed_rules".into(), per.into());
        }
    }
    v
}

/// The report as text: a summary table, the disagreements, hits per rule, the unused rules
/// and, with a second world, the changes.
pub fn to_text(t: &Tally, decider: &Decider, what_if: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let rows = [
        ("records", t.records),
        ("skipped", t.skipped),
        ("unknown ENI", t.unknown_eni),
        ("bad", t.bad),
        ("unowned", t.unowned),
        ("decided", t.decided),
        ("agree", t.agree),
        ("disagree", t.disagree),
    ];
    for (k, n) in rows {
        let _ = writeln!(s, "{k:<12} {n:>12}");
    }
    if what_if {
        let _ = writeln!(s, "{:<12} {:>12}", "changed", t.changed);
    }
    if !t.disagreements.is_empty() {
        let _ = writeln!(s, "\ndisagreements (first {}):", t.disagreements.len());
        for d in &t.disagreements {
            let _ = writeln!(
                s,
                "  {}:{}: {}: logged {}, sgsim {}",
                d.place.file,
                d.place.line,
                d.record,
                action_word(d.record.action),
                step_text(&d.step)
            );
        }
    }
    if !t.rules.is_empty() {
        let _ = writeln!(s, "\n{:<24} {:>10} {:>10}", "rule", "accepted", "refused");
        for (k, h) in &t.rules {
            let _ = writeln!(s, "{k:<24} {:>10} {:>10}", h.accepted, h.refused);
        }
    }
    let unused = t.unused(decider);
    if !unused.is_empty() {
        let _ = writeln!(s, "\nunused rules: {}", unused.join(" "));
    }
    if what_if {
        if !t.change_rules.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<24} {:>10} {:>10}",
                "changed by rule", "broken", "opened"
            );
            for (k, c) in &t.change_rules {
                let _ = writeln!(s, "{k:<24} {:>10} {:>10}", c.broken, c.opened);
            }
        }
        if !t.changes.is_empty() {
            let _ = writeln!(s, "\nchanges (first {}):", t.changes.len());
            for c in &t.changes {
                let _ = writeln!(
                    s,
                    "  {}:{}: {}: {} -> {}",
                    c.place.file,
                    c.place.line,
                    c.record,
                    step_text(&c.before),
                    step_text(&c.after)
                );
            }
        }
    }
    s
}
