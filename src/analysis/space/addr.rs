//! Addresses as numbers (a family's addresses are an interval of `u128`), networks as
//! intervals, and the internet's addresses (SPEC §8).

use crate::analysis::interval::IntervalSet;
use crate::model::Family;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// The highest address of a family.
pub fn addr_max(f: Family) -> u128 {
    match f {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// An address as a number.
pub fn addr_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A number as an address of a family (IPv4 takes the low 32 bits).
pub fn num_addr(f: Family, v: u128) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::from((v & u128::from(u32::MAX)) as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// A network as an interval of numbers.
pub fn net_range(n: &IpNet) -> (u128, u128) {
    (addr_num(n.network()), addr_num(n.broadcast()))
}

/// The addresses of some networks of one family, as an interval set.
pub fn nets_set<'a>(f: Family, nets: impl IntoIterator<Item = &'a IpNet>) -> IntervalSet {
    IntervalSet::from_ranges(
        nets.into_iter()
            .filter(|n| Family::of_net(n) == f)
            .map(net_range),
    )
}

fn parse_nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().filter_map(|s| s.parse().ok()).collect()
}

const NOT_INTERNET: [&str; 18] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

const DOCUMENTATION: [&str; 4] = [
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
];

/// The internet addresses of a family (SPEC §8: every address outside the special ranges).
pub fn internet(f: Family) -> IntervalSet {
    static SETS: OnceLock<[IntervalSet; 2]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        [Family::V4, Family::V6].map(|f| {
            IntervalSet::range(0, addr_max(f)).difference(&nets_set(f, &parse_nets(&NOT_INTERNET)))
        })
    });
    pick(sets, f).clone()
}

fn pick(sets: &[IntervalSet; 2], f: Family) -> &IntervalSet {
    let [v4, v6] = sets;
    match f {
        Family::V4 => v4,
        Family::V6 => v6,
    }
}

/// The internet addresses of a family outside the documentation ranges: the peers a
/// witness prefers.
pub(super) fn good_peers(f: Family) -> &'static IntervalSet {
    static SETS: OnceLock<[IntervalSet; 2]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        [Family::V4, Family::V6]
            .map(|f| internet(f).difference(&nets_set(f, &parse_nets(&DOCUMENTATION))))
    });
    pick(sets, f)
}

/// IPv6 global unicast, 2000::/3.
pub(super) fn global_v6() -> IntervalSet {
    IntervalSet::range(0x2000u128 << 112, (0x4000u128 << 112) - 1)
}
