//! `tail [--keys N] [--threads T] [--maps a,b,..] [--reads | --deletes]`: per-operation latency
//! while a map grows (issue 16), or while it is emptied (`--deletes`, issue 22).
//!
//! `T` threads (2 by default) each insert `N` unique keys (1,000,000 by default) with
//! `load_or_store`, so the map grows from empty to `T * N` keys. Every call is timed on its own
//! (`Instant::now()` before and after) into a per-thread log-bucketed histogram (8 buckets per
//! power of two: a bucket's upper bound is at most 12.5% above any value in it; the maximum is
//! exact), so recording costs two clock reads and an increment. The figures are p50, p99,
//! p99.9, p99.99 and the maximum over the calls of all threads, the number of calls over 1 ms
//! and over 10 ms, and the wall time.
//!
//! A long call on a loaded machine may be a descheduled thread, not the map. So each thread
//! also reads its own CPU time (`CLOCK_THREAD_CPUTIME_ID`) every 256 calls and after each call
//! over 1 ms: for each slow call, the CPU time the thread burnt in it (plus at most 255 ordinary
//! calls before it, well under a millisecond). A call that burnt more than 10 ms of CPU misses
//! the target whatever the scheduler did. (A call that waited, off CPU, for a lock the other
//! thread held while growing the table is a real stall too, but cannot be told from
//! preemption.)
//!
//! The target of issue 16: no single operation over 10 ms while two threads grow a map to 2M
//! keys. A read/dirty map misses it today: new keys go to the dirty table under the mutex, and
//! when that table is full one insert doubles it, rehashing every entry at once (O(n) in one
//! call, while the other thread waits for the lock); with loads mixed in, the copy of the read
//! table into a new dirty table after each promotion is another O(n) call. The syncmap
//! backends' own counters (`BenchMap::counters`: misses, promotions, dirty rebuilds) are
//! recorded next to their latencies, to tell the two apart.
//!
//! With `--reads`, each thread also `load`s every key twice right after inserting it (each timed
//! as a call of its own). Those loads miss the read table, two misses per new key against one
//! more key in dirty, so dirty is promoted each time the map has doubled, and the next insert
//! starts a rebuild of dirty from the whole read table: the design's other O(n) step, which the
//! plain growth workload never reaches.
//!
//! With `--deletes`, the map is first filled with the `T * N` keys and a load of each key
//! promotes them to the read table (untimed); then each thread deletes its `N` keys with
//! `delete`, each call timed. Dead entries pile up as the map empties, and the map must drop
//! them (the bound of issue 12) without any delete doing O(n) work (issue 22, target 5).
//!
//! The first row, `timer only`, times an empty call the same way: the floor of this machine
//! (clock reads, and preemption: on a loaded machine a thread descheduled between the two clock
//! reads shows a multi-millisecond "operation" whatever the map does).
//!
//! Each map runs in a child process of its own (as the memory bench does), so one map's frees
//! and allocator state do not land in the next one's figures. Output: a markdown table on stdout
//! and `tail\t<map>\t<field>=<value>...` lines in `<report dir>/tail.tsv` when
//! `SYNCMAP_BENCH_REPORT_DIR` is set (`cargo xtask bench` reads it into the report).
//!
//! Run alone: `cargo run --profile bench -p syncmap-benches --bin tail -- [--keys N]`.

use std::{
    hint::black_box,
    io::Write,
    process::Command,
    sync::Barrier,
    time::{Duration, Instant},
};

use syncmap_benches::{
    harness::{human_ns, thread_cpu_ns},
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
};

/// The maps measured: the three syncmap backends and two anchors.
const MAPS: [&str; 5] = ["epoch", "seize", "arcswap", "dashmap", "papaya"];

/// The name of the floor row.
const TIMER_ONLY: &str = "timer only";

/// The latency bound of issue 16.
const TARGET: Duration = Duration::from_millis(10);

/// Sub-buckets per power of two (as a power of two).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;

/// A log-bucketed histogram of nanoseconds: values below `2 * SUB` have a bucket each, above
/// that each power of two is split into `SUB` buckets.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    max: u64,
    total: u64,
    /// Every value of at least 1 ms, exactly (few: they are the stalls).
    slow: Vec<u64>,
    /// For each of `slow`: the thread's CPU time over a window ending with that call and
    /// starting at most [`CPU_WINDOW`] calls before it (see [`grow`]).
    slow_cpu: Vec<u64>,
}

/// Calls between two reads of the thread's CPU time.
const CPU_WINDOW: u32 = 256;

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: vec![0; (64 * SUB) as usize],
            max: 0,
            total: 0,
            slow: Vec::new(),
            slow_cpu: Vec::new(),
        }
    }

    fn index(ns: u64) -> usize {
        if ns < 2 * SUB {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros(); // >= SUB_BITS + 1
        let sub = (ns >> (exp - SUB_BITS)) & (SUB - 1);
        ((u64::from(exp - SUB_BITS + 1) * SUB) + sub) as usize
    }

    /// The largest value that lands in bucket `i`.
    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let exp = i / SUB - 1 + u64::from(SUB_BITS);
        let sub = i % SUB;
        let low = (1u64 << exp) + (sub << (exp - u64::from(SUB_BITS)));
        low + (1u64 << (exp - u64::from(SUB_BITS))) - 1
    }

    #[inline]
    fn record(&mut self, ns: u64) {
        self.counts[Self::index(ns)] += 1;
        self.max = self.max.max(ns);
        self.total += 1;
        if ns >= 1_000_000 {
            self.slow.push(ns);
        }
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.slow.extend_from_slice(&other.slow);
        self.slow_cpu.extend_from_slice(&other.slow_cpu);
    }

    /// The upper bound of the bucket holding quantile `q` (capped by the exact maximum).
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(i).min(self.max);
            }
        }
        self.max
    }

    /// How many values exceed `ns` (exact for `ns` of 1 ms and more).
    fn over(&self, ns: u64) -> usize {
        assert!(ns >= 1_000_000, "only values of 1 ms and more are kept");
        self.slow.iter().filter(|&&v| v > ns).count()
    }

    /// How many calls over 1 ms burnt more than `ns` of their thread's CPU time (window
    /// included): those are slow whatever the scheduler did.
    fn over_on_cpu(&self, ns: u64) -> usize {
        self.slow_cpu.iter().filter(|&&v| v > ns).count()
    }

    /// The most CPU time a call over 1 ms burnt (window included).
    fn max_on_cpu(&self) -> u64 {
        self.slow_cpu.iter().copied().max().unwrap_or(0)
    }

    /// The time spent in calls over `ns`.
    fn time_over(&self, ns: u64) -> u64 {
        self.slow.iter().filter(|&&v| v > ns).sum()
    }
}

/// What the timed threads do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Insert new keys with `load_or_store`.
    Grow,
    /// Insert, and load each new key twice.
    Reads,
    /// Delete the keys of a map filled beforehand.
    Deletes,
}

impl Mode {
    fn flag(self) -> Option<&'static str> {
        match self {
            Mode::Grow => None,
            Mode::Reads => Some("--reads"),
            Mode::Deletes => Some("--deletes"),
        }
    }
}

/// What one map's run measured.
struct Outcome {
    hist: Histogram,
    wall: Duration,
    drop: Duration,
    len_ok: bool,
    /// The map's own counters (`BenchMap::counters`), read after the inserts.
    counters: Option<String>,
}

/// Grows a fresh `M` from `threads` threads, `keys` unique keys each, or (`Mode::Deletes`)
/// fills it with those keys untimed and has the threads delete them (with `timer_only`, times
/// empty calls instead and leaves the map empty).
fn grow<M: BenchMap>(threads: usize, keys: u64, mode: Mode, timer_only: bool) -> Outcome {
    let map = M::new();
    let total = threads as u64 * keys;
    if mode == Mode::Deletes && !timer_only {
        for k in 0..total {
            map.store(k, k);
        }
        // A load of each key: misses that promote the dirty table (the read map's steady
        // state, where deletes are lock-free).
        for k in 0..total {
            black_box(map.load(k));
        }
    }
    let start = Barrier::new(threads);
    let results: Vec<(Histogram, Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|id| {
                let (map, start) = (&map, &start);
                s.spawn(move || {
                    let mut hist = Histogram::new();
                    start.wait();
                    let began = Instant::now();
                    // The thread's CPU time is read every `CPU_WINDOW` calls and after each
                    // slow one, so a slow call's CPU time is known to within the window's
                    // other calls (well under a millisecond): a call that burnt 10 ms of CPU
                    // was slow by itself, not because its thread was descheduled.
                    let (mut cpu_mark, mut since) = (thread_cpu_ns(), 0);
                    let mut timed = |call: &mut dyn FnMut()| {
                        let t0 = Instant::now();
                        call();
                        let ns = t0.elapsed().as_nanos() as u64;
                        hist.record(ns);
                        since += 1;
                        if ns >= 1_000_000 {
                            let cpu = thread_cpu_ns();
                            hist.slow_cpu.push(cpu.saturating_sub(cpu_mark));
                            (cpu_mark, since) = (cpu, 0);
                        } else if since >= CPU_WINDOW {
                            (cpu_mark, since) = (thread_cpu_ns(), 0);
                        }
                    };
                    for k in id * keys..(id + 1) * keys {
                        if timer_only {
                            timed(&mut || {
                                black_box(k);
                            });
                        } else if mode == Mode::Deletes {
                            timed(&mut || map.delete(k));
                        } else {
                            timed(&mut || {
                                black_box(map.load_or_store(k, k));
                            });
                            for _ in 0..if mode == Mode::Reads { 2 } else { 0 } {
                                timed(&mut || {
                                    black_box(map.load(k));
                                });
                            }
                        }
                    }
                    let ended = Instant::now();
                    (hist, began, ended)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a tail worker panicked"))
            .collect()
    });
    let mut hist = Histogram::new();
    for (h, _, _) in &results {
        hist.merge(h);
    }
    let began = results.iter().map(|r| r.1).min().expect("one thread");
    let ended = results.iter().map(|r| r.2).max().expect("one thread");
    // Spot-check that every key went in (the first and last of each thread), or out.
    let len_ok = timer_only
        || (0..threads as u64).all(|id| {
            let expect = |k| (mode != Mode::Deletes).then_some(k);
            map.load(id * keys) == expect(id * keys)
                && map.load((id + 1) * keys - 1) == expect((id + 1) * keys - 1)
        });
    let counters = if timer_only { None } else { map.counters() };
    let dropped = Instant::now();
    drop(map);
    Outcome {
        hist,
        wall: ended - began,
        drop: dropped.elapsed(),
        len_ok,
        counters,
    }
}

/// Runs the named map in this process (the child side).
struct One<'a> {
    name: &'a str,
    threads: usize,
    keys: u64,
    mode: Mode,
    out: Option<Outcome>,
}

impl Visitor for One<'_> {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        if name == self.name {
            self.out = Some(grow::<M>(self.threads, self.keys, self.mode, false));
        }
    }
    fn read_only<M: ReadMap>(&mut self, _: &'static str) {}
}

fn fields(name: &str, o: &Outcome) -> String {
    let h = &o.hist;
    let target = TARGET.as_nanos() as u64;
    format!(
        "tail\t{name}\tops={}\tp50={}\tp99={}\tp999={}\tp9999={}\tmax={}\tover1ms={}\tover10ms={}\tslow_ns={}\tover10ms_cpu={}\tmax_cpu={}\twall_ns={}\tdrop_ns={}\tok={}",
        h.total,
        h.quantile(0.5),
        h.quantile(0.99),
        h.quantile(0.999),
        h.quantile(0.9999),
        h.max,
        h.over(1_000_000),
        h.over(target),
        h.time_over(1_000_000),
        h.over_on_cpu(target),
        h.max_on_cpu(),
        o.wall.as_nanos(),
        o.drop.as_nanos(),
        o.len_ok,
    ) + &o
        .counters
        .as_ref()
        .map_or_else(String::new, |c| format!("\t{c}"))
}

fn usage() -> ! {
    eprintln!(
        "usage: tail [--keys N (per thread, 1000000)] [--threads T (2)] [--maps a,b,..] [--reads | --deletes]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut keys, mut threads) = (1_000_000u64, 2usize);
    let mut maps: Vec<String> = MAPS.iter().map(|s| (*s).to_string()).collect();
    let mut one = None;
    let mut mode = Mode::Grow;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage()).clone();
        match arg.as_str() {
            "--keys" => keys = value().parse().unwrap_or_else(|_| usage()),
            "--threads" => threads = value().parse().unwrap_or_else(|_| usage()),
            "--maps" => maps = value().split(',').map(String::from).collect(),
            "--one" => one = Some(value()),
            "--reads" => mode = Mode::Reads,
            "--deletes" => mode = Mode::Deletes,
            "--bench" => {} // as `cargo bench` passes it
            _ => usage(),
        }
    }
    if threads == 0 || keys == 0 {
        usage();
    }

    if let Some(name) = one {
        // The child: one map, one line.
        let outcome = if name == TIMER_ONLY {
            grow::<syncmap_benches::maps::MutexMap>(threads, keys, mode, true)
        } else {
            let mut v = One {
                name: &name,
                threads,
                keys,
                mode,
                out: None,
            };
            for_each_map(&mut v);
            v.out
                .unwrap_or_else(|| panic!("no map named `{name}` (see maps::for_each_map)"))
        };
        println!("{}", fields(&name, &outcome));
        return;
    }

    let exe = std::env::current_exe().expect("the path of this binary");
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let workload = match mode {
        Mode::Grow => "load_or_store",
        Mode::Reads => "load_or_store, each followed by two loads of its key",
        Mode::Deletes => "delete, of a map filled with every key beforehand",
    };
    eprintln!("tail: {threads} threads x {keys} unique keys with {workload}; load average {load}");
    let mut lines = vec![
        format!("# threads\t{threads}"),
        format!("# keys per thread\t{keys}"),
    ];
    lines.push(format!("# load average at start\t{load}"));
    println!(
        "| map | p50 | p99 | p99.9 | p99.99 | max | calls > 1 ms | calls > 10 ms | of which > 10 ms on CPU | most CPU in one call | time in calls > 1 ms | wall | drop |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for name in std::iter::once(TIMER_ONLY.to_string()).chain(maps) {
        let child = Command::new(&exe)
            .args(["--one", &name, "--keys", &keys.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(mode.flag())
            .output()
            .expect("run a tail child");
        assert!(
            child.status.success(),
            "tail of {name} failed: {}",
            String::from_utf8_lossy(&child.stderr)
        );
        let line = String::from_utf8_lossy(&child.stdout).trim().to_string();
        println!("{}", markdown_row(&line).unwrap_or_else(|| line.clone()));
        lines.push(line);
        // Let the machine settle (the child's memory goes back to the kernel).
        std::thread::sleep(Duration::from_millis(200));
    }
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    lines.push(format!("# load average at end\t{load}"));
    eprintln!("tail: load average at end {load}");
    if let Ok(dir) = std::env::var("SYNCMAP_BENCH_REPORT_DIR") {
        std::fs::create_dir_all(&dir).expect("create the report dir");
        let mut file = std::fs::File::create(format!("{dir}/tail.tsv")).expect("tail.tsv");
        for line in lines {
            writeln!(file, "{line}").expect("write tail.tsv");
        }
    }
}

/// `tail\t<map>\tk=v...` as a markdown row.
fn markdown_row(line: &str) -> Option<String> {
    let mut parts = line.split('\t');
    (parts.next()? == "tail").then_some(())?;
    let name = parts.next()?;
    let get = |key: &str| {
        line.split('\t')
            .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let ns = |key: &str| get(key).map_or_else(|| "?".into(), human_ns);
    Some(format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        ns("p50"),
        ns("p99"),
        ns("p999"),
        ns("p9999"),
        ns("max"),
        get("over1ms").map_or("?".into(), |v| v.to_string()),
        get("over10ms").map_or("?".into(), |v| v.to_string()),
        get("over10ms_cpu").map_or("?".into(), |v| v.to_string()),
        ns("max_cpu"),
        ns("slow_ns"),
        ns("wall_ns"),
        ns("drop_ns"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_their_values_within_an_eighth() {
        for ns in (0..5000u64).chain([1 << 20, 123_456_789, u64::MAX / 2]) {
            let i = Histogram::index(ns);
            let upper = Histogram::upper(i);
            assert!(upper >= ns, "{ns}: bucket {i} ends at {upper}");
            assert!(upper - ns <= ns / 8 + 1, "{ns}: bucket {i} ends at {upper}");
            if i > 0 {
                assert!(
                    Histogram::upper(i - 1) < ns,
                    "{ns}: bucket {i} starts too late"
                );
            }
        }
    }

    #[test]
    fn quantiles_and_counts() {
        let mut h = Histogram::new();
        for ns in 1..=1000 {
            h.record(ns);
        }
        h.record(20_000_000);
        assert_eq!(h.total, 1001);
        assert!((500..=570).contains(&h.quantile(0.5)));
        assert_eq!(h.quantile(1.0), 20_000_000);
        assert_eq!(h.over(10_000_000), 1);
        assert_eq!(h.over(1_000_000), 1);
    }
}
