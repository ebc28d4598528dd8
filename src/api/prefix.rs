//! Prefix-list actions: CreatePrefixList, ModifyPrefixList, DeletePrefixList,
//! DescribePrefixLists, DescribePrefixListAttributes.

use super::error::{invalid, missing, with_message, ApiError, ErrorCode as C};
use super::permission::check_limits;
use super::request::Params;
use super::{require_all, well_formed, CallContext};
use crate::model::{canonical, parse_cidr, Family, Peer, PrefixList, PrefixListEntry, World};
use ipnet::IpNet;
use serde_json::{Map, Value};

/// The prefix list named by `PrefixListId`: missing, malformed (400), unknown (404).
fn named_list<'w>(world: &'w World, p: &Params) -> Result<&'w PrefixList, ApiError> {
    let id = p
        .get("PrefixListId")
        .ok_or_else(|| missing("PrefixListId"))?;
    if !well_formed(id, "pl-") {
        return Err(invalid(
            400,
            C::InvalidPrefixListIdMalformed,
            "PrefixListId",
        ));
    }
    world.prefix_list(id).ok_or_else(|| {
        with_message(
            404,
            C::InvalidPrefixListIdNotFound,
            "PrefixListId",
            format!("The specified prefix list \"{id}\" was not found."),
        )
    })
}

/// `MaxEntries`: an integer from 1 to the `prefix_list_entries` limit.
fn max_entries(world: &World, text: &str) -> Result<u32, ApiError> {
    let limit = world.limits.prefix_list_entries;
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=limit).contains(n))
        .ok_or_else(|| {
            with_message(
                400,
                C::InvalidParamMaxEntries,
                "MaxEntries",
                format!("The specified parameter \"MaxEntries\" is not valid: it must be an integer from 1 to {limit}."),
            )
        })
}

/// A canonical CIDR of `family` (a bare address is its /32 or /128).
fn entry_cidr(text: &str, family: Family, param: &str) -> Result<IpNet, ApiError> {
    parse_cidr(text)
        .filter(|n| canonical(*n) == *n && Family::of_net(n) == family)
        .ok_or_else(|| {
            with_message(
                400,
                C::InvalidParamCidr,
                param,
                format!("The specified parameter \"{param}\" is not valid: \"{text}\" is not a canonical {} CIDR block.", family.as_str()),
            )
        })
}

fn duplicate(param: &str, what: &str) -> ApiError {
    with_message(
        400,
        C::InvalidParamDuplicateEntry,
        param,
        format!("The specified parameter \"{param}\" is not valid: {what}."),
    )
}

fn too_many(count: usize, max: u32) -> ApiError {
    with_message(
        400,
        C::QuotaExceedPrefixListEntries,
        "MaxEntries",
        format!("The prefix list would hold {count} entries, more than its MaxEntries {max}."),
    )
}

/// Entry lists: `PREFIX.N.Cidr` (and `.Description`) in order of N.
fn entries(world: &World, p: &Params, prefix: &str) -> Vec<(String, Option<String>, String)> {
    let max = world
        .limits
        .prefix_list_entries
        .max(world.limits.permissions_per_request);
    p.objects(prefix, max, &["Cidr", "Description"])
        .into_iter()
        .map(|(n, f)| {
            (
                format!("{prefix}.{n}.Cidr"),
                f.get("Cidr").cloned(),
                f.get("Description").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// `CreatePrefixList`: `PrefixListName`, `AddressFamily`, `MaxEntries`, `Description`,
/// `Entry.N.Cidr`, `Entry.N.Description` → `PrefixListId`.
pub(super) fn create(
    world: &mut World,
    p: &Params,
    ctx: &CallContext,
) -> Result<Map<String, Value>, ApiError> {
    require_all(p, &["PrefixListName", "AddressFamily", "MaxEntries"])?;
    let family = Family::parse(p.get("AddressFamily").unwrap_or(""))
        .ok_or_else(|| invalid(400, C::InvalidParamAddressFamily, "AddressFamily"))?;
    let max = max_entries(world, p.get("MaxEntries").unwrap_or(""))?;
    let given = entries(world, p, "Entry");
    let mut list: Vec<PrefixListEntry> = Vec::new();
    for (param, cidr, _) in &given {
        let cidr = cidr.as_deref().ok_or_else(|| missing(param.as_str()))?;
        entry_cidr(cidr, family, param)?;
    }
    for (param, cidr, description) in given {
        let cidr = entry_cidr(cidr.as_deref().unwrap_or(""), family, &param)?;
        if list.iter().any(|e| e.cidr == cidr) {
            return Err(duplicate(
                &param,
                &format!("the entry \"{cidr}\" is given twice"),
            ));
        }
        list.push(PrefixListEntry { cidr, description });
    }
    if list.len() > max as usize {
        return Err(too_many(list.len(), max));
    }
    let id = world.next_id("pl-");
    world.prefix_lists.push(PrefixList {
        id: id.clone(),
        name: p.get("PrefixListName").unwrap_or("").to_string(),
        description: p.get("Description").unwrap_or("").to_string(),
        address_family: family,
        max_entries: max,
        entries: list,
        create_time: ctx.now.clone(),
    });
    let mut m = Map::new();
    m.insert("PrefixListId".into(), Value::from(id));
    Ok(m)
}

/// `ModifyPrefixList`: `PrefixListId`, optional `PrefixListName`, `Description`,
/// `MaxEntries`, `AddEntry.N.Cidr`/`.Description`, `RemoveEntry.N.Cidr`. The change applies
/// at once to every rule that uses the list.
pub(super) fn modify(world: &mut World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let list = named_list(world, p)?.clone();
    if let Some(text) = p.get("AddressFamily") {
        if Family::parse(text) != Some(list.address_family) {
            return Err(with_message(
                400,
                C::InvalidParamAddressFamily,
                "AddressFamily",
                format!("The specified parameter \"AddressFamily\" is not valid: the prefix list is {} and its family cannot change.", list.address_family.as_str()),
            ));
        }
    }
    let max = match p.get("MaxEntries") {
        Some(t) => max_entries(world, t)?,
        None => list.max_entries,
    };
    let family = list.address_family;
    let add = entries(world, p, "AddEntry");
    let remove = entries(world, p, "RemoveEntry");
    for (param, cidr, _) in add.iter().chain(remove.iter()) {
        let cidr = cidr.as_deref().ok_or_else(|| missing(param.as_str()))?;
        entry_cidr(cidr, family, param)?;
    }
    let mut removed: Vec<IpNet> = Vec::new();
    for (param, cidr, _) in &remove {
        let cidr = entry_cidr(cidr.as_deref().unwrap_or(""), family, param)?;
        if removed.contains(&cidr) {
            return Err(duplicate(
                param,
                &format!("the entry \"{cidr}\" is removed twice"),
            ));
        }
        if !list.entries.iter().any(|e| e.cidr == cidr) {
            return Err(duplicate(
                param,
                &format!("the entry \"{cidr}\" is not in the prefix list"),
            ));
        }
        removed.push(cidr);
    }
    let mut entries: Vec<PrefixListEntry> = list
        .entries
        .iter()
        .filter(|e| !removed.contains(&e.cidr))
        .cloned()
        .collect();
    for (param, cidr, description) in add {
        let cidr = entry_cidr(cidr.as_deref().unwrap_or(""), family, &param)?;
        if removed.contains(&cidr) {
            return Err(duplicate(
                &param,
                &format!("the entry \"{cidr}\" is both added and removed"),
            ));
        }
        if entries.iter().any(|e| e.cidr == cidr) {
            return Err(duplicate(
                &param,
                &format!("the entry \"{cidr}\" is already in the prefix list"),
            ));
        }
        entries.push(PrefixListEntry { cidr, description });
    }
    if entries.len() > max as usize {
        return Err(too_many(entries.len(), max));
    }
    let id = list.id.clone();
    if let Some(pl) = world.prefix_lists.iter_mut().find(|x| x.id == id) {
        pl.entries = entries;
        pl.max_entries = max;
        if let Some(n) = p.get("PrefixListName") {
            pl.name = n.to_string();
        }
        if let Some(d) = p.get("Description") {
            pl.description = d.to_string();
        }
    }
    // A larger MaxEntries weighs more in the quotas of the groups that use the list.
    if max != list.max_entries {
        let users: Vec<String> = world
            .security_groups
            .iter()
            .filter(|g| {
                g.rules
                    .iter()
                    .any(|r| r.peer == Peer::PrefixList(id.clone()))
            })
            .map(|g| g.id.clone())
            .collect();
        for g in users {
            check_limits(world, &g)?;
        }
    }
    Ok(Map::new())
}

/// `DeletePrefixList`: refused (403 `DependencyViolation`) while a rule uses the list.
pub(super) fn delete(world: &mut World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let id = named_list(world, p)?.id.clone();
    let user = world.security_groups.iter().find_map(|g| {
        g.rules
            .iter()
            .find(|r| r.peer == Peer::PrefixList(id.clone()))
            .map(|r| (g.id.clone(), r.id.clone()))
    });
    if let Some((g, r)) = user {
        return Err(with_message(
            403,
            C::DependencyViolation,
            "PrefixListId",
            format!("The specified prefix list \"{id}\" is used by the rule \"{r}\" of the security group \"{g}\"."),
        ));
    }
    world.prefix_lists.retain(|pl| pl.id != id);
    Ok(Map::new())
}

/// The number of security groups whose rules use a prefix list.
fn association_count(world: &World, id: &str) -> usize {
    world
        .security_groups
        .iter()
        .filter(|g| {
            g.rules
                .iter()
                .any(|r| matches!(&r.peer, Peer::PrefixList(x) if x == id))
        })
        .count()
}

fn list_fields(world: &World, pl: &PrefixList) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("PrefixListId".into(), Value::from(pl.id.as_str()));
    m.insert("PrefixListName".into(), Value::from(pl.name.as_str()));
    m.insert(
        "AddressFamily".into(),
        Value::from(pl.address_family.as_str()),
    );
    m.insert("MaxEntries".into(), Value::from(pl.max_entries));
    m.insert("Description".into(), Value::from(pl.description.as_str()));
    m.insert(
        "AssociationCount".into(),
        Value::from(association_count(world, &pl.id)),
    );
    m.insert("CreationTime".into(), Value::from(pl.create_time.as_str()));
    m
}

/// `DescribePrefixLists`: optional `PrefixListId.N` filter.
pub(super) fn describe_all(world: &World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let ids = p.list("PrefixListId", world.limits.permissions_per_request);
    for (n, id) in &ids {
        if !well_formed(id, "pl-") {
            return Err(invalid(
                400,
                C::InvalidPrefixListIdMalformed,
                format!("PrefixListId.{n}"),
            ));
        }
    }
    let lists: Vec<Value> = world
        .prefix_lists
        .iter()
        .filter(|pl| ids.is_empty() || ids.iter().any(|(_, id)| *id == pl.id))
        .map(|pl| Value::Object(list_fields(world, pl)))
        .collect();
    let mut m = Map::new();
    m.insert("TotalCount".into(), Value::from(lists.len()));
    let mut inner = Map::new();
    inner.insert("PrefixList".into(), Value::Array(lists));
    m.insert("PrefixLists".into(), Value::Object(inner));
    Ok(m)
}

/// `DescribePrefixListAttributes`: `PrefixListId` → the list's fields and
/// `Entries.Entry[]`.
pub(super) fn describe_attributes(
    world: &World,
    p: &Params,
) -> Result<Map<String, Value>, ApiError> {
    let pl = named_list(world, p)?;
    let mut m = list_fields(world, pl);
    let entries: Vec<Value> = pl
        .entries
        .iter()
        .map(|e| {
            let mut x = Map::new();
            x.insert("Cidr".into(), Value::from(e.cidr.to_string()));
            x.insert("Description".into(), Value::from(e.description.as_str()));
            Value::Object(x)
        })
        .collect();
    let mut inner = Map::new();
    inner.insert("Entry".into(), Value::Array(entries));
    m.insert("Entries".into(), Value::Object(inner));
    Ok(m)
}
