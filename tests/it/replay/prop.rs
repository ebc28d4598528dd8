//! Flow logs generated from a world, with logged actions made by the reference evaluator
//! and the session rules (tracked by the generator on its own), replay in agreement on
//! every record, in every text format; and the what-if counts equal a record-by-record
//! comparison of two replays.

use proptest::prelude::*;
use sgsim::model::World;
use sgsim::replay::gen::{generate, write_aws, write_csv, write_json, GenOptions};
use sgsim::replay::local::{outcomes, read_all, replay};
use sgsim::replay::{Decider, InputFormat};
use std::path::PathBuf;

fn world(name: &str) -> World {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    sgsim::world_file::load(&path).unwrap()
}

fn write(format: InputFormat, opt: &GenOptions, w: &World, tag: &str) -> String {
    let recs = generate(w, opt);
    let mut buf = Vec::new();
    match format {
        InputFormat::Csv => write_csv(&recs, &mut buf),
        InputFormat::SlsJson => write_json(&recs, &mut buf),
        _ => write_aws(&recs, &mut buf),
    }
    .unwrap();
    let dir = std::env::temp_dir().join(format!("sgsim-replay-prop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{tag}-{}.{}", opt.seed, format.name()));
    std::fs::write(&p, buf).unwrap();
    p.to_string_lossy().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn replay_agrees_with_generated_logs(
        seed in any::<u64>(),
        w in prop::sample::select(vec!["web.toml", "egress.toml", "classic.toml", "seed.toml"]),
        f in prop::sample::select(vec![InputFormat::Csv, InputFormat::SlsJson, InputFormat::Aws]),
    ) {
        let world = world(w);
        let opt = GenOptions {
            seed,
            connections: 150,
            noise_percent: 3,
            syn_swap_percent: if f == InputFormat::Aws { 0 } else { 30 },
            ..GenOptions::default()
        };
        let path = write(f, &opt, &world, "agree");
        let inputs = read_all(std::slice::from_ref(&path), Some(f), false).unwrap();
        let d = Decider::new(&world).unwrap();
        let t = replay(&d, None, &inputs, 5);
        std::fs::remove_file(&path).unwrap();
        prop_assert_eq!(t.disagree, 0, "{:?}", t.disagreements);
        prop_assert_eq!(t.unowned, 0);
        prop_assert_eq!(t.records, inputs.len() as u64);
        prop_assert_eq!(t.records, t.skipped + t.unknown_eni + t.bad + t.decided);
        prop_assert!(t.decided > 0);
    }

    #[test]
    fn what_if_counts_equal_a_record_by_record_comparison(seed in any::<u64>()) {
        let before = world("web.toml");
        let mut after = before.clone();
        // The change: https no longer open to the world, db egress fully open.
        sgsim::api::call(
            &mut after,
            "Action=RevokeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=443/443&Permissions.1.SourceCidrIp=0.0.0.0/0",
            &sgsim::api::CallContext::scenario(),
        ).unwrap();
        sgsim::api::call(
            &mut after,
            "Action=AuthorizeSecurityGroupEgress&RegionId=cn-hangzhou&SecurityGroupId=sg-db&Permissions.1.IpProtocol=ALL&Permissions.1.PortRange=-1/-1&Permissions.1.DestCidrIp=0.0.0.0/0&Permissions.1.Priority=1",
            &sgsim::api::CallContext::scenario(),
        ).unwrap();
        let opt = GenOptions { seed, connections: 200, ..GenOptions::default() };
        let path = write(InputFormat::Csv, &opt, &before, "whatif");
        let inputs = read_all(std::slice::from_ref(&path), None, false).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (d0, d1) = (Decider::new(&before).unwrap(), Decider::new(&after).unwrap());
        let t = replay(&d0, Some(&d1), &inputs, 1000);
        let (a, b) = (outcomes(&d0, &inputs), outcomes(&d1, &inputs));
        let differ = a.iter().zip(&b).filter(|(x, y)| {
            x.as_ref().and_then(|s| s.1.verdict()) != y.as_ref().and_then(|s| s.1.verdict())
        }).count() as u64;
        prop_assert_eq!(t.changed, differ);
        prop_assert_eq!(t.changes.len() as u64, differ.min(1000));
        prop_assert!(t.changed > 0 || t.decided < 20);
    }
}
