//! `drop_clear [--keys N] [--runs R] [--maps a,b,..]`: how long dropping, and clearing, a large
//! map takes (issue 22, target 4).
//!
//! For each map, in a child process of its own (so that one map's freed memory does not land in
//! the next one's figures): store `N` `u64 -> u64` keys (2,000,000 by default) with `store`, the
//! way a program fills a map, then time `drop(map)` on the dropping thread; then fill a second
//! map the same way and time `clear()`, followed by a burst of ordinary calls on a fresh map of
//! the same kind (1,000 stores, each timed with the thread's CPU clock), because a strategy that
//! defers the frees (crossbeam-epoch's collector, seize's batches) makes a later call pay them:
//! the figure "max later call" is the CPU time of the slowest of those calls. Each step runs `R`
//! times (3 by default); the median is printed, and the slowest later call over all runs.
//!
//! Run alone: `cargo run --profile bench -p syncmap-benches --bin drop_clear`.

use std::{hint::black_box, process::Command, time::Instant};

use syncmap_benches::{
    harness::thread_cpu_ns,
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
};

/// The maps measured by default: the three syncmap backends and two anchors.
const MAPS: [&str; 5] = ["epoch", "seize", "arcswap", "dashmap", "papaya"];

/// One run's figures, in nanoseconds.
struct Run {
    drop: u64,
    clear: u64,
    /// The CPU time of the slowest call made after the clear (and the drops).
    later_max: u64,
}

fn filled<M: BenchMap>(keys: u64) -> M {
    let map = M::new();
    for k in 0..keys {
        map.store(k, k);
    }
    map
}

fn run<M: BenchMap>(keys: u64) -> Run {
    let map = filled::<M>(keys);
    let start = Instant::now();
    drop(black_box(map));
    let drop_ns = start.elapsed().as_nanos() as u64;

    let map = filled::<M>(keys);
    let start = Instant::now();
    map.clear();
    let clear_ns = start.elapsed().as_nanos() as u64;
    drop(map);

    let next = M::new();
    let mut later_max = 0;
    for k in 0..1_000 {
        let before = thread_cpu_ns();
        next.store(k, k);
        later_max = later_max.max(thread_cpu_ns() - before);
    }
    Run {
        drop: drop_ns,
        clear: clear_ns,
        later_max,
    }
}

struct One {
    name: String,
    keys: u64,
    runs: usize,
    done: bool,
}

impl Visitor for One {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        if name != self.name || self.done {
            return;
        }
        self.done = true;
        let mut runs: Vec<Run> = (0..self.runs).map(|_| run::<M>(self.keys)).collect();
        let median = |runs: &mut Vec<Run>, f: fn(&Run) -> u64| {
            runs.sort_by_key(f);
            f(&runs[runs.len() / 2])
        };
        let drop = median(&mut runs, |r| r.drop);
        let clear = median(&mut runs, |r| r.clear);
        let later = runs.iter().map(|r| r.later_max).max().unwrap_or(0);
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} |",
            drop as f64 / 1e6,
            clear as f64 / 1e6,
            later as f64 / 1e6
        );
    }

    fn read_only<M: ReadMap>(&mut self, _: &'static str) {}
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut keys, mut runs, mut maps, mut child) = (2_000_000, 3, None, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--keys" => keys = value().parse().expect("--keys N"),
            "--runs" => runs = value().parse().expect("--runs R"),
            "--maps" => maps = Some(value()),
            "--child" => child = Some(value()),
            _ => panic!("usage: drop_clear [--keys N] [--runs R] [--maps a,b,..]"),
        }
    }
    if let Some(name) = child {
        let mut one = One {
            name,
            keys,
            runs,
            done: false,
        };
        for_each_map(&mut one);
        assert!(one.done, "no map named {}", one.name);
        return;
    }
    println!("{keys} `u64` keys, median of {runs} runs; milliseconds");
    println!();
    println!("| map | drop | clear | max later call (CPU) |");
    println!("|---|---:|---:|---:|");
    let maps = maps.unwrap_or_else(|| MAPS.join(","));
    let exe = std::env::current_exe().expect("own path");
    for name in maps.split(',') {
        let status = Command::new(&exe)
            .args(["--keys", &keys.to_string(), "--runs", &runs.to_string()])
            .args(["--child", name])
            .status()
            .expect("child process");
        assert!(status.success(), "{name}: {status}");
    }
}
