#!/usr/bin/env python3
"""Generates scenarios/api/**/*.toml: one scenario per row of SPEC §4's validation table and
per error of the other actions, plus the semantics of change (idempotence, duplicates,
atomicity, limits, prefix-list edits). Run from the repository root:

    python3 tools/gen_api_scenarios.py && cargo run -q -- scenario run scenarios/api
"""
import json, os, shutil
from urllib.parse import quote

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios", "api")

BASE = '''region_id = "cn-hangzhou"
account_name = "me@example.com"

[[vpcs]]
id = "vpc-1"

[[vpcs]]
id = "vpc-2"

[[prefix_lists]]
id = "pl-office"
name = "office"
address_family = "IPv4"
max_entries = 10
entries = ["203.0.113.0/24"]

[[prefix_lists]]
id = "pl-v6"
address_family = "IPv6"
max_entries = 5
entries = ["2001:db8:100::/48"]

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
inner_access_policy = "Drop"

[[security_groups]]
id = "sg-other"
vpc_id = "vpc-2"

[[security_groups]]
id = "sg-classic"

[[security_groups]]
id = "sg-classic2"

[[security_groups]]
id = "sg-adv"
type = "enterprise"
vpc_id = "vpc-1"

[[security_groups]]
id = "sg-managed"
vpc_id = "vpc-1"
service_managed = true

[[security_groups]]
id = "sg-foreign"
vpc_id = "vpc-1"
owner_id = "2000000000000000"
owner_account = "test@aliyun.com"

[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10", "2001:db8::10"]
public_ip = "47.0.0.10"
network_interfaces = [ { id = "eni-web2", security_groups = ["sg-web"], private_ips = ["192.168.1.11"] } ]

[[instances]]
id = "i-db"
vpc_id = "vpc-1"
security_groups = ["sg-db"]
private_ips = ["192.168.2.20"]

[[instances]]
id = "i-other"
vpc_id = "vpc-2"
security_groups = ["sg-other"]
private_ips = ["172.16.0.5"]

[[instances]]
id = "i-classic"
security_groups = ["sg-classic"]
private_ips = ["10.1.0.5"]
public_ip = "47.0.0.50"

[[instances]]
id = "i-adv"
vpc_id = "vpc-1"
security_groups = ["sg-adv"]
private_ips = ["192.168.3.30"]
'''

SSH_OK = {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:22", "expect": "accept", "expect_rule": "sgr-web-ssh"}
HTTP_DROP = {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:80", "expect": "drop", "expect_reason": "default"}


def q(action, *pairs, region=True):
    """A query: Action, RegionId, then the pairs (name, value) in order."""
    parts = [f"Action={action}"] if action else []
    if region:
        parts.append("RegionId=cn-hangzhou")
    for k, v in pairs:
        parts.append(f"{k}={quote(v, safe='/:@*-._~')}")
    return "&".join(parts)


def perm(n, **fields):
    return [(f"Permissions.{n}.{k}", v) for k, v in fields.items()]


def auth(*pairs, group="sg-web", egress=False):
    action = "AuthorizeSecurityGroupEgress" if egress else "AuthorizeSecurityGroup"
    return q(action, ("SecurityGroupId", group), *pairs)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def write(path, name, description, steps, world=BASE, extra=""):
    out = [f"name = {toml_value(name)}", f"description = {toml_value(description)}", "", world.strip(), ""]
    if extra:
        out += [extra.strip(), ""]
    for s in steps:
        out.append("[[steps]]")
        for k, v in s.items():
            out.append(f"{k} = {toml_value(v)}")
        out.append("")
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write("\n".join(out))


def err(call, code, status):
    return {"call": call, "expect_error": code, "expect_status": status}


def ok(call, **more):
    d = {"call": call, "expect": "ok"}
    d.update(more)
    return d


def count(group, n):
    return {"count_rules": group, "expect_count": n}


def unchanged(group="sg-web", n=1, packets=True):
    steps = [count(group, n)]
    if packets and group == "sg-web":
        steps += [SSH_OK, HTTP_DROP]
    return steps


TCP80 = dict(IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0")

# ---- The validation table of AuthorizeSecurityGroup[Egress], row by row. ----
rows = [
    ("01-region-missing", "RegionId missing", q("AuthorizeSecurityGroup", ("SecurityGroupId", "sg-web"), *perm(1, **TCP80), region=False), "MissingParameter", 400),
    ("01-group-id-missing", "SecurityGroupId missing", q("AuthorizeSecurityGroup", *perm(1, **TCP80)), "MissingParameter", 400),
    ("01-no-permission", "a call with no permission at all", auth(("Permissions.1.Foo", "bar")), "MissingParameter", 400),
    ("02-group-id-malformed", "SecurityGroupId with upper case", auth(*perm(1, **TCP80), group="sg-WEB"), "InvalidSecurityGroupId.Malformed", 400),
    ("03-group-not-found", "no such group", auth(*perm(1, **TCP80), group="sg-nope"), "InvalidSecurityGroupId.NotFound", 404),
    ("04-service-managed", "service-managed group", auth(*perm(1, **TCP80), group="sg-managed"), "InvalidOperation.ResourceManagedByCloudProduct", 403),
    ("05-flat-mixed", "flat IpProtocol mixed with Permissions.1", auth(("IpProtocol", "TCP"), *perm(1, **TCP80)), "InvalidParam.Permissions", 400),
    ("06-protocol-unsupported", "IpProtocol SCTP", auth(*perm(1, IpProtocol="SCTP", PortRange="80/80", SourceCidrIp="0.0.0.0/0")), "InvalidIpProtocol.ValueNotSupported", 400),
    ("06-protocol-missing", "IpProtocol absent", auth(*perm(1, PortRange="80/80", SourceCidrIp="0.0.0.0/0")), "MissingParameter", 400),
    ("07-port-range-absent", "PortRange absent", auth(*perm(1, IpProtocol="TCP", SourceCidrIp="0.0.0.0/0")), "InvalidPortRange.Malformed", 400),
    ("08-port-range-not-pair", "PortRange 22 alone", auth(*perm(1, IpProtocol="TCP", PortRange="22", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
    ("09-tcp-minus-one", "TCP with -1/-1", auth(*perm(1, IpProtocol="TCP", PortRange="-1/-1", SourceCidrIp="0.0.0.0/0")), "OperationDenied", 400),
    ("10-all-with-ports", "ALL with 1/65535", auth(*perm(1, IpProtocol="ALL", PortRange="1/65535", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
    ("10-icmp-with-ports", "ICMP with 8/8", auth(*perm(1, IpProtocol="ICMP", PortRange="8/8", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
    ("11-port-out-of-range", "TCP 0/22", auth(*perm(1, IpProtocol="TCP", PortRange="0/22", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
    ("11-port-above-65535", "UDP 1/65536", auth(*perm(1, IpProtocol="UDP", PortRange="1/65536", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
    ("12-start-after-end", "TCP 80/22", auth(*perm(1, IpProtocol="TCP", PortRange="80/22", SourceCidrIp="0.0.0.0/0")), "InvalidIpProtocol.Malformed", 400),
    ("13-source-port-malformed", "SourcePortRange abc", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePortRange="abc", SourceCidrIp="0.0.0.0/0")), "InvalidSourcePortRange.Malformed", 400),
    ("13-source-port-without-ports", "SourcePortRange on GRE", auth(*perm(1, IpProtocol="GRE", PortRange="-1/-1", SourcePortRange="1/2", SourceCidrIp="0.0.0.0/0")), "InvalidSourcePortRange.Malformed", 400),
    ("14-policy", "Policy allow", auth(*perm(1, Policy="allow", **TCP80)), "InvalidPolicy.Malformed", 400),
    ("15-priority-not-integer", "Priority 1a", auth(*perm(1, Priority="1a", **TCP80)), "InvalidPriority.Malformed", 400),
    ("16-priority-out-of-range", "Priority 101", auth(*perm(1, Priority="101", **TCP80)), "InvalidPriority.ValueNotSupported", 400),
    ("16-priority-zero", "Priority 0", auth(*perm(1, Priority="000", **TCP80)), "InvalidPriority.ValueNotSupported", 400),
    ("17-nic-type", "NicType public", auth(*perm(1, NicType="public", **TCP80)), "InvalidNicType.ValueNotSupported", 400),
    ("18-description-too-long", "Description of 513 characters", auth(*perm(1, Description="é" * 513, **TCP80)), "InvalidSecurityGroupDiscription.Malformed", 400),
    ("19-no-peer", "no peer field", auth(*perm(1, IpProtocol="TCP", PortRange="80/80")), "MissingParameter.Source", 400),
    ("19-no-peer-egress", "no peer field (egress)", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="192.168.1.10"), egress=True), "MissingParameter.Dest", 400),
    ("20-both-peer-families", "SourceCidrIp and Ipv6SourceCidrIp", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.0/8", Ipv6SourceCidrIp="::/0")), "InvalidParam.SourceIp", 400),
    ("20-both-peer-families-egress", "DestCidrIp and Ipv6DestCidrIp (egress)", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", DestCidrIp="10.0.0.0/8", Ipv6DestCidrIp="::/0"), egress=True), "InvalidParam.DestIp", 400),
    ("21-both-local-families", "DestCidrIp and Ipv6DestCidrIp (ingress local)", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.0/8", DestCidrIp="192.168.1.10", Ipv6DestCidrIp="2001:db8::10")), "InvalidParam.DestIp", 400),
    ("21-both-local-families-egress", "SourceCidrIp and Ipv6SourceCidrIp (egress local)", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", DestCidrIp="10.0.0.0/8", SourceCidrIp="192.168.1.10", Ipv6SourceCidrIp="2001:db8::10"), egress=True), "InvalidParam.SourceIp", 400),
    ("22-v4-malformed", "SourceCidrIp 10.0.0.256/8", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.256/8")), "InvalidParam.SourceCidrIp", 400),
    ("22-v4-malformed-dest", "DestCidrIp 192.168.1.10/33", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.0/8", DestCidrIp="192.168.1.10/33")), "InvalidParam.DestCidrIp", 400),
    ("23-flat-v4-malformed", "flat SourceCidrIp malformed", auth(("IpProtocol", "TCP"), ("PortRange", "80/80"), ("SourceCidrIp", "ten")), "InvalidSourceCidrIp.Malformed", 400),
    ("23-flat-v4-malformed-dest", "flat DestCidrIp malformed (egress)", auth(("IpProtocol", "TCP"), ("PortRange", "80/80"), ("DestCidrIp", "1.2.3"), egress=True), "InvalidDestCidrIp.Malformed", 400),
    ("24-v6-malformed", "Ipv6SourceCidrIp malformed", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", Ipv6SourceCidrIp="2001:db8::g/64")), "InvalidParam.Ipv6SourceCidrIp", 400),
    ("24-v6-malformed-dest", "Ipv6DestCidrIp malformed", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", Ipv6SourceCidrIp="::/0", Ipv6DestCidrIp="10.0.0.1")), "InvalidParam.Ipv6DestCidrIp", 400),
    ("25-family-conflict", "IPv4 peer with an IPv6 local CIDR", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.0/8", Ipv6DestCidrIp="2001:db8::10")), "InvalidParameter.Conflict", 400),
    ("26-source-equals-dest", "SourceCidrIp equal to DestCidrIp after canonicalisation", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.5/8", DestCidrIp="10.0.0.0/8")), "InvalidParamter.Conflict", 400),
    ("27-icmp-with-ipv6", "ICMP with an IPv6 peer", auth(*perm(1, IpProtocol="ICMP", PortRange="-1/-1", Ipv6SourceCidrIp="::/0")), "InvalidParam.Ipv4ProtocolConflictWithIpv6Address", 400),
    ("27-icmpv6-with-ipv4", "ICMPv6 with an IPv4 peer", auth(*perm(1, IpProtocol="ICMPv6", PortRange="-1/-1", SourceCidrIp="0.0.0.0/0")), "InvalidParam.Ipv6ProtocolConflictWithIpv4Address", 400),
    ("28-group-peer-in-enterprise", "group peer in an advanced group", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-web"), group="sg-adv"), "InvalidGroupAuthParameter.OperationDenied", 400),
    ("28-naming-enterprise", "group peer naming an advanced group", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-adv")), "InvalidGroupAuthParameter.OperationDenied", 400),
    ("29-peer-group-not-found", "group peer that does not exist", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-nope")), "InvalidSourceGroupId.NotFound", 404),
    ("29-peer-group-owner-mismatch", "group peer with another owner account", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-db", SourceGroupOwnerAccount="test@aliyun.com")), "InvalidSourceGroupId.NotFound", 404),
    ("29-peer-group-not-found-egress", "egress group peer that does not exist", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", DestGroupId="sg-nope"), egress=True), "InvalidDestGroupId.NotFound", 404),
    ("30-peer-group-self", "group peer is the group itself", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-web")), "InvalidParamter.Conflict", 403),
    ("31-peer-network-type", "VPC group naming a classic group", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-classic")), "InvalidNetworkType.Mismatch", 403),
    ("32-peer-other-vpc", "group peer in another VPC", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-other")), "InvalidSourceGroupId.Mismatch", 400),
    ("32-peer-other-vpc-egress", "egress group peer in another VPC", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", DestGroupId="sg-other"), egress=True), "InvalidDestGroupId.Mismatch", 400),
    ("35-prefix-list-not-found", "prefix list that does not exist", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePrefixListId="pl-nope")), "InvalidPrefixListId.NotFound", 404),
    ("37-prefix-list-family", "IPv4 prefix list with an IPv6 local CIDR", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePrefixListId="pl-office", Ipv6DestCidrIp="2001:db8::10")), "InvalidParam.PrefixListAddressFamilyMismatch", 400),
]
for slug, what, call, code, status in rows:
    write(f"authorize/{slug}.toml", f"authorize: {what}", f"SPEC §4 table: {what} gives {status} {code}; nothing changes.",
          [err(call, code, status)] + unchanged())

# Classic-network rows: the group under test is sg-classic (no rules).
classic = [
    ("33-classic-peer-nic-absent", "classic group peer without NicType", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-classic2"), group="sg-classic"), "InvalidSourceGroupId.Mismatch", 403),
    ("33-classic-peer-nic-internet", "classic group peer with NicType internet", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-classic2", NicType="internet"), group="sg-classic"), "InvalidSourceGroupId.Mismatch", 403),
    ("31-classic-naming-vpc", "classic group naming a VPC group", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-web", NicType="intranet"), group="sg-classic"), "InvalidNetworkType.Mismatch", 403),
    ("36-prefix-list-classic", "prefix list in a classic group", auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePrefixListId="pl-office"), group="sg-classic"), "NotSupported.ClassicNetworkPrefixList", 400),
]
for slug, what, call, code, status in classic:
    write(f"authorize/{slug}.toml", f"authorize: {what}", f"SPEC §4 table: {what} gives {status} {code}; nothing changes.",
          [err(call, code, status), count("sg-classic", 0),
           {"packet": "tcp 10.1.0.9:40000 -> 10.1.0.5:80", "expect": "drop", "expect_reason": "default"}])

# Classic success: group peer with intranet; NicType defaults to internet.
write("authorize/classic-rules.toml", "authorize: classic rules",
      "A classic group peer needs NicType intranet; a CIDR rule defaults to internet and applies on the public NIC only.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-classic2", NicType="intranet"), group="sg-classic")),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="443/443", SourceCidrIp="0.0.0.0/0"), group="sg-classic")),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-classic"), ("NicType", "internet")),
          expect_response={"VpcId": "", "Permissions": {"Permission": [{"PortRange": "443/443", "NicType": "internet"}]}}),
       {"packet": "tcp 198.51.100.1:40000 -> 47.0.0.50:443", "expect": "accept"},
       {"packet": "tcp 198.51.100.1:40000 -> 10.1.0.5:443", "expect": "drop", "expect_reason": "default"},
       count("sg-classic", 2)])

# 34: referenced groups limit, and the group rule limit.
write("authorize/34-referenced-groups-limit.toml", "authorize: too many referenced groups",
      "With group_references_per_group = 1, a second distinct referenced group gives 400 AuthorizedGroupRule.LimitExceed.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="5432/5432", SourceGroupId="sg-db"))),
       count("sg-web", 2),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="5433/5433", SourceGroupId="sg-db")), expect_status=200),
       count("sg-web", 3),
       err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign", SourceGroupOwnerId="2000000000000000")), "AuthorizedGroupRule.LimitExceed", 400),
       count("sg-web", 3)],
      extra="[limits]\ngroup_references_per_group = 1")
write("authorize/38-rules-per-group-limit.toml", "authorize: rules per group limit",
      "With rules_per_group = 3, a call that would make 4 rules gives 403 AuthorizationLimitExceed and adds none.",
      [err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"),
                *perm(2, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0"),
                *perm(3, IpProtocol="TCP", PortRange="82/82", SourceCidrIp="0.0.0.0/0")), "AuthorizationLimitExceed", 403),
       count("sg-web", 1), HTTP_DROP,
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"),
               *perm(2, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0"))),
       count("sg-web", 3),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:80", "expect": "accept"}],
      extra="[limits]\nrules_per_group = 3")
write("authorize/38-prefix-list-weight.toml", "authorize: a prefix-list rule counts as its max entries",
      "pl-office has max_entries 10; with rules_per_group = 10 and one rule already, it does not fit (403), a plain rule does.",
      [err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePrefixListId="pl-office")), "AuthorizationLimitExceed", 403),
       count("sg-web", 1),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourcePrefixListId="pl-v6"))),
       count("sg-web", 2)],
      extra="[limits]\nrules_per_group = 10")
write("authorize/38-rules-per-eni-limit.toml", "authorize: rules per ENI limit",
      "i-web is in sg-web only; with rules_per_eni = 2 a rule fits, a third does not: 403 AuthorizationLimitExceed.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"))),
       err(auth(*perm(1, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0")), "AuthorizationLimitExceed", 403),
       count("sg-web", 2),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:81", "expect": "drop", "expect_reason": "default"},
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0"), group="sg-db"))],
      extra="[limits]\nrules_per_eni = 2")

# Order: the first failing check wins, request rows once, then Permissions.1, Permissions.2…
write("authorize/order-first-failure-wins.toml", "authorize: the first failing check wins",
      "Permissions.1 has a bad Policy and Permissions.2 a bad PortRange: the answer is about Permissions.1; a malformed group id beats both.",
      [err(auth(*perm(1, Policy="allow", **TCP80), *perm(2, IpProtocol="TCP", PortRange="x", SourceCidrIp="0.0.0.0/0")), "InvalidPolicy.Malformed", 400),
       err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"), *perm(2, IpProtocol="TCP", PortRange="x", SourceCidrIp="0.0.0.0/0")), "InvalidParam.PortRange", 400),
       err(auth(*perm(1, Policy="allow", **TCP80), group="sg-Bad"), "InvalidSecurityGroupId.Malformed", 400),
       err(auth(*perm(1, IpProtocol="TCP", PortRange="80/22"), *perm(2, IpProtocol="XX")), "InvalidIpProtocol.Malformed", 400),
       count("sg-web", 1)])

write("authorize/atomic-third-invalid.toml", "authorize: atomicity",
      "Permissions.3 is invalid: 400, and neither Permissions.1 nor Permissions.2 is added.",
      [err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"),
                *perm(2, IpProtocol="TCP", PortRange="443/443", SourceCidrIp="0.0.0.0/0"),
                *perm(3, IpProtocol="TCP", PortRange="8080/80", SourceCidrIp="0.0.0.0/0")), "InvalidIpProtocol.Malformed", 400),
       count("sg-web", 1), HTTP_DROP,
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:443", "expect": "drop", "expect_reason": "default"}])

write("authorize/duplicates-in-call.toml", "authorize: duplicate permissions in one call",
      "Two permissions identical after canonicalisation and defaults: 400 InvalidParam.DuplicatePermissions, nothing added.",
      [err(auth(*perm(1, IpProtocol="tcp", PortRange="80/80", SourceCidrIp="10.0.0.5/8"),
                *perm(2, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="10.0.0.0/8", Policy="Accept", Priority="01", Description="other text")),
           "InvalidParam.DuplicatePermissions", 400),
       count("sg-web", 1)])

write("authorize/existing-rule.toml", "authorize: an existing rule is not added twice",
      "Authorizing the existing rule (written differently) succeeds without a copy; the other new rule of the call is added.",
      [ok(auth(*perm(1, IpProtocol="Tcp", PortRange="22/22", SourceCidrIp="10.1.2.3/8", NicType="internet", Description="again"),
               *perm(2, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"))),
       count("sg-web", 2),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")),
          expect_response={"Permissions": {"Permission": [
              {"SecurityGroupRuleId": "sgr-web-ssh", "Description": "", "NicType": "intranet"},
              {"SecurityGroupRuleId": "sgr-000000000001", "PortRange": "80/80", "CreateTime": "2026-01-01T00:00:00Z"}]}}),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:80", "expect": "accept", "expect_rule": "sgr-000000000001"}])

write("authorize/enterprise-drop-rules.toml", "authorize: advanced groups accept drop rules and CIDR peers",
      "sg-adv (enterprise) takes a drop rule; its egress default is drop.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="10.0.0.0/8", Policy="drop", Priority="5"),
               *perm(2, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="0.0.0.0/0", Priority="10"), group="sg-adv")),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.3.30:22", "expect": "drop", "expect_reason": "rule"},
       {"packet": "tcp 172.20.0.1:40000 -> 192.168.3.30:22", "expect": "accept", "expect_reason": "rule"},
       count("sg-adv", 2)])

write("authorize/egress-quintuple.toml", "authorize egress: a quintuple rule",
      "Egress with a local SourceCidrIp, a source port range and a drop policy.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="1/65535", SourcePortRange="22/22", DestCidrIp="10.0.0.1", SourceCidrIp="192.168.1.10/32", Policy="Drop"), egress=True)),
       {"packet": "tcp 192.168.1.10:22 -> 10.0.0.1:5000", "direction": "egress", "expect": "drop", "expect_rule": "sgr-000000000001"},
       {"packet": "tcp 192.168.1.11:22 -> 10.0.0.1:5000", "direction": "egress", "expect": "accept", "expect_reason": "default"},
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web"), ("Direction", "egress")),
          expect_response={"Permissions": {"Permission": [{"Direction": "egress", "DestCidrIp": "10.0.0.1/32", "SourceCidrIp": "192.168.1.10/32",
                                                           "SourcePortRange": "22/22", "Policy": "Drop", "Priority": "1"}]}})])

write("authorize/ipv6-canonical.toml", "authorize: IPv6 peers are stored canonical",
      "A bare IPv6 address is a /128; host bits are cleared.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="443/443", Ipv6SourceCidrIp="2001:DB8:0:0::5/64"),
               *perm(2, IpProtocol="ICMPv6", PortRange="-1/-1", Ipv6SourceCidrIp="2001:db8::1"))),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")),
          expect_response={"Permissions": {"Permission": [{}, {"Ipv6SourceCidrIp": "2001:db8::/64"}, {"Ipv6SourceCidrIp": "2001:db8::1/128", "IpProtocol": "ICMPv6"}]}}),
       {"packet": "tcp [2001:db8::77]:40000 -> [2001:db8::10]:443", "expect": "accept", "expect_rule": "sgr-000000000001"}])

write("authorize/group-peer.toml", "authorize: a group peer covers its members' private addresses",
      "sg-db allows 5432 from sg-web; both ENIs of i-web reach it, a public address does not.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="5432/5432", SourceGroupId="sg-web", NicType="internet"), group="sg-db")),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.2.20:5432", "expect": "accept", "expect_reason": "rule"},
       {"packet": "tcp 47.0.0.10:40000 -> 192.168.2.20:5432", "expect": "drop", "expect_reason": "default"},
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-db")),
          expect_response={"Permissions": {"Permission": [{"SourceGroupId": "sg-web", "SourceGroupName": "web", "NicType": "intranet"}]}}),
       err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-web")), "DependencyViolation", 403)])

write("authorize/foreign-group-peer.toml", "authorize: a group of another account",
      "SourceGroupOwnerAccount naming the group's owner is accepted; naming the group with or without it is the same rule.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign", SourceGroupOwnerAccount="test@aliyun.com"))),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign", SourceGroupOwnerId="2000000000000000"))),
       count("sg-web", 2),
       err(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign", SourceGroupOwnerId="1000000000000000")), "InvalidSourceGroupId.NotFound", 404)])

write("authorize/peer-precedence.toml", "authorize: peer precedence",
      "CIDR beats group and a prefix list loses to any other peer; the losing fields are ignored, not checked.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0", SourceGroupId="sg-nope", SourcePrefixListId="pl-nope"))),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="81/81", SourceGroupId="sg-db", SourcePrefixListId="pl-nope"))),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")),
          expect_response={"Permissions": {"Permission": [{}, {"SourceCidrIp": "0.0.0.0/0", "SourceGroupId": "", "SourcePrefixListId": ""},
                                                          {"SourceGroupId": "sg-db", "SourcePrefixListId": ""}]}}),
       count("sg-web", 3),
       {"packet": "tcp 192.168.2.20:40000 -> 192.168.1.10:81", "expect": "accept", "expect_rule": "sgr-000000000002"}])

write("authorize/request-form.toml", "request form: encoding, flat parameters, case rules",
      "Percent-encoding, + for space, the flat deprecated form, case-insensitive enumerations, last value wins, unknown parameters ignored, N outside 1..100 ignored.",
      [ok("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&IpProtocol=tcp&PortRange=80%2F80&SourceCidrIp=0.0.0.0%2F0&Policy=ACCEPT&NicType=INTRANET&Description=a+b%2Ac&Foo=bar&Permissions.0.IpProtocol=XX&Permissions.101.IpProtocol=XX"),
       ok("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=UDP&Permissions.1.PortRange=1/1&Permissions.1.PortRange=53/53&Permissions.1.SourceCidrIp=10.0.0.0/8&Permissions.1.Policy="),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")),
          expect_response={"Permissions": {"Permission": [{}, {"PortRange": "80/80", "Description": "a b*c", "Policy": "Accept"}, {"PortRange": "53/53", "IpProtocol": "UDP"}]}}),
       err("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&securitygroupid=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0", "MissingParameter", 400),
       count("sg-web", 3)])

# ---- Seed samples ----
SEED_WORLD = BASE + '''
[[prefix_lists]]
id = "pl-x1j1k5ykzqlixdcy0000"
name = "seed"
address_family = "IPv4"
max_entries = 5
entries = ["198.51.100.0/24"]

[[security_groups]]
id = "sg-bp67acfmxazb4p0000"
vpc_id = "vpc-1"

[[security_groups]]
id = "sg-1651fbb00"
vpc_id = "vpc-1"
owner_id = "3000000000000000"
owner_account = "test@aliyun.com"

[[instances]]
id = "i-seed"
vpc_id = "vpc-1"
security_groups = ["sg-bp67acfmxazb4p0000"]
private_ips = ["192.168.9.9"]

[[instances]]
id = "i-peer"
vpc_id = "vpc-1"
security_groups = ["sg-1651fbb00"]
private_ips = ["192.168.9.10"]
'''
S1 = """http(s)://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup
      &RegionId=cn-hangzhou
      &SecurityGroupId=sg-bp67acfmxazb4p0000
      &Permissions.1.SourceCidrIp=10.0.0.0/8
      &Permissions.1.IpProtocol=TCP
      &Permissions.1.PortRange=22/22
      &Permissions.1.NicType=intranet
      &Permissions.1.Policy=Accept"""
S2 = """http(s)://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup
      &RegionId=cn-hangzhou
      &SecurityGroupId=sg-bp67acfmxazb4p0000
      &Permissions.1.SourceGroupId=sg-1651fbb00
      &Permissions.1.SourceGroupOwnerAccount=test@aliyun.com
      &Permissions.1.IpProtocol=TCP
      &Permissions.1.PortRange=22/22
      &Permissions.1.NicType=intranet
      &Permissions.1.Policy=Drop"""
S3 = """http(s)://ecs.aliyuncs.com/?Action=AuthorizeSecurityGroup
      &RegionId=cn-hangzhou
      &SecurityGroupId=sg-bp67acfmxazb4p0000
      &Permissions.1.SourcePrefixListId=pl-x1j1k5ykzqlixdcy0000
      &Permissions.1.SourceGroupOwnerAccount=test@aliyun.com
      &Permissions.1.IpProtocol=TCP
      &Permissions.1.PortRange=22/22
      &Permissions.1.NicType=intranet
      &Permissions.1.Policy=Drop"""
write("seed-samples.toml", "seed: the three sample requests of the AuthorizeSecurityGroup page",
      "Pasted as the page lays them out, with RegionId added and the masks replaced by 0; each does what the page says.",
      [ok(S1), ok(S2), ok(S3), count("sg-bp67acfmxazb4p0000", 3),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.9.9:22", "expect": "accept", "expect_rule": "sgr-000000000001"},
       {"packet": "tcp 192.168.9.10:40000 -> 192.168.9.9:22", "expect": "drop", "expect_rule": "sgr-000000000002"},
       {"packet": "tcp 198.51.100.7:40000 -> 192.168.9.9:22", "expect": "drop", "expect_rule": "sgr-000000000003"},
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-bp67acfmxazb4p0000")),
          expect_response={"SecurityGroupId": "sg-bp67acfmxazb4p0000", "Permissions": {"Permission": [
              {"SecurityGroupRuleId": "sgr-000000000001", "SourceCidrIp": "10.0.0.0/8", "Policy": "Accept", "NicType": "intranet", "Priority": "1"},
              {"SecurityGroupRuleId": "sgr-000000000002", "SourceGroupId": "sg-1651fbb00", "SourceGroupOwnerAccount": "test@aliyun.com", "Policy": "Drop"},
              {"SecurityGroupRuleId": "sgr-000000000003", "SourcePrefixListId": "pl-x1j1k5ykzqlixdcy0000", "SourcePrefixListName": "seed", "Policy": "Drop"}]}}),
       ok(S1), count("sg-bp67acfmxazb4p0000", 3)],
      world=SEED_WORLD)

# ---- Request-level errors common to all actions ----
write("request/action-missing.toml", "request: Action missing", "No Action: 400 MissingParameter.",
      [err("RegionId=cn-hangzhou&SecurityGroupId=sg-web", "MissingParameter", 400)] + unchanged())
write("request/action-unknown.toml", "request: unknown action", "An action sgsim does not know (names are case-sensitive): 400 InvalidAction.NotFound.",
      [err(q("RunInstances"), "InvalidAction.NotFound", 400), err(q("authorizeSecurityGroup", ("SecurityGroupId", "sg-web")), "InvalidAction.NotFound", 400)] + unchanged())
write("request/region-other.toml", "request: another region", "A RegionId other than the world's: 404 InvalidRegionId.NotFound.",
      [err("Action=AuthorizeSecurityGroup&RegionId=cn-beijing&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=80/80&Permissions.1.SourceCidrIp=0.0.0.0/0", "InvalidRegionId.NotFound", 404)] + unchanged())

# ---- Idempotence ----
T = ("ClientToken", "123e4567-e89b-12d3-a456-426655440000")
write("idempotence/client-token.toml", "idempotence: ClientToken",
      "The same token and parameters (in any order) return the first response and change nothing; other parameters or another action: 400 IdempotentParameterMismatch.",
      [ok(q("CreateSecurityGroup", ("VpcId", "vpc-1"), ("SecurityGroupName", "app"), T), expect_response={"SecurityGroupId": "sg-000000000001"}),
       ok(q("CreateSecurityGroup", T, ("SecurityGroupName", "app"), ("VpcId", "vpc-1")), expect_response={"SecurityGroupId": "sg-000000000001"}),
       ok(q("DescribeSecurityGroups", ("VpcId", "vpc-1")), expect_response={"TotalCount": 6}),
       err(q("CreateSecurityGroup", ("VpcId", "vpc-1"), ("SecurityGroupName", "app2"), T), "IdempotentParameterMismatch", 400),
       err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-000000000001"), T), "IdempotentParameterMismatch", 400),
       ok(q("DescribeSecurityGroups", ("VpcId", "vpc-1")), expect_response={"TotalCount": 6}),
       count("sg-000000000001", 0)] + unchanged())
write("idempotence/authorize-token.toml", "idempotence: Authorize with a ClientToken",
      "A repeated Authorize with its token adds nothing; a revoke in between is not undone by the replay.",
      [ok(auth(*perm(1, **TCP80), T)), count("sg-web", 2),
       ok(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId.1", "sgr-000000000001"))), count("sg-web", 1),
       ok(auth(*perm(1, **TCP80), T)), count("sg-web", 1), HTTP_DROP,
       err(auth(*perm(1, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0"), T), "IdempotentParameterMismatch", 400),
       count("sg-web", 1)])
write("idempotence/failed-call-not-remembered.toml", "idempotence: only successful calls are remembered",
      "A failed call with a token leaves the token free.",
      [err(auth(*perm(1, IpProtocol="TCP", PortRange="80/22", SourceCidrIp="0.0.0.0/0"), T), "InvalidIpProtocol.Malformed", 400),
       ok(auth(*perm(1, **TCP80), T)), count("sg-web", 2)])

# ---- Other actions' errors ----
def other(slug, what, steps, **kw):
    # Every scenario checks the world with a rule count or a packet, not only the answer.
    if not any("count_rules" in s or "packet" in s for s in steps):
        steps = steps + unchanged()
    write(f"actions/{slug}.toml", what, what + ".", steps, **kw)

other("create-group-type", "CreateSecurityGroup: SecurityGroupType not normal/enterprise gives 400 InvalidSecurityGroupType.ValueNotSupported",
      [err(q("CreateSecurityGroup", ("VpcId", "vpc-1"), ("SecurityGroupType", "premium")), "InvalidSecurityGroupType.ValueNotSupported", 400),
       ok(q("DescribeSecurityGroups"), expect_response={"TotalCount": 8})])
other("create-group-vpc-unknown", "CreateSecurityGroup: an unknown VpcId gives 404 InvalidVpcId.NotFound",
      [err(q("CreateSecurityGroup", ("VpcId", "vpc-9")), "InvalidVpcId.NotFound", 404), ok(q("DescribeSecurityGroups"), expect_response={"TotalCount": 8})])
other("create-group-enterprise-classic", "CreateSecurityGroup: an enterprise group without VpcId gives 400 InvalidSecurityGroupType.ValueNotSupported",
      [err(q("CreateSecurityGroup", ("SecurityGroupType", "Enterprise")), "InvalidSecurityGroupType.ValueNotSupported", 400),
       ok(q("DescribeSecurityGroups"), expect_response={"TotalCount": 8})])
other("create-group-name", "CreateSecurityGroup: a name not 2-128 characters starting with a letter gives 400 InvalidSecurityGroupName.Malformed",
      [err(q("CreateSecurityGroup", ("SecurityGroupName", "1web")), "InvalidSecurityGroupName.Malformed", 400),
       err(q("CreateSecurityGroup", ("SecurityGroupName", "w")), "InvalidSecurityGroupName.Malformed", 400),
       err(q("CreateSecurityGroup", ("SecurityGroupName", "w" * 129)), "InvalidSecurityGroupName.Malformed", 400),
       ok(q("DescribeSecurityGroups"), expect_response={"TotalCount": 8})])
other("create-group-ok", "CreateSecurityGroup: new groups get sequential ids, are empty, and default their inner access policy",
      [ok(q("CreateSecurityGroup", ("VpcId", "vpc-1"), ("SecurityGroupName", "app"), ("Description", "the app")), expect_response={"SecurityGroupId": "sg-000000000001"}),
       ok(q("CreateSecurityGroup", ("VpcId", "vpc-1"), ("SecurityGroupType", "enterprise")), expect_response={"SecurityGroupId": "sg-000000000002"}),
       ok(q("CreateSecurityGroup"), expect_response={"SecurityGroupId": "sg-000000000003"}),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-000000000001")),
          expect_response={"SecurityGroupName": "app", "Description": "the app", "VpcId": "vpc-1", "InnerAccessPolicy": "Accept", "Permissions": {"Permission": []}}),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-000000000002")), expect_response={"InnerAccessPolicy": "Drop"}),
       ok(q("DescribeSecurityGroups", ("SecurityGroupIds", '["sg-000000000002","sg-000000000003"]')),
          expect_response={"TotalCount": 2, "SecurityGroups": {"SecurityGroup": [
              {"SecurityGroupId": "sg-000000000002", "SecurityGroupType": "enterprise", "CreationTime": "2026-01-01T00:00:00Z", "ServiceManaged": False},
              {"SecurityGroupId": "sg-000000000003", "VpcId": ""}]}}),
       count("sg-000000000001", 0)])
other("delete-group-missing-id", "DeleteSecurityGroup: SecurityGroupId missing gives 400 MissingParameter",
      [err(q("DeleteSecurityGroup"), "MissingParameter", 400)] + unchanged())
other("delete-group-malformed", "DeleteSecurityGroup: a malformed id gives 400 InvalidSecurityGroupId.Malformed",
      [err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg_web")), "InvalidSecurityGroupId.Malformed", 400)] + unchanged())
other("delete-group-not-found", "DeleteSecurityGroup: an unknown group gives 404 InvalidSecurityGroupId.NotFound",
      [err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-nope")), "InvalidSecurityGroupId.NotFound", 404)] + unchanged())
other("delete-group-member", "DeleteSecurityGroup: a group with a member ENI gives 403 DependencyViolation",
      [err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-web")), "DependencyViolation", 403)] + unchanged())
other("delete-group-referenced", "DeleteSecurityGroup: a group another group's rule names gives 403 DependencyViolation",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign", SourceGroupOwnerAccount="test@aliyun.com"))),
       err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-foreign")), "DependencyViolation", 403),
       ok(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), *perm(1, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-foreign"))),
       ok(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-foreign"))),
       err(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-foreign")), "InvalidSecurityGroupId.NotFound", 404)])
other("delete-group-managed", "DeleteSecurityGroup: a service-managed group gives 403 InvalidOperation.ResourceManagedByCloudProduct",
      [err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-managed")), "InvalidOperation.ResourceManagedByCloudProduct", 403),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-managed")))])
other("describe-direction", "DescribeSecurityGroupAttribute: a Direction not ingress/egress/all gives 400 InvalidDirection.ValueNotSupported",
      [err(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web"), ("Direction", "inbound")), "InvalidDirection.ValueNotSupported", 400),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web"), ("Direction", "ALL")), expect_response={"Permissions": {"Permission": [{"SecurityGroupRuleId": "sgr-web-ssh"}]}}),
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web"), ("Direction", "egress")), expect_response={"Permissions": {"Permission": []}})])
other("describe-group-not-found", "DescribeSecurityGroupAttribute: an unknown group gives 404 InvalidSecurityGroupId.NotFound",
      [err(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-nope")), "InvalidSecurityGroupId.NotFound", 404)])
other("describe-groups-ids-malformed", "DescribeSecurityGroups: SecurityGroupIds not a JSON array of ids gives 400 InvalidSecurityGroupIds.Malformed",
      [err(q("DescribeSecurityGroups", ("SecurityGroupIds", "sg-web")), "InvalidSecurityGroupIds.Malformed", 400),
       err(q("DescribeSecurityGroups", ("SecurityGroupIds", '["sg-web", 3]')), "InvalidSecurityGroupIds.Malformed", 400),
       ok(q("DescribeSecurityGroups", ("SecurityGroupIds", '["sg-web","sg-db"]')), expect_response={"TotalCount": 2})])
other("revoke-ids-and-permissions", "Revoke: both SecurityGroupRuleId.N and permissions give 400 InvalidParam.Permissions",
      [err(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId.1", "sgr-web-ssh"), *perm(1, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="10.0.0.0/8")), "InvalidParam.Permissions", 400)] + unchanged())
other("revoke-permission-row", "Revoke: a permission failing an Authorize row gives that row's error",
      [err(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), *perm(1, IpProtocol="TCP", PortRange="22/2", SourceCidrIp="10.0.0.0/8")), "InvalidIpProtocol.Malformed", 400),
       err(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web")), "MissingParameter", 400)] + unchanged())
other("revoke-unknown-id-ingress", "RevokeSecurityGroup: an unknown rule id gives 400 InvalidParam.SecurityGroupRuleId",
      [err(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId.1", "sgr-web-ssh"), ("SecurityGroupRuleId.2", "sgr-nope")), "InvalidParam.SecurityGroupRuleId", 400)] + unchanged())
other("revoke-unknown-id-egress", "RevokeSecurityGroupEgress: an unknown rule id (here an ingress rule's) gives 400 InvalidSecurityGroupRule.RuleNotExist",
      [err(q("RevokeSecurityGroupEgress", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId.1", "sgr-web-ssh")), "InvalidSecurityGroupRule.RuleNotExist", 400)] + unchanged())
other("revoke-managed", "Revoke: a service-managed group gives 403 InvalidOperation.ResourceManagedByCloudProduct",
      [err(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-managed"), ("SecurityGroupRuleId.1", "sgr-x")), "InvalidOperation.ResourceManagedByCloudProduct", 403)])
other("revoke-ok", "Revoke: by rule id and by permissions (matched after defaults and canonicalisation); no match succeeds and changes nothing",
      [ok(auth(*perm(1, **TCP80), *perm(2, IpProtocol="UDP", PortRange="53/53", SourceCidrIp="10.0.0.0/8", Priority="5"))),
       count("sg-web", 3),
       ok(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), *perm(1, IpProtocol="UDP", PortRange="53/53", SourceCidrIp="10.0.0.0/8"))),
       count("sg-web", 3),
       ok(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), *perm(1, IpProtocol="udp", PortRange="53/53", SourceCidrIp="10.9.9.9/8", Priority="5", Policy="accept"))),
       count("sg-web", 2),
       ok(q("RevokeSecurityGroup", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId.1", "sgr-web-ssh"))),
       count("sg-web", 1),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:22", "expect": "drop", "expect_reason": "default"},
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:80", "expect": "accept"}])
other("modify-unknown-rule", "Modify…Rule: an unknown rule id gives 404 SecurityGroupRule.NotFound",
      [err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-nope"), ("PortRange", "23/23")), "SecurityGroupRule.NotFound", 404),
       err(q("ModifySecurityGroupEgressRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("PortRange", "23/23")), "SecurityGroupRule.NotFound", 404)] + unchanged())
other("modify-invalid-field", "Modify…Rule: a field failing an Authorize row gives that row's error, naming the flat parameter",
      [err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("PortRange", "23/22")), "InvalidIpProtocol.Malformed", 400),
       err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("SourceCidrIp", "10.0.0.0/40")), "InvalidSourceCidrIp.Malformed", 400),
       err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("IpProtocol", "ICMP")), "InvalidParam.PortRange", 400)] + unchanged())
other("modify-peer-kind", "Modify…Rule: changing the peer's kind or the NIC type gives 400 InvalidParam.Permissions",
      [err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("SourceGroupId", "sg-db")), "InvalidParam.Permissions", 400),
       err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("Ipv6SourceCidrIp", "::/0")), "InvalidParam.Permissions", 400)] + unchanged())
other("modify-nic-type-classic", "Modify…Rule: changing a classic rule's NicType gives 400 InvalidParam.Permissions",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"), group="sg-classic")),
       err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-classic"), ("SecurityGroupRuleId", "sgr-000000000001"), ("NicType", "intranet")), "InvalidParam.Permissions", 400),
       count("sg-classic", 1)])
other("modify-duplicate", "Modify…Rule: a result equal to another rule of the group gives 400 InvalidParam.DuplicatePermissions",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="23/23", SourceCidrIp="10.0.0.0/8"))),
       err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-000000000001"), ("PortRange", "22/22")), "InvalidParam.DuplicatePermissions", 400),
       count("sg-web", 2), SSH_OK])
other("modify-ok", "Modify…Rule: the given fields change, the rest and the id stay",
      [ok(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-web-ssh"), ("PortRange", "2222/2222"), ("SourceCidrIp", "10.1.0.0/16"), ("Description", "moved"))),
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:2222", "expect": "accept", "expect_rule": "sgr-web-ssh"},
       {"packet": "tcp 10.2.2.3:40000 -> 192.168.1.10:2222", "expect": "drop", "expect_reason": "default"},
       {"packet": "tcp 10.1.2.3:40000 -> 192.168.1.10:22", "expect": "drop", "expect_reason": "default"},
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")),
          expect_response={"Permissions": {"Permission": [{"SecurityGroupRuleId": "sgr-web-ssh", "PortRange": "2222/2222", "SourceCidrIp": "10.1.0.0/16", "Description": "moved", "IpProtocol": "TCP"}]}}),
       count("sg-web", 1)])
other("policy-missing", "ModifySecurityGroupPolicy: InnerAccessPolicy missing gives 400 MissingParameter",
      [err(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-web")), "MissingParameter", 400)])
other("policy-value", "ModifySecurityGroupPolicy: a value not Accept/Drop gives 400 InvalidPolicy.Malformed",
      [err(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-web"), ("InnerAccessPolicy", "Allow")), "InvalidPolicy.Malformed", 400),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.1.10:80", "expect": "accept", "expect_reason": "inner-access"}])
other("policy-enterprise", "ModifySecurityGroupPolicy: an advanced group gives 400 InvalidParameter.InnerAccessPolicy",
      [err(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-adv"), ("InnerAccessPolicy", "Drop")), "InvalidParameter.InnerAccessPolicy", 400)])
other("policy-ok", "ModifySecurityGroupPolicy: Drop isolates the members, Accept restores inner access",
      [{"packet": "tcp 192.168.1.11:40000 -> 192.168.1.10:80", "expect": "accept", "expect_reason": "inner-access"},
       ok(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-web"), ("InnerAccessPolicy", "drop"))),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.1.10:80", "expect": "drop", "expect_reason": "default"},
       ok(q("DescribeSecurityGroupAttribute", ("SecurityGroupId", "sg-web")), expect_response={"InnerAccessPolicy": "Drop"}),
       ok(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-web"), ("InnerAccessPolicy", "Accept"))),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.1.10:80", "expect": "accept", "expect_reason": "inner-access"}])

# Prefix lists.
def pl_create(*pairs):
    return q("CreatePrefixList", *pairs)
PL_BASE = (("PrefixListName", "lab"), ("AddressFamily", "IPv4"), ("MaxEntries", "3"))
other("prefix-list-malformed-id", "prefix lists: a malformed PrefixListId gives 400 InvalidPrefixListId.Malformed",
      [err(q("DescribePrefixListAttributes", ("PrefixListId", "pl-Office")), "InvalidPrefixListId.Malformed", 400),
       err(q("DeletePrefixList", ("PrefixListId", "office")), "InvalidPrefixListId.Malformed", 400),
       ok(q("DescribePrefixLists"), expect_response={"TotalCount": 2})])
other("prefix-list-not-found", "prefix lists: an unknown PrefixListId gives 404 InvalidPrefixListId.NotFound",
      [err(q("ModifyPrefixList", ("PrefixListId", "pl-nope"), ("AddEntry.1.Cidr", "10.0.0.0/8")), "InvalidPrefixListId.NotFound", 404),
       err(q("DeletePrefixList", ("PrefixListId", "pl-nope")), "InvalidPrefixListId.NotFound", 404),
       err(q("DescribePrefixListAttributes", ("PrefixListId", "pl-nope")), "InvalidPrefixListId.NotFound", 404)])
other("prefix-list-missing", "CreatePrefixList: a required parameter missing gives 400 MissingParameter",
      [err(pl_create(("PrefixListName", "lab"), ("AddressFamily", "IPv4")), "MissingParameter", 400),
       ok(q("DescribePrefixLists"), expect_response={"TotalCount": 2})])
other("prefix-list-family", "Create/ModifyPrefixList: AddressFamily not IPv4/IPv6 gives 400 InvalidParam.AddressFamily",
      [err(pl_create(("PrefixListName", "lab"), ("AddressFamily", "IPv5"), ("MaxEntries", "3")), "InvalidParam.AddressFamily", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("AddressFamily", "IPv6")), "InvalidParam.AddressFamily", 400),
       ok(q("DescribePrefixLists"), expect_response={"TotalCount": 2})])
other("prefix-list-max-entries", "Create/ModifyPrefixList: MaxEntries outside 1 to the limit gives 400 InvalidParam.MaxEntries",
      [err(pl_create(("PrefixListName", "lab"), ("AddressFamily", "IPv4"), ("MaxEntries", "0")), "InvalidParam.MaxEntries", 400),
       err(pl_create(("PrefixListName", "lab"), ("AddressFamily", "IPv4"), ("MaxEntries", "201")), "InvalidParam.MaxEntries", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("MaxEntries", "ten")), "InvalidParam.MaxEntries", 400),
       ok(q("DescribePrefixListAttributes", ("PrefixListId", "pl-office")), expect_response={"MaxEntries": 10})])
other("prefix-list-cidr", "Create/ModifyPrefixList: an entry malformed, not canonical or of the other family gives 400 InvalidParam.Cidr",
      [err(pl_create(*PL_BASE, ("Entry.1.Cidr", "10.0.0.1/8")), "InvalidParam.Cidr", 400),
       err(pl_create(*PL_BASE, ("Entry.1.Cidr", "2001:db8::/32")), "InvalidParam.Cidr", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("AddEntry.1.Cidr", "300.0.0.0/8")), "InvalidParam.Cidr", 400),
       ok(q("DescribePrefixListAttributes", ("PrefixListId", "pl-office")), expect_response={"Entries": {"Entry": [{"Cidr": "203.0.113.0/24"}]}})])
other("prefix-list-duplicate", "Create/ModifyPrefixList: an entry twice, both added and removed, or removing one that is absent gives 400 InvalidParam.DuplicateEntry",
      [err(pl_create(*PL_BASE, ("Entry.1.Cidr", "10.0.0.0/8"), ("Entry.2.Cidr", "10.0.0.0/8")), "InvalidParam.DuplicateEntry", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("AddEntry.1.Cidr", "203.0.113.0/24")), "InvalidParam.DuplicateEntry", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("AddEntry.1.Cidr", "10.0.0.0/8"), ("RemoveEntry.1.Cidr", "10.0.0.0/8")), "InvalidParam.DuplicateEntry", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("RemoveEntry.1.Cidr", "10.0.0.0/8")), "InvalidParam.DuplicateEntry", 400),
       ok(q("DescribePrefixListAttributes", ("PrefixListId", "pl-office")), expect_response={"Entries": {"Entry": [{"Cidr": "203.0.113.0/24"}]}})])
other("prefix-list-quota", "Create/ModifyPrefixList: more entries than MaxEntries gives 400 QuotaExceed.PrefixListEntries",
      [err(pl_create(("PrefixListName", "lab"), ("AddressFamily", "IPv4"), ("MaxEntries", "1"), ("Entry.1.Cidr", "10.0.0.0/8"), ("Entry.2.Cidr", "11.0.0.0/8")), "QuotaExceed.PrefixListEntries", 400),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-v6"), ("MaxEntries", "5"), ("AddEntry.1.Cidr", "2001:db8:1::/48"), ("AddEntry.2.Cidr", "2001:db8:2::/48"),
             ("AddEntry.3.Cidr", "2001:db8:3::/48"), ("AddEntry.4.Cidr", "2001:db8:4::/48"), ("AddEntry.5.Cidr", "2001:db8:5::/48")), "QuotaExceed.PrefixListEntries", 400),
       ok(q("DescribePrefixLists"), expect_response={"TotalCount": 2})])
other("prefix-list-delete-in-use", "DeletePrefixList: a list a rule uses gives 403 DependencyViolation",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="22/22", SourcePrefixListId="pl-office"))),
       err(q("DeletePrefixList", ("PrefixListId", "pl-office")), "DependencyViolation", 403),
       ok(q("DescribePrefixLists", ("PrefixListId.1", "pl-office")), expect_response={"PrefixLists": {"PrefixList": [{"PrefixListId": "pl-office", "AssociationCount": 1}]}}),
       ok(q("DeletePrefixList", ("PrefixListId", "pl-v6"))),
       ok(q("DescribePrefixLists"), expect_response={"TotalCount": 1}),
       count("sg-web", 2),
       {"packet": "tcp 203.0.113.9:40000 -> 192.168.1.10:22", "expect": "accept", "expect_rule": "sgr-000000000001"}])
other("prefix-list-quota-via-rules", "ModifyPrefixList: raising MaxEntries beyond a using group's quota gives 403 AuthorizationLimitExceed",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="22/22", SourcePrefixListId="pl-office"))),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-office"), ("MaxEntries", "20")), "AuthorizationLimitExceed", 403),
       ok(q("DescribePrefixListAttributes", ("PrefixListId", "pl-office")), expect_response={"MaxEntries": 10}),
       count("sg-web", 2)],
      extra="[limits]\nrules_per_group = 12")
write("prefix-lists/edits-change-decisions.toml", "prefix lists: edits change the decisions of the rules that use them",
      "A rule using a new list follows every ModifyPrefixList at once.",
      [ok(pl_create(("PrefixListName", "partners"), ("AddressFamily", "ipv4"), ("MaxEntries", "3"), ("Description", "partner nets"),
                    ("Entry.1.Cidr", "198.51.100.0/24"), ("Entry.1.Description", "p1")), expect_response={"PrefixListId": "pl-000000000001"}),
       ok(auth(*perm(1, IpProtocol="TCP", PortRange="443/443", SourcePrefixListId="pl-000000000001"))),
       {"packet": "tcp 198.51.100.9:40000 -> 192.168.1.10:443", "expect": "accept", "expect_rule": "sgr-000000000001"},
       {"packet": "tcp 192.0.2.9:40000 -> 192.168.1.10:443", "expect": "drop", "expect_reason": "default"},
       ok(q("ModifyPrefixList", ("PrefixListId", "pl-000000000001"), ("AddEntry.1.Cidr", "192.0.2.0/24"), ("RemoveEntry.1.Cidr", "198.51.100.0/24"))),
       {"packet": "tcp 198.51.100.9:40000 -> 192.168.1.10:443", "expect": "drop", "expect_reason": "default"},
       {"packet": "tcp 192.0.2.9:40000 -> 192.168.1.10:443", "expect": "accept", "expect_rule": "sgr-000000000001"},
       ok(q("DescribePrefixListAttributes", ("PrefixListId", "pl-000000000001")),
          expect_response={"PrefixListName": "partners", "AddressFamily": "IPv4", "MaxEntries": 3, "AssociationCount": 1, "CreationTime": "2026-01-01T00:00:00Z",
                           "Entries": {"Entry": [{"Cidr": "192.0.2.0/24"}]}}),
       err(q("ModifyPrefixList", ("PrefixListId", "pl-000000000001"), ("RemoveEntry.1.Cidr", "192.0.2.0/24"), ("AddEntry.1.Cidr", "192.0.2.5/24")), "InvalidParam.Cidr", 400),
       {"packet": "tcp 192.0.2.9:40000 -> 192.168.1.10:443", "expect": "accept", "expect_rule": "sgr-000000000001"}])

# Join / Leave.
other("join-both-or-neither", "Join/LeaveSecurityGroup: both or neither of InstanceId and NetworkInterfaceId give 400 InvalidParam.Permissions",
      [err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-db")), "InvalidParam.Permissions", 400),
       err(q("LeaveSecurityGroup", ("SecurityGroupId", "sg-web"), ("InstanceId", "i-web"), ("NetworkInterfaceId", "eni-web2")), "InvalidParam.Permissions", 400)])
other("join-unknown", "Join/LeaveSecurityGroup: an unknown instance or ENI gives 404",
      [err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-db"), ("InstanceId", "i-nope")), "InvalidInstanceId.NotFound", 404),
       err(q("LeaveSecurityGroup", ("SecurityGroupId", "sg-web"), ("NetworkInterfaceId", "eni-nope")), "InvalidNetworkInterfaceId.NotFound", 404)])
other("join-other-vpc", "JoinSecurityGroup: a group of another VPC or network type gives 400 InvalidInstanceId.Mismatch",
      [err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-other"), ("InstanceId", "i-web")), "InvalidInstanceId.Mismatch", 400),
       err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-classic2"), ("InstanceId", "i-web")), "InvalidInstanceId.Mismatch", 400)] + unchanged())
other("join-already", "JoinSecurityGroup: an ENI already a member gives 403 InvalidInstanceId.AlreadyExists",
      [err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-web"), ("NetworkInterfaceId", "eni-web2")), "InvalidInstanceId.AlreadyExists", 403)])
other("join-type-mixed", "JoinSecurityGroup: basic and advanced mixed on an ENI gives 400 InvalidSecurityGroupType.Mismatch",
      [err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-adv"), ("InstanceId", "i-web")), "InvalidSecurityGroupType.Mismatch", 400),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.1.10:80", "expect": "accept", "expect_reason": "inner-access"}])
other("join-limit", "JoinSecurityGroup: more than groups_per_eni groups gives 400 InstanceSecurityGroupLimitExceeded",
      [ok(q("JoinSecurityGroup", ("SecurityGroupId", "sg-db"), ("InstanceId", "i-web"))),
       err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-foreign"), ("InstanceId", "i-web")), "InstanceSecurityGroupLimitExceeded", 400)],
      extra="[limits]\ngroups_per_eni = 2")
other("join-rules-per-eni", "JoinSecurityGroup: a group whose rules would exceed rules_per_eni on the ENI gives 403 AuthorizationLimitExceed",
      [ok(auth(*perm(1, **TCP80), group="sg-db")),
       err(q("JoinSecurityGroup", ("SecurityGroupId", "sg-db"), ("InstanceId", "i-web")), "AuthorizationLimitExceed", 403),
       HTTP_DROP],
      extra="[limits]\nrules_per_eni = 1")
other("leave-not-member", "LeaveSecurityGroup: an ENI not in the group gives 403 InvalidInstanceId.NotInSecurityGroup",
      [err(q("LeaveSecurityGroup", ("SecurityGroupId", "sg-db"), ("InstanceId", "i-web")), "InvalidInstanceId.NotInSecurityGroup", 403)])
other("leave-last", "LeaveSecurityGroup: the ENI's last group gives 403 InstanceLastSecurityGroup",
      [err(q("LeaveSecurityGroup", ("SecurityGroupId", "sg-web"), ("NetworkInterfaceId", "eni-web2")), "InstanceLastSecurityGroup", 403),
       {"packet": "tcp 192.168.1.10:40000 -> 192.168.1.11:80", "expect": "accept", "expect_reason": "inner-access"}])
other("join-leave-ok", "Join/LeaveSecurityGroup: membership changes decide packets (group peers and inner access)",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="5432/5432", SourceGroupId="sg-web"), group="sg-db")),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.2.20:5432", "expect": "accept"},
       ok(q("JoinSecurityGroup", ("SecurityGroupId", "sg-db"), ("NetworkInterfaceId", "eni-web2"))),
       ok(q("LeaveSecurityGroup", ("SecurityGroupId", "sg-web"), ("NetworkInterfaceId", "eni-web2"))),
       {"packet": "tcp 192.168.1.11:40000 -> 192.168.2.20:5432", "expect": "drop", "expect_reason": "default"},
       {"packet": "tcp 192.168.1.10:40000 -> 192.168.1.11:80", "expect": "drop", "expect_reason": "default"},
       err(q("DeleteSecurityGroup", ("SecurityGroupId", "sg-db")), "DependencyViolation", 403)])

other("managed-modify", "Modify…Rule and ModifySecurityGroupPolicy on a service-managed group give 403 InvalidOperation.ResourceManagedByCloudProduct",
      [err(q("ModifySecurityGroupRule", ("SecurityGroupId", "sg-managed"), ("SecurityGroupRuleId", "sgr-x"), ("PortRange", "1/2")), "InvalidOperation.ResourceManagedByCloudProduct", 403),
       err(q("ModifySecurityGroupPolicy", ("SecurityGroupId", "sg-managed"), ("InnerAccessPolicy", "Drop")), "InvalidOperation.ResourceManagedByCloudProduct", 403),
       err(q("RevokeSecurityGroupEgress", ("SecurityGroupId", "sg-managed"), *perm(1, IpProtocol="ALL", PortRange="-1/-1", DestCidrIp="0.0.0.0/0")), "InvalidOperation.ResourceManagedByCloudProduct", 403),
       count("sg-managed", 0)])
write("request/client-token-malformed.toml", "request: a ClientToken over 64 characters",
      "sgsim's choice: 400 InvalidClientToken.Malformed, nothing changes.",
      [err(auth(*perm(1, **TCP80), ("ClientToken", "t" * 65)), "InvalidClientToken.Malformed", 400)] + unchanged())
write("request/permissions-per-request.toml", "request: Permissions.N beyond the permissions_per_request limit",
      "With permissions_per_request = 2, Permissions.3 is an unknown parameter and ignored, however invalid.",
      [ok(auth(*perm(1, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"),
               *perm(2, IpProtocol="TCP", PortRange="81/81", SourceCidrIp="0.0.0.0/0"),
               *perm(3, IpProtocol="bogus"))),
       count("sg-web", 3),
       err(auth(*perm(3, IpProtocol="TCP", PortRange="82/82", SourceCidrIp="0.0.0.0/0")), "MissingParameter", 400),
       count("sg-web", 3)],
      extra="[limits]\npermissions_per_request = 2")

other("modify-egress-ok", "ModifySecurityGroupEgressRule: the peer is DestCidrIp and the local CIDR SourceCidrIp",
      [ok(auth(*perm(1, IpProtocol="UDP", PortRange="53/53", DestCidrIp="192.168.0.2"), egress=True)),
       ok(q("ModifySecurityGroupEgressRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-000000000001"),
            ("DestCidrIp", "192.168.0.3"), ("SourceCidrIp", "192.168.1.10"), ("Policy", "drop"), ("Priority", "2"))),
       {"packet": "udp 192.168.1.10:5353 -> 192.168.0.3:53", "direction": "egress", "expect": "drop", "expect_rule": "sgr-000000000001"},
       {"packet": "udp 192.168.1.11:5353 -> 192.168.0.3:53", "direction": "egress", "expect": "accept", "expect_reason": "default"},
       err(q("ModifySecurityGroupEgressRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-000000000001"), ("DestGroupId", "sg-db")), "InvalidParam.Permissions", 400),
       err(q("ModifySecurityGroupEgressRule", ("SecurityGroupId", "sg-web"), ("SecurityGroupRuleId", "sgr-000000000001"), ("DestCidrIp", "192.168.1.10/32")), "InvalidParamter.Conflict", 400),
       count("sg-web", 2)])

if __name__ == "__main__":
    pass
