//! sgsim's integration tests, in one test binary (`cargo test --test it`), with the support
//! they share in [`support`].
//!
//! Where tests go: a new test file is a module of the folder of its subject, declared in
//! that folder's `mod.rs`; a helper that a second module needs moves to `support/` instead
//! of being copied. Do not add files directly under `tests/` (each would be a binary of its
//! own, built and linked separately). Run one part with a filter:
//! `cargo test --test it engine::`.
//!
//! | folder | subject |
//! |---|---|
//! | `support/` | case counts, temporary folders, running the binary, strategies, world generators |
//! | `engine/` | the compiled matcher and world against the linear scan and the reference; ClassBench; generated worlds of real size |
//! | `analysis/` | lint, audit, diff, explain, allow-lists: examples, exactness properties, item-8 timings (ignored) |
//! | `api/` | the API through the library: responses, atomicity, idempotence, properties |
//! | `cli/` | the `sgsim` binary: `check`, batches, `scenario run`, `call`, exit codes, one-line errors, the command line's manners, the journal of a running serve |
//! | `replay/` | flow-log readers, the session rules, a generated-logs property, `sgsim replay`'s hand-off |
//! | `scenarios/` | the scenario suite under `scenarios/` and scenarios that name their world |
//! | `parser/` | property tests of packet notation, CIDRs, port ranges and world files |
//! | `serve/` | `sgsim serve` over loopback: HTTP API, signatures, limits, its files, `kill -9` under load |
//! | `world_file/` | world files: the examples' round trip and other fixed cases; edits in place; safety of the file and of the store |
//!
//! Environment: `SGSIM_PROPTEST_CASES=N` runs every property of [`support::config`] (and the
//! matcher properties) with N cases; `SGSIM_CLASSBENCH_DIR=DIR` runs the ClassBench
//! differential test over every set in DIR instead of the shipped ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod analysis;
mod api;
mod cli;
mod engine;
mod parser;
mod replay;
mod scenarios;
#[cfg(feature = "serve")]
mod serve;
mod support;
mod world_file;
