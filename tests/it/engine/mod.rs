//! The decision engines: the compiled matcher against the linear scan, the compiled world
//! against the reference evaluator, ClassBench sets, and generated worlds of real size.

mod classbench_diff;
mod large_worlds;
mod matcher_prop;
mod matcher_update_prop;
mod world_matcher_prop;
mod world_matcher_scenarios;
mod world_update_prop;
