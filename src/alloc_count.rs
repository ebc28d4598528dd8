//! Heap accounting for `sgsim bench`: how many heap bytes are live, as a counting global
//! allocator reports them.
//!
//! The allocator is the binary's (`src/main.rs` registers the `cap` crate's counting wrapper
//! around the system allocator, which needs no unsafe code of ours) and reports here through
//! [`set_source`]. [`allocated`] then gives the live heap bytes, or `None` when no allocator
//! reports (in tests and in other binaries), and measurements fall back to the matcher's own
//! layout count ([`Matcher::heap_bytes`](crate::engine::matcher::Matcher::heap_bytes)).

use std::sync::OnceLock;

static SOURCE: OnceLock<fn() -> usize> = OnceLock::new();

/// Registers the function that reads the live heap bytes (called once by the binary).
pub fn set_source(live_bytes: fn() -> usize) {
    let _ = SOURCE.set(live_bytes);
}

/// Live heap bytes, when a counting allocator reports them.
pub fn allocated() -> Option<usize> {
    SOURCE.get().map(|f| f())
}
