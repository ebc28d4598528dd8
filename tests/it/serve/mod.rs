//! `sgsim serve` over loopback: the HTTP API with the project's signing client, the
//! safety of its files, and a `kill -9` under load. (The official SDKs' test stays a
//! binary of its own, `tests/serve_sdk.rs`, which `.ci/run` runs with the SDKs installed.)

#[path = "../../serve_common/mod.rs"]
pub mod common;
mod crash;
mod files;
mod http;
