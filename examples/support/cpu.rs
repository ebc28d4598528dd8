//! CPU-time readers shared by the timing examples (`#[path]`-included, not an example).

/// The process's on-CPU time in nanoseconds, summed over its threads
/// (`/proc/self/task/*/schedstat`, Linux; 0 elsewhere): the work of a parallel build or
/// compile on all cores, without the time spent waiting for a CPU on a shared machine.
pub fn process_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|t| t.parse::<u64>().ok())
        })
        .sum()
}
