//! The example worlds survive a write and a re-load in both formats.

use sgsim::world_file::{load, load_str, to_string, Format};
use std::path::Path;

#[test]
fn examples_round_trip_through_both_formats() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if Format::of_path(&path).is_none() {
            continue;
        }
        let world = load(&path).unwrap_or_else(|e| panic!("{e}"));
        for format in [Format::Toml, Format::Json] {
            let text = to_string(&world, format).unwrap();
            let again =
                load_str(&text, format, "round trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(world, again, "{} via {format:?}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 1);
}
