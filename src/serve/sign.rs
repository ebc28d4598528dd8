//! The two request signatures of the official SDKs, byte for byte as they compute them
//! (SPEC §9): ACS3-HMAC-SHA256 ("V3", the `Authorization` header) and HMAC-SHA1
//! (`SignatureVersion=1.0`, "V1", the `Signature` parameter).
//!
//! The same functions build the strings to sign for the server (which recomputes and
//! compares) and for the project's own clients (the load client and the tests), so the
//! unit tests below pin both sides to the SDKs' captured requests.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The V3 algorithm name in the `Authorization` header.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The hex SHA-256 of the empty body, which every ECS call of the Tea SDK carries.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 percent-encoding as the SDKs sign: UTF-8 bytes, `A-Z a-z 0-9 - _ . ~` kept,
/// every other byte as `%XX` with upper-case hex (a space is `%20`, never `+`).
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(nibble(HEX, b >> 4));
            out.push(nibble(HEX, b & 15));
        }
    }
    out
}

/// The hex digit of a nibble (`n` < 16) in the digit set `digits`.
fn nibble(digits: &[u8; 16], n: u8) -> char {
    char::from(digits.get(usize::from(n & 15)).copied().unwrap_or(b'0'))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(nibble(HEX, b >> 4));
        out.push(nibble(HEX, b & 15));
    }
    out
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    if data.is_empty() {
        return EMPTY_SHA256.to_string();
    }
    hex(&Sha256::digest(data))
}

/// Decodes `application/x-www-form-urlencoded` text (a query string or a form body) into
/// pairs in wire order: `+` is a space, `%XX` a byte, the result must be UTF-8. Blank
/// values are kept (the SDKs sign them); a piece without `=` has an empty value.
pub fn form_decode(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for piece in text.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        out.push((form_decode_one(name)?, form_decode_one(value)?));
    }
    Ok(out)
}

/// Decodes one form-encoded name or value.
fn form_decode_one(s: &str) -> Result<String, String> {
    use crate::api::request::{escape_at, form_decode, DecodeError};
    form_decode(s).map_err(|e| match e {
        DecodeError::Escape(i) => format!(
            "invalid percent-encoding `{}` in `{}`",
            escape_at(s, i).escape_debug(),
            s.escape_debug()
        ),
        DecodeError::Utf8 => format!("`{}` is not UTF-8 text", s.escape_debug()),
    })
}

/// Pairs sorted by name (then value), each as `pct(name)=pct(value)`, joined by `&`: the
/// canonical query of both versions.
pub fn canonical_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = pairs.into_iter().collect();
    sorted.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&pct(k));
        out.push('=');
        out.push_str(&pct(v));
    }
    out
}

/// The parts of a V3 `Authorization` header:
/// `ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=HEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// The algorithm before the first space.
    pub algorithm: String,
    /// `Credential`: the access key id (absent: empty).
    pub credential: String,
    /// `SignedHeaders`, split at `;` (absent: empty).
    pub signed_headers: Vec<String>,
    /// `Signature` (absent: empty).
    pub signature: String,
}

/// Splits a V3 `Authorization` header; absent pieces are left empty for the caller to
/// refuse.
pub fn parse_authorization(header: &str) -> V3Authorization {
    let header = header.trim();
    let (algorithm, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut auth = V3Authorization {
        algorithm: algorithm.to_string(),
        credential: String::new(),
        signed_headers: Vec::new(),
        signature: String::new(),
    };
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => auth.credential = v.trim().to_string(),
            "SignedHeaders" => {
                auth.signed_headers = v
                    .split(';')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect();
            }
            "Signature" => auth.signature = v.trim().to_string(),
            _ => {}
        }
    }
    auth
}

/// The V3 canonical request: `METHOD\n/PATH\nQUERY\nHEADERS\nSIGNED\nHASH`, where each
/// signed header is `name:trimmed value\n` (`header` gives a header's value by its
/// lower-case name; a missing one counts as empty).
pub fn v3_canonical_request<'a>(
    method: &str,
    path: &str,
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    signed_headers: &[String],
    header: impl Fn(&str) -> Option<String>,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(method);
    out.push('\n');
    out.push_str(if path.is_empty() { "/" } else { path });
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(header(name).unwrap_or_default().trim());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The V3 string to sign: `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The V3 signature: lower-case hex HMAC-SHA256 keyed by the secret (no `&`).
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The V1 string to sign: `METHOD&%2F&` + pct(canonical query of every parameter but
/// `Signature`, query and form body merged by name).
pub fn v1_string_to_sign<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let canonical = canonical_query(params.into_iter().filter(|(k, _)| *k != "Signature"));
    format!("{method}&{}&{}", pct("/"), pct(&canonical))
}

/// The V1 signature: Base64 HMAC-SHA1 keyed by the secret followed by `&`.
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether two signatures are equal, in time independent of where they differ.
pub fn same_signature(computed: &str, given: &str) -> bool {
    computed.len() == given.len() && bool::from(computed.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &str = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
    const SIGNED: &str = "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version";

    /// Recomputes a V3 signature from a captured wire query and header set.
    fn v3(
        wire_query: &str,
        action: &str,
        date: &str,
        nonce: &str,
        extra: &[(&str, &str)],
        signed: &str,
        ua: &str,
    ) -> (String, String) {
        let pairs = form_decode(wire_query).unwrap();
        let signed: Vec<String> = signed.split(';').map(str::to_string).collect();
        let headers = |name: &str| -> Option<String> {
            let v = match name {
                "accept" => "application/json",
                "host" => "127.0.0.1:18080",
                "user-agent" => ua,
                "x-acs-action" => action,
                "x-acs-content-sha256" => EMPTY_SHA256,
                "x-acs-credentials-provider" => "static_ak",
                "x-acs-date" => date,
                "x-acs-signature-nonce" => nonce,
                "x-acs-version" => "2014-05-26",
                other => extra.iter().find(|(k, _)| *k == other)?.1,
            };
            Some(v.to_string())
        };
        let cr = v3_canonical_request(
            "POST",
            "/",
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &signed,
            headers,
            &sha256_hex(b""),
        );
        let sts = v3_string_to_sign(&cr);
        (sha256_hex(cr.as_bytes()), v3_signature("testsecret", &sts))
    }

    #[test]
    fn v3_authorize_vector() {
        let q = "Permissions.1.IpProtocol=TCP&Permissions.1.NicType=intranet&Permissions.1.Policy=accept&Permissions.1.PortRange=22%2F22&Permissions.1.Priority=1&Permissions.1.SourceCidrIp=10.0.0.0%2F8&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p";
        let (h, sig) = v3(
            q,
            "AuthorizeSecurityGroup",
            "2026-11-27T22:44:11Z",
            "bb222802661f98269f227e494d9619c0",
            &[],
            SIGNED,
            UA,
        );
        assert_eq!(
            h,
            "bcb7a5309265482b829c8aea0e45366d093800e54f8126c0fe19a193fe1cc91f"
        );
        assert_eq!(
            sig,
            "1d486471631c9c2f83ac0ad0f7c2a18e2ab5eca0fb8bc3b9148ca87fa69724b3"
        );
    }

    #[test]
    fn v3_describe_vector() {
        let (h, sig) = v3(
            "RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p",
            "DescribeSecurityGroupAttribute",
            "2026-11-27T22:44:11Z",
            "993014e2665b7f008e0a543a74945ace",
            &[],
            SIGNED,
            UA,
        );
        assert_eq!(
            h,
            "53fdfba3abd6b84e4c60471d0de169394f830a01e7a3469dacc8610e7bea80c3"
        );
        assert_eq!(
            sig,
            "2aa825c11289d6e2c977c0ad44ed11a0097a9acac56bac8be46fd3f903aef91c"
        );
    }

    #[test]
    fn v3_encoding_vector() {
        let q = "Permissions.1.Description=a+b%2Ac~d%2Be%3Df%26g%2Fh+%C3%A9%E4%B8%AD&Permissions.1.IpProtocol=TCP&Permissions.1.NicType=intranet&Permissions.1.Policy=accept&Permissions.1.PortRange=22%2F22&Permissions.1.Priority=1&Permissions.1.SourceCidrIp=10.0.0.0%2F8&Permissions.2.IpProtocol=UDP&Permissions.2.NicType=intranet&Permissions.2.Policy=drop&Permissions.2.PortRange=53%2F53&Permissions.2.Priority=100&Permissions.2.SourceCidrIp=192.168.0.0%2F16&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p";
        let pairs = form_decode(q).unwrap();
        assert!(
            canonical_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).starts_with(
                "Permissions.1.Description=a%20b%2Ac~d%2Be%3Df%26g%2Fh%20%C3%A9%E4%B8%AD&"
            )
        );
        let (h, sig) = v3(
            q,
            "AuthorizeSecurityGroup",
            "2026-11-27T22:44:49Z",
            "f473b9f9dab81b177182b64cfa9ad80b",
            &[],
            SIGNED,
            UA,
        );
        assert_eq!(
            h,
            "ac4a5dcf02c73782739e0ec2f68e678159aca26449ec49d5485e680e013e7b56"
        );
        assert_eq!(
            sig,
            "c503c182b109dae5c4fa4708db0d9014b85464cac44b6451e075abfe2e1f626c"
        );
    }

    #[test]
    fn v3_sts_vector() {
        let signed = "accept;host;user-agent;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version";
        let ua = format!("{UA} sgsim-probe/1");
        // The STS capture sends `static_sts` as the provider.
        let pairs = form_decode("RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p").unwrap();
        let signed: Vec<String> = signed.split(';').map(str::to_string).collect();
        let headers = |name: &str| -> Option<String> {
            Some(
                match name {
                    "accept" => "application/json",
                    "host" => "127.0.0.1:18080",
                    "user-agent" => ua.as_str(),
                    "x-acs-accesskey-id" => "testid",
                    "x-acs-action" => "DescribeSecurityGroupAttribute",
                    "x-acs-content-sha256" => EMPTY_SHA256,
                    "x-acs-credentials-provider" => "static_sts",
                    "x-acs-date" => "2026-11-27T22:45:39Z",
                    "x-acs-security-token" => "teststs",
                    "x-acs-signature-nonce" => "02cd7318fbf0a95898f4fe7c1375e4c0",
                    "x-acs-version" => "2014-05-26",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let cr = v3_canonical_request(
            "POST",
            "/",
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &signed,
            headers,
            EMPTY_SHA256,
        );
        assert_eq!(
            sha256_hex(cr.as_bytes()),
            "3c8a460f764e99eaa2e620c0f5d46f79f34c27a9b9d9c643046a87a401cf2675"
        );
        assert_eq!(
            v3_signature("testsecret", &v3_string_to_sign(&cr)),
            "ab2db8c56a62b09706acdc091c7045b68368eb09dc47a1241b4bf09d38787ba1"
        );
    }

    /// Recomputes a V1 signature from a captured wire query (which carries `Signature`).
    fn v1(wire_query: &str, secret: &str) -> (String, String, String) {
        let pairs = form_decode(wire_query).unwrap();
        let given = pairs
            .iter()
            .find(|(k, _)| k == "Signature")
            .map(|(_, v)| v.clone())
            .unwrap();
        let sts = v1_string_to_sign("POST", pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let sig = v1_signature(secret, &sts);
        (sts, sig, given)
    }

    #[test]
    fn v1_vectors() {
        let a = "Action=AuthorizeSecurityGroup&Format=json&Version=2014-05-26&Timestamp=2026-11-27T22%3A44%3A20Z&SignatureNonce=6fea050a574c0b952fab113ef77b3b41&Permissions.1.IpProtocol=TCP&Permissions.1.NicType=intranet&Permissions.1.Policy=accept&Permissions.1.PortRange=22%2F22&Permissions.1.Priority=1&Permissions.1.SourceCidrIp=10.0.0.0%2F8&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=CLzfWmuzJdim2hfa8gC5VhbJlIU%3D";
        let (sts, sig, given) = v1(a, "testsecret");
        assert_eq!(sts, "POST&%2F&AccessKeyId%3Dtestid%26Action%3DAuthorizeSecurityGroup%26Format%3Djson%26Permissions.1.IpProtocol%3DTCP%26Permissions.1.NicType%3Dintranet%26Permissions.1.Policy%3Daccept%26Permissions.1.PortRange%3D22%252F22%26Permissions.1.Priority%3D1%26Permissions.1.SourceCidrIp%3D10.0.0.0%252F8%26RegionId%3Dcn-hangzhou%26SecurityGroupId%3Dsg-bp67acfmxazb4p%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6fea050a574c0b952fab113ef77b3b41%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-27T22%253A44%253A20Z%26Version%3D2014-05-26");
        assert_eq!(sig, "CLzfWmuzJdim2hfa8gC5VhbJlIU=");
        assert!(same_signature(&sig, &given));

        let d = "Action=DescribeSecurityGroupAttribute&Format=json&Version=2014-05-26&Timestamp=2026-11-27T22%3A44%3A20Z&SignatureNonce=ba52ea1fd9e17bb82df2637b6c41ad36&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=3FraP92IgcZpYjy5JB%2BbsO2jnXY%3D";
        let (_, sig, given) = v1(d, "testsecret");
        assert_eq!(sig, "3FraP92IgcZpYjy5JB+bsO2jnXY=");
        assert_eq!(sig, given);

        let e = "Action=AuthorizeSecurityGroup&Format=json&Version=2014-05-26&Timestamp=2026-11-27T22%3A44%3A50Z&SignatureNonce=6c8a5f35cf2114ea3af3b9c9cf032f58&Permissions.1.Description=a+b%2Ac~d%2Be%3Df%26g%2Fh+%C3%A9%E4%B8%AD&Permissions.1.IpProtocol=TCP&Permissions.1.NicType=intranet&Permissions.1.Policy=accept&Permissions.1.PortRange=22%2F22&Permissions.1.Priority=1&Permissions.1.SourceCidrIp=10.0.0.0%2F8&Permissions.2.IpProtocol=UDP&Permissions.2.NicType=intranet&Permissions.2.Policy=drop&Permissions.2.PortRange=53%2F53&Permissions.2.Priority=100&Permissions.2.SourceCidrIp=192.168.0.0%2F16&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=On1EqoBkFJgaUq9ErNTn9Hmjod0%3D";
        let (sts, sig, given) = v1(e, "testsecret");
        assert!(
            sts.contains("a%2520b%252Ac~d%252Be%253Df%2526g%252Fh%2520%25C3%25A9%25E4%25B8%25AD")
        );
        assert_eq!(sig, "On1EqoBkFJgaUq9ErNTn9Hmjod0=");
        assert_eq!(sig, given);

        let s = "Action=DescribeSecurityGroupAttribute&Format=json&Version=2014-05-26&Timestamp=2026-11-27T22%3A45%3A40Z&SignatureNonce=024889f75fed15943270bef7ec53fe0b&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p&SecurityToken=teststs&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=qk%2FIvDlC2HkQ4NU3jYTDHcaG%2B3E%3D";
        let (_, sig, given) = v1(s, "testsecret");
        assert_eq!(sig, "qk/IvDlC2HkQ4NU3jYTDHcaG+3E=");
        assert_eq!(sig, given);
    }

    #[test]
    fn empty_body_hash_is_the_constant() {
        assert_eq!(sha256_hex(b""), hex(&Sha256::digest(b"")));
        assert_ne!(sha256_hex(b"x"), EMPTY_SHA256);
    }

    #[test]
    fn wrong_secret_mismatches() {
        let d = "Action=DescribeSecurityGroupAttribute&Format=json&Version=2014-05-26&Timestamp=2026-11-27T22%3A44%3A20Z&SignatureNonce=ba52ea1fd9e17bb82df2637b6c41ad36&RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=3FraP92IgcZpYjy5JB%2BbsO2jnXY%3D";
        let (_, sig, given) = v1(d, "wrongsecret");
        assert!(!same_signature(&sig, &given));
        let (_, sig) = v3(
            "RegionId=cn-hangzhou&SecurityGroupId=sg-bp67acfmxazb4p",
            "DescribeSecurityGroupAttribute",
            "2026-11-27T22:44:11Z",
            "993014e2665b7f008e0a543a74945ace",
            &[],
            SIGNED,
            UA,
        );
        assert!(!same_signature(
            &sig,
            "2aa825c11289d6e2c977c0ad44ed11a0097a9acac56bac8be46fd3f903aef91d"
        ));
    }

    #[test]
    fn pct_and_authorization() {
        assert_eq!(pct("a b*c~d+e/é"), "a%20b%2Ac~d%2Be%2F%C3%A9");
        let a = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-date,Signature=ab",
        );
        assert_eq!(a.algorithm, "ACS3-HMAC-SHA256");
        assert_eq!(a.credential, "testid");
        assert_eq!(a.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(a.signature, "ab");
        let a = parse_authorization("ACS3-HMAC-SHA256 Credential=testid");
        assert!(a.signature.is_empty() && a.signed_headers.is_empty());
        assert_eq!(
            form_decode("A=&B&C=a+b%20").unwrap(),
            vec![
                ("A".into(), String::new()),
                ("B".into(), String::new()),
                ("C".into(), "a b ".into())
            ]
        );
        assert!(form_decode("A=%G1").is_err());
    }
}
