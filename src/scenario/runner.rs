//! Running a scenario: its steps in order on its own copy of the world, each packet step
//! decided by the reference evaluator and cross-checked by the compiled matcher.

use super::format::{load, Step};
use super::SCENARIO_TIME;
use crate::engine::compile::WorldMatcher;
use crate::engine::reference;
use crate::model::{Decision, Direction, Verdict, World};
use crate::packet::{format_packet, parse_packet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file.
    pub path: PathBuf,
    /// `None` when every step passed; else the failure, one line.
    pub failure: Option<String>,
    /// The number of steps that ran (all of them when it passed).
    pub steps_run: usize,
}

impl Outcome {
    /// Whether the scenario passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// A decision with its reason and the deciding rule's fields, for failure messages.
pub fn describe(world: &World, d: &Decision) -> String {
    let mut s = format!("{} by {}", d.verdict.as_str(), d.reason.kind());
    match &d.reason {
        crate::model::Reason::Rule { group, rule } => {
            let _ = write!(s, " {rule} of {group}");
            if let Some((_, r)) = world.rule(rule) {
                let _ = write!(s, " ({})", r.summary());
            }
        }
        crate::model::Reason::InnerAccess { group } => {
            let _ = write!(s, " of {group}");
        }
        crate::model::Reason::Default => {}
    }
    s
}

/// The compiled matcher a scenario keeps beside the reference: built at the first packet
/// step, and brought up to date with [`WorldMatcher::update`] after each call, as a
/// long-running user of the library would.
#[derive(Default)]
struct Compiled {
    matcher: Option<WorldMatcher>,
    stale: bool,
}

impl Compiled {
    /// The matcher for the world as it is now.
    fn current(&mut self, world: &World) -> Result<&WorldMatcher, String> {
        let fresh = match (&self.matcher, self.stale) {
            (Some(_), false) => None,
            (Some(old), true) => Some(old.update(world)),
            (None, _) => Some(WorldMatcher::compile(world)),
        };
        if let Some(m) = fresh {
            self.matcher = Some(m.map_err(|e| format!("compiled matcher: {e}"))?);
            self.stale = false;
        }
        self.matcher
            .as_ref()
            .ok_or_else(|| "compiled matcher: not built".to_string())
    }
}

fn run_packet_step(
    world: &World,
    step: &Step,
    text: &str,
    compiled: Option<&mut Compiled>,
) -> Result<(), String> {
    let packet = parse_packet(text).map_err(|e| format!("invalid packet `{text}`: {e}"))?;
    let direction = match step.direction.as_deref() {
        None => Direction::Ingress,
        Some(d) => Direction::parse(d)
            .ok_or_else(|| format!("`direction = \"{d}\"` is not ingress or egress"))?,
    };
    let d = reference::decide(world, &packet, step.to.as_deref(), direction)
        .map_err(|e| format!("packet `{}`: {e}", format_packet(&packet)))?;
    if let Some(compiled) = compiled {
        let m = compiled.current(world)?;
        let got = m.decide(&packet, step.to.as_deref(), direction);
        if let Some(msg) = crate::engine::compile::disagreement(&d, got) {
            return Err(format!(
                "packet `{}`: engines disagree: {msg}",
                format_packet(&packet)
            ));
        }
    }
    let found = || describe(world, &d);
    let mismatch = |what: &str, want: &str| {
        Err(format!(
            "packet `{}` ({direction}): expected {what}{want}, found {}",
            format_packet(&packet),
            found()
        ))
    };
    if let Some(want) = &step.expect {
        let verdict = match want.to_ascii_lowercase().as_str() {
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            other => {
                return Err(format!(
                    "`expect = \"{other}\"` on a packet step: use accept or drop"
                ))
            }
        };
        if d.verdict != verdict {
            return mismatch("", want);
        }
    }
    if let Some(want) = &step.expect_reason {
        if d.reason.kind() != want {
            return mismatch("reason ", want);
        }
    }
    if let Some(want) = &step.expect_rule {
        if d.reason.rule_id() != Some(want.as_str()) {
            return mismatch("rule ", want);
        }
    }
    if let Some(want) = &step.expect_group {
        if d.reason.group() != Some(want.as_str()) {
            return mismatch("group ", want);
        }
    }
    Ok(())
}

/// Whether `want` is a subset of `got`: every key of a table present with a matching value,
/// arrays element by element.
pub fn json_subset(want: &serde_json::Value, got: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (want, got) {
        (V::Object(w), V::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| json_subset(v, gv))),
        (V::Array(w), V::Array(g)) => {
            w.len() <= g.len() && w.iter().zip(g).all(|(a, b)| json_subset(a, b))
        }
        (V::String(w), V::Number(n)) => w == &n.to_string(),
        (V::Number(n), V::String(g)) => &n.to_string() == g,
        _ => want == got,
    }
}

fn run_call_step(world: &mut World, step: &Step, query: &str) -> Result<(), String> {
    let ctx = crate::api::CallContext {
        now: SCENARIO_TIME.to_string(),
    };
    let resp = crate::api::call(world, query, &ctx).map_err(|e| format!("call: {e}"))?;
    let got = match &resp.error {
        None => "ok".to_string(),
        Some(e) => format!("{} {} ({})", e.status, e.code, e.message),
    };
    if let Some(code) = &step.expect_error {
        match &resp.error {
            Some(e) if e.code.as_str() == code => {}
            _ => return Err(format!("call: expected error {code}, found {got}")),
        }
        if let Some(status) = step.expect_status {
            if resp.status != status {
                return Err(format!("call: expected status {status}, found {got}"));
            }
        }
    } else {
        let want = step.expect.as_deref().unwrap_or("ok");
        if want != "ok" {
            return Err(format!(
                "`expect = \"{want}\"` on a call step: use ok or expect_error"
            ));
        }
        if resp.error.is_some() {
            return Err(format!("call: expected ok, found {got}"));
        }
        if let Some(status) = step.expect_status {
            if resp.status != status {
                return Err(format!(
                    "call: expected status {status}, found {}",
                    resp.status
                ));
            }
        }
    }
    if let Some(want) = &step.expect_response {
        if !json_subset(want, &resp.body) {
            return Err(format!(
                "call: response {} does not contain {}",
                resp.body, want
            ));
        }
    }
    Ok(())
}

/// An allow-list step (SPEC §5): the whole accepted space from the source, exactly.
fn run_allow_step(world: &World, step: &Step, from: &str) -> Result<(), String> {
    let direction = match step.direction.as_deref() {
        None => Direction::Ingress,
        Some(d) => Direction::parse(d)
            .ok_or_else(|| format!("invalid direction `{d}`: use ingress or egress"))?,
    };
    let to = step.to.as_deref().unwrap_or_default();
    let broken = crate::analysis::allow::check(
        world,
        from,
        to,
        direction,
        step.expect_only.as_deref(),
        step.expect_all.as_deref(),
    )?;
    match broken {
        None => Ok(()),
        Some(b) => {
            let list = |l: &Option<Vec<String>>| l.as_deref().unwrap_or_default().join(", ");
            let (what, list) = if b.which == "only" {
                ("accepted outside expect_only", list(&step.expect_only))
            } else {
                (
                    "not accepted although in expect_all",
                    list(&step.expect_all),
                )
            };
            Err(format!(
                "allow-list from `{from}` to `{to}` ({direction}): packet `{}` is {what} [{list}]: {}",
                format_packet(&b.decision.packet),
                describe(world, &b.decision)
            ))
        }
    }
}

fn run_step(world: &mut World, step: &Step, compiled: Option<&mut Compiled>) -> Result<(), String> {
    let kinds = [
        step.call.is_some(),
        step.packet.is_some(),
        step.count_rules.is_some(),
        step.reachable_from.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(
            "a step needs exactly one of `call`, `packet`, `count_rules`, `reachable_from`".into(),
        );
    }
    step.check_keys()?;
    if let Some(q) = &step.call {
        if let Some(c) = compiled {
            c.stale = true;
        }
        return run_call_step(world, step, q);
    }
    if let Some(p) = &step.packet {
        return run_packet_step(world, step, p, compiled);
    }
    if let Some(from) = &step.reachable_from {
        return run_allow_step(world, step, from);
    }
    let gid = step.count_rules.as_deref().unwrap_or_default();
    let want = step
        .expect_count
        .ok_or("a `count_rules` step needs `expect_count`")?;
    let group = world
        .group(gid)
        .ok_or_else(|| format!("count_rules: no security group `{gid}`"))?;
    if group.rules.len() != want {
        return Err(format!(
            "count_rules `{gid}`: expected {want} rules, found {}",
            group.rules.len()
        ));
    }
    Ok(())
}

/// Runs a scenario file: loads it and runs its steps in order, stopping at the first failure.
/// Packet steps are decided by the reference evaluator and by the compiled matcher
/// (kept up to date across calls with [`WorldMatcher::update`]); a disagreement fails the
/// step.
pub fn run_file(path: &Path) -> Outcome {
    run_file_with(path, true)
}

/// [`run_file`], with the compiled matcher's cross-check of packet steps on or off.
pub fn run_file_with(path: &Path, cross_check: bool) -> Outcome {
    let mut scenario = match load(path) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                path: path.to_path_buf(),
                failure: Some(format!("cannot load: {e}")),
                steps_run: 0,
            }
        }
    };
    let mut compiled = cross_check.then(Compiled::default);
    for (i, step) in scenario.steps.iter().enumerate() {
        if let Err(e) = run_step(&mut scenario.world, step, compiled.as_mut()) {
            return Outcome {
                path: path.to_path_buf(),
                failure: Some(format!("step {}: {e}", i + 1)),
                steps_run: i + 1,
            };
        }
    }
    Outcome {
        path: path.to_path_buf(),
        failure: None,
        steps_run: scenario.steps.len(),
    }
}
