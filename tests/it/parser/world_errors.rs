//! Property tests of world-file loading on bad input: no panics, one-line errors that
//! name the field.

use crate::support::arb::*;
use crate::support::config;
use proptest::prelude::*;
use sgsim::world_file::{load_str, Format};

// ---------------------------------------------------------------------------------------
// World files.

/// Checks an answer of `load_str` on arbitrary input: no panic (the call returned), and an
/// error that is one line naming the origin.
fn check_load(text: &str, format: Format) -> Result<(), TestCaseError> {
    if let Err(e) = load_str(text, format, "fuzz.file") {
        let msg = e.to_string();
        prop_assert!(msg.starts_with("fuzz.file"), "{}", msg);
        // That the message is never empty is `world_errors_name_the_problem`.
        if let Some((line, _)) = e.position {
            // Columns are checked by `json_errors_give_one_based_columns`.
            prop_assert!(line >= 1, "{}", msg);
        }
    }
    Ok(())
}

/// Error texts that carry user input with a line break.
const MULTI_LINE_INPUTS: &[(&str, Format)] = &[
    (r#"{"vpcs": [{"id": "v"}], "a\nb": 1}"#, Format::Json),
    (r#"{"security_groups": [{"id": "sg-1", "x\ny": 1}]}"#, Format::Json),
    ("[[vpcs]]\nid = \"a\\nb\"\n[[vpcs]]\nid = \"a\\nb\"\n", Format::Toml),
    (
        "[[security_groups]]\nid = \"sg-1\"\nrules = [{ direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"1/\\n2\", source_cidr_ip = \"0.0.0.0/0\" }]\n",
        Format::Toml,
    ),
];

#[test]
fn world_errors_are_one_line_even_when_the_input_has_line_breaks() {
    for (text, format) in MULTI_LINE_INPUTS {
        let e = load_str(text, *format, "w.file").expect_err("refused");
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "multi-line error for {text:?}:\n{msg}");
    }
}

#[test]
fn json_errors_give_one_based_columns() {
    for text in ["", "{\"region_id\": \"a\nb\"}", "{\n"] {
        let e = load_str(text, Format::Json, "w.json").expect_err("refused");
        let (line, col) = e.position.expect("a JSON error has a position");
        assert!(line >= 1 && col >= 1, "{text:?}: {e}");
    }
}

#[test]
fn world_errors_name_the_problem() {
    for text in [
        "# a\u{0}b\nregion_id = \"x\"\n",
        "# \u{1}\n",
        "region_id = \"x\" # \u{7f}\n",
    ] {
        let e = load_str(text, Format::Toml, "w.toml").expect_err("refused");
        assert!(!e.message.trim().is_empty(), "{text:?}: `{e}`");
    }
}

/// Wrongly typed values: the error names the field, in the user's words (STYLE: no Rust
/// type names; SPEC §5: the group, the rule's index and the field).
const WRONG_TYPES: &[(&str, Format, &str)] = &[
    (
        "[[security_groups]]\nid = \"sg-1\"\nrules = [{ direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"22/22\", source_cidr_ip = \"0.0.0.0/0\", priority = 1.5 }]\n",
        Format::Toml,
        "priority",
    ),
    ("account_id = 1.5\n", Format::Toml, "account_id"),
    ("[[prefix_lists]]\nid = \"pl-1\"\nentries = [5]\n", Format::Toml, "entries"),
    (r#"{"security_groups": [5]}"#, Format::Json, "security_groups"),
];

#[test]
fn world_type_errors_name_the_field_not_a_rust_type() {
    for (text, format, field) in WRONG_TYPES {
        let msg = load_str(text, *format, "w.file")
            .expect_err("refused")
            .to_string();
        for rust in [
            "IntOrString",
            "RawEntry",
            "RawGroup",
            "untagged enum",
            "struct ",
        ] {
            assert!(!msg.contains(rust), "{text:?}: `{msg}` names `{rust}`");
        }
        assert!(
            msg.contains(field),
            "{text:?}: `{msg}` does not name `{field}`"
        );
    }
}

const TOML_TOKENS: &[&str] = &[
    "[[vpcs]]\n",
    "[[security_groups]]\n",
    "[[instances]]\n",
    "[[prefix_lists]]\n",
    "[limits]\n",
    "id = \"vpc-1\"\n",
    "id = \"sg-1\"\n",
    "id = \"pl-1\"\n",
    "id = \"i-1\"\n",
    "id = \"sg-1\"\n",
    "vpc_id = \"vpc-1\"\n",
    "vpc_id = \"vpc-2\"\n",
    "type = \"enterprise\"\n",
    "type = \"NORMAL\"\n",
    "inner_access_policy = \"Accept\"\n",
    "owner_id = 12\n",
    "owner_id = -12\n",
    "account_id = 9223372036854775807\n",
    "account_id = \"x\"\n",
    "rules_per_group = 0\n",
    "prefix_list_entries = 4294967296\n",
    "max_entries = 99999999999\n",
    "max_entries = -1\n",
    "address_family = \"IPv6\"\n",
    "entries = [\"10.0.0.5/8\", \"10.0.0.0/8\", { cidr = \"::/0\" }]\n",
    "security_groups = [\"sg-1\", \"sg-1\"]\n",
    "private_ips = [\"10.0.0.1\", \"::1\", \"x\"]\n",
    "public_ip = \"1.2.3.4\"\n",
    "network_interfaces = [{ id = \"eni-1\", security_groups = [\"sg-1\"] }]\n",
    "rules = [",
    "{ direction = \"ingress\", ip_protocol = \"TCP\", port_range = \"22/22\", source_cidr_ip = \"0.0.0.0/0\" }",
    "{ direction = \"egress\", ip_protocol = \"ALL\", port_range = \"-1/-1\", dest_group_id = \"sg-1\" }",
    "{ direction = \"ingress\", ip_protocol = \"ICMP\", port_range = \"-1/-1\", source_prefix_list_id = \"pl-1\", priority = \"007\" }",
    "{ priority = 101, policy = \"x\", nic_type = \"y\" }",
    "{ import = \"x.json\" }",
    "{ SecurityGroupId = \"sg-9\", Permissions = { Permission = [] } }",
    "]\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "\"",
    "'",
    "#",
    "\n",
    " ",
    ".",
    "a.b.c",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
    "0x10",
    "1e400",
    "\"\\u0000\"",
    "é",
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"vpcs\"",
    "\"security_groups\"",
    "\"instances\"",
    "\"prefix_lists\"",
    "\"limits\"",
    "\"rules\"",
    "\"id\"",
    "\"vpc_id\"",
    "\"sg-1\"",
    "\"vpc-1\"",
    "\"direction\"",
    "\"ingress\"",
    "\"ip_protocol\"",
    "\"TCP\"",
    "\"port_range\"",
    "\"22/22\"",
    "\"source_cidr_ip\"",
    "\"0.0.0.0/0\"",
    "\"priority\"",
    "\"account_id\"",
    "\"entries\"",
    "\"max_entries\"",
    "\"private_ips\"",
    "\"SecurityGroupId\"",
    "\"import\"",
    "1",
    "-1",
    "0",
    "1e999",
    "-0",
    "18446744073709551616",
    "null",
    "true",
    "false",
    "\"\"",
    "\"\\ud800\"",
    "\"é\"",
    " ",
    "\n",
];

fn arb_soup(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn world_arbitrary_strings_never_panic(s in any::<String>()) {
        check_load(&s, Format::Toml)?;
        check_load(&s, Format::Json)?;
    }

    #[test]
    fn world_toml_soup_never_panics(s in arb_soup(TOML_TOKENS)) {
        check_load(&s, Format::Toml)?;
    }

    #[test]
    fn world_json_soup_never_panics(s in arb_soup(JSON_TOKENS)) {
        check_load(&s, Format::Json)?;
    }

    #[test]
    fn world_mutated_example_never_panics(edits in arb_edits(), json_format in any::<bool>()) {
        let (toml_text, json_text) = example_texts();
        if json_format {
            check_load(&apply_edits(&json_text, &edits), Format::Json)?;
        } else {
            check_load(&apply_edits(&toml_text, &edits), Format::Toml)?;
        }
    }
}
