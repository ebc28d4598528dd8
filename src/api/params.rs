//! The parameter names sgsim knows, to warn about a misspelt one (the cloud ignores an
//! unknown parameter, and the call then fails for the missing one, which misleads). The
//! warning names the nearest known name; the response is unchanged.

use super::permission::PERMISSION_FIELDS;
use super::request::{Params, COMMON_PARAMS};

/// Business parameters of the simulated actions and a few common ones of the ECS API that
/// sgsim accepts and ignores (paging, tags, resource owners). `N` stands for a list index.
const NAMES: &[&str] = &[
    "RegionId",
    "SecurityGroupId",
    "SecurityGroupName",
    "SecurityGroupType",
    "SecurityGroupIds",
    "SecurityGroupRuleId",
    "SecurityGroupRuleId.N",
    "Description",
    "VpcId",
    "Direction",
    "InnerAccessPolicy",
    "PrefixListId",
    "PrefixListId.N",
    "PrefixListName",
    "AddressFamily",
    "MaxEntries",
    "Entry.N.Cidr",
    "Entry.N.Description",
    "AddEntry.N.Cidr",
    "AddEntry.N.Description",
    "RemoveEntry.N.Cidr",
    "InstanceId",
    "NetworkInterfaceId",
    "ResourceGroupId",
    "ResourceOwnerId",
    "ResourceOwnerAccount",
    "OwnerId",
    "OwnerAccount",
    "PageNumber",
    "PageSize",
    "MaxResults",
    "NextToken",
    "DryRun",
    "Tag.N.Key",
    "Tag.N.Value",
];

/// A name with each numeric part written `N` (`Permissions.3.PortRange` →
/// `Permissions.N.PortRange`), and the numbers taken out, in order.
fn pattern(name: &str) -> (String, Vec<&str>) {
    let mut nums = Vec::new();
    let parts: Vec<&str> = name
        .split('.')
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                nums.push(p);
                "N"
            } else {
                p
            }
        })
        .collect();
    (parts.join("."), nums)
}

/// Whether sgsim knows a parameter name.
pub fn is_known(name: &str) -> bool {
    let (p, _) = pattern(name);
    known().any(|k| k == p)
}

fn known() -> impl Iterator<Item = String> {
    COMMON_PARAMS
        .iter()
        .chain(NAMES)
        .map(|s| s.to_string())
        .chain(PERMISSION_FIELDS.iter().map(|f| f.to_string()))
        .chain(
            PERMISSION_FIELDS
                .iter()
                .map(|f| format!("Permissions.N.{f}")),
        )
}

/// Edit distance of two names, ignoring case.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_ascii_lowercase().chars().collect();
    let b: Vec<char> = b.to_ascii_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for ((cb, diag), up) in b.iter().zip(&prev).zip(prev.iter().skip(1)) {
            let left = cur.last().copied().unwrap_or(usize::MAX - 1);
            let cost = usize::from(ca != cb);
            cur.push((diag + cost).min(up + 1).min(left + 1));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The known name nearest to an unknown one, with its list indices filled in as given
/// (`Permissions.1.SourceCidrIP` → `Permissions.1.SourceCidrIp`), when one is near enough.
pub fn nearest(name: &str) -> Option<String> {
    let (p, nums) = pattern(name);
    let (best, d) = known()
        .map(|k| {
            let d = distance(&p, &k);
            (k, d)
        })
        .min_by_key(|(_, d)| *d)?;
    if d > (p.len() / 3).max(2) {
        return None;
    }
    let mut nums = nums.into_iter();
    let filled: Vec<String> = best
        .split('.')
        .map(|part| {
            if part == "N" {
                nums.next().unwrap_or("1").to_string()
            } else {
                part.to_string()
            }
        })
        .collect();
    Some(filled.join("."))
}

/// The parameters of a call that sgsim does not know, each with the nearest known name.
pub fn unknown(params: &Params) -> Vec<(String, Option<String>)> {
    params
        .iter()
        .filter(|(name, _)| !is_known(name))
        .map(|(name, _)| (name.to_string(), nearest(name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_name_gets_the_nearest_known_one() {
        assert!(is_known("Permissions.12.SourceCidrIp"));
        assert!(is_known("SecurityGroupRuleId.3"));
        assert!(!is_known("Permissions.1.SourceCidrIP"));
        assert_eq!(
            nearest("Permissions.1.SourceCidrIP").as_deref(),
            Some("Permissions.1.SourceCidrIp")
        );
        assert_eq!(
            nearest("SecurityGroupID").as_deref(),
            Some("SecurityGroupId")
        );
        assert_eq!(nearest("Wholly.Different.Thing"), None);
    }
}
