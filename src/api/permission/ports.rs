//! The protocol and port rows of SPEC §4's table: `IpProtocol`, `PortRange`,
//! `SourcePortRange`.

use super::Fields;
use crate::api::error::{invalid, missing, ApiError, ErrorCode as C};
use crate::model::{IpProtocol, PortRange};

/// `IpProtocol`: absent, 400 `MissingParameter`; not one of the six, 400
/// `InvalidIpProtocol.ValueNotSupported`.
pub(super) fn protocol(f: &Fields) -> Result<IpProtocol, ApiError> {
    let Some(text) = f.get("IpProtocol") else {
        return Err(missing(f.param("IpProtocol")));
    };
    IpProtocol::parse(text).ok_or_else(|| {
        let param = f.param("IpProtocol");
        let message = format!("The specified parameter \"{param}\" is not valid: only case insensitive TCP, UDP, ICMP, ICMPv6, GRE or ALL are supported.");
        ApiError::param(400, C::InvalidIpProtocolValueNotSupported, param, message)
    })
}

/// `PortRange`, in the table's order: absent; not `a/b`; TCP/UDP with `-1/-1`; a protocol
/// without ports with anything but `-1/-1`; TCP/UDP outside 1–65535; TCP/UDP with a > b.
/// `None` for a protocol without ports.
pub(super) fn port_range(f: &Fields, protocol: IpProtocol) -> Result<Option<PortRange>, ApiError> {
    let param = f.param("PortRange");
    let Some(text) = f.get("PortRange") else {
        let message = format!(
            "The specified parameter \"{param}\" is not valid: the port range must be given."
        );
        return Err(ApiError::param(
            400,
            C::InvalidPortRangeMalformed,
            param,
            message,
        ));
    };
    let port_error = |code: C| {
        let message = format!("The specified parameter \"{param}\" is not valid: please specify the PortRange or SourcePortRange in integer, less than 65535, and separate the range with '/'.");
        ApiError::param(400, code, param.clone(), message)
    };
    let (a, b) = parse_pair(text).ok_or_else(|| port_error(C::InvalidParamPortRange))?;
    if !protocol.has_ports() {
        if (a, b) != (-1, -1) {
            return Err(port_error(C::InvalidParamPortRange));
        }
        return Ok(None);
    }
    if (a, b) == (-1, -1) {
        let message = format!(
            "The specified parameter \"{param}\" does not match the protocol {protocol}: TCP and UDP need a port range from 1 to 65535."
        );
        return Err(ApiError::param(400, C::OperationDenied, param, message));
    }
    let in_range = |p: i64| (1..=65535).contains(&p);
    if !in_range(a) || !in_range(b) {
        return Err(port_error(C::InvalidParamPortRange));
    }
    match api_port_range(a, b) {
        Some(r) => Ok(Some(r)),
        None => {
            let message = format!(
                "The specified parameter \"{param}\" is not valid: the start port exceeds the end port."
            );
            Err(ApiError::param(
                400,
                C::InvalidIpProtocolMalformed,
                param,
                message,
            ))
        }
    }
}

/// `SourcePortRange`: malformed, or set (other than `-1/-1`) for a protocol without ports,
/// 400 `InvalidSourcePortRange.Malformed`. Absent and `-1/-1` are `None`.
pub(super) fn source_port_range(
    f: &Fields,
    protocol: IpProtocol,
) -> Result<Option<PortRange>, ApiError> {
    let Some(text) = f.get("SourcePortRange") else {
        return Ok(None);
    };
    let bad = || {
        invalid(
            400,
            C::InvalidSourcePortRangeMalformed,
            f.param("SourcePortRange"),
        )
    };
    let (a, b) = parse_pair(text).ok_or_else(bad)?;
    if (a, b) == (-1, -1) {
        Ok(None)
    } else if !protocol.has_ports() {
        Err(bad())
    } else {
        Ok(Some(api_port_range(a, b).ok_or_else(bad)?))
    }
}

/// Parses `a/b` with integers a and b (either may be negative, as in `-1/-1`).
fn parse_pair(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once('/')?;
    let int = |t: &str| -> Option<i64> {
        let digits = t.strip_prefix('-').unwrap_or(t);
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    Some((int(a)?, int(b)?))
}

/// A TCP/UDP port range within 1–65535, ordered.
fn api_port_range(a: i64, b: i64) -> Option<PortRange> {
    let a = u16::try_from(a).ok().filter(|p| *p >= 1)?;
    let b = u16::try_from(b).ok().filter(|p| *p >= 1)?;
    PortRange::new(a, b)
}
