//! The DataFusion engine against the in-memory oracle (`sgsim::replay::local`), on the
//! example logs and on generated ones: the same counts, hits and disagreements.

use sgsim::replay::gen::{generate, write_csv, GenOptions};
use sgsim::replay::local::{read_all, replay};
use sgsim::replay::{Decider, Tally};
use sgsim_replay::udf::Replayed;
use sgsim_replay::{run, Job};
use std::path::PathBuf;
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key(t: &Tally) -> (Vec<u64>, Vec<(String, u64, u64)>, Vec<(String, u64)>) {
    (
        vec![
            t.records,
            t.skipped,
            t.unknown_eni,
            t.bad,
            t.decided,
            t.agree,
            t.disagree,
            t.changed,
        ],
        t.rules
            .iter()
            .map(|(k, h)| (k.clone(), h.accepted, h.refused))
            .collect(),
        t.disagreements
            .iter()
            .map(|d| (d.place.file.clone(), d.place.line))
            .collect(),
    )
}

fn both(world: &sgsim::model::World, file: &str, threads: usize) -> (Tally, Tally) {
    let inputs = read_all(&[file.to_string()], None, false).unwrap();
    let oracle = replay(&Decider::new(world).unwrap(), None, &inputs, 50);
    let job = Job {
        files: vec![file.to_string()],
        format: None,
        skip_bad: false,
        show: 50,
        threads,
        memory_limit: 256 << 20,
    };
    let engine = run(&job, Arc::new(Replayed::new(world).unwrap()), None).unwrap();
    (oracle, engine)
}

#[test]
fn engine_agrees_with_the_oracle_on_the_examples() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    for f in ["examples/replay/web.csv", "examples/replay/web-aws.log"] {
        let path = root().join(f).to_string_lossy().to_string();
        let (o, e) = both(&world, &path, 2);
        assert_eq!(key(&o), key(&e), "{f}");
    }
}

#[test]
fn engine_agrees_with_generated_logs_on_every_record() {
    let world = sgsim::world_file::load(&root().join("examples/web.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("sgsim-replay-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for seed in [1u64, 2, 3] {
        let recs = generate(
            &world,
            &GenOptions {
                seed,
                connections: 300,
                ..GenOptions::default()
            },
        );
        let p = dir.join(format!("g{seed}.csv"));
        let mut buf = Vec::new();
        write_csv(&recs, &mut buf).unwrap();
        std::fs::write(&p, buf).unwrap();
        let (o, e) = both(&world, &p.to_string_lossy(), 3);
        assert_eq!(e.disagree, 0);
        assert_eq!(key(&o), key(&e));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
