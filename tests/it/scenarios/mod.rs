//! Scenario files: the suite under `scenarios/`, and scenarios that name their world.

mod named_world;
mod suite;
