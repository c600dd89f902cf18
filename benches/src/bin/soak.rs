//! The soak: churn workloads on every backend, with several threads, while the heap is sampled;
//! fails if the heap keeps growing. Run by `cargo xtask soak [--secs N]` (and, short, by
//! `cargo xtask ci`).
//!
//! ```text
//! cargo run --profile bench -p syncmap-benches --bin soak -- --secs 60
//! ```
//!
//! Each backend runs each workload for an equal share of the time, on a fresh map:
//!
//! * `store/delete`: each thread stores new keys and deletes the key it stored 1,000 keys ago,
//!   with no loads (the workload of Go issue 40999);
//! * `load_or_store/load_and_delete`: the same with Go's other pair of calls;
//! * `swap`: each thread swaps 64-byte values into 1,000 keys of its own;
//! * `clear`: each thread stores runs of new keys, and one clears the map every 10 ms.
//!
//! The live set is constant (or, for `clear`, bounded), so the heap must level off. Two checks:
//!
//! * **retained**: once the threads stop and deferred reclamation has caught up (only loads and
//!   collector flushes, no writes), the heap the map holds is at most 256 bytes per live key
//!   plus 8 MiB. A leak of 50 bytes per deleted key (Go issue 40999) breaks this within a
//!   fraction of a second: the maps do about a million operations per second.
//! * **peak**: while the threads run, the heap (live keys plus garbage waiting for readers to
//!   move on) stays under 512 MiB, so that a long soak catches slower growth too.

use std::{
    process::ExitCode,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    thread,
    time::{Duration, Instant},
};

use syncmap_core::ConcurrentMap;
use syncmap_testsuite::alloc::{CountingAlloc, live_bytes, require_installed};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Keys each thread keeps live in the churn workloads.
const WINDOW: u64 = 1_000;
/// Bytes per live key the retained check allows (a `u64` key, a 64-byte boxed value, the entry
/// and the table slots take about 130).
const PER_KEY: isize = 256;
/// Bytes the retained check allows besides the live keys (empty tables, collector state).
const SLACK: isize = 8 << 20;
/// The heap's bound while the threads run.
const PEAK_LIMIT: isize = 512 << 20;
/// Time between heap samples.
const SAMPLE: Duration = Duration::from_millis(5);

#[derive(Clone, Copy, Debug)]
enum Workload {
    StoreDelete,
    LoadOrStoreLoadAndDelete,
    Swap,
    Clear,
}

const WORKLOADS: [Workload; 4] = [
    Workload::StoreDelete,
    Workload::LoadOrStoreLoadAndDelete,
    Workload::Swap,
    Workload::Clear,
];

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::StoreDelete => "store/delete",
            Workload::LoadOrStoreLoadAndDelete => "load_or_store/load_and_delete",
            Workload::Swap => "swap",
            Workload::Clear => "clear",
        }
    }
}

/// One backend's [`run`].
type Run = fn(Workload, u64, Duration) -> Outcome;

/// What one run saw.
struct Outcome {
    ops: u64,
    peak: isize,
    live_keys: usize,
    retained: isize,
}

/// Lets deferred reclamation catch up without writing to `map`: loads (which pin, so that
/// seize and arc-swap see their readers leave) and flushes of crossbeam's global collector,
/// until the heap stops shrinking (at most about a second).
fn settle<M: ConcurrentMap<u64, Value>>(map: &M) {
    let mut last = live_bytes();
    let mut stable = 0;
    for _ in 0..1000 {
        crossbeam_epoch::pin().flush();
        for k in 0..64 {
            drop(std::hint::black_box(map.load(&k)));
        }
        thread::sleep(Duration::from_millis(1));
        let now = live_bytes();
        stable = if now < last { 0 } else { stable + 1 };
        last = now;
        if stable >= 50 {
            break;
        }
    }
}

/// Runs `workload` on a fresh `M` with `threads` threads for `time`, sampling the heap.
fn run<M>(workload: Workload, threads: u64, time: Duration) -> Outcome
where
    M: ConcurrentMap<u64, Value> + Default + Sync,
{
    let map = M::default();
    settle(&map);
    let base = live_bytes();
    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let mut samples: Vec<(Duration, isize)> = Vec::new();
    let started = Instant::now();
    thread::scope(|s| {
        for t in 0..threads {
            let (map, stop, ops) = (&map, &stop, &ops);
            s.spawn(move || {
                let n = churn(map, workload, t, threads, stop);
                ops.fetch_add(n, Relaxed);
            });
        }
        while started.elapsed() < time {
            samples.push((started.elapsed(), live_bytes() - base));
            thread::sleep(SAMPLE);
        }
        stop.store(true, Relaxed);
    });
    settle(&map);
    let outcome = Outcome {
        ops: ops.load(Relaxed),
        peak: samples.iter().map(|&(_, bytes)| bytes).max().unwrap_or(0),
        live_keys: map.len(),
        retained: live_bytes() - base,
    };
    drop(map);
    outcome
}

/// A 64-byte value with a destructor, so that replaced values are retired and freed one by one.
type Value = Box<[u64; 8]>;

fn value(x: u64) -> Value {
    Box::new([x; 8])
}

/// One thread's share of `workload`, until `stop`; returns its operation count.
fn churn<M: ConcurrentMap<u64, Value>>(
    map: &M,
    workload: Workload,
    t: u64,
    threads: u64,
    stop: &AtomicBool,
) -> u64 {
    let mut i = 0_u64;
    // Thread `t` owns the keys congruent to `t` modulo `threads`.
    let key = |i: u64| i * threads + t;
    let mut last_clear = Instant::now();
    while !stop.load(Relaxed) {
        for _ in 0..256 {
            match workload {
                Workload::StoreDelete => {
                    map.store(key(i), value(i));
                    if i >= WINDOW {
                        map.delete(&key(i - WINDOW));
                    }
                }
                Workload::LoadOrStoreLoadAndDelete => {
                    let (v, loaded) = map.load_or_store(key(i), value(i));
                    assert!(v[0] == i && !loaded, "load_or_store found a deleted key");
                    drop(v);
                    if i >= WINDOW {
                        let old = map.load_and_delete(&key(i - WINDOW));
                        assert!(old.is_some(), "load_and_delete lost a key");
                    }
                }
                Workload::Swap => {
                    map.swap(key(i % WINDOW), value(i));
                }
                Workload::Clear => {
                    map.store(key(i), value(i));
                    if t == 0 && last_clear.elapsed() > Duration::from_millis(10) {
                        map.clear();
                        last_clear = Instant::now();
                    }
                }
            }
            i += 1;
        }
    }
    i
}

fn parse_secs(args: &[String]) -> Result<f64, String> {
    match args {
        [] => Ok(20.0),
        [flag, secs] if flag == "--secs" => secs
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0)
            .ok_or_else(|| format!("--secs takes a positive number of seconds, not `{secs}`")),
        _ => Err("usage: soak [--secs N]".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs = match parse_secs(&args) {
        Ok(secs) => secs,
        Err(message) => {
            eprintln!("soak: {message}");
            return ExitCode::FAILURE;
        }
    };
    require_installed();
    let threads = 4;
    type Epoch = syncmap_epoch::SyncMap<u64, Value>;
    type Seize = syncmap_epoch::seize::SyncMap<u64, Value>;
    type ArcSwap = syncmap_arcswap::SyncMap<u64, Value>;
    let runs: [(&str, Run); 3] = [
        ("epoch", run::<Epoch>),
        ("seize", run::<Seize>),
        ("arc-swap", run::<ArcSwap>),
    ];
    let share = Duration::from_secs_f64(secs / (runs.len() * WORKLOADS.len()) as f64);
    println!(
        "soak: {threads} threads, {:.2} s per backend and workload; bounds: retained <= {PER_KEY} B per live key + {} MiB, peak <= {} MiB",
        share.as_secs_f64(),
        SLACK >> 20,
        PEAK_LIMIT >> 20,
    );
    let mut failed = Vec::new();
    for (backend, run) in runs {
        for workload in WORKLOADS {
            let o = run(workload, threads, share);
            let bound = PER_KEY * o.live_keys as isize + SLACK;
            let ok = o.retained <= bound && o.peak <= PEAK_LIMIT;
            let mib = |bytes: isize| bytes as f64 / f64::from(1 << 20);
            println!(
                "{backend:>8} {:<30} {:>9} ops  peak {:>7.2} MiB  retained {:>7.2} MiB for {:>5} keys (bound {:>5.2} MiB)  {}",
                workload.name(),
                o.ops,
                mib(o.peak),
                mib(o.retained),
                o.live_keys,
                mib(bound),
                if ok { "ok" } else { "FAILED" },
            );
            if !ok {
                failed.push(format!("{backend} {}", workload.name()));
            }
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("soak: the heap kept growing under: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
