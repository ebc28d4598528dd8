//! Heap accounting for `sgsim bench`: counters a counting global allocator feeds.
//!
//! The library forbids unsafe code, and a global allocator needs an `unsafe impl`, so the
//! allocator lives in the binary (`src/main.rs`) and only reports here: it calls
//! [`record_alloc`] and [`record_dealloc`] around the system allocator. [`allocated`] then
//! gives the live heap bytes, or `None` when no allocator feeds the counters (in tests and in
//! other binaries), and measurements fall back to the matcher's own layout count
//! ([`Matcher::heap_bytes`](crate::engine::matcher::Matcher::heap_bytes)).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static FED: AtomicBool = AtomicBool::new(false);

/// Records an allocation of `size` bytes (called by the binary's global allocator).
#[inline]
pub fn record_alloc(size: usize) {
    LIVE.fetch_add(size, Ordering::Relaxed);
    if !FED.load(Ordering::Relaxed) {
        FED.store(true, Ordering::Relaxed);
    }
}

/// Records the release of `size` bytes (called by the binary's global allocator).
#[inline]
pub fn record_dealloc(size: usize) {
    LIVE.fetch_sub(size, Ordering::Relaxed);
}

/// Live heap bytes, when a counting allocator feeds the counters.
pub fn allocated() -> Option<usize> {
    FED.load(Ordering::Relaxed)
        .then(|| LIVE.load(Ordering::Relaxed))
}
