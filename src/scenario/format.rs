//! The scenario file as written (SPEC §5): its steps, and its world, held inline or named
//! with `world = "PATH"`.

use crate::model::World;
use crate::world_file::{self, build_world, parse_doc, Format};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The top-level keys a scenario has besides the world's.
const SCENARIO_KEYS: [&str; 4] = ["name", "description", "steps", "world"];

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
    /// An allow-list step's source: `internet`, `any`, a CIDR or `sg-…`.
    pub reachable_from: Option<String>,
    /// The only services accepted from the source.
    pub expect_only: Option<Vec<String>>,
    /// Services every packet of which from the source is accepted.
    pub expect_all: Option<Vec<String>>,
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
        key("reachable_from", self.reachable_from.is_some());
        key("expect_only", self.expect_only.is_some());
        key("expect_all", self.expect_all.is_some());
        keys
    }

    /// Refuses keys that do not belong to the step's kind, and a packet step without
    /// `expect`, so that no step passes while checking nothing.
    pub(super) fn check_keys(&self) -> Result<(), String> {
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
        } else if self.reachable_from.is_some() {
            (
                "an allow-list",
                &[
                    "reachable_from",
                    "to",
                    "direction",
                    "expect_only",
                    "expect_all",
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
        if self.reachable_from.is_some() {
            if self.to.is_none() {
                return Err("an allow-list step needs `to`".into());
            }
            if self.expect_only.is_none() && self.expect_all.is_none() {
                return Err("an allow-list step needs `expect_only` or `expect_all`".into());
            }
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
    /// The world file it names (`world = "PATH"`, resolved against the scenario's folder);
    /// `None` when the scenario holds its world.
    pub world_file: Option<PathBuf>,
    /// The world before the first step: the scenario's own copy, even when it names a
    /// world file (the file is only read).
    pub world: World,
    /// The steps in order.
    pub steps: Vec<Step>,
}

/// Loads a scenario file, and the world file it names if it names one.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let origin = path.display().to_string();
    let text = world_file::read(path).map_err(|e| e.to_string())?;
    let doc = parse_doc::<Step>(&text, Format::Toml, &origin).map_err(|e| e.to_string())?;
    let name = doc.name.clone();
    let description = doc.description.clone();
    let steps = doc.steps.clone().unwrap_or_default();
    let (world_file, world) = match doc.world.clone() {
        Some(named) => {
            refuse_world_keys(&text, &origin, &named)?;
            let file = named_world_path(path, &named, &origin)?;
            let world =
                world_file::load(&file).map_err(|e| format!("{origin}: world `{named}`: {e}"))?;
            (Some(file), world)
        }
        None => (
            None,
            build_world(doc, &origin, path.parent()).map_err(|e| e.to_string())?,
        ),
    };
    if steps.is_empty() {
        return Err(format!(
            "{origin}: a scenario needs at least one `[[steps]]` (a shared world file \
             belongs in a `worlds` folder, which the runner skips)"
        ));
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description,
        world_file,
        world,
        steps,
    })
}

/// A scenario that names its world has no world keys of its own: the error names them all.
fn refuse_world_keys(text: &str, origin: &str, named: &str) -> Result<(), String> {
    // The text parsed already as a scenario, so it parses as a table too.
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| format!("{origin}: {}", world_file::one_line(e.message().trim())))?;
    let own: Vec<String> = table
        .keys()
        .filter(|k| !SCENARIO_KEYS.contains(&k.as_str()))
        .map(|k| format!("`{k}`"))
        .collect();
    if own.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{origin}: names its world (`world = \"{named}\"`) and also has world keys of its \
         own: {}; keep one or the other",
        own.join(", ")
    ))
}

/// The named world's path: relative to the scenario's folder, `.toml` or `.json`.
fn named_world_path(scenario: &Path, named: &str, origin: &str) -> Result<PathBuf, String> {
    if named.trim().is_empty() {
        return Err(format!(
            "{origin}: `world` is empty: name a `.toml` or `.json` world file"
        ));
    }
    let file = scenario.parent().unwrap_or(Path::new("")).join(named);
    if Format::of_path(&file).is_none() {
        return Err(format!(
            "{origin}: world `{named}`: not a world file: use a `.toml` or `.json` file"
        ));
    }
    // A referenced file is a regular file of bounded size (not a FIFO, not a device).
    if let Ok(meta) = std::fs::metadata(&file) {
        if !meta.is_file() {
            return Err(format!("{origin}: world `{named}`: not a regular file"));
        }
        if meta.len() > world_file::reference::MAX_REFERENCED {
            return Err(format!(
                "{origin}: world `{named}`: {} bytes is more than the 16 MiB a referenced file may have",
                meta.len()
            ));
        }
    }
    Ok(file)
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
}
