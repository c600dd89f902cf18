//! The timing benches: every workload of [`syncmap_benches::workloads`] on every map of
//! [`syncmap_benches::maps::for_each_map`], at each thread count, as criterion benchmarks named
//! `<workload>/<map>/<threads>`.
//!
//! ns/op is Go's: the wall time of the parallel phase divided by the operations of all threads.
//! Run with `cargo xtask bench [--quick]`, or directly with
//! `cargo bench -p syncmap-benches --bench sync_map -- [filter]`.

use std::time::Instant;

use criterion::{BenchmarkId, Criterion};
use syncmap_benches::{
    config::Config,
    harness::Grain,
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
    workloads::{self, Workload},
};

/// The shortest timed phase worth measuring (see `Grain::ops_for`).
const MIN_PHASE: std::time::Duration = std::time::Duration::from_millis(3);

/// One benchmark function: runs `n` operations on `threads` threads, returns the wall time.
type Runner = Box<dyn Fn(usize, u64, &Grain) -> std::time::Duration>;

/// The runners of one workload, by map name.
type Runners = Vec<(&'static str, Runner)>;

/// Collects the runners of one workload, one per map that runs it.
struct Collect {
    workload: Workload,
    runners: Runners,
}

impl Visitor for Collect {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        let w = self.workload;
        if w.runs::<M>() {
            self.runners.push((
                name,
                Box::new(move |t, n, g| workloads::run::<M>(w, t, n, g)),
            ));
        }
    }

    fn read_only<M: ReadMap>(&mut self, name: &'static str) {
        let w = self.workload;
        if w.read_only() {
            self.runners.push((
                name,
                Box::new(move |t, n, g| workloads::run_read_only::<M>(w, t, n, g)),
            ));
        }
    }
}

fn main() {
    let config = Config::from_env();
    let (warm_up, measurement, samples) = config.timing();
    let mut criterion = Criterion::default()
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(samples)
        .nresamples(if config.quick { 1_000 } else { 10_000 })
        .without_plots()
        .configure_from_args();

    let plan: Vec<(Workload, Vec<usize>, Runners)> = Workload::ALL
        .into_iter()
        .map(|workload| {
            let mut collect = Collect {
                workload,
                runners: Vec::new(),
            };
            for_each_map(&mut collect);
            let threads = if workload == Workload::ReadMostly {
                config.scaling_threads.clone()
            } else {
                config.threads.clone()
            };
            (workload, threads, collect.runners)
        })
        .collect();
    let total: usize = plan.iter().map(|(_, t, r)| t.len() * r.len()).sum();

    if let Some(ops) = config.smoke {
        // CI's smoke run: each workload once, `ops` operations, no criterion.
        let started = Instant::now();
        for (workload, threads, runners) in &plan {
            for &t in threads {
                for (name, runner) in runners {
                    runner(t, ops, &Grain::default());
                    if config.progress {
                        println!("@@progress {}/{name}/{t}", workload.name());
                    }
                }
            }
        }
        println!(
            "smoke: {total} passed, 0 failed ({:.1?})",
            started.elapsed()
        );
        return;
    }

    let started = Instant::now();
    let mut done = 0;
    for (workload, threads, runners) in &plan {
        let mut group = criterion.benchmark_group(workload.name());
        // A row of the report (one workload, one thread count) is measured back to back, so
        // the ratios within it see the same machine.
        for &t in threads {
            for (name, runner) in runners {
                done += 1;
                if config.progress {
                    let secs = started.elapsed().as_secs();
                    println!(
                        "@@progress {done}/{total} {secs}s {}/{name}/{t}",
                        workload.name()
                    );
                }
                let grain = Grain::default();
                group.bench_function(BenchmarkId::new(*name, t), |b| {
                    b.iter_custom(|n| {
                        // Run at least ~3 ms of operations; report the time of `n` of them.
                        let ops = grain.ops_for(n, MIN_PHASE);
                        runner(t, ops, &grain).mul_f64(n as f64 / ops as f64)
                    });
                });
            }
        }
        group.finish();
    }
    criterion.final_summary();
}
