//! Packet queries over HTTP (SPEC §9): `POST /sgsim/check` with a JSON body
//! `{"packet": "tcp A:p -> B:q", "to"?: ID, "direction"?: "ingress"|"egress"}`, signed with
//! V3 and `x-acs-action: SgsimCheck`, answers the object `sgsim check --json` prints;
//! `POST /sgsim/explain` with the same body and `x-acs-action: SgsimExplain` answers the
//! object `sgsim explain --json` prints ([`crate::explain::explanation_json`]).

use super::handler::App;
use super::Answer;
use crate::engine::reference;
use crate::model::Direction;
use crate::packet::parse_packet;
use serde::Deserialize;

/// Which packet query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/sgsim/check`, action `SgsimCheck`.
    Check,
    /// `/sgsim/explain`, action `SgsimExplain`.
    Explain,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Check => "SgsimCheck",
            Kind::Explain => "SgsimExplain",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    packet: String,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    direction: Option<String>,
}

fn bad(message: String, rid: &str) -> Answer {
    Answer::error(400, "InvalidParameter", &message, rid)
}

/// Answers a packet query whose signature checked out.
pub fn answer(app: &App, kind: Kind, action: &str, body: &[u8], rid: &str) -> Answer {
    if action != kind.action() {
        return Answer::error(
            400,
            "InvalidAction.NotFound",
            &format!(
                "The specified action \"{action}\" is not found: this path answers {}.",
                kind.action()
            ),
            rid,
        );
    }
    let q: Query = match serde_json::from_slice(body) {
        Ok(q) => q,
        Err(e) => return bad(format!("The body is not a packet query: {e}."), rid),
    };
    let direction = match q.direction.as_deref() {
        None => Direction::Ingress,
        Some(d) => match Direction::parse(&d.to_ascii_lowercase()) {
            Some(d) => d,
            None => return bad(format!("direction \"{d}\" is not ingress or egress."), rid),
        },
    };
    let packet = match parse_packet(&q.packet) {
        Ok(p) => p,
        Err(e) => return bad(format!("invalid packet `{}`: {e}", q.packet), rid),
    };
    let snap = match app.world.snapshot() {
        Ok(s) => s,
        Err(e) => return super::world::internal(rid, &e, ""),
    };
    let world = &snap.world;
    if kind == Kind::Explain {
        return match crate::analysis::explain::explain(world, &packet, q.to.as_deref(), direction) {
            Ok(e) => Answer::raw(200, crate::explain::explanation_json(world, &e), rid),
            Err(e) => bad(e.to_string(), rid),
        };
    }
    let target = match reference::resolve_target(world, &packet, q.to.as_deref(), direction) {
        Ok(t) => t,
        Err(e) => return bad(e.to_string(), rid),
    };
    let d = reference::decide_for(world, &packet, direction, &target);
    let text = crate::explain::Explainer::new(world)
        .view(&d, &target)
        .json();
    match serde_json::from_str(&text) {
        Ok(body) => Answer::raw(200, body, rid),
        Err(e) => super::world::internal(rid, &e.to_string(), ""),
    }
}
