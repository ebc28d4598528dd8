//! World files (SPEC §5): TOML or JSON, one schema, read whole and validated by the same
//! code path as the API ([`crate::api::permission`]), and written back by `sgsim call`.
//!
//! Decisions where the SPEC is silent (documented in `docs/decisions.md`): rules, groups and
//! prefix lists may carry a `create_time` (written back by `sgsim call` so it survives a
//! round trip); a prefix-list entry is a CIDR string or a table `{ cidr, description }`; every
//! ENI needs at least one group, as in the cloud.

mod edit;
mod raw;
pub mod reference;
mod write;

pub use crate::wire::snake_case;
pub use edit::{edit_text, Edited};
use raw::{from_value, RawEntry, RawGroup, RawRule};
pub(crate) use raw::{parse_doc, RawDoc};
pub use write::{rule_to_keys, to_string};

use crate::api::permission::{check_limits, validate_permission, ParamForm};
use crate::api::ApiError;
use crate::model::{
    canonical, parse_cidr, Direction, Family, GroupType, InnerAccessPolicy, Instance,
    NetworkInterface, PrefixList, PrefixListEntry, SecurityGroup, Vpc, World, DEFAULT_ACCOUNT,
    DEFAULT_REGION,
};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// The two encodings of a world file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.toml`
    Toml,
    /// `.json`
    Json,
}

impl Format {
    /// The format of a path, by its extension (`.json` or `.toml`).
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A world file that could not be loaded: where, and what is wrong. Displays as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldError {
    /// The file (or other origin) read.
    pub origin: String,
    /// 1-based line and column, where the parser knows them.
    pub position: Option<(usize, usize)>,
    /// The object and field concerned (`group `sg-web` rule 3 field `port_range``), if any.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The API error a rule failed with, when a rule check failed.
    pub api_error: Option<Box<ApiError>>,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.origin.clone();
        if let Some((l, c)) = self.position {
            s.push_str(&format!(":{l}:{c}"));
        }
        if let Some(ctx) = &self.context {
            s.push_str(&format!(": {ctx}"));
        }
        s.push_str(&format!(": {}", self.message));
        f.write_str(&one_line(&s))
    }
}

/// Escapes line breaks and other control characters so a message stays on one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl std::error::Error for WorldError {}

/// The most characters of an input that an error message quotes.
pub const QUOTE_LIMIT: usize = 200;

/// A piece of input as an error message quotes it: at most [`QUOTE_LIMIT`] characters, with
/// `…` and the full length in bytes when cut.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_LIMIT) {
        None => s.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

/// Loads and validates a world file; the format is chosen by the extension.
pub fn load(path: &Path) -> Result<World, WorldError> {
    let origin = path.display().to_string();
    let format = Format::of_path(path).ok_or_else(|| WorldError {
        origin: origin.clone(),
        position: None,
        context: None,
        message: "unknown world file extension: use `.toml` or `.json`".into(),
        api_error: None,
    })?;
    let text = read(path)?;
    load_str_in(&text, format, &origin, path.parent())
}

/// Loads a world file as [`load`] does, and returns the text read too (for
/// [`edit_text`], which writes changes back into it).
pub fn load_with_text(path: &Path) -> Result<(World, String), WorldError> {
    let origin = path.display().to_string();
    let format = Format::of_path(path).ok_or_else(|| WorldError {
        origin: origin.clone(),
        position: None,
        context: None,
        message: "unknown world file extension: use `.toml` or `.json`".into(),
        api_error: None,
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| WorldError {
        origin: origin.clone(),
        position: None,
        context: None,
        message: format!("cannot read: {}", io_reason(&e)),
        api_error: None,
    })?;
    let world = load_str_in(reference::strip_bom(&text), format, &origin, path.parent())?;
    Ok((world, text))
}

/// Reads a file to a string, with a one-line error naming it.
pub(crate) fn read(path: &Path) -> Result<String, WorldError> {
    std::fs::read_to_string(path)
        .map(|t| reference::strip_bom(&t).to_string())
        .map_err(|e| WorldError {
            origin: path.display().to_string(),
            position: None,
            context: None,
            message: format!("cannot read: {}", io_reason(&e)),
            api_error: None,
        })
}

/// A short, lower-case reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8 text".into(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}

/// Loads and validates a world from text. `origin` names it in errors.
pub fn load_str(text: &str, format: Format, origin: &str) -> Result<World, WorldError> {
    load_str_in(text, format, origin, None)
}

/// [`load_str`] with the folder that `{ import = "FILE.json" }` paths are relative to.
fn load_str_in(
    text: &str,
    format: Format,
    origin: &str,
    base: Option<&Path>,
) -> Result<World, WorldError> {
    let doc: RawDoc<serde::de::IgnoredAny> = parse_doc(text, format, origin)?;
    for (key, present) in [
        ("name", doc.name.is_some()),
        ("description", doc.description.is_some()),
        ("steps", doc.steps.is_some()),
        ("world", doc.world.is_some()),
    ] {
        if present {
            return Err(WorldError {
                origin: origin.to_string(),
                position: None,
                context: None,
                message: format!("unknown key `{key}` (only scenario files have it)"),
                api_error: None,
            });
        }
    }
    build_world(doc, origin, base)
}

/// Turns a parsed document into a validated world. `base` is the folder that imports are
/// relative to.
pub(crate) fn build_world<S>(
    doc: RawDoc<S>,
    origin: &str,
    base: Option<&Path>,
) -> Result<World, WorldError> {
    let err = |context: Option<String>, message: String| WorldError {
        origin: origin.to_string(),
        position: None,
        context,
        message,
        api_error: None,
    };
    let mut world = World {
        region_id: doc.region_id.unwrap_or_else(|| DEFAULT_REGION.to_string()),
        account_id: DEFAULT_ACCOUNT.to_string(),
        account_name: doc.account_name,
        limits: doc.limits.unwrap_or_default(),
        client_tokens: doc.client_tokens,
        ..World::default()
    };
    if let Some(a) = doc.account_id {
        let a = a.text();
        if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                None,
                format!("field `account_id`: `{a}` is not a string of digits"),
            ));
        }
        world.account_id = a;
    }
    if world.region_id.is_empty() {
        return Err(err(None, "field `region_id` is empty".into()));
    }
    let limits = world.limits;
    for (what, v) in [
        ("rules_per_group", limits.rules_per_group),
        ("rules_per_eni", limits.rules_per_eni),
        ("groups_per_eni", limits.groups_per_eni),
        ("permissions_per_request", limits.permissions_per_request),
        ("prefix_list_entries", limits.prefix_list_entries),
    ] {
        if v == 0 {
            return Err(err(
                Some("[limits]".into()),
                format!("`{what}` must be at least 1"),
            ));
        }
    }

    // Ids are unique across the whole world.
    let mut seen: HashSet<String> = HashSet::new();
    let mut claim = |id: &str, what: &str| -> Result<(), WorldError> {
        if id.is_empty() {
            return Err(err(None, format!("{what} with an empty `id`")));
        }
        if !seen.insert(id.to_string()) {
            return Err(err(None, format!("id `{id}` is used twice")));
        }
        Ok(())
    };

    for v in doc.vpcs {
        claim(&v.id, "vpc")?;
        world.vpcs.push(Vpc { id: v.id });
    }

    for p in doc.prefix_lists {
        claim(&p.id, "prefix list")?;
        let ctx = Some(format!("prefix list `{}`", p.id));
        let family = match p.address_family.as_deref() {
            None => Family::V4,
            Some(f) => Family::parse(f).ok_or_else(|| {
                err(
                    ctx.clone(),
                    format!("field `address_family`: `{f}` is not IPv4 or IPv6"),
                )
            })?,
        };
        // Without `max_entries`, the list holds just its entries (at least 1): a larger
        // default would charge rules that use the list for capacity nobody asked for.
        let max = p.max_entries.unwrap_or(p.entries.len().max(1) as i64);
        if max < 1 || max > i64::from(limits.prefix_list_entries) {
            return Err(err(
                ctx,
                format!(
                    "field `max_entries`: {max} is outside 1-{}",
                    limits.prefix_list_entries
                ),
            ));
        }
        let mut entries: Vec<PrefixListEntry> = Vec::new();
        for (i, e) in p.entries.iter().enumerate() {
            let (text, description) = match e {
                RawEntry::Cidr(c) => (c.as_str(), String::new()),
                RawEntry::Full { cidr, description } => (cidr.as_str(), description.clone()),
            };
            let ectx = Some(format!("prefix list `{}` entry {}", p.id, i + 1));
            let net = parse_cidr(text)
                .ok_or_else(|| err(ectx.clone(), format!("`{text}` is not a CIDR")))?;
            if Family::of_net(&net) != family {
                return Err(err(
                    ectx,
                    format!("`{text}` is not an {} CIDR", family.as_str()),
                ));
            }
            if canonical(net) != net {
                return Err(err(
                    ectx,
                    format!("`{text}` is not canonical (write `{}`)", canonical(net)),
                ));
            }
            if entries.iter().any(|x| x.cidr == net) {
                return Err(err(ectx, format!("`{text}` is listed twice")));
            }
            entries.push(PrefixListEntry {
                cidr: net,
                description,
            });
        }
        if entries.len() as i64 > max {
            return Err(err(
                ctx,
                format!("{} entries exceed `max_entries` = {max}", entries.len()),
            ));
        }
        world.prefix_lists.push(PrefixList {
            id: p.id.clone(),
            name: p.name.unwrap_or_default(),
            description: p.description.unwrap_or_default(),
            address_family: family,
            max_entries: max as u32,
            entries,
            create_time: p.create_time.unwrap_or_default(),
        });
    }

    // Groups first without rules, so rules can reference any group of the file.
    let mut raw_rules: Vec<Vec<RawRule>> = Vec::new();
    for (gi, value) in doc.security_groups.into_iter().enumerate() {
        let value = import_group(value, base)
            .map_err(|m| err(Some(format!("security group {}", gi + 1)), m))?;
        let label = value.get("id").and_then(|v| v.as_str()).map_or_else(
            || format!("security group {}", gi + 1),
            |id| format!("group `{id}`"),
        );
        if !value.is_object() {
            return Err(err(
                Some(format!("field `security_groups[{gi}]`")),
                "expected a table (a security group)".into(),
            ));
        }
        let g: RawGroup = from_value(value).map_err(|m| err(Some(label.clone()), m))?;
        let mut rules = Vec::with_capacity(g.rules.len());
        for (ri, rv) in g.rules.iter().enumerate() {
            let r: RawRule = from_value(rv.clone())
                .map_err(|m| err(Some(format!("{label} rule {}", ri + 1)), m))?;
            rules.push(r);
        }
        claim(&g.id, "security group")?;
        let ctx = Some(format!("group `{}`", g.id));
        let group_type = match g.group_type.as_deref() {
            None => GroupType::Normal,
            Some(t) => GroupType::parse(t).ok_or_else(|| {
                err(
                    ctx.clone(),
                    format!("field `type`: `{t}` is not normal or enterprise"),
                )
            })?,
        };
        if let Some(v) = &g.vpc_id {
            if !world.vpcs.iter().any(|x| &x.id == v) {
                return Err(err(
                    ctx,
                    format!("field `vpc_id`: `{v}` is not declared in `vpcs`"),
                ));
            }
        } else if group_type == GroupType::Enterprise {
            return Err(err(
                ctx,
                "an enterprise group needs a `vpc_id` (the classic network has none)".into(),
            ));
        }
        let inner = match g.inner_access_policy.as_deref() {
            None => match group_type {
                GroupType::Normal => InnerAccessPolicy::Accept,
                GroupType::Enterprise => InnerAccessPolicy::Drop,
            },
            Some(p) => InnerAccessPolicy::parse(p).ok_or_else(|| {
                err(
                    ctx.clone(),
                    format!("field `inner_access_policy`: `{p}` is not Accept or Drop"),
                )
            })?,
        };
        if group_type == GroupType::Enterprise && inner == InnerAccessPolicy::Accept {
            return Err(err(
                ctx,
                "field `inner_access_policy`: an enterprise group cannot have `Accept`".into(),
            ));
        }
        let owner_id = match &g.owner_id {
            None => world.account_id.clone(),
            Some(o) => {
                let o = o.text();
                if o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(
                        ctx,
                        format!("field `owner_id`: `{o}` is not a string of digits"),
                    ));
                }
                o
            }
        };
        let owner_account = g.owner_account.or_else(|| {
            (owner_id == world.account_id)
                .then(|| world.account_name.clone())
                .flatten()
        });
        world.security_groups.push(SecurityGroup {
            id: g.id,
            name: g.name.unwrap_or_default(),
            description: g.description.unwrap_or_default(),
            group_type,
            vpc_id: g.vpc_id,
            owner_id,
            owner_account,
            inner_access_policy: inner,
            service_managed: g.service_managed.unwrap_or(false),
            create_time: g.create_time.unwrap_or_default(),
            rules: Vec::new(),
        });
        raw_rules.push(rules);
    }

    for inst in doc.instances {
        claim(&inst.id, "instance")?;
        let ictx = format!("instance `{}`", inst.id);
        if let Some(v) = &inst.vpc_id {
            if !world.vpcs.iter().any(|x| &x.id == v) {
                return Err(err(
                    Some(ictx),
                    format!("field `vpc_id`: `{v}` is not declared in `vpcs`"),
                ));
            }
        }
        let public_ip = match &inst.public_ip {
            None => None,
            Some(t) => Some(match t.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => a,
                Ok(IpAddr::V6(_)) => {
                    return Err(err(
                        Some(ictx.clone()),
                        format!("field `public_ip`: `{t}` is an IPv6 address; a public IP is IPv4"),
                    ))
                }
                Err(_) => {
                    return Err(err(
                        Some(ictx.clone()),
                        format!("field `public_ip`: `{t}` is not an IP address"),
                    ))
                }
            }),
        };
        let primary = check_eni(
            &world,
            &ictx,
            inst.vpc_id.as_deref(),
            &inst.security_groups,
            &inst.private_ips,
            origin,
        )?;
        let mut enis = Vec::new();
        for n in inst.network_interfaces {
            claim(&n.id, "network interface")?;
            let ectx = format!("network interface `{}` of {ictx}", n.id);
            let ips = check_eni(
                &world,
                &ectx,
                inst.vpc_id.as_deref(),
                &n.security_groups,
                &n.private_ips,
                origin,
            )?;
            enis.push(NetworkInterface {
                id: n.id,
                security_groups: n.security_groups,
                private_ips: ips,
            });
        }
        world.instances.push(Instance {
            id: inst.id,
            vpc_id: inst.vpc_id,
            security_groups: inst.security_groups,
            private_ips: primary,
            public_ip,
            network_interfaces: enis,
        });
    }

    // Rule ids given in the file, then rules checked in file order as one-permission calls.
    for rules in &raw_rules {
        for r in rules {
            if let Some(id) = &r.id {
                claim(id, "rule")?;
            }
        }
    }
    let mut next_rule = seen
        .iter()
        .filter_map(|id| crate::model::numbered_id(id, "sgr-"))
        .max()
        .unwrap_or(0);
    for (gi, rules) in raw_rules.iter().enumerate() {
        for (ri, raw) in rules.iter().enumerate() {
            let group = &world.security_groups[gi];
            let ctx = format!("group `{}` rule {}", group.id, ri + 1);
            let direction = match raw.direction.as_deref() {
                None => return Err(err(Some(ctx), "field `direction` is missing".into())),
                Some(d) => Direction::parse(d).ok_or_else(|| {
                    err(
                        Some(ctx.clone()),
                        format!("field `direction`: `{d}` is not ingress or egress"),
                    )
                })?,
            };
            let fields = raw.api_fields();
            let mut rule = validate_permission(&world, group, direction, &fields, ParamForm::Flat)
                .map_err(|e| rule_error(origin, &ctx, &fields, e))?;
            if group.rules.iter().any(|x| x.same_identity(&rule)) {
                continue; // identical to an earlier rule: the earlier id is kept
            }
            rule.id = match &raw.id {
                Some(id) => id.clone(),
                None => {
                    next_rule = next_rule.checked_add(1).ok_or_else(|| {
                        err(
                            Some(ctx.clone()),
                            "no rule id is left to give this rule: give it an `id`".into(),
                        )
                    })?;
                    format!("sgr-{next_rule:012}")
                }
            };
            rule.create_time = raw.create_time.clone().unwrap_or_default();
            world.security_groups[gi].rules.push(rule);
        }
    }
    for gi in 0..world.security_groups.len() {
        let id = world.security_groups[gi].id.clone();
        check_limits(&world, &id).map_err(|e| WorldError {
            origin: origin.to_string(),
            position: None,
            context: Some(format!("group `{id}`")),
            message: format!("{} ({})", e.message, e.code),
            api_error: Some(Box::new(e)),
        })?;
    }
    Ok(world)
}

/// A rule that failed the API's permission checks, as a file error naming the field.
fn rule_error(
    origin: &str,
    ctx: &str,
    fields: &BTreeMap<String, String>,
    e: ApiError,
) -> WorldError {
    let context = match &e.param {
        Some(p) => {
            let value = fields
                .get(p)
                .map(|v| format!(" = `{v}`"))
                .unwrap_or_default();
            format!("{ctx} field `{}`{value}", snake_case(p))
        }
        None => ctx.to_string(),
    };
    WorldError {
        origin: origin.to_string(),
        position: None,
        context: Some(context),
        message: format!("{} ({})", e.message, e.code),
        api_error: Some(Box::new(e)),
    }
}

/// Checks one ENI's groups and addresses; returns its parsed private addresses.
fn check_eni(
    world: &World,
    ctx: &str,
    vpc: Option<&str>,
    groups: &[String],
    ips: &[String],
    origin: &str,
) -> Result<Vec<IpAddr>, WorldError> {
    let err = |message: String| WorldError {
        origin: origin.to_string(),
        position: None,
        context: Some(ctx.to_string()),
        message,
        api_error: None,
    };
    if groups.is_empty() {
        return Err(err(
            "field `security_groups`: a network interface needs at least one security group".into(),
        ));
    }
    if groups.len() as u64 > u64::from(world.limits.groups_per_eni) {
        return Err(err(format!(
            "field `security_groups`: {} groups exceed the limit of {} per network interface",
            groups.len(),
            world.limits.groups_per_eni
        )));
    }
    let mut types = HashSet::new();
    for (i, gid) in groups.iter().enumerate() {
        if groups[..i].contains(gid) {
            return Err(err(format!(
                "field `security_groups`: `{gid}` is listed twice"
            )));
        }
        let g = world.group(gid).ok_or_else(|| {
            err(format!(
                "field `security_groups`: no security group `{gid}`"
            ))
        })?;
        if g.vpc_id.as_deref() != vpc {
            let where_ = |v: Option<&str>| {
                v.map_or("the classic network".to_string(), |v| format!("VPC `{v}`"))
            };
            return Err(err(format!(
                "field `security_groups`: `{gid}` is in {} but the instance is in {}",
                where_(g.vpc_id.as_deref()),
                where_(vpc)
            )));
        }
        types.insert(g.group_type);
    }
    if types.len() > 1 {
        return Err(err(
            "field `security_groups`: basic and advanced groups cannot be mixed on one network interface".into(),
        ));
    }
    let mut out = Vec::new();
    for t in ips {
        let a = t
            .parse::<IpAddr>()
            .map_err(|_| err(format!("field `private_ips`: `{t}` is not an IP address")))?;
        if out.contains(&a) {
            return Err(err(format!("field `private_ips`: `{t}` is listed twice")));
        }
        out.push(a);
    }
    Ok(out)
}

thread_local! {
    /// Notes of the loads on this thread, for the user ([`take_load_notes`]).
    static LOAD_NOTES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the notes that loading world files on this thread left for the user (an imported
/// Describe response taken as a basic group, …), oldest first.
pub fn take_load_notes() -> Vec<String> {
    LOAD_NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// An imported response without a `type` beside it becomes a basic (`normal`) group: the
/// Describe answer does not say which type the group is, so the user is told.
fn note_basic(response: &serde_json::Value, what: &str) {
    if response.get("type").is_none() {
        let id = response
            .get("SecurityGroupId")
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        let note = format!(
            "group `{}` ({what}) is taken as a basic (normal) group: a Describe response does \
             not say the type; add `type = \"enterprise\"` beside it for an advanced group",
            quote(id)
        );
        LOAD_NOTES.with(|n| {
            let mut n = n.borrow_mut();
            if !n.contains(&note) {
                n.push(note);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Import (SPEC §5): a `DescribeSecurityGroupAttribute` response as a group. The conversion
// itself lives in `crate::api::import`; this is only the hook.

/// An element of `security_groups` that is a `DescribeSecurityGroupAttribute` response
/// (recognised by its `SecurityGroupId` key) or `{ import = "FILE.json", … }` naming one
/// (relative to `base`, the world file's folder) becomes a plain group element. Other keys
/// of an `import` element (`type`, `owner_id`, …) apply to the imported group. Any other
/// element is returned as it is.
fn import_group(
    value: serde_json::Value,
    base: Option<&Path>,
) -> Result<serde_json::Value, String> {
    use crate::api::import::{describe_to_group, PASS_THROUGH};
    let Some(obj) = value.as_object() else {
        return Ok(value);
    };
    if let Some(file) = obj.get("import") {
        let file = file
            .as_str()
            .ok_or("field `import`: must be the name of a JSON file")?;
        let path =
            reference::resolve_under(base, file).map_err(|m| format!("field `import`: {m}"))?;
        let shown = path.display();
        let text = reference::read_bounded(&path)
            .map_err(|m| format!("field `import`: cannot read `{shown}`: {m}"))?;
        if let Err((pos, m)) = raw::check_json_keys(&text) {
            let at = pos.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
            return Err(format!("field `import`: `{shown}{at}`: {m}"));
        }
        let mut response: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("field `import`: `{shown}` is not JSON: {e}"))?;
        if let serde_json::Value::Object(r) = &mut response {
            for (k, v) in obj {
                if k == "import" {
                    continue;
                }
                if !PASS_THROUGH.contains(&k.as_str()) {
                    return Err(format!("unknown key `{k}` beside `import`"));
                }
                r.insert(k.clone(), v.clone());
            }
        }
        note_basic(&response, &format!("import `{shown}`"));
        return describe_to_group(&response).map_err(|m| format!("import `{shown}`: {m}"));
    }
    if obj.contains_key("SecurityGroupId") {
        note_basic(&value, "an imported response");
        return describe_to_group(&value).map_err(|m| format!("imported response: {m}"));
    }
    Ok(value)
}
