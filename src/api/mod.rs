//! The ECS security-group API (SPEC §4): request parsing, validation with the cloud's error
//! codes, the actions on the world, and responses in the cloud's JSON shape.
//!
//! The one entry point is [`call`]: it decodes a query string, checks it as the cloud does
//! (the first failing check wins), applies it to the world completely or not at all, and
//! returns the HTTP status and the JSON body the cloud would send.
//!
//! ```
//! use sgsim::api::{call, CallContext};
//! use sgsim::model::World;
//!
//! let mut world = World::default();
//! let ctx = CallContext::scenario();
//! let r = call(&mut world, "Action=CreateSecurityGroup&RegionId=cn-hangzhou", &ctx).unwrap();
//! assert_eq!(r.status, 200);
//! assert_eq!(r.body["SecurityGroupId"], "sg-000000000001");
//! ```

pub mod describe;
mod eni;
pub mod error;
mod groups;
pub mod hash;
pub mod import;
pub mod params;
pub mod permission;
mod prefix;
pub mod request;
mod rules;
mod undo;

pub use error::{ApiError, ErrorCode};
pub use request::{parse_query, Params, QueryError};

use crate::model::{ClientTokenRecord, SecurityGroup, World};
use error::{invalid, missing, ErrorCode as C};
use serde_json::{Map, Value};

/// What a call needs besides the world and the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// `CreateTime` of objects the call creates (ISO 8601 UTC).
    pub now: String,
}

impl CallContext {
    /// The time scenario runs use: `2026-01-01T00:00:00Z`.
    pub const SCENARIO_TIME: &'static str = "2026-01-01T00:00:00Z";

    /// A context at [`CallContext::SCENARIO_TIME`].
    pub fn scenario() -> CallContext {
        CallContext {
            now: Self::SCENARIO_TIME.to_string(),
        }
    }

    /// A context at the current UTC time, to the second.
    pub fn now_utc() -> CallContext {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        CallContext {
            now: format_timestamp(secs),
        }
    }
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC; times before 1970
/// count back from it).
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The answer to a call: the HTTP status and the JSON body the cloud would send.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// 200 on success, else the error's status.
    pub status: u16,
    /// The success body (the action's fields and `RequestId`) or the error body
    /// (`RequestId`, `HostId`, `Code`, `Message`, `Recommend`).
    pub body: Value,
    /// The error, when the call failed.
    pub error: Option<ApiError>,
}

impl Response {
    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The actions sgsim simulates (ECS version `2014-05-26`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `CreateSecurityGroup`.
    CreateSecurityGroup,
    /// `DeleteSecurityGroup`.
    DeleteSecurityGroup,
    /// `DescribeSecurityGroups`.
    DescribeSecurityGroups,
    /// `DescribeSecurityGroupAttribute`.
    DescribeSecurityGroupAttribute,
    /// `AuthorizeSecurityGroup`.
    AuthorizeSecurityGroup,
    /// `AuthorizeSecurityGroupEgress`.
    AuthorizeSecurityGroupEgress,
    /// `RevokeSecurityGroup`.
    RevokeSecurityGroup,
    /// `RevokeSecurityGroupEgress`.
    RevokeSecurityGroupEgress,
    /// `ModifySecurityGroupRule`.
    ModifySecurityGroupRule,
    /// `ModifySecurityGroupEgressRule`.
    ModifySecurityGroupEgressRule,
    /// `ModifySecurityGroupPolicy`.
    ModifySecurityGroupPolicy,
    /// `CreatePrefixList`.
    CreatePrefixList,
    /// `ModifyPrefixList`.
    ModifyPrefixList,
    /// `DeletePrefixList`.
    DeletePrefixList,
    /// `DescribePrefixLists`.
    DescribePrefixLists,
    /// `DescribePrefixListAttributes`.
    DescribePrefixListAttributes,
    /// `JoinSecurityGroup`.
    JoinSecurityGroup,
    /// `LeaveSecurityGroup`.
    LeaveSecurityGroup,
}

impl Action {
    /// Every action.
    pub const ALL: &'static [Action] = &[
        Action::CreateSecurityGroup,
        Action::DeleteSecurityGroup,
        Action::DescribeSecurityGroups,
        Action::DescribeSecurityGroupAttribute,
        Action::AuthorizeSecurityGroup,
        Action::AuthorizeSecurityGroupEgress,
        Action::RevokeSecurityGroup,
        Action::RevokeSecurityGroupEgress,
        Action::ModifySecurityGroupRule,
        Action::ModifySecurityGroupEgressRule,
        Action::ModifySecurityGroupPolicy,
        Action::CreatePrefixList,
        Action::ModifyPrefixList,
        Action::DeletePrefixList,
        Action::DescribePrefixLists,
        Action::DescribePrefixListAttributes,
        Action::JoinSecurityGroup,
        Action::LeaveSecurityGroup,
    ];

    /// The action's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateSecurityGroup => "CreateSecurityGroup",
            Action::DeleteSecurityGroup => "DeleteSecurityGroup",
            Action::DescribeSecurityGroups => "DescribeSecurityGroups",
            Action::DescribeSecurityGroupAttribute => "DescribeSecurityGroupAttribute",
            Action::AuthorizeSecurityGroup => "AuthorizeSecurityGroup",
            Action::AuthorizeSecurityGroupEgress => "AuthorizeSecurityGroupEgress",
            Action::RevokeSecurityGroup => "RevokeSecurityGroup",
            Action::RevokeSecurityGroupEgress => "RevokeSecurityGroupEgress",
            Action::ModifySecurityGroupRule => "ModifySecurityGroupRule",
            Action::ModifySecurityGroupEgressRule => "ModifySecurityGroupEgressRule",
            Action::ModifySecurityGroupPolicy => "ModifySecurityGroupPolicy",
            Action::CreatePrefixList => "CreatePrefixList",
            Action::ModifyPrefixList => "ModifyPrefixList",
            Action::DeletePrefixList => "DeletePrefixList",
            Action::DescribePrefixLists => "DescribePrefixLists",
            Action::DescribePrefixListAttributes => "DescribePrefixListAttributes",
            Action::JoinSecurityGroup => "JoinSecurityGroup",
            Action::LeaveSecurityGroup => "LeaveSecurityGroup",
        }
    }

    /// The action with this exact (case-sensitive) name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether the action only reads the world (the `Describe…` actions). The others take
    /// a `ClientToken`.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Action::DescribeSecurityGroups
                | Action::DescribeSecurityGroupAttribute
                | Action::DescribePrefixLists
                | Action::DescribePrefixListAttributes
        )
    }
}

/// Applies one API call, written as a query string, to the world.
///
/// Returns `Err` only when the query cannot be decoded. Otherwise the [`Response`] carries
/// the status and body; on an API error the world is left exactly as it was.
pub fn call(world: &mut World, query: &str, ctx: &CallContext) -> Result<Response, QueryError> {
    let params = parse_query(query)?;
    Ok(call_params(world, &params, ctx))
}

/// Applies one call whose parameters are already decoded (see [`call`]).
pub fn call_params(world: &mut World, params: &Params, ctx: &CallContext) -> Response {
    let request_id = hash::request_id(world, params);
    call_with_id(world, params, ctx, &request_id)
}

/// [`call_params`] with a given `RequestId` (the endpoint draws a fresh one per request
/// instead of hashing the world).
pub fn call_with_id(
    world: &mut World,
    params: &Params,
    ctx: &CallContext,
    request_id: &str,
) -> Response {
    let result = execute(world, params, ctx, request_id);
    respond(result, request_id, &world.region_id)
}

/// Answers a call that cannot change the world (a `Describe…`, or one whose `Action` or
/// `RegionId` is refused) on a shared world, without copying it; `None` when the call
/// may change the world and must go through [`call_with_id`].
pub fn call_shared(world: &World, params: &Params, request_id: &str) -> Option<Response> {
    let result = match action_and_region(world, params) {
        Err(e) => Err(e),
        Ok(action) if action.is_read_only() => {
            read(action, world, params).map(|fields| with_request_id(request_id, fields))
        }
        Ok(_) => return None,
    };
    Some(respond(result, request_id, &world.region_id))
}

fn respond(result: Result<Value, ApiError>, request_id: &str, region: &str) -> Response {
    match result {
        Ok(body) => Response {
            status: 200,
            body,
            error: None,
        },
        Err(e) => Response {
            status: e.status,
            body: error_body(&e, request_id, region),
            error: Some(e),
        },
    }
}

fn with_request_id(request_id: &str, fields: Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::from(request_id));
    body.extend(fields);
    Value::Object(body)
}

/// The error body: `RequestId`, `HostId`, `Code`, `Message`, `Recommend`.
pub fn error_body(e: &ApiError, request_id: &str, region: &str) -> Value {
    let mut m = Map::new();
    m.insert("RequestId".into(), Value::from(request_id));
    m.insert(
        "HostId".into(),
        Value::from(format!("ecs.{region}.aliyuncs.com")),
    );
    m.insert("Code".into(), Value::from(e.code.as_str()));
    m.insert("Message".into(), Value::from(e.message.as_str()));
    m.insert(
        "Recommend".into(),
        Value::from(format!(
            "https://api.alibabacloud.com/troubleshoot?intl_lang=EN_US&q={}&product=Ecs&requestId={request_id}",
            e.code.as_str()
        )),
    );
    Value::Object(m)
}

/// Checks, applies and answers one call; the world changes only on success.
fn execute(
    world: &mut World,
    params: &Params,
    ctx: &CallContext,
    request_id: &str,
) -> Result<Value, ApiError> {
    let action = action_and_region(world, params)?;
    if action.is_read_only() {
        return read(action, world, params).map(|fields| with_request_id(request_id, fields));
    }
    let token = params.get("ClientToken");
    if let Some(token) = token {
        if token.chars().count() > 64 || !token.is_ascii() {
            return Err(invalid(400, C::InvalidClientTokenMalformed, "ClientToken"));
        }
        if let Some(rec) = world.client_tokens.iter().find(|r| r.token == token) {
            if rec.action == action.name() && rec.params == params.business() {
                return Ok(rec.response.clone());
            }
            return Err(error::with_message(
                400,
                C::IdempotentParameterMismatch,
                "ClientToken",
                "The request uses the same client token as a previous, but non-identical request.",
            ));
        }
    }

    // In place, with what the action may change saved for a rollback (see `undo`).
    #[cfg(debug_assertions)]
    let before = world.clone();
    let saved = undo::Undo::save(action, world, params);
    let fields = match dispatch(action, world, params, ctx) {
        Ok(fields) => fields,
        Err(e) => {
            saved.restore(world);
            #[cfg(debug_assertions)]
            debug_assert!(
                *world == before,
                "{} failed ({}) but left the world changed: its undo misses a part",
                action.name(),
                e.code.as_str()
            );
            return Err(e);
        }
    };
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::from(request_id));
    body.extend(fields);
    let body = Value::Object(body);
    if let Some(token) = token {
        world.client_tokens.push(ClientTokenRecord {
            token: token.to_string(),
            action: action.name().to_string(),
            params: params.business(),
            response: body.clone(),
        });
    }
    Ok(body)
}

/// The action and the region check, the first checks of every call.
fn action_and_region(world: &World, params: &Params) -> Result<Action, ApiError> {
    let action_name = params.get("Action").ok_or_else(|| missing("Action"))?;
    let action = Action::parse(action_name).ok_or_else(|| {
        error::with_message(
            400,
            C::InvalidActionNotFound,
            "Action",
            format!("The specified action \"{action_name}\" is not found."),
        )
    })?;
    let region = params.get("RegionId").ok_or_else(|| missing("RegionId"))?;
    if region != world.region_id {
        return Err(error::with_message(
            404,
            C::InvalidRegionIdNotFound,
            "RegionId",
            format!("The specified RegionId \"{region}\" does not exist."),
        ));
    }
    Ok(action)
}

/// Runs a read-only action on the world as it is.
fn read(action: Action, world: &World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    match action {
        Action::DescribeSecurityGroups => groups::describe_all(world, p),
        Action::DescribeSecurityGroupAttribute => groups::describe_attribute(world, p),
        Action::DescribePrefixLists => prefix::describe_all(world, p),
        Action::DescribePrefixListAttributes => prefix::describe_attributes(world, p),
        _ => Ok(Map::new()),
    }
}

/// Runs an action on the world (which may be left half changed on an error: the caller
/// undoes it), returning the body's fields besides
/// `RequestId`.
fn dispatch(
    action: Action,
    world: &mut World,
    p: &Params,
    ctx: &CallContext,
) -> Result<Map<String, Value>, ApiError> {
    use crate::model::Direction::{Egress, Ingress};
    match action {
        Action::CreateSecurityGroup => groups::create(world, p, ctx),
        Action::DeleteSecurityGroup => groups::delete(world, p),
        Action::DescribeSecurityGroups
        | Action::DescribeSecurityGroupAttribute
        | Action::DescribePrefixLists
        | Action::DescribePrefixListAttributes => read(action, world, p),
        Action::ModifySecurityGroupPolicy => groups::modify_policy(world, p),
        Action::AuthorizeSecurityGroup => rules::authorize(world, p, ctx, Ingress),
        Action::AuthorizeSecurityGroupEgress => rules::authorize(world, p, ctx, Egress),
        Action::RevokeSecurityGroup => rules::revoke(world, p, Ingress),
        Action::RevokeSecurityGroupEgress => rules::revoke(world, p, Egress),
        Action::ModifySecurityGroupRule => rules::modify(world, p, Ingress),
        Action::ModifySecurityGroupEgressRule => rules::modify(world, p, Egress),
        Action::CreatePrefixList => prefix::create(world, p, ctx),
        Action::ModifyPrefixList => prefix::modify(world, p),
        Action::DeletePrefixList => prefix::delete(world, p),
        Action::JoinSecurityGroup => eni::join(world, p, true),
        Action::LeaveSecurityGroup => eni::join(world, p, false),
    }
}

/// Every name in `names` must be given, checked in order: else 400 `MissingParameter`.
fn require_all(p: &Params, names: &[&str]) -> Result<(), ApiError> {
    match names.iter().find(|n| !p.has(n)) {
        Some(n) => Err(missing(*n)),
        None => Ok(()),
    }
}

/// Whether `id` is `prefix` followed by one or more of `[a-z0-9]`.
fn well_formed(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The group named by `SecurityGroupId`: missing (400 `MissingParameter`), malformed
/// (400), unknown (404), and, for an action that changes it, service-managed (403).
fn named_group<'w>(
    world: &'w World,
    p: &Params,
    changes: bool,
) -> Result<&'w SecurityGroup, ApiError> {
    let id = p
        .get("SecurityGroupId")
        .ok_or_else(|| missing("SecurityGroupId"))?;
    if !well_formed(id, "sg-") {
        return Err(invalid(
            400,
            C::InvalidSecurityGroupIdMalformed,
            "SecurityGroupId",
        ));
    }
    let group = world.group(id).ok_or_else(|| {
        error::with_message(
            404,
            C::InvalidSecurityGroupIdNotFound,
            "SecurityGroupId",
            format!("The specified SecurityGroupId \"{id}\" does not exist."),
        )
    })?;
    if changes && group.service_managed {
        return Err(error::with_message(
            403,
            C::ResourceManagedByCloudProduct,
            "SecurityGroupId",
            format!(
                "The security group \"{id}\" is managed by a cloud product and cannot be modified."
            ),
        ));
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(format_timestamp(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn ids() {
        assert!(well_formed("sg-bp67acfmxazb4p0000", "sg-"));
        assert!(!well_formed("sg-", "sg-"));
        assert!(!well_formed("sg-Web", "sg-"));
        assert!(!well_formed("sg-web-1", "sg-"));
    }
}
