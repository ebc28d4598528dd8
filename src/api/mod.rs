//! The ECS security-group API: request parsing, validation with the cloud's error codes,
//! the actions on the world, and responses.

pub mod error;
pub mod permission;

pub use error::{ApiError, ErrorCode};
