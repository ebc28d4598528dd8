//! A small stable hash (FNV-1a, 64 bits) and the deterministic `RequestId` built from it.
//!
//! std's `DefaultHasher` is not used: its output may change between Rust versions, and
//! request ids must be reproducible across runs and builds (SPEC §1, sgsim's choice).

use super::request::Params;
use crate::model::{Peer, World};

/// FNV-1a over bytes, 64 bits.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Fnv64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher seeded with `seed` (0 gives plain FNV-1a).
    pub fn new(seed: u64) -> Fnv64 {
        let mut h = Fnv64(Self::OFFSET);
        h.bytes(&seed.to_le_bytes());
        h
    }

    /// Feeds bytes.
    pub fn bytes(&mut self, data: &[u8]) {
        for b in data {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Feeds a string followed by a separator, so `("ab","c")` and `("a","bc")` differ.
    pub fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }

    /// The hash so far.
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// Feeds the world's content (everything a call can see or change) to `h`.
fn world_content(world: &World, h: &mut Fnv64) {
    h.str(&world.region_id);
    h.str(&world.account_id);
    h.str(world.account_name.as_deref().unwrap_or(""));
    let l = world.limits;
    for v in [
        l.rules_per_group,
        l.rules_per_eni,
        l.groups_per_eni,
        l.group_references_per_group,
        l.permissions_per_request,
        l.prefix_list_entries,
    ] {
        h.bytes(&v.to_le_bytes());
    }
    for v in &world.vpcs {
        h.str(&v.id);
    }
    for pl in &world.prefix_lists {
        h.str(&pl.id);
        h.str(&pl.name);
        h.str(&pl.description);
        h.str(pl.address_family.as_str());
        h.bytes(&pl.max_entries.to_le_bytes());
        for e in &pl.entries {
            h.str(&e.cidr.to_string());
            h.str(&e.description);
        }
    }
    for g in &world.security_groups {
        h.str(&g.id);
        h.str(&g.name);
        h.str(&g.description);
        h.str(g.group_type.as_str());
        h.str(g.vpc_id.as_deref().unwrap_or(""));
        h.str(&g.owner_id);
        h.str(g.owner_account.as_deref().unwrap_or(""));
        h.str(g.inner_access_policy.as_str());
        h.bytes(&[u8::from(g.service_managed)]);
        for r in &g.rules {
            h.str(&r.id);
            h.str(&r.summary());
            if let Peer::Group {
                owner_account,
                owner_id,
                ..
            } = &r.peer
            {
                h.str(owner_account.as_deref().unwrap_or(""));
                h.str(owner_id.as_deref().unwrap_or(""));
            }
            h.str(&r.create_time);
        }
    }
    for i in &world.instances {
        h.str(&i.id);
        h.str(i.vpc_id.as_deref().unwrap_or(""));
        h.str(&i.public_ip.map(|a| a.to_string()).unwrap_or_default());
        for eni in std::iter::once((&i.id, &i.security_groups, &i.private_ips)).chain(
            i.network_interfaces
                .iter()
                .map(|n| (&n.id, &n.security_groups, &n.private_ips)),
        ) {
            h.str(eni.0);
            for g in eni.1 {
                h.str(g);
            }
            for a in eni.2 {
                h.str(&a.to_string());
            }
        }
    }
    for t in &world.client_tokens {
        h.str(&t.token);
    }
}

/// The `RequestId` of a call: a UUID-shaped string (upper-case hex, 8-4-4-4-12) derived
/// from the world's content and the call's parameters, so runs are reproducible.
pub fn request_id(world: &World, params: &Params) -> String {
    let mut a = Fnv64::new(1);
    let mut b = Fnv64::new(2);
    for h in [&mut a, &mut b] {
        world_content(world, h);
        for (k, v) in params.iter() {
            h.str(k);
            h.str(v);
        }
    }
    let (a, b) = (a.finish(), b.finish());
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        let mut h = Fnv64(Fnv64::OFFSET);
        h.bytes(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn request_id_shape_and_stability() {
        let w = World::default();
        let p = super::super::request::parse_query("Action=X").unwrap();
        let id = request_id(&w, &p);
        assert_eq!(id.len(), 36);
        assert_eq!(id, request_id(&w, &p));
        let q = super::super::request::parse_query("Action=Y").unwrap();
        assert_ne!(id, request_id(&w, &q));
    }
}
