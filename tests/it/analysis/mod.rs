//! Questions about whole rule sets (`sgsim lint`, `audit`, `diff`, `explain`, allow-lists):
//! the examples through the binary, exactness properties on random worlds, and the timings
//! of item 8 (ignored by default: `cargo test --release --test it analysis::speed --
//! --ignored --nocapture`).

mod cli;
mod prop;
mod speed;
