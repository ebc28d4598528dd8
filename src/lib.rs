//! sgsim: a simulator of Alibaba Cloud ECS security groups and a fast packet-decision engine.
//!
//! The crate parses the world (groups, rules, instances, prefix lists) from files or API
//! calls, validates it as the cloud does, and decides packets with an explanation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc_count;
pub mod analysis;
pub mod api;
pub mod bench;
pub mod classbench;
pub mod engine;
pub mod explain;
pub mod generate;
pub mod generate_world;
pub mod journal;
pub mod model;
pub mod packet;
pub mod replay;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod serve;
pub mod store;
pub mod wire;
pub mod world_file;
