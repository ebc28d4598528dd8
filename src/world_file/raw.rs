//! The world-file schema as written (snake-case keys, lenient scalar types) and its parsing
//! with positions and field paths; [`super::build_world`] validates what this yields.

use super::{Format, WorldError};
use crate::model::{ClientTokenRecord, Limits};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// An integer or a string, as ids of accounts and priorities may be written.
#[derive(Debug, Clone)]
pub(crate) enum IntOrString {
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
    pub(super) fn text(&self) -> String {
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
    pub(crate) region_id: Option<String>,
    pub(crate) account_id: Option<IntOrString>,
    pub(crate) account_name: Option<String>,
    pub(crate) limits: Option<Limits>,
    #[serde(default)]
    pub(crate) vpcs: Vec<RawVpc>,
    #[serde(default)]
    pub(crate) prefix_lists: Vec<RawPrefixList>,
    #[serde(default)]
    pub(crate) security_groups: Vec<serde_json::Value>,
    #[serde(default)]
    pub(crate) instances: Vec<RawInstance>,
    #[serde(default)]
    pub(crate) client_tokens: Vec<ClientTokenRecord>,
    /// Scenario name.
    pub(crate) name: Option<String>,
    /// Scenario description.
    pub(crate) description: Option<String>,
    /// Scenario steps.
    pub(crate) steps: Option<Vec<S>>,
    /// Scenario: the world file it names instead of holding one.
    pub(crate) world: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVpc {
    pub(crate) id: String,
}

/// A prefix-list entry: a CIDR string or a table `{ cidr, description }`.
#[derive(Debug)]
pub(crate) enum RawEntry {
    Cidr(String),
    Full { cidr: String, description: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntryTable {
    pub(crate) cidr: String,
    #[serde(default)]
    pub(crate) description: String,
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
pub(crate) struct RawPrefixList {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) address_family: Option<String>,
    pub(crate) max_entries: Option<i64>,
    #[serde(default)]
    pub(crate) entries: Vec<RawEntry>,
    pub(crate) create_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    #[serde(rename = "type")]
    pub(crate) group_type: Option<String>,
    pub(crate) vpc_id: Option<String>,
    pub(crate) owner_id: Option<IntOrString>,
    pub(crate) owner_account: Option<String>,
    pub(crate) inner_access_policy: Option<String>,
    pub(crate) service_managed: Option<bool>,
    pub(crate) create_time: Option<String>,
    #[serde(default)]
    pub(crate) rules: Vec<serde_json::Value>,
}

/// A rule as written in a file: the API's names in snake case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) id: Option<String>,
    pub(crate) direction: Option<String>,
    pub(crate) ip_protocol: Option<String>,
    pub(crate) port_range: Option<String>,
    pub(crate) source_port_range: Option<String>,
    pub(crate) source_cidr_ip: Option<String>,
    ipv6_source_cidr_ip: Option<String>,
    pub(crate) source_group_id: Option<String>,
    pub(crate) source_group_owner_account: Option<String>,
    pub(crate) source_group_owner_id: Option<IntOrString>,
    pub(crate) source_prefix_list_id: Option<String>,
    pub(crate) dest_cidr_ip: Option<String>,
    ipv6_dest_cidr_ip: Option<String>,
    pub(crate) dest_group_id: Option<String>,
    pub(crate) dest_group_owner_account: Option<String>,
    pub(crate) dest_group_owner_id: Option<IntOrString>,
    pub(crate) dest_prefix_list_id: Option<String>,
    pub(crate) nic_type: Option<String>,
    pub(crate) policy: Option<String>,
    pub(crate) priority: Option<IntOrString>,
    pub(crate) description: Option<String>,
    pub(crate) create_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEni {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) security_groups: Vec<String>,
    #[serde(default)]
    pub(crate) private_ips: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    pub(crate) id: String,
    pub(crate) vpc_id: Option<String>,
    #[serde(default)]
    pub(crate) security_groups: Vec<String>,
    #[serde(default)]
    pub(crate) private_ips: Vec<String>,
    pub(crate) public_ip: Option<String>,
    #[serde(default)]
    pub(crate) network_interfaces: Vec<RawEni>,
}

impl RawRule {
    /// The rule's fields by API name, as a one-permission call would carry them.
    pub(super) fn api_fields(&self) -> BTreeMap<String, String> {
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
    let text = super::reference::strip_bom(text);
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
            if let Err((pos, message)) = check_json_keys(text) {
                return Err(fail(pos, message));
            }
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

/// Deserializes a value, naming the field that failed (`field `priority`: …`).
pub(super) fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, String> {
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

/// Refuses a JSON text with an object that has a key twice (serde would keep the last
/// silently; TOML refuses it): the key, the path of its object and the line and column
/// where the second one ends.
pub(crate) fn check_json_keys(text: &str) -> Result<(), (Option<(usize, usize)>, String)> {
    struct NoDup;
    impl<'de> Deserialize<'de> for NoDup {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NoDupVisitor)
        }
    }
    struct NoDupVisitor;
    impl<'de> serde::de::Visitor<'de> for NoDupVisitor {
        type Value = NoDup;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_i64<E>(self, _: i64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_u64<E>(self, _: u64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_f64<E>(self, _: f64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_str<E>(self, _: &str) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_unit<E>(self) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoDup, A::Error> {
            while seq.next_element::<NoDup>()?.is_some() {}
            Ok(NoDup)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoDup, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(serde::de::Error::custom(format!(
                        "key `{}` appears twice in one object",
                        super::quote(&key)
                    )));
                }
                map.next_value::<NoDup>()?;
            }
            Ok(NoDup)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, NoDup>(&mut de) {
        Ok(_) => Ok(()),
        Err(e) => {
            let path = e.path().to_string();
            let e = e.into_inner();
            let pos = (e.line() > 0).then(|| (e.line(), e.column().max(1)));
            let message = serde_message(&e);
            if path.is_empty() || path == "." || path == "?" {
                Err((pos, message))
            } else {
                Err((pos, format!("field `{path}`: {message}")))
            }
        }
    }
}
