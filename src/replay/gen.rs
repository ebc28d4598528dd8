//! A seeded generator of flow logs for a world: client-server connections (from outside,
//! to outside and between the world's ENIs), their replies, SYN flags, windows apart by
//! more than the session's 910 s, rejected attempts, and noise records (`NODATA`, unknown
//! ENIs). The logged `action` of every record follows from the reference evaluator and the
//! session rules, tracked here on their own, so a correct replay agrees on every record.

use super::record::{action_word, dir_word, Record, COLUMNS};
use super::session::SESSION_SECONDS;
use crate::engine::reference;
use crate::generate::SplitMix64;
use crate::model::{Direction, Peer, Verdict, World, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use ipnet::{IpNet, Ipv4Net};
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    /// The seed: the same seed and world give the same records.
    pub seed: u64,
    /// How many connections.
    pub connections: usize,
    /// Percent of noise records added (`NODATA` records and unknown ENIs).
    pub noise_percent: u64,
    /// Percent of records whose logged action is flipped (0 for tests of agreement).
    pub flip_percent: u64,
    /// The first `start` (Unix seconds).
    pub t0: i64,
    /// Percent of first TCP windows logged reply first (same `start`; only the SYN flags
    /// put the SYN first, so 0 for AWS v2, which logs no flags).
    pub syn_swap_percent: u64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            connections: 100,
            noise_percent: 2,
            flip_percent: 0,
            t0: 1_767_225_600,
            syn_swap_percent: 30,
        }
    }
}

/// A generated record and its `log-status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRecord {
    /// The record.
    pub record: Record,
    /// `OK`, or `NODATA` for noise.
    pub status: &'static str,
}

/// One connection to generate: who logs it and its ends.
struct Plan {
    /// 0: from outside to `e`; 1: from `e` to outside; 2: from `other` to `e`.
    kind: u8,
    e: String,
    other: String,
    proto: u8,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
}

/// One time window of a connection.
struct Window {
    start: i64,
    end: i64,
    conn: usize,
    first: bool,
    swap: bool,
    server_first: bool,
}

struct Eni {
    id: String,
    addr: IpAddr,
    peers: Vec<Ipv4Net>,
    ports: Vec<u16>,
}

/// The session state of one connection at one ENI, as the generator tracks it.
#[derive(Default)]
struct Track {
    open_until: Option<i64>,
}

/// One window of a connection as its records see it: the ends, the time and the TCP flags
/// of the request (client to server) and of the reply.
struct Exchange {
    proto: u8,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    start: i64,
    end: i64,
    req_flags: Option<u16>,
    rep_flags: Option<u16>,
}

struct Gen<'w> {
    world: &'w World,
    rng: SplitMix64,
    tracks: HashMap<(String, IpAddr, u16, IpAddr, u16, u8), Track>,
    out: Vec<(i64, u64, GenRecord)>,
    order: u64,
}

impl Gen<'_> {
    /// Logs the request of an exchange at `eni` in `dir`; its action.
    fn request(&mut self, eni: &str, dir: Direction, x: &Exchange) -> Verdict {
        self.log(eni, dir, x, x.client, x.server, x.req_flags)
    }

    /// Logs the reply of an exchange at `eni` in `dir`; its action.
    fn reply(&mut self, eni: &str, dir: Direction, x: &Exchange) -> Verdict {
        self.log(eni, dir, x, x.server, x.client, x.rep_flags)
    }

    /// Logs one record of an exchange at `eni`, from `src` to `dst`, with the action the
    /// session rules give.
    fn log(
        &mut self,
        eni: &str,
        dir: Direction,
        x: &Exchange,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        flags: Option<u16>,
    ) -> Verdict {
        let (proto, start, end) = (x.proto, x.start, x.end);
        let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
        let key = (eni.to_string(), a.0, a.1, b.0, b.1, proto);
        let track = self.tracks.entry(key).or_default();
        let action = match track.open_until {
            Some(until) if start <= until => {
                track.open_until = Some(until.max(end + SESSION_SECONDS));
                Verdict::Accept
            }
            _ => {
                let v = crate::model::Packet::new(proto, src.0, src.1, dst.0, dst.1)
                    .ok()
                    .and_then(|pkt| reference::decide(self.world, &pkt, Some(eni), dir).ok())
                    .map_or(Verdict::Drop, |d| d.verdict);
                track.open_until = (v == Verdict::Accept).then_some(end + SESSION_SECONDS);
                v
            }
        };
        let packets = self.rng.range(1, 50);
        let record = Record {
            eni: eni.to_string(),
            src: src.0,
            src_port: src.1,
            dst: dst.0,
            dst_port: dst.1,
            protocol: proto,
            direction: Some(dir),
            start,
            end,
            packets,
            bytes: packets * self.rng.range(40, 1500),
            action,
            tcp_flags: flags,
        };
        self.order += 1;
        self.out.push((
            start,
            self.order,
            GenRecord {
                record,
                status: "OK",
            },
        ));
        action
    }
}

/// An element of a slice drawn at random (`None` when it is empty, drawing nothing).
fn pick<'a, T>(rng: &mut SplitMix64, items: &'a [T]) -> Option<&'a T> {
    items.get(rng.below(items.len() as u64) as usize)
}

/// The ENIs that have an IPv4 address, with the IPv4 peers and the port ends of their rules.
fn enis(world: &World) -> Vec<Eni> {
    world
        .enis()
        .filter_map(|e| {
            let addr = e.private_ips.iter().copied().find(IpAddr::is_ipv4)?;
            let mut peers = Vec::new();
            let mut ports = Vec::new();
            for g in e.security_groups.iter().filter_map(|g| world.group(g)) {
                for r in &g.rules {
                    if let Peer::Cidr(IpNet::V4(net)) = r.peer {
                        peers.push(net);
                    }
                    if let Some(p) = r.port_range {
                        ports.push(p.start());
                        ports.push(p.end());
                    }
                }
            }
            Some(Eni {
                id: e.id.to_string(),
                addr,
                peers,
                ports,
            })
        })
        .collect()
}

/// Generates flow-log records for a world, in order of `start` (ties in the order the
/// connections logged them, except that some first replies come before their SYN).
pub fn generate(world: &World, opt: &GenOptions) -> Vec<GenRecord> {
    let enis = enis(world);
    let owned: std::collections::HashSet<IpAddr> = world
        .enis()
        .flat_map(|e| e.private_ips.iter().copied().chain(e.public_ip()))
        .collect();
    let mut g = Gen {
        world,
        rng: SplitMix64::new(opt.seed),
        tracks: HashMap::new(),
        out: Vec::new(),
        order: 0,
    };
    if enis.is_empty() {
        return Vec::new();
    }
    let outside = [
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)),
        IpAddr::V4(Ipv4Addr::new(100, 64, 3, 9)),
        IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    ];
    let common = [22u16, 80, 443, 3306, 6379, 8080, 53];
    let mut plans: Vec<Plan> = Vec::new();
    let mut windows_todo: Vec<Window> = Vec::new();
    for _ in 0..opt.connections {
        let Some(e) = pick(&mut g.rng, &enis) else {
            break;
        };
        let proto = match g.rng.below(10) {
            0..=6 => PROTO_TCP,
            7 | 8 => PROTO_UDP,
            _ => PROTO_ICMP,
        };
        let ports = proto == PROTO_TCP || proto == PROTO_UDP;
        let fallback = g.rng.pick(&outside, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let remote = match pick(&mut g.rng, &e.peers) {
            Some(net) if g.rng.percent(60) => {
                let bits = u32::from(net.hostmask()) & (g.rng.next_u64() as u32);
                let host = IpAddr::V4(Ipv4Addr::from(u32::from(net.network()) | bits));
                if owned.contains(&host) || host.is_unspecified() {
                    fallback
                } else {
                    host
                }
            }
            _ => fallback,
        };
        let Some(other) = pick(&mut g.rng, &enis) else {
            break;
        };
        let own = if !e.ports.is_empty() && g.rng.percent(60) {
            pick(&mut g.rng, &e.ports).copied()
        } else {
            None
        };
        let service = own.unwrap_or_else(|| g.rng.pick(&common, 80));
        let (sport, dport) = if ports {
            (g.rng.range(1024, 65535) as u16, service)
        } else {
            (0, 0)
        };
        // Who is the client: 0 outside → e, 1 e → outside, 2 other ENI → e.
        let kind = match g.rng.below(10) {
            0..=5 => 0,
            6..=7 => 1,
            _ if other.id != e.id && other.addr != e.addr => 2,
            _ => 0,
        };
        let (client, server) = match kind {
            1 => ((e.addr, sport), (remote, dport)),
            2 => ((other.addr, sport), (e.addr, dport)),
            _ => ((remote, sport), (e.addr, dport)),
        };
        let mut t = opt.t0 + g.rng.below(3600) as i64;
        let windows = g.rng.range(1, 6);
        for w in 0..windows {
            let len = g.rng.below(60) as i64;
            let first = w == 0;
            let swap = first && proto == PROTO_TCP && g.rng.percent(opt.syn_swap_percent);
            // After a long gap the server sometimes speaks first.
            let server_first = !first && g.rng.percent(10);
            windows_todo.push(Window {
                start: t,
                end: t + len,
                conn: plans.len(),
                first,
                swap,
                server_first,
            });
            // Usually within the session; sometimes just at its edge or past it.
            let gap = match g.rng.below(20) {
                0..=2 => SESSION_SECONDS + 1 + g.rng.below(2000) as i64,
                3 => SESSION_SECONDS,
                _ => g.rng.below(600) as i64,
            };
            t += len + gap;
        }
        plans.push(Plan {
            kind,
            e: e.id.clone(),
            other: other.id.clone(),
            proto,
            client,
            server,
        });
    }
    // The windows of all connections in time order, so that connections sharing ends at
    // an ENI (ICMP, say) are tracked as the replay sees them.
    windows_todo.sort_by_key(|w| (w.start, w.conn));
    for w in windows_todo {
        let Some(p) = plans.get(w.conn) else {
            continue;
        };
        let tcp = p.proto == PROTO_TCP;
        let x = Exchange {
            proto: p.proto,
            client: p.client,
            server: p.server,
            start: w.start,
            end: w.end,
            req_flags: tcp.then_some(if w.first { 2 } else { 24 }),
            rep_flags: tcp.then_some(if w.first { 18 } else { 24 }),
        };
        let before = g.out.len();
        let (e, other) = (p.e.as_str(), p.other.as_str());
        if p.kind == 2 {
            // Between two ENIs: sent at the client's, received at the server's, and the
            // reply back the same way.
            if g.request(other, Direction::Egress, &x) == Verdict::Accept
                && g.request(e, Direction::Ingress, &x) == Verdict::Accept
            {
                g.reply(e, Direction::Egress, &x);
                g.reply(other, Direction::Ingress, &x);
            }
        } else {
            // With the outside, logged at `e` only: the request leaves `e` (kind 1) or
            // comes in (kind 0).
            let (req_dir, rep_dir) = if p.kind == 1 {
                (Direction::Egress, Direction::Ingress)
            } else {
                (Direction::Ingress, Direction::Egress)
            };
            if w.server_first {
                g.reply(e, rep_dir, &x);
            }
            if g.request(e, req_dir, &x) == Verdict::Accept && !w.server_first {
                g.reply(e, rep_dir, &x);
            }
        }
        if w.swap && g.out.len() == before + 2 {
            // The reply first in the input: the SYN-only rule still replays the SYN first.
            if let [.., request, reply] = g.out.as_mut_slice() {
                std::mem::swap(&mut request.1, &mut reply.1);
            }
        }
    }
    // Noise: records not OK, and records of ENIs the world does not have.
    let noise = (g.out.len() as u64 * opt.noise_percent / 100) as usize;
    for i in 0..noise {
        let Some(base) = g
            .out
            .get(g.rng.below(g.out.len() as u64) as usize)
            .map(|x| x.2.clone())
        else {
            break;
        };
        let mut r = base;
        g.order += 1;
        if i % 2 == 0 {
            r.status = "NODATA";
        } else {
            r.record.eni = format!("eni-unknown{:04}", g.rng.below(10_000));
        }
        g.out.push((r.record.start, g.order, r));
    }
    if opt.flip_percent > 0 {
        for x in &mut g.out {
            if g.rng.percent(opt.flip_percent) {
                x.2.record.action = match x.2.record.action {
                    Verdict::Accept => Verdict::Drop,
                    Verdict::Drop => Verdict::Accept,
                };
            }
        }
    }
    g.out.sort_by_key(|(s, o, _)| (*s, *o));
    g.out.into_iter().map(|(_, _, r)| r).collect()
}

fn values(g: &GenRecord) -> [String; 14] {
    let r = &g.record;
    [
        r.eni.clone(),
        r.src.to_string(),
        r.src_port.to_string(),
        r.dst.to_string(),
        r.dst_port.to_string(),
        r.protocol.to_string(),
        r.direction.map_or("in", dir_word).to_string(),
        r.start.to_string(),
        r.end.to_string(),
        r.packets.to_string(),
        r.bytes.to_string(),
        action_word(r.action).to_string(),
        g.status.to_string(),
        r.tcp_flags.map_or(String::new(), |f| f.to_string()),
    ]
}

/// Writes records as CSV with a header row.
pub fn write_csv(records: &[GenRecord], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", COLUMNS.join(","))?;
    for g in records {
        writeln!(out, "{}", values(g).join(","))?;
    }
    Ok(())
}

/// Writes records as JSON lines, as SLS exports them: every value a string (ports and
/// counts of every other record as numbers, which readers accept too).
pub fn write_json(records: &[GenRecord], out: &mut impl Write) -> std::io::Result<()> {
    for (i, g) in records.iter().enumerate() {
        let mut m = serde_json::Map::new();
        for (k, v) in COLUMNS.iter().zip(values(g)) {
            if v.is_empty() {
                continue;
            }
            let numeric = matches!(*k, "srcport" | "dstport" | "packets" | "bytes");
            let value = match v.parse::<u64>() {
                Ok(n) if numeric && i % 2 == 1 => serde_json::Value::from(n),
                _ => serde_json::Value::from(v),
            };
            m.insert((*k).to_string(), value);
        }
        writeln!(out, "{}", serde_json::Value::Object(m))?;
    }
    Ok(())
}

/// Writes records as AWS VPC flow logs v2 (with the header line; no direction and no
/// flags, `-` fields for records that are not `OK`).
pub fn write_aws(records: &[GenRecord], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    )?;
    for g in records {
        let r = &g.record;
        if g.status != "OK" {
            writeln!(
                out,
                "2 123456789012 {} - - - - - - - {} {} - {}",
                r.eni, r.start, r.end, g.status
            )?;
            continue;
        }
        writeln!(
            out,
            "2 123456789012 {} {} {} {} {} {} {} {} {} {} {} OK",
            r.eni,
            r.src,
            r.dst,
            r.src_port,
            r.dst_port,
            r.protocol,
            r.packets,
            r.bytes,
            r.start,
            r.end,
            action_word(r.action)
        )?;
    }
    Ok(())
}
