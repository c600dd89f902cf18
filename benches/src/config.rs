//! The knobs `cargo xtask bench` passes to the bench targets, through the environment.
//!
//! * `SYNCMAP_BENCH_QUICK=1`: short warm-up and measurement (the `--quick` run).
//! * `SYNCMAP_BENCH_THREADS=1,2,4`: the thread counts of every workload (`cargo xtask bench
//!   --threads`).
//! * `SYNCMAP_BENCH_SCALING_THREADS=1,2,4,8`: the thread counts of the `ReadMostly` scaling run.
//! * `SYNCMAP_BENCH_PROGRESS=1`: print `@@progress` lines on stdout for `xtask` to show.
//! * `SYNCMAP_BENCH_SMOKE=1000`: run each workload once with this many operations, without
//!   criterion (CI's check that the benches still run).
//! * `SYNCMAP_BENCH_MEMORY_ENTRIES=1000000`: the size of the `memory` bench.

use std::time::Duration;

/// The settings of one run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `--quick` run.
    pub quick: bool,
    /// Thread counts of every workload.
    pub threads: Vec<usize>,
    /// Thread counts of `ReadMostly`.
    pub scaling_threads: Vec<usize>,
    /// Whether to print progress lines for `xtask`.
    pub progress: bool,
    /// Entries of the memory bench.
    pub memory_entries: u64,
    /// The smoke run's operations per workload, if this is a smoke run.
    pub smoke: Option<u64>,
}

fn list(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{var}: `{t}` is not a number"))
            })
            .collect(),
        _ => default.to_vec(),
    }
}

fn flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Config {
    /// Reads the environment.
    pub fn from_env() -> Config {
        let threads = list("SYNCMAP_BENCH_THREADS", &[1, 2, 4]);
        let mut scaling_threads = list("SYNCMAP_BENCH_SCALING_THREADS", &[1, 2, 4, 8]);
        scaling_threads.extend(threads.iter().copied());
        scaling_threads.sort_unstable();
        scaling_threads.dedup();
        Config {
            quick: flag("SYNCMAP_BENCH_QUICK"),
            threads,
            scaling_threads,
            progress: flag("SYNCMAP_BENCH_PROGRESS"),
            memory_entries: std::env::var("SYNCMAP_BENCH_MEMORY_ENTRIES")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
            smoke: std::env::var("SYNCMAP_BENCH_SMOKE")
                .ok()
                .and_then(|s| s.parse().ok()),
        }
    }

    /// Criterion's timing settings: (warm-up, measurement, samples).
    pub fn timing(&self) -> (Duration, Duration, usize) {
        if self.quick {
            (Duration::from_millis(40), Duration::from_millis(150), 10)
        } else {
            (Duration::from_millis(200), Duration::from_millis(1000), 15)
        }
    }
}
