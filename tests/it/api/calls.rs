//! The API through its library entry point: response shapes, atomicity, idempotence across
//! a save and reload, request ids, and the Import round trip.

use crate::support::{load_toml, TempDir};
use serde_json::Value;
use sgsim::api::{self, describe::PERMISSION_JSON_FIELDS, import, CallContext};
use sgsim::model::World;
use sgsim::world_file::{self, Format};

const WORLD: &str = r#"
region_id = "cn-hangzhou"

[[vpcs]]
id = "vpc-1"

[[prefix_lists]]
id = "pl-office"
name = "office"
address_family = "IPv4"
max_entries = 10
entries = ["203.0.113.0/24"]

[[security_groups]]
id = "sg-web"
name = "web"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-web-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
]

[[security_groups]]
id = "sg-db"
vpc_id = "vpc-1"

[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10"]
"#;

fn world() -> World {
    load_toml(WORLD, "test")
}

fn call(w: &mut World, q: &str) -> api::Response {
    api::call(w, q, &CallContext::scenario()).expect("decodable query")
}

const AUTH: &str = "Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web";

#[test]
fn error_body_has_the_cloud_shape_and_names_the_parameter() {
    let mut w = world();
    let before = w.clone();
    let r = call(
        &mut w,
        &format!("{AUTH}&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0&Permissions.2.IpProtocol=TCP&Permissions.2.PortRange=8o/80&Permissions.2.SourceCidrIp=0.0.0.0/0"),
    );
    assert_eq!(r.status, 400);
    let e = r.error.as_ref().expect("an error");
    assert_eq!(e.code.as_str(), "InvalidParam.PortRange");
    assert_eq!(e.param.as_deref(), Some("Permissions.2.PortRange"));
    let body = r.body.as_object().expect("object");
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["RequestId", "HostId", "Code", "Message", "Recommend"]
    );
    assert_eq!(body["Code"], "InvalidParam.PortRange");
    assert!(body["Message"]
        .as_str()
        .unwrap()
        .contains("Permissions.2.PortRange"));
    assert_eq!(w, before, "a failed call changes nothing");
}

#[test]
fn describe_gives_all_26_string_fields() {
    let mut w = world();
    let r = call(
        &mut w,
        &format!("{AUTH}&Permissions.1.IpProtocol=UDP&Permissions.1.PortRange=53/53&Permissions.1.SourceGroupId=sg-db&Permissions.1.Priority=7&Permissions.1.Policy=drop"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "only RequestId");
    let d = call(
        &mut w,
        "Action=DescribeSecurityGroupAttribute&RegionId=cn-hangzhou&SecurityGroupId=sg-web",
    );
    assert_eq!(d.status, 200);
    for k in [
        "RequestId",
        "RegionId",
        "SecurityGroupId",
        "SecurityGroupName",
        "Description",
        "VpcId",
        "InnerAccessPolicy",
    ] {
        assert!(d.body[k].is_string(), "{k}");
    }
    let perms = d.body["Permissions"]["Permission"].as_array().unwrap();
    assert_eq!(perms.len(), 2);
    for p in perms {
        let obj = p.as_object().unwrap();
        assert_eq!(obj.len(), 26);
        for k in PERMISSION_JSON_FIELDS {
            assert!(obj[k].is_string(), "{k} is a string");
        }
    }
    let p = &perms[1];
    assert_eq!(p["SecurityGroupRuleId"], "sgr-000000000001");
    assert_eq!(p["Priority"], "7");
    assert_eq!(p["Policy"], "Drop");
    assert_eq!(p["SourceGroupId"], "sg-db");
    assert_eq!(p["PortRange"], "53/53");
    assert_eq!(p["SourcePortRange"], "");
    assert_eq!(p["CreateTime"], "2026-01-01T00:00:00Z");
}

#[test]
fn request_ids_are_deterministic_and_uuid_shaped() {
    let q = "Action=DescribeSecurityGroups&RegionId=cn-hangzhou";
    let a = call(&mut world(), q).body["RequestId"].clone();
    let b = call(&mut world(), q).body["RequestId"].clone();
    assert_eq!(a, b);
    let s = a.as_str().unwrap();
    let parts: Vec<usize> = s.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert!(s
        .chars()
        .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    let mut w = world();
    call(&mut w, "Action=CreateSecurityGroup&RegionId=cn-hangzhou");
    assert_ne!(call(&mut w, q).body["RequestId"], a, "another world");
}

#[test]
fn undecodable_queries_are_query_errors() {
    let mut w = world();
    for q in ["Action=%G1", "Action=%", "Action=%FF%FE"] {
        let e = api::call(&mut w, q, &CallContext::scenario()).unwrap_err();
        assert!(!e.to_string().contains('\n'));
    }
}

#[test]
fn client_tokens_survive_a_save_and_reload() {
    let mut w = world();
    let q = format!("{AUTH}&ClientToken=tok-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0");
    let first = call(&mut w, &q);
    assert_eq!(first.status, 200);
    assert_eq!(w.client_tokens.len(), 1);
    for format in [Format::Toml, Format::Json] {
        let text = world_file::to_string(&w, format).unwrap();
        let mut again = world_file::load_str(&text, format, "saved").unwrap();
        let before = again.clone();
        let replay = call(&mut again, &q);
        assert_eq!(replay.body, first.body, "the first response again");
        assert_eq!(again, before, "nothing changed");
        let other = call(&mut again, &q.replace("80/80", "81/81"));
        assert_eq!(
            other.error.map(|e| e.code.as_str()),
            Some("IdempotentParameterMismatch")
        );
    }
    let long = format!("{AUTH}&ClientToken={}", "x".repeat(65));
    assert_eq!(call(&mut w, &long).status, 400);
}

#[test]
fn import_round_trip_keeps_the_rules() {
    let mut w = world();
    let perms = [
        "Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/90&Permissions.1.SourceCidrIp=0.0.0.0/0&Permissions.1.Description=web",
        "Permissions.2.IpProtocol=ALL&Permissions.2.PortRange=-1/-1&Permissions.2.SourcePrefixListId=pl-office&Permissions.2.Priority=100&Permissions.2.Policy=Drop",
        "Permissions.3.IpProtocol=ICMPv6&Permissions.3.PortRange=-1/-1&Permissions.3.Ipv6SourceCidrIp=2001:db8::/32&Permissions.3.Ipv6DestCidrIp=2001:db8::10",
        "Permissions.4.IpProtocol=UDP&Permissions.4.PortRange=53/53&Permissions.4.SourcePortRange=1000/2000&Permissions.4.SourceGroupId=sg-db",
    ];
    let r = call(&mut w, &format!("{AUTH}&{}", perms.join("&")));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &mut w,
        "Action=AuthorizeSecurityGroupEgress&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=443/443&Permissions.1.DestCidrIp=0.0.0.0/0&Permissions.1.SourceCidrIp=192.168.1.10",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = call(
        &mut w,
        "Action=DescribeSecurityGroupAttribute&RegionId=cn-hangzhou&SecurityGroupId=sg-web",
    );
    // Drop the group into a world as an imported element, in place of the original.
    let element = import::describe_to_group(&d.body).unwrap();
    assert_eq!(element["rules"].as_array().unwrap().len(), 6);
    let mut doc: toml::Value = toml::from_str(WORLD).unwrap();
    let groups = doc
        .get_mut("security_groups")
        .and_then(toml::Value::as_array_mut)
        .unwrap();
    groups[0] = toml::Value::try_from(d.body.clone()).unwrap();
    let text = toml::to_string(&doc).unwrap();
    let imported = world_file::load_str(&text, Format::Toml, "imported").unwrap();
    let a = w.group("sg-web").unwrap();
    let b = imported.group("sg-web").unwrap();
    assert_eq!(a.rules, b.rules);
    assert_eq!(a.name, b.name);
    assert_eq!(a.inner_access_policy, b.inner_access_policy);
    // And from a JSON file named by `import`.
    let dir = TempDir::new("import");
    dir.file("web.json", &d.body.to_string());
    let world_text = WORLD.replacen(
        "[[security_groups]]\nid = \"sg-web\"\nname = \"web\"\nvpc_id = \"vpc-1\"\nrules = [\n  { id = \"sgr-web-ssh\", direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"22/22\", source_cidr_ip = \"10.0.0.0/8\" },\n]",
        "[[security_groups]]\nimport = \"web.json\"\ntype = \"normal\"",
        1,
    );
    assert_ne!(world_text, WORLD);
    let from_file = world_file::load(&dir.file("world.toml", &world_text)).unwrap();
    assert_eq!(from_file.group("sg-web").unwrap().rules, a.rules);
}

#[test]
fn import_names_a_missing_peer() {
    let response: Value = serde_json::from_str(
        r#"{"SecurityGroupId":"sg-x","VpcId":"vpc-1","Permissions":{"Permission":[
        {"SecurityGroupRuleId":"sgr-x1","Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceGroupId":"sg-gone","Priority":"1"}]}}"#,
    )
    .unwrap();
    let mut doc: toml::Value = toml::from_str(WORLD).unwrap();
    doc.get_mut("security_groups")
        .and_then(toml::Value::as_array_mut)
        .unwrap()
        .push(toml::Value::try_from(response).unwrap());
    let e = world_file::load_str(&toml::to_string(&doc).unwrap(), Format::Toml, "w.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sg-gone"), "{e}");
}

#[test]
fn deterministic_ids_follow_the_largest_number() {
    let mut w = world();
    let r = call(&mut w, "Action=CreateSecurityGroup&RegionId=cn-hangzhou");
    assert_eq!(r.body["SecurityGroupId"], "sg-000000000001");
    let r = call(
        &mut w,
        "Action=CreatePrefixList&RegionId=cn-hangzhou&PrefixListName=x&AddressFamily=IPv6&MaxEntries=2&Entry.1.Cidr=2001:db8::/32",
    );
    assert_eq!(r.body["PrefixListId"], "pl-000000000001");
    let r = call(
        &mut w,
        "Action=RevokeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-web-ssh",
    );
    assert_eq!(r.status, 200);
    assert!(w.group("sg-web").unwrap().rules.is_empty());
}

#[test]
fn permission_errors_name_the_full_parameter() {
    let ok1 = "Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0";
    let cases: &[(&str, &str, &str)] = &[
        (
            "IpProtocol=XX&PortRange=1/1&SourceCidrIp=1.1.1.1",
            "InvalidIpProtocol.ValueNotSupported",
            "Permissions.2.IpProtocol",
        ),
        (
            "PortRange=1/1&SourceCidrIp=1.1.1.1",
            "MissingParameter",
            "Permissions.2.IpProtocol",
        ),
        (
            "IpProtocol=TCP&SourceCidrIp=1.1.1.1",
            "InvalidPortRange.Malformed",
            "Permissions.2.PortRange",
        ),
        (
            "IpProtocol=TCP&PortRange=-1/-1&SourceCidrIp=1.1.1.1",
            "OperationDenied",
            "Permissions.2.PortRange",
        ),
        (
            "IpProtocol=TCP&PortRange=9/8&SourceCidrIp=1.1.1.1",
            "InvalidIpProtocol.Malformed",
            "Permissions.2.PortRange",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourcePortRange=0/1&SourceCidrIp=1.1.1.1",
            "InvalidSourcePortRange.Malformed",
            "Permissions.2.SourcePortRange",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&Policy=x&SourceCidrIp=1.1.1.1",
            "InvalidPolicy.Malformed",
            "Permissions.2.Policy",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&Priority=x&SourceCidrIp=1.1.1.1",
            "InvalidPriority.Malformed",
            "Permissions.2.Priority",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&NicType=x&SourceCidrIp=1.1.1.1",
            "InvalidNicType.ValueNotSupported",
            "Permissions.2.NicType",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9",
            "MissingParameter.Source",
            "Permissions.2",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourceCidrIp=1.1.1.1/99",
            "InvalidParam.SourceCidrIp",
            "Permissions.2.SourceCidrIp",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourceCidrIp=1.1.1.1&DestCidrIp=x",
            "InvalidParam.DestCidrIp",
            "Permissions.2.DestCidrIp",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&Ipv6SourceCidrIp=x",
            "InvalidParam.Ipv6SourceCidrIp",
            "Permissions.2.Ipv6SourceCidrIp",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourceGroupId=sg-none",
            "InvalidSourceGroupId.NotFound",
            "Permissions.2.SourceGroupId",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourceGroupId=sg-web",
            "InvalidParamter.Conflict",
            "Permissions.2.SourceGroupId",
        ),
        (
            "IpProtocol=TCP&PortRange=9/9&SourcePrefixListId=pl-none",
            "InvalidPrefixListId.NotFound",
            "Permissions.2.SourcePrefixListId",
        ),
        (
            "IpProtocol=ICMP&PortRange=-1/-1&Ipv6SourceCidrIp=::/0",
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
            "Permissions.2.Ipv6SourceCidrIp",
        ),
        (
            "IpProtocol=TCP&PortRange=80/80&SourceCidrIp=0.0.0.0/0",
            "InvalidParam.DuplicatePermissions",
            "Permissions.2",
        ),
    ];
    for (fields, code, param) in cases {
        let p2: Vec<String> = fields
            .split('&')
            .map(|f| format!("Permissions.2.{f}"))
            .collect();
        let mut w = world();
        let before = w.clone();
        let r = call(&mut w, &format!("{AUTH}&{ok1}&{}", p2.join("&")));
        let e = r.error.unwrap_or_else(|| panic!("{fields}: no error"));
        assert_eq!(e.code.as_str(), *code, "{fields}");
        assert_eq!(e.param.as_deref(), Some(*param), "{fields}");
        assert!(e.message.contains(param), "{fields}: {}", e.message);
        assert_eq!(w, before);
    }
}
