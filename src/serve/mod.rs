//! `sgsim serve` (SPEC §9): an HTTP endpoint that answers the ECS API of §4 as the cloud's
//! RPC endpoint does, so the official SDKs, the aliyun CLI and the Terraform provider can
//! be pointed at a world file.
//!
//! - [`sign`]: the two signatures as the SDKs compute them (also used by clients);
//! - [`auth`]: checking a request's signature, with the cloud's rejection codes;
//! - [`credentials`]: the accepted access keys.

pub mod auth;
pub mod credentials;
pub mod sign;
