//! Scenario files (SPEC §5): a world plus ordered steps — API calls, packets and rule counts
//! — each with its expectation. Used by `sgsim scenario run` and by the test suite.

use crate::engine::compile::WorldMatcher;
use crate::engine::reference;
use crate::model::{Decision, Direction, Verdict, World};
use crate::packet::{format_packet, parse_packet};
use crate::world_file::{self, build_world, parse_doc, Format};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The time scenario runs use for `CreateTime`.
pub const SCENARIO_TIME: &str = "2026-01-01T00:00:00Z";

/// One step as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// An API call in the RPC form.
    pub call: Option<String>,
    /// `ok` for a call; `accept`/`drop` for a packet.
    pub expect: Option<String>,
    /// The error code a call must fail with.
    pub expect_error: Option<String>,
    /// The HTTP status a failing call must have.
    pub expect_status: Option<u16>,
    /// A table that must be a subset of the call's response body.
    pub expect_response: Option<serde_json::Value>,
    /// A packet in SPEC notation.
    pub packet: Option<String>,
    /// The target: instance, ENI or group id.
    pub to: Option<String>,
    /// `ingress` (default) or `egress`.
    pub direction: Option<String>,
    /// `rule`, `inner-access` or `default`.
    pub expect_reason: Option<String>,
    /// The deciding rule's id.
    pub expect_rule: Option<String>,
    /// The group that decided.
    pub expect_group: Option<String>,
    /// A group whose rules are counted.
    pub count_rules: Option<String>,
    /// The expected number of rules.
    pub expect_count: Option<usize>,
}

impl Step {
    /// The keys this step sets, by name.
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut key = |name: &'static str, set: bool| {
            if set {
                keys.push(name);
            }
        };
        key("call", self.call.is_some());
        key("expect", self.expect.is_some());
        key("expect_error", self.expect_error.is_some());
        key("expect_status", self.expect_status.is_some());
        key("expect_response", self.expect_response.is_some());
        key("packet", self.packet.is_some());
        key("to", self.to.is_some());
        key("direction", self.direction.is_some());
        key("expect_reason", self.expect_reason.is_some());
        key("expect_rule", self.expect_rule.is_some());
        key("expect_group", self.expect_group.is_some());
        key("count_rules", self.count_rules.is_some());
        key("expect_count", self.expect_count.is_some());
        keys
    }

    /// Refuses keys that do not belong to the step's kind, and a packet step without
    /// `expect`, so that no step passes while checking nothing.
    fn check_keys(&self) -> Result<(), String> {
        let (kind, allowed): (&str, &[&str]) = if self.call.is_some() {
            (
                "a call",
                &[
                    "call",
                    "expect",
                    "expect_error",
                    "expect_status",
                    "expect_response",
                ],
            )
        } else if self.packet.is_some() {
            (
                "a packet",
                &[
                    "packet",
                    "expect",
                    "to",
                    "direction",
                    "expect_reason",
                    "expect_rule",
                    "expect_group",
                ],
            )
        } else {
            ("a count_rules", &["count_rules", "expect_count"])
        };
        if let Some(k) = self.keys().into_iter().find(|k| !allowed.contains(k)) {
            return Err(format!("`{k}` does not apply to {kind} step"));
        }
        if self.packet.is_some() && self.expect.is_none() {
            return Err("a packet step needs `expect = \"accept\"` or `\"drop\"`".into());
        }
        if self.call.is_some() && self.expect.is_some() && self.expect_error.is_some() {
            return Err("a call step takes `expect = \"ok\"` or `expect_error`, not both".into());
        }
        Ok(())
    }
}

/// A loaded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file.
    pub path: PathBuf,
    /// Its `name`, if any.
    pub name: Option<String>,
    /// Its `description`, if any.
    pub description: Option<String>,
    /// The world before the first step.
    pub world: World,
    /// The steps in order.
    pub steps: Vec<Step>,
}

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

/// Loads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let origin = path.display().to_string();
    let text = world_file::read(path).map_err(|e| e.to_string())?;
    let doc = parse_doc::<Step>(&text, Format::Toml, &origin).map_err(|e| e.to_string())?;
    let name = doc.name.clone();
    let description = doc.description.clone();
    let steps = doc.steps.clone().unwrap_or_default();
    let world = build_world(doc, &origin, path.parent()).map_err(|e| e.to_string())?;
    if steps.is_empty() {
        return Err(format!(
            "{origin}: a scenario needs at least one `[[steps]]`"
        ));
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description,
        world,
        steps,
    })
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
            "packet `{}` ({direction}): expected {what} {want}, found {}",
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
            return mismatch("reason", want);
        }
    }
    if let Some(want) = &step.expect_rule {
        if d.reason.rule_id() != Some(want.as_str()) {
            return mismatch("rule", want);
        }
    }
    if let Some(want) = &step.expect_group {
        if d.reason.group() != Some(want.as_str()) {
            return mismatch("group", want);
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

fn run_step(world: &mut World, step: &Step, compiled: Option<&mut Compiled>) -> Result<(), String> {
    let kinds = [
        step.call.is_some(),
        step.packet.is_some(),
        step.count_rules.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err("a step needs exactly one of `call`, `packet`, `count_rules`".into());
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

/// The scenario files under some paths: files as given, folders searched recursively for
/// `*.toml`, in byte order of path. A missing path is an error.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)
                .map_err(|e| format!("{}: {}", p.display(), world_file::io_reason(&e)))?;
            found.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            if found.is_empty() {
                return Err(format!(
                    "{}: no scenario files (`*.toml`) in this folder",
                    p.display()
                ));
            }
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// A JUnit XML report of outcomes.
pub fn junit(outcomes: &[Outcome]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuite name=\"sgsim scenarios\" tests=\"{}\" failures=\"{failures}\">",
        outcomes.len()
    );
    for o in outcomes {
        let name = esc(&o.path.display().to_string());
        match &o.failure {
            None => {
                let _ = writeln!(x, "  <testcase classname=\"scenario\" name=\"{name}\"/>");
            }
            Some(f) => {
                let _ = writeln!(
                    x,
                    "  <testcase classname=\"scenario\" name=\"{name}\">\n    <failure message=\"{}\"/>\n  </testcase>",
                    esc(f)
                );
            }
        }
    }
    x.push_str("</testsuite>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_step() -> Step {
        Step {
            packet: Some("tcp 10.0.0.1 -> 10.0.0.2:22".into()),
            expect: Some("drop".into()),
            ..Step::default()
        }
    }

    #[test]
    fn steps_that_would_check_nothing_are_refused() {
        assert!(packet_step().check_keys().is_ok());
        let no_expect = Step {
            expect: None,
            ..packet_step()
        };
        assert!(no_expect
            .check_keys()
            .unwrap_err()
            .contains("needs `expect"));
        let foreign = Step {
            expect_count: Some(3),
            ..packet_step()
        };
        assert!(foreign.check_keys().unwrap_err().contains("`expect_count`"));
        let call = Step {
            call: Some("Action=DescribeSecurityGroups".into()),
            expect_rule: Some("sgr-1".into()),
            ..Step::default()
        };
        assert!(call.check_keys().unwrap_err().contains("`expect_rule`"));
    }

    #[test]
    fn an_empty_folder_yields_an_error() {
        let dir = std::env::temp_dir().join(format!("sgsim-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = collect(std::slice::from_ref(&dir)).unwrap_err();
        assert!(e.contains("no scenario files"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
