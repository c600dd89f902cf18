//! Runs one workload on one map once, for a profiler: no criterion, no statistics.
//!
//! ```text
//! cargo build --release -p syncmap-benches --bin profile
//! perf record -g target/release/profile SwapCollision epoch 1 2000000
//! valgrind --tool=callgrind target/release/profile LoadMostlyHits seize 1 100000
//! ```
//!
//! Arguments: workload (`SwapCollision`, ...), map (`epoch`, `papaya`, ...), threads
//! (default 1) and operations (default 1,000,000), after a warm-up run of 10,000. Prints the wall time per operation, which a
//! profiler's overhead inflates: compare instruction counts, not this figure.

use std::{process::ExitCode, time::Duration};

use syncmap_benches::{
    harness::Grain,
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
    workloads::{self, Workload},
};

/// Runs the workload on the map named `name`, if that map runs it.
struct RunOne {
    workload: Workload,
    name: String,
    threads: usize,
    ops: u64,
    elapsed: Option<std::time::Duration>,
}

impl Visitor for RunOne {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        if name == self.name && self.workload.runs::<M>() && self.elapsed.is_none() {
            let (w, t) = (self.workload, self.threads);
            self.elapsed = Some(warmed(self.ops, |n, g| workloads::run::<M>(w, t, n, g)));
        }
    }

    fn read_only<M: ReadMap>(&mut self, name: &'static str) {
        if name == self.name && self.workload.read_only() && self.elapsed.is_none() {
            let (w, t) = (self.workload, self.threads);
            self.elapsed = Some(warmed(self.ops, |n, g| {
                workloads::run_read_only::<M>(w, t, n, g)
            }));
        }
    }
}

/// Runs a short warm-up first, as the benches do, so that the measured run uses the grain (the
/// operations between two pins of a pinned reader) of a real run rather than the first run's 1.
///
/// The warm-up derives the grain from its wall time, which a profiler and the machine's load
/// change from run to run, and with it a pinned reader's pins per operation. `PROFILE_GRAIN=n`
/// sets the measured run's grain instead (a real run on a quiet machine reaches the cap, 10,000),
/// so that instruction counts of pinned readers repeat.
fn warmed(ops: u64, run: impl Fn(u64, &Grain) -> Duration) -> Duration {
    const WARM_UP: u64 = 10_000;
    let grain = Grain::default();
    run(WARM_UP, &grain);
    if let Some(fixed) = std::env::var("PROFILE_GRAIN")
        .ok()
        .and_then(|g| g.parse::<u64>().ok())
    {
        // `Grain::get` is `1e5 * n / ns` of the recorded run: n operations in 100,000 ns.
        grain.record(fixed, Duration::from_nanos(100_000));
    }
    run(ops, &grain)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: profile <workload> <map> [threads] [operations]";
    let (Some(workload), Some(map)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let Some(workload) = Workload::ALL.into_iter().find(|w| w.name() == workload) else {
        let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
        eprintln!(
            "unknown workload `{workload}`; one of: {}",
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let number = |i: usize, default: u64| match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("`{s}` is not a number\n{usage}")),
    };
    let (threads, ops) = match (number(2, 1), number(3, 1_000_000)) {
        (Ok(t), Ok(n)) if t > 0 && n > 0 => (t as usize, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
        _ => {
            eprintln!("threads and operations must be positive\n{usage}");
            return ExitCode::FAILURE;
        }
    };
    let mut run = RunOne {
        workload,
        name: map.clone(),
        threads,
        ops,
        elapsed: None,
    };
    for_each_map(&mut run);
    match run.elapsed {
        Some(elapsed) => {
            println!(
                "{}/{}/{threads}: {ops} operations, {:.1} ns/op",
                workload.name(),
                map,
                elapsed.as_nanos() as f64 / ops as f64
            );
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "map `{map}` does not exist or does not run {}",
                workload.name()
            );
            ExitCode::FAILURE
        }
    }
}
