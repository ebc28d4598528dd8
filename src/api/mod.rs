//! The ECS security-group API: request parsing, validation with the cloud's error codes,
//! the actions on the world, and responses.

pub mod error;
pub mod permission;

pub use error::{ApiError, ErrorCode};

use crate::model::World;

/// What a call needs besides the world.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// `CreateTime` for objects the call creates.
    pub now: String,
}

/// The answer to a call.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status: 200 on success.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
    /// The error, when the call failed.
    pub error: Option<ApiError>,
}

/// A query string that cannot be decoded at all.
#[derive(Debug, Clone)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Applies one API call to the world (placeholder until the actions land).
pub fn call(_world: &mut World, _query: &str, _ctx: &CallContext) -> Result<Response, QueryError> {
    Err(QueryError(
        "API calls are not available in this build yet".into(),
    ))
}
