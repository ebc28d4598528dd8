//! A box as text: addresses as CIDRs, protocols and ports as ranges, SPEC §8's JSON object
//! and a one-line form.

use super::{num_addr, PacketBox, ProtoSet, LOCAL, LOCAL_PORT, PEER, PEER_PORT};
use crate::model::Family;

/// An address interval as CIDRs when it splits into at most four, else as `a-b`.
pub fn addr_text(family: Family, r: (u128, u128)) -> Vec<String> {
    let bits = match family {
        Family::V4 => 32u32,
        Family::V6 => 128,
    };
    let mut out = Vec::new();
    let mut lo = r.0;
    loop {
        // The largest aligned block starting at lo that fits.
        let mut size_log = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size_log > 0 {
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                lo.saturating_add((1u128 << size_log) - 1)
            };
            if last <= r.1 {
                break;
            }
            size_log -= 1;
        }
        let prefix = bits - size_log;
        out.push(if prefix == bits {
            num_addr(family, lo).to_string()
        } else {
            format!("{}/{prefix}", num_addr(family, lo))
        });
        let last = if size_log >= 128 {
            u128::MAX
        } else {
            lo + ((1u128 << size_log) - 1)
        };
        if last >= r.1 || out.len() > 4 {
            break;
        }
        lo = last + 1;
    }
    if out.len() > 4 {
        vec![format!(
            "{}-{}",
            num_addr(family, r.0),
            num_addr(family, r.1)
        )]
    } else {
        out
    }
}

/// A protocol set as `"6"`, `"18-255"` strings.
pub fn proto_text(p: ProtoSet) -> Vec<String> {
    p.ranges()
        .into_iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect()
}

fn port_text(r: (u128, u128)) -> String {
    if r.0 == r.1 {
        r.0.to_string()
    } else {
        format!("{}-{}", r.0, r.1)
    }
}

/// A box as SPEC §8's JSON object.
pub fn box_json(b: &PacketBox) -> serde_json::Value {
    let ports = |r: (u128, u128)| {
        if b.has_ports() {
            vec![format!("{}-{}", r.0, r.1)]
        } else {
            Vec::new()
        }
    };
    serde_json::json!({
        "protocols": proto_text(b.protos),
        "peer": addr_text(b.family, b.iv[PEER]),
        "peer_ports": ports(b.iv[PEER_PORT]),
        "local": addr_text(b.family, b.iv[LOCAL]),
        "local_ports": ports(b.iv[LOCAL_PORT]),
    })
}

/// A box in one line: `tcp,udp peer 0.0.0.0/0 port 1-65535 -> local 10.0.0.1 port 22`.
pub fn box_text(b: &PacketBox) -> String {
    let protos: Vec<String> = b
        .protos
        .ranges()
        .into_iter()
        .map(|(a, z)| {
            if a == z {
                crate::packet::protocol_name(a)
            } else if a == 0 && z == 255 {
                "all".to_string()
            } else {
                format!("{a}-{z}")
            }
        })
        .collect();
    let protos = if b.protos == ProtoSet::ported().complement() {
        "other than tcp/udp".to_string()
    } else {
        protos.join(",")
    };
    let peer = addr_text(b.family, b.iv[PEER]).join(",");
    let local = addr_text(b.family, b.iv[LOCAL]).join(",");
    if b.has_ports() {
        format!(
            "{protos} from {peer} port {} to {local} port {}",
            port_text(b.iv[PEER_PORT]),
            port_text(b.iv[LOCAL_PORT])
        )
    } else {
        format!("{protos} from {peer} to {local}")
    }
}
