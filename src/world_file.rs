//! World files (SPEC §5): TOML or JSON, one schema, read whole and validated by the same
//! code path as the API ([`crate::api::permission`]), and written back by `sgsim call`.
//!
//! Decisions where the SPEC is silent (documented in `docs/decisions.md`): rules, groups and
//! prefix lists may carry a `create_time` (written back by `sgsim call` so it survives a
//! round trip); a prefix-list entry is a CIDR string or a table `{ cidr, description }`; every
//! ENI needs at least one group, as in the cloud.

use crate::api::permission::{check_limits, validate_permission, ParamForm};
use crate::api::ApiError;
use crate::model::{
    canonical, parse_cidr, ClientTokenRecord, Direction, Family, GroupType, InnerAccessPolicy,
    Instance, Limits, NetworkInterface, Peer, PrefixList, PrefixListEntry, Rule, SecurityGroup,
    Vpc, World, DEFAULT_ACCOUNT, DEFAULT_REGION,
};
use serde::{Deserialize, Serialize};
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

/// An integer or a string, as ids of accounts and priorities may be written.
#[derive(Debug, Clone)]
enum IntOrString {
    Int(i128),
    Str(String),
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string of digits")
            }
            fn visit_i64<E>(self, v: i64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl IntOrString {
    fn text(&self) -> String {
        match self {
            IntOrString::Int(i) => i.to_string(),
            IntOrString::Str(s) => s.clone(),
        }
    }
}

/// The top level of a world file; scenario files add `name`, `description` and `steps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoc<S> {
    region_id: Option<String>,
    account_id: Option<IntOrString>,
    account_name: Option<String>,
    limits: Option<Limits>,
    #[serde(default)]
    vpcs: Vec<RawVpc>,
    #[serde(default)]
    prefix_lists: Vec<RawPrefixList>,
    #[serde(default)]
    security_groups: Vec<serde_json::Value>,
    #[serde(default)]
    instances: Vec<RawInstance>,
    #[serde(default)]
    client_tokens: Vec<ClientTokenRecord>,
    /// Scenario name.
    pub(crate) name: Option<String>,
    /// Scenario description.
    pub(crate) description: Option<String>,
    /// Scenario steps.
    pub(crate) steps: Option<Vec<S>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVpc {
    id: String,
}

/// A prefix-list entry: a CIDR string or a table `{ cidr, description }`.
#[derive(Debug)]
enum RawEntry {
    Cidr(String),
    Full { cidr: String, description: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntryTable {
    cidr: String,
    #[serde(default)]
    description: String,
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(RawEntry::Cidr(s)),
            v @ serde_json::Value::Object(_) => serde_json::from_value::<RawEntryTable>(v)
                .map(|t| RawEntry::Full {
                    cidr: t.cidr,
                    description: t.description,
                })
                .map_err(|e| D::Error::custom(serde_message(&e))),
            _ => Err(D::Error::custom(
                "expected a CIDR string or a table `{ cidr, description }`",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrefixList {
    id: String,
    name: Option<String>,
    description: Option<String>,
    address_family: Option<String>,
    max_entries: Option<i64>,
    #[serde(default)]
    entries: Vec<RawEntry>,
    create_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: String,
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    group_type: Option<String>,
    vpc_id: Option<String>,
    owner_id: Option<IntOrString>,
    owner_account: Option<String>,
    inner_access_policy: Option<String>,
    service_managed: Option<bool>,
    create_time: Option<String>,
    #[serde(default)]
    rules: Vec<serde_json::Value>,
}

/// A rule as written in a file: the API's names in snake case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    direction: Option<String>,
    ip_protocol: Option<String>,
    port_range: Option<String>,
    source_port_range: Option<String>,
    source_cidr_ip: Option<String>,
    ipv6_source_cidr_ip: Option<String>,
    source_group_id: Option<String>,
    source_group_owner_account: Option<String>,
    source_group_owner_id: Option<IntOrString>,
    source_prefix_list_id: Option<String>,
    dest_cidr_ip: Option<String>,
    ipv6_dest_cidr_ip: Option<String>,
    dest_group_id: Option<String>,
    dest_group_owner_account: Option<String>,
    dest_group_owner_id: Option<IntOrString>,
    dest_prefix_list_id: Option<String>,
    nic_type: Option<String>,
    policy: Option<String>,
    priority: Option<IntOrString>,
    description: Option<String>,
    create_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEni {
    id: String,
    #[serde(default)]
    security_groups: Vec<String>,
    #[serde(default)]
    private_ips: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    id: String,
    vpc_id: Option<String>,
    #[serde(default)]
    security_groups: Vec<String>,
    #[serde(default)]
    private_ips: Vec<String>,
    public_ip: Option<String>,
    #[serde(default)]
    network_interfaces: Vec<RawEni>,
}

/// API field name → snake-case file key (`PortRange` → `port_range`).
pub fn snake_case(api_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in api_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl RawRule {
    /// The rule's fields by API name, as a one-permission call would carry them.
    fn api_fields(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("IpProtocol", self.ip_protocol.clone());
        put("PortRange", self.port_range.clone());
        put("SourcePortRange", self.source_port_range.clone());
        put("SourceCidrIp", self.source_cidr_ip.clone());
        put("Ipv6SourceCidrIp", self.ipv6_source_cidr_ip.clone());
        put("SourceGroupId", self.source_group_id.clone());
        put(
            "SourceGroupOwnerAccount",
            self.source_group_owner_account.clone(),
        );
        put(
            "SourceGroupOwnerId",
            self.source_group_owner_id.as_ref().map(IntOrString::text),
        );
        put("SourcePrefixListId", self.source_prefix_list_id.clone());
        put("DestCidrIp", self.dest_cidr_ip.clone());
        put("Ipv6DestCidrIp", self.ipv6_dest_cidr_ip.clone());
        put("DestGroupId", self.dest_group_id.clone());
        put(
            "DestGroupOwnerAccount",
            self.dest_group_owner_account.clone(),
        );
        put(
            "DestGroupOwnerId",
            self.dest_group_owner_id.as_ref().map(IntOrString::text),
        );
        put("DestPrefixListId", self.dest_prefix_list_id.clone());
        put("NicType", self.nic_type.clone());
        put("Policy", self.policy.clone());
        put("Priority", self.priority.as_ref().map(IntOrString::text));
        put("Description", self.description.clone());
        m
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses a document of the world-file schema (with scenario steps of type `S`).
pub(crate) fn parse_doc<S: serde::de::DeserializeOwned>(
    text: &str,
    format: Format,
    origin: &str,
) -> Result<RawDoc<S>, WorldError> {
    let fail = |position, message: String| WorldError {
        origin: origin.to_string(),
        position,
        context: None,
        message,
        api_error: None,
    };
    // The path of the value that failed (`prefix_lists[0].entries[1]`), when known.
    let with_path = |path: &serde_path_to_error::Path, message: String| {
        let p = path.to_string();
        if p.is_empty() || p == "." || p == "?" {
            message
        } else {
            format!("field `{p}`: {message}")
        }
    };
    match format {
        Format::Toml => {
            let de = toml::Deserializer::new(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().clone();
                let e = e.into_inner();
                let pos = e.span().map(|s| line_col(text, s.start));
                let message = e.message().trim();
                let message = if message.is_empty() {
                    "invalid TOML".to_string()
                } else {
                    humanize(&message.replace('\n', " "))
                };
                fail(pos, with_path(&path, message))
            })
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = e.path().clone();
                let e = e.into_inner();
                let pos = (e.line() > 0).then(|| (e.line(), e.column().max(1)));
                fail(pos, with_path(&path, serde_message(&e)))
            })
        }
    }
}

/// Serde's wording without Rust type names: `expected u32` → `expected a non-negative
/// integer`, `expected struct RawGroup` → `expected a table`.
fn humanize(message: &str) -> String {
    let mut out = message.to_string();
    for (rust, words) in [
        ("u8", "a small non-negative integer"),
        ("u16", "a non-negative integer"),
        ("u32", "a non-negative integer"),
        ("u64", "a non-negative integer"),
        ("i64", "an integer"),
        ("usize", "a non-negative integer"),
    ] {
        out = out.replace(&format!("expected {rust}"), &format!("expected {words}"));
    }
    while let Some(i) = out.find("struct ") {
        let end = out[i + 7..]
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .map_or(out.len(), |j| i + 7 + j);
        out.replace_range(i..end, "a table");
    }
    out
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

/// Reads a file to a string, with a one-line error naming it.
pub(crate) fn read(path: &Path) -> Result<String, WorldError> {
    std::fs::read_to_string(path).map_err(|e| WorldError {
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
            Some(t) => Some(t.parse::<IpAddr>().map_err(|_| {
                err(
                    Some(ictx.clone()),
                    format!("field `public_ip`: `{t}` is not an IP address"),
                )
            })?),
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
                    next_rule += 1;
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

/// Deserializes a value, naming the field that failed (`field `priority`: …`).
fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = serde_message(e.inner());
        if path.is_empty() || path == "." || path == "?" {
            message
        } else {
            format!("field `{path}`: {message}")
        }
    })
}

/// A serde error's message without its position (which refers to a re-encoded value) and
/// without Rust type names.
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    humanize(s.split(" at line ").next().unwrap_or_default())
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

// ---------------------------------------------------------------------------------------
// Writing a world back.

#[derive(Serialize)]
struct OutWorld<'a> {
    region_id: &'a str,
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_name: Option<&'a str>,
    #[serde(skip_serializing_if = "is_default_limits")]
    limits: Limits,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vpcs: Vec<OutId<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prefix_lists: Vec<OutPrefixList<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_groups: Vec<OutGroup<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    instances: Vec<OutInstance<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    client_tokens: &'a Vec<ClientTokenRecord>,
}

fn is_default_limits(l: &Limits) -> bool {
    *l == Limits::default()
}

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

#[derive(Serialize)]
struct OutId<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct OutEntry<'a> {
    cidr: String,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
}

#[derive(Serialize)]
struct OutPrefixList<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    address_family: &'static str,
    max_entries: u32,
    #[serde(skip_serializing_if = "is_empty")]
    create_time: &'a str,
    entries: Vec<OutEntry<'a>>,
}

#[derive(Serialize)]
struct OutGroup<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    #[serde(rename = "type")]
    group_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<&'a str>,
    owner_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_account: Option<&'a str>,
    inner_access_policy: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    service_managed: bool,
    #[serde(skip_serializing_if = "is_empty")]
    create_time: &'a str,
    rules: Vec<BTreeMap<&'static str, serde_json::Value>>,
}

#[derive(Serialize)]
struct OutEni<'a> {
    id: &'a str,
    security_groups: &'a [String],
    private_ips: Vec<String>,
}

#[derive(Serialize)]
struct OutInstance<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<&'a str>,
    security_groups: &'a [String],
    private_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_ip: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    network_interfaces: Vec<OutEni<'a>>,
}

/// A rule as file keys (the API's names in snake case), only the fields that are set.
pub fn rule_to_keys(rule: &Rule) -> BTreeMap<&'static str, serde_json::Value> {
    use serde_json::Value as V;
    let mut m = BTreeMap::new();
    let s = |v: &str| V::String(v.to_string());
    m.insert("id", s(&rule.id));
    m.insert("direction", s(rule.direction.as_str()));
    m.insert("ip_protocol", s(rule.protocol.as_str()));
    m.insert(
        "port_range",
        s(&rule
            .port_range
            .map_or_else(|| "-1/-1".into(), |p| p.to_string())),
    );
    if let Some(sp) = rule.source_port_range {
        m.insert("source_port_range", s(&sp.to_string()));
    }
    let ingress = rule.direction == Direction::Ingress;
    let (v4, v6, gid, gacc, gown, pl) = if ingress {
        (
            "source_cidr_ip",
            "ipv6_source_cidr_ip",
            "source_group_id",
            "source_group_owner_account",
            "source_group_owner_id",
            "source_prefix_list_id",
        )
    } else {
        (
            "dest_cidr_ip",
            "ipv6_dest_cidr_ip",
            "dest_group_id",
            "dest_group_owner_account",
            "dest_group_owner_id",
            "dest_prefix_list_id",
        )
    };
    match &rule.peer {
        Peer::Cidr(net) => {
            let key = if net.addr().is_ipv4() { v4 } else { v6 };
            m.insert(key, s(&net.to_string()));
        }
        Peer::Group {
            id,
            owner_account,
            owner_id,
        } => {
            m.insert(gid, s(id));
            if let Some(a) = owner_account {
                m.insert(gacc, s(a));
            }
            if let Some(o) = owner_id {
                m.insert(gown, s(o));
            }
        }
        Peer::PrefixList(id) => {
            m.insert(pl, s(id));
        }
    }
    if let Some(local) = rule.local_cidr {
        let key = match (ingress, local.addr().is_ipv4()) {
            (true, true) => "dest_cidr_ip",
            (true, false) => "ipv6_dest_cidr_ip",
            (false, true) => "source_cidr_ip",
            (false, false) => "ipv6_source_cidr_ip",
        };
        m.insert(key, s(&local.to_string()));
    }
    m.insert("nic_type", s(rule.nic_type.as_str()));
    m.insert("policy", s(rule.policy.as_str()));
    m.insert("priority", V::from(rule.priority));
    if !rule.description.is_empty() {
        m.insert("description", s(&rule.description));
    }
    if !rule.create_time.is_empty() {
        m.insert("create_time", s(&rule.create_time));
    }
    m
}

/// Writes a world in the file schema; loading the result gives the same world.
pub fn to_string(world: &World, format: Format) -> Result<String, String> {
    let ips = |v: &[IpAddr]| v.iter().map(IpAddr::to_string).collect::<Vec<_>>();
    let out = OutWorld {
        region_id: &world.region_id,
        account_id: &world.account_id,
        account_name: world.account_name.as_deref(),
        limits: world.limits,
        vpcs: world.vpcs.iter().map(|v| OutId { id: &v.id }).collect(),
        prefix_lists: world
            .prefix_lists
            .iter()
            .map(|p| OutPrefixList {
                id: &p.id,
                name: &p.name,
                description: &p.description,
                address_family: p.address_family.as_str(),
                max_entries: p.max_entries,
                create_time: &p.create_time,
                entries: p
                    .entries
                    .iter()
                    .map(|e| OutEntry {
                        cidr: e.cidr.to_string(),
                        description: &e.description,
                    })
                    .collect(),
            })
            .collect(),
        security_groups: world
            .security_groups
            .iter()
            .map(|g| OutGroup {
                id: &g.id,
                name: &g.name,
                description: &g.description,
                group_type: g.group_type.as_str(),
                vpc_id: g.vpc_id.as_deref(),
                owner_id: &g.owner_id,
                owner_account: g.owner_account.as_deref(),
                inner_access_policy: g.inner_access_policy.as_str(),
                service_managed: g.service_managed,
                create_time: &g.create_time,
                rules: g.rules.iter().map(rule_to_keys).collect(),
            })
            .collect(),
        instances: world
            .instances
            .iter()
            .map(|i| OutInstance {
                id: &i.id,
                vpc_id: i.vpc_id.as_deref(),
                security_groups: &i.security_groups,
                private_ips: ips(&i.private_ips),
                public_ip: i.public_ip.map(|a| a.to_string()),
                network_interfaces: i
                    .network_interfaces
                    .iter()
                    .map(|n| OutEni {
                        id: &n.id,
                        security_groups: &n.security_groups,
                        private_ips: ips(&n.private_ips),
                    })
                    .collect(),
            })
            .collect(),
        client_tokens: &world.client_tokens,
    };
    match format {
        Format::Toml => toml::to_string_pretty(&out).map_err(|e| e.to_string()),
        Format::Json => serde_json::to_string_pretty(&out)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
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
        let path = base.map_or_else(|| Path::new(file).to_path_buf(), |b| b.join(file));
        let shown = path.display();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("field `import`: cannot read `{shown}`: {}", io_reason(&e)))?;
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
        return describe_to_group(&response).map_err(|m| format!("import `{shown}`: {m}"));
    }
    if obj.contains_key("SecurityGroupId") {
        return describe_to_group(&value).map_err(|m| format!("imported response: {m}"));
    }
    Ok(value)
}
