//! Writing a changed world back into the file it came from, keeping what the user wrote
//! (SPEC §6, "Safety of the file"): a TOML world is edited in place with `toml_edit`, so
//! comments, key order, formatting, `{ import = … }` elements and untouched groups stay byte
//! for byte; a JSON world keeps its key order and indentation. Only what changed is
//! rewritten: a new rule is appended to its group's `rules`, a revoked rule's entry removed,
//! a modified rule's changed keys set, a new group, prefix list or client token appended.
//!
//! A group read from an import (`{ import = "FILE.json" }` or an inline Describe response)
//! that a call changes is written into the world file in full in place of the element, and
//! a note says so: the import file is a snapshot of the cloud and is left as it was.
//! A rule entry the loader skipped as a duplicate of an earlier one stays in the file.

use super::{load_str_in, parse_doc, rule_to_keys, Format, RawDoc};
use crate::model::{ClientTokenRecord, Instance, PrefixList, Rule, SecurityGroup, World};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The text of an edited world file, and notes for the user (one line each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new file text.
    pub text: String,
    /// What the user should know about the write (an import inlined, a full rewrite).
    pub notes: Vec<String>,
}

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// One change to the document.
#[derive(Debug, Clone)]
enum Op {
    /// Sets (`Some`) or removes (`None`) a key of the object at the path.
    Set(Vec<Seg>, String, Option<Value>),
    /// Removes an element of the array at the path.
    Remove(Vec<Seg>, usize),
    /// Appends an element to the array at the path (created if missing).
    Push(Vec<Seg>, Value),
    /// Replaces an element of the array at the path.
    Replace(Vec<Seg>, usize, Value),
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// Rewrites `original` (the text `before` was loaded from) so that it loads as `after`,
/// changing only what differs. `base` is the folder imports are relative to.
pub fn edit_text(
    original: &str,
    format: Format,
    origin: &str,
    base: Option<&Path>,
    before: &World,
    after: &World,
) -> Result<Edited, String> {
    let bom = if original.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };
    let body = super::reference::strip_bom(original);
    let kept = kept_entries(body, format, origin, base)?;
    let mut notes = Vec::new();
    let ops = diff(before, after, &kept, &mut notes)?;
    let text = match format {
        Format::Toml => {
            let mut doc: toml_edit::DocumentMut = body
                .parse()
                .map_err(|e: toml_edit::TomlError| super::one_line(e.message()))?;
            let mut pushed = 0usize;
            for op in order(ops) {
                toml_apply(&mut doc, &op, &mut pushed)?;
            }
            doc.to_string()
        }
        Format::Json => {
            let mut doc: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
            for op in order(ops) {
                json_apply(&mut doc, &op)?;
            }
            json_text(&doc, body)
        }
    };
    // The edited text must load as `after` (rule ids aside: a rule written without an id
    // gets one when loaded).
    let reloaded = load_str_in(&text, format, origin, base).map_err(|e| e.to_string())?;
    if strip_ids(&reloaded) != strip_ids(after) {
        return Err("the edited file would not load as the changed world".into());
    }
    Ok(Edited {
        text: format!("{bom}{text}"),
        notes,
    })
}

/// A world with every rule id cleared, to compare worlds whose unnamed rules got other ids.
fn strip_ids(w: &World) -> World {
    let mut w = w.clone();
    for g in &mut w.security_groups {
        for r in &mut g.rules {
            r.id.clear();
        }
    }
    w
}

/// How the file holds each group: `None` for an import (or an inline Describe response),
/// else the index in its `rules` array of each rule the loader kept (skipped duplicates
/// have none).
fn kept_entries(
    body: &str,
    format: Format,
    origin: &str,
    base: Option<&Path>,
) -> Result<Vec<Option<Vec<usize>>>, String> {
    let mut doc: RawDoc<serde::de::IgnoredAny> =
        parse_doc(body, format, origin).map_err(|e| e.to_string())?;
    // Every rule entry gets an id that names its place; the loader's choice of which
    // entries to keep does not depend on ids.
    let mut plain = Vec::new();
    let mut named: Vec<HashMap<String, usize>> = Vec::new();
    for (gi, g) in doc.security_groups.iter_mut().enumerate() {
        let mut ids = HashMap::new();
        let is_plain = g
            .as_object()
            .is_some_and(|o| !o.contains_key("import") && !o.contains_key("SecurityGroupId"));
        if is_plain {
            if let Some(Value::Array(rules)) = g.get_mut("rules") {
                for (ri, r) in rules.iter_mut().enumerate() {
                    if let Value::Object(o) = r {
                        match o.get("id").and_then(Value::as_str) {
                            Some(id) => {
                                ids.insert(id.to_string(), ri);
                            }
                            None => {
                                let tmp = format!("\u{0}{gi}:{ri}");
                                ids.insert(tmp.clone(), ri);
                                o.insert("id".into(), Value::String(tmp));
                            }
                        }
                    }
                }
            }
        }
        plain.push(is_plain);
        named.push(ids);
    }
    let world = super::build_world(doc, origin, base).map_err(|e| e.to_string())?;
    Ok(world
        .security_groups
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            plain.get(gi).copied().unwrap_or(false).then(|| {
                g.rules
                    .iter()
                    .filter_map(|r| named.get(gi).and_then(|m| m.get(&r.id)).copied())
                    .collect()
            })
        })
        .collect())
}

/// The operations in an order that keeps indices valid: sets and replacements first, then
/// removals from the back, then appends.
fn order(ops: Vec<Op>) -> Vec<Op> {
    let mut sets = Vec::new();
    let mut removes = Vec::new();
    let mut pushes = Vec::new();
    for op in ops {
        match op {
            Op::Set(..) | Op::Replace(..) => sets.push(op),
            Op::Remove(..) => removes.push(op),
            Op::Push(..) => pushes.push(op),
        }
    }
    // Deeper paths first (rules before their group), higher indices first.
    removes.sort_by(|a, b| match (a, b) {
        (Op::Remove(pa, ia), Op::Remove(pb, ib)) => {
            pb.len().cmp(&pa.len()).then_with(|| ib.cmp(ia))
        }
        _ => std::cmp::Ordering::Equal,
    });
    sets.into_iter().chain(removes).chain(pushes).collect()
}

// ---------------------------------------------------------------------------------------
// What changed, as operations on the document.

fn diff(
    before: &World,
    after: &World,
    kept: &[Option<Vec<usize>>],
    notes: &mut Vec<String>,
) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    if before.region_id != after.region_id
        || before.account_id != after.account_id
        || before.account_name != after.account_name
        || before.limits != after.limits
        || before.vpcs != after.vpcs
    {
        return Err("the call changed the world's region, account, limits or VPCs".into());
    }
    // Prefix lists, by id.
    diff_flat(
        &mut ops,
        "prefix_lists",
        &before.prefix_lists,
        &after.prefix_lists,
        |p| &p.id,
        prefix_list_keys,
    );
    // Groups, by id.
    let sg = vec![key("security_groups")];
    let groups = pair_by_id(&before.security_groups, &after.security_groups, |g| &g.id);
    for (i, g, h) in groups.kept {
        let Some(h) = h else {
            ops.push(Op::Remove(sg.clone(), i));
            continue;
        };
        if h == g {
            continue;
        }
        match kept.get(i).and_then(Option::as_ref) {
            None => {
                notes.push(format!(
                    "group `{}` was imported; the call changed it, so it is now written in \
                     full in the world file (the import file is left as it was)",
                    g.id
                ));
                let mut full = group_keys(after, h);
                full.insert(
                    "rules".into(),
                    Value::Array(
                        h.rules
                            .iter()
                            .map(|r| Value::Object(rule_keys(r)))
                            .collect(),
                    ),
                );
                ops.push(Op::Replace(sg.clone(), i, Value::Object(full)));
            }
            Some(entries) => {
                set_changed(
                    &mut ops,
                    &sg,
                    i,
                    &group_keys(before, g),
                    &group_keys(after, h),
                );
                let mut rules = sg.clone();
                rules.extend([Seg::Index(i), key("rules")]);
                let pairs = pair_by_id(&g.rules, &h.rules, |r| &r.id);
                for (k, r, s) in pairs.kept {
                    let Some(&entry) = entries.get(k) else {
                        return Err(format!("group `{}`: rule {} has no entry", g.id, k + 1));
                    };
                    match s {
                        None => ops.push(Op::Remove(rules.clone(), entry)),
                        Some(s) if s != r => {
                            set_changed(&mut ops, &rules, entry, &rule_keys(r), &rule_keys(s))
                        }
                        Some(_) => {}
                    }
                }
                for s in pairs.added {
                    ops.push(Op::Push(rules.clone(), Value::Object(rule_keys(s))));
                }
            }
        }
    }
    for h in groups.added {
        let mut full = group_keys(after, h);
        if !h.rules.is_empty() {
            full.insert(
                "rules".into(),
                Value::Array(
                    h.rules
                        .iter()
                        .map(|r| Value::Object(rule_keys(r)))
                        .collect(),
                ),
            );
        }
        ops.push(Op::Push(sg.clone(), Value::Object(full)));
    }
    // Instances, by id (calls change only their groups).
    diff_flat(
        &mut ops,
        "instances",
        &before.instances,
        &after.instances,
        |i| &i.id,
        instance_keys,
    );
    // Client tokens: new records are appended.
    if before.client_tokens != after.client_tokens {
        let ct = vec![key("client_tokens")];
        if after.client_tokens.starts_with(&before.client_tokens) {
            for t in after.client_tokens.iter().skip(before.client_tokens.len()) {
                ops.push(Op::Push(ct.clone(), token_value(t)?));
            }
        } else {
            let all = after
                .client_tokens
                .iter()
                .map(token_value)
                .collect::<Result<Vec<_>, _>>()?;
            ops.push(Op::Set(
                Vec::new(),
                "client_tokens".into(),
                Some(Value::Array(all)),
            ));
        }
    }
    Ok(ops)
}

/// The items of two versions of one array, paired by id.
struct Paired<'a, T> {
    /// Each item of `before` with its index and its version in `after`, if it is still there.
    kept: Vec<(usize, &'a T, Option<&'a T>)>,
    /// The items of `after` whose id `before` lacks, in order.
    added: Vec<&'a T>,
}

/// Pairs `before` and `after` by id through a hash index, so an edit of a world with many
/// instances costs linear time.
fn pair_by_id<'a, T>(before: &'a [T], after: &'a [T], id: impl Fn(&T) -> &String) -> Paired<'a, T> {
    let later: HashMap<&str, &T> = after.iter().map(|t| (id(t).as_str(), t)).collect();
    let earlier: HashSet<&str> = before.iter().map(|t| id(t).as_str()).collect();
    Paired {
        kept: before
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t, later.get(id(t).as_str()).copied()))
            .collect(),
        added: after
            .iter()
            .filter(|t| !earlier.contains(id(t).as_str()))
            .collect(),
    }
}

/// The operations that turn the array `name` of flat records (prefix lists, instances) from
/// `before` into `after`: removals, changed keys and appended records.
fn diff_flat<T: PartialEq>(
    ops: &mut Vec<Op>,
    name: &str,
    before: &[T],
    after: &[T],
    id: impl Fn(&T) -> &String,
    keys: impl Fn(&T) -> Map<String, Value>,
) {
    let path = vec![key(name)];
    let pairs = pair_by_id(before, after, id);
    for (i, a, b) in pairs.kept {
        match b {
            None => ops.push(Op::Remove(path.clone(), i)),
            Some(b) if b != a => set_changed(ops, &path, i, &keys(a), &keys(b)),
            Some(_) => {}
        }
    }
    for b in pairs.added {
        ops.push(Op::Push(path.clone(), Value::Object(keys(b))));
    }
}

/// Sets the keys of element `i` of the array at `path` that differ between `old` and `new`.
fn set_changed(
    ops: &mut Vec<Op>,
    path: &[Seg],
    i: usize,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) {
    let mut at = path.to_vec();
    at.push(Seg::Index(i));
    for (k, v) in new {
        if old.get(k) != Some(v) {
            ops.push(Op::Set(at.clone(), k.clone(), Some(v.clone())));
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            ops.push(Op::Set(at.clone(), k.clone(), None));
        }
    }
}

fn token_value(t: &ClientTokenRecord) -> Result<Value, String> {
    serde_json::to_value(t).map_err(|e| e.to_string())
}

/// A rule's file keys, in a readable order: id, direction, protocol and ports, the peer and
/// local addresses, policy, priority, then the rest.
pub(crate) fn rule_keys(r: &Rule) -> Map<String, Value> {
    let mut all = rule_to_keys(r);
    let mut out = Map::new();
    for k in [
        "id",
        "direction",
        "ip_protocol",
        "port_range",
        "source_port_range",
    ] {
        if let Some(v) = all.remove(k) {
            out.insert(k.into(), v);
        }
    }
    let tail: Vec<(String, Value)> = [
        "policy",
        "priority",
        "nic_type",
        "description",
        "create_time",
    ]
    .iter()
    .filter_map(|k| all.remove(*k).map(|v| (k.to_string(), v)))
    .collect();
    out.extend(all);
    out.extend(tail);
    out
}

/// A group's file keys without its rules; `owner_id` and `owner_account` only where the
/// loader would not derive them (the world's account and its name).
fn group_keys(w: &World, g: &SecurityGroup) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), g.id.clone().into());
    if !g.name.is_empty() {
        m.insert("name".into(), g.name.clone().into());
    }
    if !g.description.is_empty() {
        m.insert("description".into(), g.description.clone().into());
    }
    m.insert("type".into(), g.group_type.as_str().into());
    if let Some(v) = &g.vpc_id {
        m.insert("vpc_id".into(), v.clone().into());
    }
    if g.owner_id != w.account_id {
        m.insert("owner_id".into(), g.owner_id.clone().into());
    }
    let derived = (g.owner_id == w.account_id)
        .then(|| w.account_name.clone())
        .flatten();
    if g.owner_account != derived {
        if let Some(a) = &g.owner_account {
            m.insert("owner_account".into(), a.clone().into());
        }
    }
    m.insert(
        "inner_access_policy".into(),
        g.inner_access_policy.as_str().into(),
    );
    if g.service_managed {
        m.insert("service_managed".into(), true.into());
    }
    if !g.create_time.is_empty() {
        m.insert("create_time".into(), g.create_time.clone().into());
    }
    m
}

fn prefix_list_keys(p: &PrefixList) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), p.id.clone().into());
    if !p.name.is_empty() {
        m.insert("name".into(), p.name.clone().into());
    }
    if !p.description.is_empty() {
        m.insert("description".into(), p.description.clone().into());
    }
    m.insert("address_family".into(), p.address_family.as_str().into());
    m.insert("max_entries".into(), p.max_entries.into());
    if !p.create_time.is_empty() {
        m.insert("create_time".into(), p.create_time.clone().into());
    }
    let entries = p
        .entries
        .iter()
        .map(|e| {
            if e.description.is_empty() {
                Value::String(e.cidr.to_string())
            } else {
                serde_json::json!({ "cidr": e.cidr.to_string(), "description": e.description })
            }
        })
        .collect();
    m.insert("entries".into(), Value::Array(entries));
    m
}

fn instance_keys(i: &Instance) -> Map<String, Value> {
    let ips =
        |v: &[std::net::IpAddr]| Value::from(v.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    let mut m = Map::new();
    m.insert("id".into(), i.id.clone().into());
    if let Some(v) = &i.vpc_id {
        m.insert("vpc_id".into(), v.clone().into());
    }
    m.insert("security_groups".into(), i.security_groups.clone().into());
    m.insert("private_ips".into(), ips(&i.private_ips));
    if let Some(p) = &i.public_ip {
        m.insert("public_ip".into(), p.to_string().into());
    }
    if !i.network_interfaces.is_empty() {
        let enis = i
            .network_interfaces
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id,
                    "security_groups": n.security_groups,
                    "private_ips": ips(&n.private_ips),
                })
            })
            .collect();
        m.insert("network_interfaces".into(), Value::Array(enis));
    }
    m
}

// ---------------------------------------------------------------------------------------
// JSON documents.

fn json_at<'a>(doc: &'a mut Value, path: &[Seg]) -> Result<&'a mut Value, String> {
    let mut v = doc;
    for s in path {
        v = match s {
            Seg::Key(k) => {
                let o = v.as_object_mut().ok_or("expected an object")?;
                o.entry(k.clone())
                    .or_insert_with(|| Value::Array(Vec::new()))
            }
            Seg::Index(i) => v.get_mut(*i).ok_or("no such element")?,
        };
    }
    Ok(v)
}

fn json_apply(doc: &mut Value, op: &Op) -> Result<(), String> {
    match op {
        Op::Set(path, k, v) => {
            let o = json_at(doc, path)?
                .as_object_mut()
                .ok_or("expected an object")?;
            match v {
                Some(v) => {
                    o.insert(k.clone(), v.clone());
                }
                None => {
                    o.shift_remove(k);
                }
            }
        }
        Op::Remove(path, i) => {
            let a = json_at(doc, path)?
                .as_array_mut()
                .ok_or("expected an array")?;
            if *i < a.len() {
                a.remove(*i);
            }
        }
        Op::Push(path, v) => {
            json_at(doc, path)?
                .as_array_mut()
                .ok_or("expected an array")?
                .push(v.clone());
        }
        Op::Replace(path, i, v) => {
            let a = json_at(doc, path)?
                .as_array_mut()
                .ok_or("expected an array")?;
            if let Some(slot) = a.get_mut(*i) {
                *slot = v.clone();
            }
        }
    }
    Ok(())
}

/// A JSON document in the layout of `original`: its indentation (compact when it had no
/// line breaks) and its final line break.
fn json_text(doc: &Value, original: &str) -> String {
    let trimmed = original.trim_end();
    let mut text = if !trimmed.contains('\n') {
        serde_json::to_string(doc).unwrap_or_default()
    } else {
        let indent: String = trimmed
            .lines()
            .skip(1)
            .map(|l| {
                l.chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect::<String>()
            })
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| "  ".into());
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        let _ = serde::Serialize::serialize(doc, &mut ser);
        String::from_utf8(out).unwrap_or_default()
    };
    if original.ends_with('\n') {
        text.push('\n');
    }
    text
}

// ---------------------------------------------------------------------------------------
// TOML documents.

/// A place in a TOML document that a path leads to.
enum Node<'a> {
    Table(&'a mut toml_edit::Table),
    Inline(&'a mut toml_edit::InlineTable),
    Tables(&'a mut toml_edit::ArrayOfTables),
    Array(&'a mut toml_edit::Array),
}

fn item_node(item: &mut toml_edit::Item) -> Result<Node<'_>, String> {
    match item {
        toml_edit::Item::Table(t) => Ok(Node::Table(t)),
        toml_edit::Item::ArrayOfTables(a) => Ok(Node::Tables(a)),
        toml_edit::Item::Value(v) => value_node(v),
        toml_edit::Item::None => Err("a missing key".into()),
    }
}

fn value_node(v: &mut toml_edit::Value) -> Result<Node<'_>, String> {
    match v {
        toml_edit::Value::InlineTable(t) => Ok(Node::Inline(t)),
        toml_edit::Value::Array(a) => Ok(Node::Array(a)),
        _ => Err("a value where a table or array was expected".into()),
    }
}

fn toml_at<'a>(doc: &'a mut toml_edit::DocumentMut, path: &[Seg]) -> Result<Node<'a>, String> {
    let mut node = Node::Table(doc.as_table_mut());
    for (depth, s) in path.iter().enumerate() {
        node = match (node, s) {
            (Node::Table(t), Seg::Key(k)) => {
                if !t.contains_key(k) {
                    // A missing array: of tables at the top (`[[security_groups]]`), one
                    // per line inside a table (`rules = [ … ]`).
                    let item = if depth == 0 {
                        toml_edit::Item::ArrayOfTables(Default::default())
                    } else {
                        toml_edit::Item::Value(toml_edit::Value::Array(Default::default()))
                    };
                    t.insert(k, item);
                }
                item_node(t.get_mut(k).ok_or("a missing key")?)?
            }
            (Node::Inline(t), Seg::Key(k)) => {
                if !t.contains_key(k) {
                    t.insert(k, toml_edit::Value::Array(Default::default()));
                }
                value_node(t.get_mut(k).ok_or("a missing key")?)?
            }
            (Node::Tables(a), Seg::Index(i)) => {
                Node::Table(a.get_mut(*i).ok_or("no such element")?)
            }
            (Node::Array(a), Seg::Index(i)) => value_node(a.get_mut(*i).ok_or("no such element")?)?,
            _ => return Err("the file's layout does not fit the world".into()),
        };
    }
    Ok(node)
}

/// A JSON value as a TOML value (objects as inline tables; `null` has no TOML form).
fn toml_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for x in a {
                arr.push(toml_value(x));
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(o) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, x) in o {
                if !x.is_null() {
                    t.insert(k, toml_value(x));
                }
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => "".into(),
    }
}

/// An array of tables written one per line: `[\n  { … },\n]`.
fn toml_multiline(a: &[Value]) -> toml_edit::Value {
    let mut arr = toml_edit::Array::new();
    for x in a {
        let mut v = toml_value(x);
        v.decor_mut().set_prefix("\n  ");
        v.decor_mut().set_suffix("");
        arr.push_formatted(v);
    }
    if !a.is_empty() {
        arr.set_trailing_comma(true);
        arr.set_trailing("\n");
    }
    toml_edit::Value::Array(arr)
}

/// A JSON object as a TOML table: arrays of objects one per line, the rest inline.
fn toml_table(o: &Map<String, Value>) -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    for (k, v) in o {
        if v.is_null() {
            continue;
        }
        t.insert(k, toml_edit::Item::Value(toml_item_value(v)));
    }
    t
}

fn toml_item_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::Array(a) if a.iter().any(Value::is_object) => toml_multiline(a),
        _ => toml_value(v),
    }
}

/// Puts `new` in place of `old`, keeping the spacing and comments around `old`.
fn replace_keeping_decor(old: &mut toml_edit::Value, mut new: toml_edit::Value) {
    *new.decor_mut() = old.decor().clone();
    *old = new;
}

fn toml_apply(doc: &mut toml_edit::DocumentMut, op: &Op, pushed: &mut usize) -> Result<(), String> {
    match op {
        Op::Set(path, k, v) => match toml_at(doc, path)? {
            Node::Table(t) => match v {
                None => {
                    t.remove(k);
                }
                Some(v) => match t.get_mut(k).and_then(toml_edit::Item::as_value_mut) {
                    Some(old) => replace_keeping_decor(old, toml_item_value(v)),
                    None if path.is_empty()
                        && v.as_array().is_some_and(|a| a.iter().all(Value::is_object)) =>
                    {
                        let mut aot = toml_edit::ArrayOfTables::new();
                        for x in v.as_array().into_iter().flatten() {
                            if let Value::Object(o) = x {
                                aot.push(toml_table(o));
                            }
                        }
                        t.insert(k, toml_edit::Item::ArrayOfTables(aot));
                    }
                    None => {
                        t.insert(k, toml_edit::Item::Value(toml_item_value(v)));
                    }
                },
            },
            Node::Inline(t) => match v {
                None => {
                    t.remove(k);
                }
                Some(v) => match t.get_mut(k) {
                    Some(old) => replace_keeping_decor(old, toml_value(v)),
                    None => {
                        let mut nv = toml_value(v);
                        nv.decor_mut().set_prefix(" ");
                        nv.decor_mut().set_suffix(" ");
                        t.insert(k, nv);
                        // The new key after the last one: `{ a = 1, b = 2 }`.
                        if let Some((mut kk, _)) = t.get_key_value_mut(k) {
                            kk.leaf_decor_mut().set_prefix(" ");
                            kk.leaf_decor_mut().set_suffix(" ");
                        }
                    }
                },
            },
            _ => return Err("the file's layout does not fit the world".into()),
        },
        Op::Remove(path, i) => match toml_at(doc, path)? {
            Node::Tables(a) => {
                if *i < a.len() {
                    a.remove(*i);
                }
            }
            Node::Array(a) => {
                if *i < a.len() {
                    let last = *i + 1 == a.len();
                    a.remove(*i);
                    // Removing the last element of a one-per-line array keeps its trailing
                    // comma on the element before.
                    if last && a.is_empty() {
                        a.set_trailing_comma(false);
                    }
                }
            }
            _ => return Err("the file's layout does not fit the world".into()),
        },
        Op::Push(path, v) => match toml_at(doc, path)? {
            Node::Tables(a) => {
                let Value::Object(o) = v else {
                    return Err("a table was expected".into());
                };
                let mut t = toml_table(o);
                // Right after the array's last table (tables of one position keep the order
                // they were pushed in), else after every table of the file.
                *pushed += 1;
                let position = a
                    .iter()
                    .filter_map(toml_edit::Table::position)
                    .max()
                    .unwrap_or(usize::MAX / 2 + *pushed);
                t.set_position(position);
                t.decor_mut().set_prefix("\n");
                a.push(t);
            }
            Node::Array(a) => {
                let mut nv = toml_value(v);
                let prefix = a
                    .iter()
                    .last()
                    .and_then(|x| x.decor().prefix())
                    .and_then(|p| p.as_str())
                    .map(|p| {
                        // Only the line break and indentation, not a comment above the last.
                        match p.rfind('\n') {
                            Some(n) => p[n..].to_string(),
                            None => p.to_string(),
                        }
                    });
                let multiline = a.is_empty() || prefix.as_deref().is_some_and(|p| p.contains('\n'));
                if multiline {
                    nv.decor_mut()
                        .set_prefix(prefix.unwrap_or_else(|| "\n  ".into()));
                    nv.decor_mut().set_suffix("");
                    if a.is_empty() {
                        a.set_trailing("\n");
                        a.set_trailing_comma(true);
                    }
                } else {
                    nv.decor_mut().set_prefix(" ");
                    nv.decor_mut().set_suffix("");
                }
                a.push_formatted(nv);
            }
            _ => return Err("the file's layout does not fit the world".into()),
        },
        Op::Replace(path, i, v) => {
            let Value::Object(o) = v else {
                return Err("a table was expected".into());
            };
            match toml_at(doc, path)? {
                Node::Tables(a) => {
                    let slot = a.get_mut(*i).ok_or("no such element")?;
                    let mut t = toml_table(o);
                    *t.decor_mut() = slot.decor().clone();
                    if let Some(p) = slot.position() {
                        t.set_position(p);
                    }
                    *slot = t;
                }
                Node::Array(a) => {
                    let slot = a.get_mut(*i).ok_or("no such element")?;
                    replace_keeping_decor(slot, toml_value(v));
                }
                _ => return Err("the file's layout does not fit the world".into()),
            }
        }
    }
    Ok(())
}
