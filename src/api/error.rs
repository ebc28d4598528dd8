//! API errors: HTTP status, the cloud's error code and a message naming the parameter.

use std::fmt;

macro_rules! codes {
    ($($variant:ident => $wire:literal,)*) => {
        /// Every error code sgsim returns, as data. [`ErrorCode::as_str`] is the wire code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// The code as the cloud writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }

            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];
        }
    };
}

codes! {
    MissingParameter => "MissingParameter",
    MissingParameterSource => "MissingParameter.Source",
    MissingParameterDest => "MissingParameter.Dest",
    InvalidActionNotFound => "InvalidAction.NotFound",
    InvalidRegionIdNotFound => "InvalidRegionId.NotFound",
    IdempotentParameterMismatch => "IdempotentParameterMismatch",
    InvalidClientTokenMalformed => "InvalidClientToken.Malformed",
    InvalidSecurityGroupIdMalformed => "InvalidSecurityGroupId.Malformed",
    InvalidSecurityGroupIdNotFound => "InvalidSecurityGroupId.NotFound",
    ResourceManagedByCloudProduct => "InvalidOperation.ResourceManagedByCloudProduct",
    InvalidParamPermissions => "InvalidParam.Permissions",
    InvalidIpProtocolValueNotSupported => "InvalidIpProtocol.ValueNotSupported",
    InvalidPortRangeMalformed => "InvalidPortRange.Malformed",
    InvalidParamPortRange => "InvalidParam.PortRange",
    OperationDenied => "OperationDenied",
    InvalidIpProtocolMalformed => "InvalidIpProtocol.Malformed",
    InvalidSourcePortRangeMalformed => "InvalidSourcePortRange.Malformed",
    InvalidPolicyMalformed => "InvalidPolicy.Malformed",
    InvalidPriorityMalformed => "InvalidPriority.Malformed",
    InvalidPriorityValueNotSupported => "InvalidPriority.ValueNotSupported",
    InvalidNicTypeValueNotSupported => "InvalidNicType.ValueNotSupported",
    InvalidDescriptionMalformed => "InvalidSecurityGroupDiscription.Malformed",
    InvalidParamSourceIp => "InvalidParam.SourceIp",
    InvalidParamDestIp => "InvalidParam.DestIp",
    InvalidParamSourceCidrIp => "InvalidParam.SourceCidrIp",
    InvalidParamDestCidrIp => "InvalidParam.DestCidrIp",
    InvalidSourceCidrIpMalformed => "InvalidSourceCidrIp.Malformed",
    InvalidDestCidrIpMalformed => "InvalidDestCidrIp.Malformed",
    InvalidParamIpv6SourceCidrIp => "InvalidParam.Ipv6SourceCidrIp",
    InvalidParamIpv6DestCidrIp => "InvalidParam.Ipv6DestCidrIp",
    InvalidParameterConflict => "InvalidParameter.Conflict",
    InvalidParamterConflict => "InvalidParamter.Conflict",
    Ipv4ProtocolConflictWithIpv6Address => "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
    Ipv6ProtocolConflictWithIpv4Address => "InvalidParam.Ipv6ProtocolConflictWithIpv4Address",
    InvalidGroupAuthParameterOperationDenied => "InvalidGroupAuthParameter.OperationDenied",
    InvalidSourceGroupIdNotFound => "InvalidSourceGroupId.NotFound",
    InvalidDestGroupIdNotFound => "InvalidDestGroupId.NotFound",
    InvalidNetworkTypeMismatch => "InvalidNetworkType.Mismatch",
    InvalidSourceGroupIdMismatch => "InvalidSourceGroupId.Mismatch",
    InvalidDestGroupIdMismatch => "InvalidDestGroupId.Mismatch",
    AuthorizedGroupRuleLimitExceed => "AuthorizedGroupRule.LimitExceed",
    InvalidPrefixListIdNotFound => "InvalidPrefixListId.NotFound",
    InvalidPrefixListIdMalformed => "InvalidPrefixListId.Malformed",
    NotSupportedClassicNetworkPrefixList => "NotSupported.ClassicNetworkPrefixList",
    PrefixListAddressFamilyMismatch => "InvalidParam.PrefixListAddressFamilyMismatch",
    AuthorizationLimitExceed => "AuthorizationLimitExceed",
    InvalidParamDuplicatePermissions => "InvalidParam.DuplicatePermissions",
    InvalidSecurityGroupTypeValueNotSupported => "InvalidSecurityGroupType.ValueNotSupported",
    InvalidVpcIdNotFound => "InvalidVpcId.NotFound",
    InvalidSecurityGroupNameMalformed => "InvalidSecurityGroupName.Malformed",
    DependencyViolation => "DependencyViolation",
    InvalidDirectionValueNotSupported => "InvalidDirection.ValueNotSupported",
    InvalidSecurityGroupIdsMalformed => "InvalidSecurityGroupIds.Malformed",
    InvalidParamSecurityGroupRuleId => "InvalidParam.SecurityGroupRuleId",
    InvalidSecurityGroupRuleRuleNotExist => "InvalidSecurityGroupRule.RuleNotExist",
    SecurityGroupRuleNotFound => "SecurityGroupRule.NotFound",
    InvalidParameterInnerAccessPolicy => "InvalidParameter.InnerAccessPolicy",
    InvalidParamAddressFamily => "InvalidParam.AddressFamily",
    InvalidParamMaxEntries => "InvalidParam.MaxEntries",
    InvalidParamCidr => "InvalidParam.Cidr",
    InvalidParamDuplicateEntry => "InvalidParam.DuplicateEntry",
    QuotaExceedPrefixListEntries => "QuotaExceed.PrefixListEntries",
    InvalidInstanceIdNotFound => "InvalidInstanceId.NotFound",
    InvalidNetworkInterfaceIdNotFound => "InvalidNetworkInterfaceId.NotFound",
    InvalidInstanceIdMismatch => "InvalidInstanceId.Mismatch",
    InvalidInstanceIdAlreadyExists => "InvalidInstanceId.AlreadyExists",
    InvalidSecurityGroupTypeMismatch => "InvalidSecurityGroupType.Mismatch",
    InstanceSecurityGroupLimitExceeded => "InstanceSecurityGroupLimitExceeded",
    InvalidInstanceIdNotInSecurityGroup => "InvalidInstanceId.NotInSecurityGroup",
    InstanceLastSecurityGroup => "InstanceLastSecurityGroup",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API error: what the cloud would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400, 403, 404…).
    pub status: u16,
    /// The error code.
    pub code: ErrorCode,
    /// The message, in the cloud's wording, naming the parameter.
    pub message: String,
    /// The full parameter name the error is about (`Permissions.2.PortRange`), if any.
    pub param: Option<String>,
}

impl ApiError {
    /// An error about no parameter in particular.
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// An error about one parameter.
    pub fn param(
        status: u16,
        code: ErrorCode,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// 400 `MissingParameter` naming a required parameter, in the cloud's wording.
pub fn missing(param: impl Into<String>) -> ApiError {
    let param = param.into();
    let message = format!(
        "The input parameter \"{param}\" that is mandatory for processing this request is not supplied."
    );
    ApiError::param(400, ErrorCode::MissingParameter, param, message)
}

/// An error saying a parameter's value is not valid, in the cloud's wording.
pub fn invalid(status: u16, code: ErrorCode, param: impl Into<String>) -> ApiError {
    let param = param.into();
    let message = format!("The specified parameter \"{param}\" is not valid.");
    ApiError::param(status, code, param, message)
}

/// An error about a parameter with a message of its own.
pub fn with_message(
    status: u16,
    code: ErrorCode,
    param: impl Into<String>,
    message: impl Into<String>,
) -> ApiError {
    ApiError::param(status, code, param, message)
}
