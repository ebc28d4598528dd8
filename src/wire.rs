//! The field vocabulary shared by the API and the files: how an API field name
//! (`PortRange`, `Ipv6SourceCidrIp`) is spelt as a world-file or JSON key (`port_range`,
//! `ipv6_source_cidr_ip`).
//!
//! It depends on nothing else in the crate, so [`crate::api`] (importing Describe
//! responses) and [`crate::world_file`] (reading and writing rules) can both use it while
//! `world_file` alone depends on `api`.

/// API field name → snake-case file key (`PortRange` → `port_range`).
pub fn snake_case(api_name: &str) -> String {
    let mut out = String::with_capacity(api_name.len() + 4);
    for (i, c) in api_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn names() {
        assert_eq!(snake_case("Ipv6SourceCidrIp"), "ipv6_source_cidr_ip");
        assert_eq!(snake_case("IpProtocol"), "ip_protocol");
        assert_eq!(snake_case("NicType"), "nic_type");
        assert_eq!(snake_case("id"), "id");
        assert_eq!(snake_case(""), "");
    }
}
