//! The aliyun CLI's form of a call: `sgsim call AuthorizeSecurityGroup --SecurityGroupId
//! sg-1 --Permissions.1.PortRange 22/22 …` (an optional leading `ecs` is skipped, as in
//! `aliyun ecs …`), turned into the query string form `Action=…&SecurityGroupId=…`.

/// Whether the words given look like the aliyun form: an action name (letters only) where
/// a query (`Action=…`, a URL) would stand.
pub fn is_aliyun_form(first: &str) -> bool {
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_alphanumeric())
        && first
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
}

/// The query string of an aliyun-form call: `ACTION --Name value …` or `--Name=value`.
pub fn to_query(words: &[String]) -> Result<String, String> {
    let mut words = words.iter().map(String::as_str).peekable();
    if words.peek().is_some_and(|w| w.eq_ignore_ascii_case("ecs")) {
        words.next();
    }
    let action = words.next().ok_or("no action given")?;
    let mut query = format!("Action={}", encode(action));
    while let Some(w) = words.next() {
        let Some(flag) = w.strip_prefix("--") else {
            return Err(format!(
                "`{}` is not a `--Name value` parameter (aliyun form: ACTION --Name value …)",
                sgsim::world_file::quote(w)
            ));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, v.to_string()),
            None => match words.peek() {
                Some(v) if !v.starts_with("--") => (flag, words.next().unwrap_or("").to_string()),
                _ => return Err(format!("`--{flag}` has no value")),
            },
        };
        if name.is_empty() {
            return Err("a parameter with no name (`--`)".into());
        }
        query.push('&');
        query.push_str(&encode(name));
        query.push('=');
        query.push_str(&encode(&value));
    }
    Ok(query)
}

/// Percent-encodes all but the unreserved characters (RFC 3986) and `/`, `:`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn aliyun_form_becomes_a_query() {
        assert!(is_aliyun_form("AuthorizeSecurityGroup"));
        assert!(!is_aliyun_form("Action=AuthorizeSecurityGroup"));
        let q = to_query(&words(&[
            "ecs",
            "AuthorizeSecurityGroup",
            "--SecurityGroupId",
            "sg-1",
            "--Permissions.1.PortRange=22/22",
            "--Permissions.1.Description",
            "a & b",
        ]))
        .unwrap();
        assert_eq!(q, "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-1&Permissions.1.PortRange=22/22&Permissions.1.Description=a%20%26%20b");
        assert!(to_query(&words(&["A", "x"])).unwrap_err().contains("`x`"));
        assert!(to_query(&words(&["A", "--B"]))
            .unwrap_err()
            .contains("no value"));
    }
}
