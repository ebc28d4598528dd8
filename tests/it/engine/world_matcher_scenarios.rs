//! Every scenario file under `scenarios/`, run with the compiled matcher cross-checking each
//! packet step against the reference: the outcome must be the same as without it (a
//! scenario that passes still passes; the matcher never disagrees).

use sgsim::scenario::{collect, run_file_with};

#[test]
fn compiled_matcher_agrees_on_every_scenario() {
    let dir = crate::support::root().join("scenarios");
    let files = collect(&[dir]).unwrap();
    assert!(!files.is_empty());
    let mut disagreements = Vec::new();
    for f in &files {
        let plain = run_file_with(f, false);
        let crossed = run_file_with(f, true);
        if plain.failure != crossed.failure {
            disagreements.push(format!(
                "{}: reference {:?}, with the matcher {:?}",
                f.display(),
                plain.failure,
                crossed.failure
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    eprintln!("{} scenarios cross-checked", files.len());
}
