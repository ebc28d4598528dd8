//! A parsed world document turned into a validated [`World`], in the order a reader meets
//! the file: the header (region, account, limits), ids, VPCs, prefix lists, groups (without
//! their rules, so a rule can name any group of the file), instances and their ENIs, then
//! the rules as one-permission API calls, then the limits.

use super::raw::{from_value, RawDoc, RawEntry, RawGroup, RawInstance, RawPrefixList, RawRule};
use super::{import_group, snake_case, WorldError};
use crate::api::permission::{check_limits, validate_permission, ParamForm};
use crate::api::ApiError;
use crate::model::{
    canonical, parse_cidr, Direction, Family, GroupType, InnerAccessPolicy, Instance, Limits,
    NetworkInterface, PrefixList, PrefixListEntry, SecurityGroup, Vpc, World, DEFAULT_ACCOUNT,
    DEFAULT_REGION,
};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

/// Turns a parsed document into a validated world. `base` is the folder that imports are
/// relative to.
pub(crate) fn build_world<S>(
    mut doc: RawDoc<S>,
    origin: &str,
    base: Option<&Path>,
) -> Result<World, WorldError> {
    let mut b = Builder {
        origin,
        seen: HashSet::new(),
    };
    let mut world = b.header(&mut doc)?;
    for v in doc.vpcs {
        b.claim(&v.id, "vpc")?;
        world.vpcs.push(Vpc { id: v.id });
    }
    for p in doc.prefix_lists {
        let list = b.prefix_list(&world.limits, p)?;
        world.prefix_lists.push(list);
    }
    // Groups first without rules, so rules can reference any group of the file.
    // INVARIANT: `raw_rules[i]` holds the rules of `world.security_groups[i]`.
    let mut raw_rules: Vec<Vec<RawRule>> = Vec::new();
    for (gi, value) in doc.security_groups.into_iter().enumerate() {
        let (group, rules) = b.group(&world, gi, value, base)?;
        world.security_groups.push(group);
        raw_rules.push(rules);
    }
    for inst in doc.instances {
        let instance = b.instance(&world, inst)?;
        world.instances.push(instance);
    }
    b.rules(&mut world, &raw_rules)?;
    b.limits(&world)?;
    Ok(world)
}

/// One build: the origin that errors name, and every id claimed so far.
struct Builder<'o> {
    origin: &'o str,
    /// Ids are unique across the whole world.
    seen: HashSet<String>,
}

impl Builder<'_> {
    /// An error of this file, with the object and field concerned when known.
    fn err(&self, context: Option<String>, message: String) -> WorldError {
        WorldError {
            origin: self.origin.to_string(),
            position: None,
            context,
            message,
            api_error: None,
        }
    }

    /// Claims an id for an object of kind `what`: not empty, and not used before.
    fn claim(&mut self, id: &str, what: &str) -> Result<(), WorldError> {
        if id.is_empty() {
            return Err(self.err(None, format!("{what} with an empty `id`")));
        }
        if !self.seen.insert(id.to_string()) {
            return Err(self.err(None, format!("id `{id}` is used twice")));
        }
        Ok(())
    }

    /// The world's header: `region_id`, `account_id`, `account_name`, `limits` (each at
    /// least 1) and the recorded client tokens.
    fn header<S>(&self, doc: &mut RawDoc<S>) -> Result<World, WorldError> {
        let mut world = World {
            region_id: doc
                .region_id
                .take()
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            account_id: DEFAULT_ACCOUNT.to_string(),
            account_name: doc.account_name.take(),
            limits: doc.limits.take().unwrap_or_default(),
            client_tokens: std::mem::take(&mut doc.client_tokens),
            ..World::default()
        };
        if let Some(a) = &doc.account_id {
            let a = a.text();
            if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.err(
                    None,
                    format!("field `account_id`: `{a}` is not a string of digits"),
                ));
            }
            world.account_id = a;
        }
        if world.region_id.is_empty() {
            return Err(self.err(None, "field `region_id` is empty".into()));
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
                return Err(self.err(
                    Some("[limits]".into()),
                    format!("`{what}` must be at least 1"),
                ));
            }
        }
        Ok(world)
    }

    /// One prefix list: its id, family, `max_entries` (within the world's limit) and
    /// entries (canonical CIDRs of its family, each once, at most `max_entries`).
    fn prefix_list(&mut self, limits: &Limits, p: RawPrefixList) -> Result<PrefixList, WorldError> {
        self.claim(&p.id, "prefix list")?;
        let ctx = Some(format!("prefix list `{}`", p.id));
        let family = match p.address_family.as_deref() {
            None => Family::V4,
            Some(f) => Family::parse(f).ok_or_else(|| {
                self.err(
                    ctx.clone(),
                    format!("field `address_family`: `{f}` is not IPv4 or IPv6"),
                )
            })?,
        };
        // Without `max_entries`, the list holds just its entries (at least 1): a larger
        // default would charge rules that use the list for capacity nobody asked for.
        let max = p.max_entries.unwrap_or(p.entries.len().max(1) as i64);
        if max < 1 || max > i64::from(limits.prefix_list_entries) {
            return Err(self.err(
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
                .ok_or_else(|| self.err(ectx.clone(), format!("`{text}` is not a CIDR")))?;
            if Family::of_net(&net) != family {
                return Err(self.err(ectx, format!("`{text}` is not an {} CIDR", family.as_str())));
            }
            if canonical(net) != net {
                return Err(self.err(
                    ectx,
                    format!("`{text}` is not canonical (write `{}`)", canonical(net)),
                ));
            }
            if entries.iter().any(|x| x.cidr == net) {
                return Err(self.err(ectx, format!("`{text}` is listed twice")));
            }
            entries.push(PrefixListEntry {
                cidr: net,
                description,
            });
        }
        if entries.len() as i64 > max {
            return Err(self.err(
                ctx,
                format!("{} entries exceed `max_entries` = {max}", entries.len()),
            ));
        }
        Ok(PrefixList {
            id: p.id,
            name: p.name.unwrap_or_default(),
            description: p.description.unwrap_or_default(),
            address_family: family,
            max_entries: max as u32,
            entries,
            create_time: p.create_time.unwrap_or_default(),
        })
    }

    /// Element `gi` of `security_groups` (an import becomes a plain group first): the group
    /// without its rules, and its rules parsed but not yet checked.
    fn group(
        &mut self,
        world: &World,
        gi: usize,
        value: serde_json::Value,
        base: Option<&Path>,
    ) -> Result<(SecurityGroup, Vec<RawRule>), WorldError> {
        let value = import_group(value, base)
            .map_err(|m| self.err(Some(format!("security group {}", gi + 1)), m))?;
        let label = value.get("id").and_then(|v| v.as_str()).map_or_else(
            || format!("security group {}", gi + 1),
            |id| format!("group `{id}`"),
        );
        if !value.is_object() {
            return Err(self.err(
                Some(format!("field `security_groups[{gi}]`")),
                "expected a table (a security group)".into(),
            ));
        }
        let g: RawGroup = from_value(value).map_err(|m| self.err(Some(label.clone()), m))?;
        let mut rules = Vec::with_capacity(g.rules.len());
        for (ri, rv) in g.rules.iter().enumerate() {
            let r: RawRule = from_value(rv.clone())
                .map_err(|m| self.err(Some(format!("{label} rule {}", ri + 1)), m))?;
            rules.push(r);
        }
        self.claim(&g.id, "security group")?;
        let ctx = Some(format!("group `{}`", g.id));
        let group_type = match g.group_type.as_deref() {
            None => GroupType::Normal,
            Some(t) => GroupType::parse(t).ok_or_else(|| {
                self.err(
                    ctx.clone(),
                    format!("field `type`: `{t}` is not normal or enterprise"),
                )
            })?,
        };
        if let Some(v) = &g.vpc_id {
            if !world.vpcs.iter().any(|x| &x.id == v) {
                return Err(self.err(
                    ctx,
                    format!("field `vpc_id`: `{v}` is not declared in `vpcs`"),
                ));
            }
        } else if group_type == GroupType::Enterprise {
            return Err(self.err(
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
                self.err(
                    ctx.clone(),
                    format!("field `inner_access_policy`: `{p}` is not Accept or Drop"),
                )
            })?,
        };
        if group_type == GroupType::Enterprise && inner == InnerAccessPolicy::Accept {
            return Err(self.err(
                ctx,
                "field `inner_access_policy`: an enterprise group cannot have `Accept`".into(),
            ));
        }
        let owner_id = match &g.owner_id {
            None => world.account_id.clone(),
            Some(o) => {
                let o = o.text();
                if o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.err(
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
        let group = SecurityGroup {
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
        };
        Ok((group, rules))
    }

    /// One instance: its id, VPC, public IP (IPv4), primary ENI and further ENIs.
    fn instance(&mut self, world: &World, inst: RawInstance) -> Result<Instance, WorldError> {
        self.claim(&inst.id, "instance")?;
        let ictx = format!("instance `{}`", inst.id);
        if let Some(v) = &inst.vpc_id {
            if !world.vpcs.iter().any(|x| &x.id == v) {
                return Err(self.err(
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
                    return Err(self.err(
                        Some(ictx.clone()),
                        format!("field `public_ip`: `{t}` is an IPv6 address; a public IP is IPv4"),
                    ))
                }
                Err(_) => {
                    return Err(self.err(
                        Some(ictx.clone()),
                        format!("field `public_ip`: `{t}` is not an IP address"),
                    ))
                }
            }),
        };
        let vpc = inst.vpc_id.as_deref();
        let primary = self.eni(world, &ictx, vpc, &inst.security_groups, &inst.private_ips)?;
        let mut enis = Vec::new();
        for n in inst.network_interfaces {
            self.claim(&n.id, "network interface")?;
            let ectx = format!("network interface `{}` of {ictx}", n.id);
            let ips = self.eni(world, &ectx, vpc, &n.security_groups, &n.private_ips)?;
            enis.push(NetworkInterface {
                id: n.id,
                security_groups: n.security_groups,
                private_ips: ips,
            });
        }
        Ok(Instance {
            id: inst.id,
            vpc_id: inst.vpc_id,
            security_groups: inst.security_groups,
            private_ips: primary,
            public_ip,
            network_interfaces: enis,
        })
    }

    /// Checks one ENI's groups (1 to the limit, each once, existing, in the instance's
    /// network, of one type) and addresses (each once); returns its private addresses.
    fn eni(
        &self,
        world: &World,
        ctx: &str,
        vpc: Option<&str>,
        groups: &[String],
        ips: &[String],
    ) -> Result<Vec<IpAddr>, WorldError> {
        let err = |message: String| self.err(Some(ctx.to_string()), message);
        if groups.is_empty() {
            return Err(err(
                "field `security_groups`: a network interface needs at least one security group"
                    .into(),
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
            if groups.iter().take(i).any(|g| g == gid) {
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

    /// The rules: ids given in the file are claimed first, then the rules are checked in
    /// file order, each as a one-permission call of its direction on its group; a rule
    /// identical to an earlier one of its group is dropped (the earlier id is kept); a rule
    /// without an id gets the next `sgr-` number after every id in use.
    fn rules(&mut self, world: &mut World, raw_rules: &[Vec<RawRule>]) -> Result<(), WorldError> {
        for r in raw_rules.iter().flatten() {
            if let Some(id) = &r.id {
                self.claim(id, "rule")?;
            }
        }
        let mut next_rule = self
            .seen
            .iter()
            .filter_map(|id| crate::model::numbered_id(id, "sgr-"))
            .max()
            .unwrap_or(0);
        for (gi, rules) in raw_rules.iter().enumerate() {
            for (ri, raw) in rules.iter().enumerate() {
                let Some(group) = world.security_groups.get(gi) else {
                    continue; // unreachable: raw_rules runs beside security_groups
                };
                let ctx = format!("group `{}` rule {}", group.id, ri + 1);
                let direction = match raw.direction.as_deref() {
                    None => return Err(self.err(Some(ctx), "field `direction` is missing".into())),
                    Some(d) => Direction::parse(d).ok_or_else(|| {
                        self.err(
                            Some(ctx.clone()),
                            format!("field `direction`: `{d}` is not ingress or egress"),
                        )
                    })?,
                };
                let fields = raw.api_fields();
                let mut rule =
                    validate_permission(world, group, direction, &fields, ParamForm::Flat)
                        .map_err(|e| rule_error(self.origin, &ctx, &fields, e))?;
                if group.rules.iter().any(|x| x.same_identity(&rule)) {
                    continue; // identical to an earlier rule: the earlier id is kept
                }
                rule.id = match &raw.id {
                    Some(id) => id.clone(),
                    None => {
                        next_rule = next_rule.checked_add(1).ok_or_else(|| {
                            self.err(
                                Some(ctx.clone()),
                                "no rule id is left to give this rule: give it an `id`".into(),
                            )
                        })?;
                        format!("sgr-{next_rule:012}")
                    }
                };
                rule.create_time = raw.create_time.clone().unwrap_or_default();
                if let Some(group) = world.security_groups.get_mut(gi) {
                    group.rules.push(rule);
                }
            }
        }
        Ok(())
    }

    /// The API's limits (SPEC §4) for every group, as after the calls that built it.
    fn limits(&self, world: &World) -> Result<(), WorldError> {
        for group in &world.security_groups {
            let id = &group.id;
            check_limits(world, id).map_err(|e| WorldError {
                origin: self.origin.to_string(),
                position: None,
                context: Some(format!("group `{id}`")),
                message: format!("{} ({})", e.message, e.code),
                api_error: Some(Box::new(e)),
            })?;
        }
        Ok(())
    }
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
