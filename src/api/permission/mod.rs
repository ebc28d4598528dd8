//! One permission of `AuthorizeSecurityGroup[Egress]`: the permission rows of SPEC §4's
//! validation table, checked top to bottom, and the call-level checks after them.
//!
//! This is the single code path that turns wire fields into a [`Rule`]: API calls use it
//! for each `Permissions.N` (or the flat parameters), and world files use it for each rule
//! as a one-permission call of its direction on its group.
//!
//! The request-level rows (the table's first five) are checked once per call by the rule
//! actions (`super::rules`). [`validate_permission`] then runs the permission rows as steps,
//! one function per group of rows, in the table's order:
//!
//! | rows | step |
//! |---|---|
//! | `IpProtocol` | `ports::protocol` |
//! | `PortRange` absent … TCP/UDP with a > b | `ports::port_range` |
//! | `SourcePortRange` | `ports::source_port_range` |
//! | `Policy`; `Priority`; `NicType`; `Description` | `attributes::policy`, `priority`, `nic_type`, `description` |
//! | no peer field; IPv4 and IPv6 peer fields; IPv4 and IPv6 local fields | `addresses::peer_fields` |
//! | malformed CIDRs … protocol versus address family | `addresses::cidrs` |
//! | the group-peer rows | `peers::group_peer` |
//! | the prefix-list rows | `peers::prefix_list_peer` |
//!
//! After every permission of a call passes: [`check_duplicates`], then [`check_limits`]
//! (in `limits`).

mod addresses;
mod attributes;
mod limits;
mod peers;
mod ports;

pub use limits::{check_duplicates, check_limits};

use super::error::ApiError;
use crate::model::{Direction, Peer, Rule, SecurityGroup, World};
use addresses::PeerAddress;
use std::collections::BTreeMap;

/// How a permission was written, which decides the parameter names errors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamForm {
    /// The deprecated flat parameters (`PortRange`), also used for world-file rules and
    /// the single-rule fields of `Modify…Rule`.
    Flat,
    /// `Permissions.N.*`, N counting from 1.
    Indexed(usize),
}

impl ParamForm {
    /// The full name of a field in this form (`Permissions.2.PortRange` or `PortRange`).
    pub fn name(self, field: &str) -> String {
        match self {
            ParamForm::Flat => field.to_string(),
            ParamForm::Indexed(n) => format!("Permissions.{n}.{field}"),
        }
    }
}

/// The rule fields a permission may carry, by their API names.
pub const PERMISSION_FIELDS: &[&str] = &[
    "IpProtocol",
    "PortRange",
    "SourcePortRange",
    "SourceCidrIp",
    "Ipv6SourceCidrIp",
    "SourceGroupId",
    "SourceGroupOwnerAccount",
    "SourceGroupOwnerId",
    "SourcePrefixListId",
    "DestCidrIp",
    "Ipv6DestCidrIp",
    "DestGroupId",
    "DestGroupOwnerAccount",
    "DestGroupOwnerId",
    "DestPrefixListId",
    "NicType",
    "Policy",
    "Priority",
    "Description",
];

/// The names of the peer and local fields for a direction.
struct Names {
    peer_v4: &'static str,
    peer_v6: &'static str,
    group: &'static str,
    owner_account: &'static str,
    owner_id: &'static str,
    prefix_list: &'static str,
    local_v4: &'static str,
    local_v6: &'static str,
}

impl Names {
    fn of(direction: Direction) -> Names {
        match direction {
            Direction::Ingress => Names {
                peer_v4: "SourceCidrIp",
                peer_v6: "Ipv6SourceCidrIp",
                group: "SourceGroupId",
                owner_account: "SourceGroupOwnerAccount",
                owner_id: "SourceGroupOwnerId",
                prefix_list: "SourcePrefixListId",
                local_v4: "DestCidrIp",
                local_v6: "Ipv6DestCidrIp",
            },
            Direction::Egress => Names {
                peer_v4: "DestCidrIp",
                peer_v6: "Ipv6DestCidrIp",
                group: "DestGroupId",
                owner_account: "DestGroupOwnerAccount",
                owner_id: "DestGroupOwnerId",
                prefix_list: "DestPrefixListId",
                local_v4: "SourceCidrIp",
                local_v6: "Ipv6SourceCidrIp",
            },
        }
    }
}

/// One permission's fields as the steps read them.
struct Fields<'a> {
    /// Values by API field name, without the `Permissions.N.` prefix.
    values: &'a BTreeMap<String, String>,
    /// How the permission was written, for the parameter names of errors.
    form: ParamForm,
    /// The rule's direction, which decides peer and local fields and some codes.
    direction: Direction,
    /// The direction's peer and local field names.
    names: Names,
}

impl<'a> Fields<'a> {
    /// A field's value; an empty value counts as absent.
    fn get(&self, name: &str) -> Option<&'a str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The full parameter name of a field, as errors name it.
    fn param(&self, field: &str) -> String {
        self.form.name(field)
    }
}

/// Validates one permission of an Authorize call on `group` (the permission rows of SPEC §4,
/// in order) and returns the rule it describes, with an empty `id` and `create_time` for the
/// caller to fill in. `fields` maps API field names (without the `Permissions.N.` prefix) to
/// values; an empty value counts as absent. The call-level checks (duplicates, limits) are
/// [`check_duplicates`] and [`check_limits`].
pub fn validate_permission(
    world: &World,
    group: &SecurityGroup,
    direction: Direction,
    fields: &BTreeMap<String, String>,
    form: ParamForm,
) -> Result<Rule, ApiError> {
    let f = Fields {
        values: fields,
        form,
        direction,
        names: Names::of(direction),
    };
    // Protocol and ports.
    let protocol = ports::protocol(&f)?;
    let port_range = ports::port_range(&f, protocol)?;
    let source_port_range = ports::source_port_range(&f, protocol)?;
    // Policy, priority, NIC type, description.
    let policy = attributes::policy(&f)?;
    let priority = attributes::priority(&f)?;
    let nic_given = attributes::nic_type(&f)?;
    let description = attributes::description(&f)?;
    // Peer and local addresses.
    let given = addresses::peer_fields(&f)?;
    let addresses = addresses::cidrs(&f, &given, protocol)?;
    // Group peers and prefix lists.
    let peer = match addresses.peer {
        PeerAddress::Cidr(net) => Peer::Cidr(net),
        PeerAddress::Group(id) => peers::group_peer(world, group, &f, id, nic_given)?,
        PeerAddress::PrefixList(id) => {
            peers::prefix_list_peer(world, group, &f, id, addresses.local, protocol)?
        }
    };
    Ok(Rule {
        id: String::new(),
        direction,
        protocol,
        port_range,
        source_port_range,
        peer,
        local_cidr: addresses.local,
        nic_type: attributes::stored_nic_type(group, nic_given),
        policy,
        priority,
        description,
        create_time: String::new(),
    })
}
