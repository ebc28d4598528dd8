//! The generated worlds of real size (`sgsim::generate_world`), at sizes a debug test run
//! affords: they load back from their file form, the compiled world agrees with the reference
//! on their batch packets, an update recompiles only the group that changed, and the
//! generated scenario passes.

use sgsim::engine::compile::WorldMatcher;
use sgsim::engine::reference;
use sgsim::generate_world::{self, Shape};
use sgsim::model::{Direction, Policy, Rule};
use sgsim::packet::parse_packet;
use sgsim::world_file::{self, Format};

fn round_trip(shape: Shape, n: usize) -> sgsim::model::World {
    let w = generate_world::world(shape, n, 7);
    let text = world_file::to_string(&w, Format::Toml).unwrap();
    let back = world_file::load_str(&text, Format::Toml, "generated.toml").unwrap();
    assert_eq!(back.instances.len(), n);
    back
}

#[test]
fn generated_worlds_load_and_agree_with_the_reference() {
    for shape in [Shape::OneGroup, Shape::ManyGroups] {
        let world = round_trip(shape, 300);
        let m = WorldMatcher::compile(&world).unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for line in generate_world::batch_lines(300, 300, 3) {
            let (text, direction) = match line.strip_suffix(" egress") {
                Some(t) => (t, Direction::Egress),
                None => (line.as_str(), Direction::Ingress),
            };
            let p = parse_packet(text).unwrap();
            let got = m.decide(&p, None, direction);
            assert_eq!(
                got,
                reference::decide(&world, &p, None, direction),
                "{line}"
            );
            kinds.insert(got.unwrap().reason.kind());
        }
        // The packets reach more than the defaults.
        assert!(kinds.len() >= 2, "{shape:?}: {kinds:?}");
    }
}

#[test]
fn an_update_recompiles_only_the_group_that_changed() {
    let mut world = round_trip(Shape::ManyGroups, 300);
    let m = WorldMatcher::compile(&world).unwrap();
    let (compiled, _) = m.build_stats();
    // 100 groups, each compiled per direction (VPC: one NIC slot).
    assert_eq!(compiled, 2 * generate_world::GROUPS);
    let g = &mut world.security_groups[5];
    let mut r: Rule = g.rules[0].clone();
    r.id = "sgr-999999999999".into();
    r.priority = 1;
    r.policy = Policy::Drop;
    r.direction = Direction::Ingress;
    g.rules.push(r);
    let m2 = m.update(&world).unwrap();
    assert_eq!(m2.build_stats(), (1, 2 * generate_world::GROUPS - 1));
}

#[test]
fn generated_scenario_passes() {
    let text = generate_world::scenario_text(200, 40, 5).unwrap();
    let dir = crate::support::TempDir::new("large");
    let path = dir.file("scenario.toml", &text);
    let out = sgsim::scenario::run_file(&path);
    assert_eq!(out.failure, None);
    assert_eq!(out.steps_run, 40);
}
