//! The JUnit XML report of `sgsim scenario run --junit FILE`.

use super::runner::Outcome;
use std::fmt::Write as _;

/// A JUnit XML report of outcomes: one `testsuite`, one `testcase` per scenario file (named
/// by its path), a `failure` with the one-line message for each that failed.
pub fn junit(outcomes: &[Outcome]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
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
