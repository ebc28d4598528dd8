//! The JUnit XML report of `sgsim scenario run --junit FILE`.

use super::runner::Outcome;
use std::fmt::Write as _;

/// Text as an XML attribute value: markup characters as entities, line breaks and tabs as
/// character references, and the other control characters (which XML 1.0 cannot carry at
/// all) written out as `\u{…}`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// A JUnit XML report of outcomes: one `testsuite`, one `testcase` per scenario file (named
/// by its path), a `failure` with the one-line message for each that failed.
pub fn junit(outcomes: &[Outcome]) -> String {
    let esc = escape;
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuite name=\"sgsim scenarios\" tests=\"{}\" failures=\"{failures}\">",
        outcomes.len()
    );
    for o in outcomes {
        let name = esc(&o.path.display().to_string());
        match &o.failure {
            None => {
                let _ = writeln!(x, "  <testcase classname=\"scenario\" name=\"{name}\"/>");
            }
            Some(f) => {
                let _ = writeln!(
                    x,
                    "  <testcase classname=\"scenario\" name=\"{name}\">\n    <failure message=\"{}\"/>\n  </testcase>",
                    esc(f)
                );
            }
        }
    }
    x.push_str("</testsuite>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped() {
        let e = escape("a\u{1b}[31m\u{0}<b>&\"\n");
        assert_eq!(e, "a\\u{1b}[31m\\u{0}&lt;b&gt;&amp;&quot;&#10;");
        assert!(!e.chars().any(char::is_control));
    }
}
