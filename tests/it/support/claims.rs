//! Every witness printed, re-decided by the reference evaluator, must show what its row
//! claims (SPEC §8's invariant).
#![allow(dead_code)]

use sgsim::analysis::audit::Row as AuditRow;
use sgsim::analysis::diff::Row as DiffRow;
use sgsim::analysis::lint::Finding;
use sgsim::engine::reference;
use sgsim::model::{Decision, Direction, Verdict, World};

fn decide(
    world: &World,
    f_target: &str,
    w: &sgsim::model::Packet,
    d: Direction,
) -> Result<Decision, String> {
    reference::decide(world, w, Some(f_target), d).map_err(|e| format!("{w:?} at {f_target}: {e}"))
}

fn decider(d: &Decision) -> String {
    d.reason
        .rule_id()
        .or(d.reason.group())
        .unwrap_or("default")
        .to_string()
}

/// Checks the witness of every lint finding, for every target it lists (a merged finding
/// carries one witness per target).
pub fn check_findings(world: &World, findings: &[Finding]) -> Result<(), String> {
    for f in findings {
        if f.witnesses.len() != f.targets.len() {
            return Err(format!("finding without one witness per target: {f:?}"));
        }
        if f.witnesses.first().copied().flatten() != f.witness {
            return Err(format!("first witness is not the finding's witness: {f:?}"));
        }
        for (target, w) in f.targets.iter().zip(f.witnesses.iter()) {
            check_witness(world, f, target, w.as_ref())?;
        }
    }
    Ok(())
}

fn check_witness(
    world: &World,
    f: &Finding,
    target: &str,
    w: Option<&sgsim::model::Packet>,
) -> Result<(), String> {
    let (Some(w), Some(direction)) = (w, f.direction) else {
        if matches!(
            f.kind,
            "shadowed" | "redundant" | "tie-overlap" | "exposure"
        ) {
            return Err(format!(
                "{} finding without a witness for {target}: {f:?}",
                f.kind
            ));
        }
        return Ok(());
    };
    let d = decide(world, target, w, direction)?;
    let by = decider(&d);
    let rule = f.rule.clone().unwrap_or_default();
    let ok = match f.kind {
        "shadowed" | "tie-overlap" => f.covering.contains(&by),
        "redundant" => by == rule,
        "exposure" => d.verdict == Verdict::Accept && (f.rule.is_none() || by == rule),
        _ => true,
    };
    if !ok {
        return Err(format!("witness {w:?} of {f:?} for {target} decided {d:?}"));
    }
    // A shadowed or tie-overlap witness must be matched by the rule itself.
    if matches!(f.kind, "shadowed" | "tie-overlap" | "redundant") {
        let t = reference::resolve_target(world, w, Some(target), direction)
            .map_err(|e| e.to_string())?;
        let (g, r) = world
            .rule(&rule)
            .ok_or("rule of a finding not in the world")?;
        if !reference::rule_matches(world, g, r, w, direction, &t) {
            return Err(format!(
                "witness {w:?} of {f:?} for {target} is not matched by its rule"
            ));
        }
    }
    Ok(())
}

/// Checks the witness of every audit row: accepted, by the row's reason and rule.
pub fn check_audit(world: &World, rows: &[AuditRow]) -> Result<(), String> {
    for r in rows {
        let d = decide(world, &r.target, &r.witness, r.direction)?;
        let claimed = r.rule.clone().unwrap_or_else(|| "default".into());
        if d.verdict != Verdict::Accept || d.reason.kind() != r.reason || decider(&d) != claimed {
            return Err(format!("witness of {r:?} decided {d:?}"));
        }
    }
    Ok(())
}

/// Checks the witness of every diff row: decided in OLD as `before`, in NEW as `after`.
pub fn check_diff(old: &World, new: &World, rows: &[DiffRow]) -> Result<(), String> {
    for r in rows {
        let w = r.witness.ok_or("diff row without witness")?;
        for (world, side) in [(old, &r.before), (new, &r.after)] {
            let got = reference::decide(world, &w, Some(&r.target), r.direction);
            match (got, side) {
                (Ok(d), Some(s)) => {
                    let claimed = s.rule.clone().unwrap_or_else(|| "default".into());
                    if d.verdict != s.decision
                        || d.reason.kind() != s.reason
                        || decider(&d) != claimed
                    {
                        return Err(format!("witness of {r:?} decided {d:?}"));
                    }
                }
                (Err(_), None) => {}
                (got, side) => return Err(format!("witness of {r:?}: {got:?} against {side:?}")),
            }
        }
    }
    Ok(())
}
