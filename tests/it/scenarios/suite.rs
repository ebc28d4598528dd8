//! Runs every scenario under `scenarios/` (the regression suite of SPEC §3 and §4).

#[test]
fn every_scenario_passes() {
    let root = crate::support::root().join("scenarios");
    let files = sgsim::scenario::collect(&[root]).expect("scenarios folder");
    assert!(!files.is_empty(), "no scenario files");
    let failures: Vec<String> = files
        .iter()
        .map(|f| sgsim::scenario::run_file(f))
        .filter_map(|o| o.failure.map(|e| format!("{}: {e}", o.path.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
