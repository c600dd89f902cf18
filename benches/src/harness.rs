//! Go's `b.RunParallel`, ported: workers share `b.N` operations in grains taken from one
//! counter, and ns/op is the wall time of the parallel phase divided by `b.N`.
//!
//! The port follows `testing/benchmark.go` (`RunParallel`, `PB.Next`): the grain is what the
//! previous run did in 100 µs, clamped to `[1, 10_000]`; worker `id` starts its key counter at
//! `id * b.N`.
//!
//! Workers are the threads of a pool kept for the whole process, one pool per thread count, as
//! Go's goroutines run on the same few OS threads from one `b.N` to the next. A fresh thread
//! per run would time, in each run's first operations, the per-thread registration every
//! reclamation scheme does on a thread's first use (crossbeam-epoch's `Local`, seize's thread
//! slot, arc-swap's debt node), and arc-swap, whose writers visit every debt node ever made,
//! would slow down with every run. Workers wait on a barrier before the clock starts.

use std::{
    cell::Cell,
    collections::HashMap,
    sync::{
        Arc, Barrier, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::maps::{ReadMap, Reader};

/// A worker's view of the parallel loop: Go's `testing.PB`, plus the reader for pinned maps.
///
/// The reader is re-made whenever the worker takes a new grain, so a pinned reader holds its
/// pin for at most one grain (at most 10,000 operations, about 100 µs).
pub struct Pb<'m, M: ReadMap> {
    global: &'m AtomicU64,
    grain: u64,
    n: u64,
    cache: u64,
    map: &'m M,
    reader: Option<M::Reader<'m>>,
}

impl<M: ReadMap> std::fmt::Debug for Pb<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pb")
            .field("grain", &self.grain)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl<'m, M: ReadMap> Pb<'m, M> {
    /// Go's `PB.Next`: whether there is one more operation to do.
    #[inline]
    #[allow(clippy::should_implement_trait)] // Go's name; `while pb.next()` reads as Go's loop.
    pub fn next(&mut self) -> bool {
        if self.cache == 0 {
            let n = self.global.fetch_add(self.grain, Ordering::Relaxed) + self.grain;
            if n <= self.n {
                self.cache = self.grain;
            } else if n < self.n + self.grain {
                self.cache = self.n + self.grain - n;
            } else {
                return false;
            }
            if M::PINNED {
                // Unpin before pinning again, so the pin never outlives its grain.
                self.reader = None;
                self.reader = Some(self.map.reader());
            }
        }
        self.cache -= 1;
        true
    }

    /// Go's `m.Load(k)`, through the reader (the pinned view for pinned maps).
    #[inline]
    pub fn load(&self, k: u64) -> Option<u64> {
        match &self.reader {
            Some(reader) => reader.load(k),
            None => unreachable!("Pb::next makes the reader before the first load"),
        }
    }
}

/// The grain of `RunParallel`: what the previous run of this benchmark did in 100 µs.
#[derive(Debug, Default)]
pub struct Grain {
    previous: Cell<Option<(u64, Duration)>>,
}

impl Grain {
    /// The grain for the next run (Go: `1e5 * previousN / previousDuration`, in `[1, 1e4]`).
    pub fn get(&self) -> u64 {
        let grain = match self.previous.get() {
            Some((n, d)) if n > 0 && !d.is_zero() => {
                (100_000u128 * u128::from(n) / d.as_nanos().max(1)) as u64
            }
            _ => 1,
        };
        grain.clamp(1, 10_000)
    }

    /// How many operations to run when criterion asks for `n`: at least enough for the timed
    /// phase to last `min` at the previous run's rate (Go ramps `b.N` until a run lasts
    /// `-benchtime` for the same reason: a short phase measures thread wake-up, not the map).
    /// The caller scales the time back to `n` operations.
    pub fn ops_for(&self, n: u64, min: Duration) -> u64 {
        match self.previous.get() {
            Some((prev_n, prev_d)) if prev_n > 0 && !prev_d.is_zero() => {
                let per_op = prev_d.as_nanos() as f64 / prev_n as f64;
                let needed = (min.as_nanos() as f64 / per_op).ceil() as u64;
                n.max(needed.min(50_000_000))
            }
            _ => n,
        }
    }

    /// Remembers a run's size and time.
    pub fn record(&self, n: u64, d: Duration) {
        self.previous.set(Some((n, d)));
    }
}

/// Runs `per_g(pb, id * n, map)` on `threads` threads sharing `n` operations; returns the wall
/// time from the start signal until the last worker finished.
pub fn run_parallel<M, F>(map: &M, threads: usize, n: u64, grain: &Grain, per_g: F) -> Duration
where
    M: ReadMap,
    F: Fn(&mut Pb<'_, M>, u64, &M) + Sync,
{
    let global = AtomicU64::new(0);
    let g = grain.get();
    let start = Barrier::new(threads);
    // Every thread of the pool runs one worker.
    let spans: Vec<(Instant, Instant)> = pool(threads).broadcast(|ctx| {
        let id = ctx.index();
        let mut pb = Pb {
            global: &global,
            grain: g,
            n,
            cache: 0,
            map,
            reader: (!M::PINNED).then(|| map.reader()),
        };
        start.wait();
        let began = Instant::now();
        per_g(&mut pb, id as u64 * n, map);
        (began, Instant::now())
    });
    // The phase runs from the first worker's start to the last one's end (taken by the
    // workers: on a loaded machine the calling thread may not run again until they are done).
    let began = spans.iter().map(|s| s.0).min();
    let ended = spans.iter().map(|s| s.1).max();
    let elapsed = match (began, ended) {
        (Some(b), Some(e)) => (e - b).max(Duration::from_nanos(1)),
        _ => Duration::from_nanos(1),
    };
    grain.record(n, elapsed);
    elapsed
}

/// A trial's timed phase at least this long counts as a big trial: [`settle`] then also sleeps.
const BIG_TRIAL: Duration = Duration::from_millis(20);

/// How long [`settle`] sleeps after a big trial.
const SETTLE_SLEEP: Duration = Duration::from_millis(2);

/// Between trials (after the clock stopped and the map was dropped): lets the trial's deferred
/// frees happen now, untimed, rather than inside the next trial.
///
/// With crossbeam-epoch (the `epoch` backend's global collector), what a trial retired (old
/// values, replaced tables) waits in the workers' thread-local bags and the global queue until
/// some thread pins again, and the epoch must advance twice before it can be freed: left alone,
/// the next trial's workers would free it inside their timed loop. So every worker and the
/// calling thread pin and flush a few times. (seize and papaya keep a collector per map, which
/// the map's drop empties; arc-swap frees when the last `Arc` goes: nothing is left for them.)
/// After a big trial (a timed phase of 20 ms or more, such as `LoadOrStoreUnique` growing a map
/// to millions of keys) it also sleeps 2 ms, so that whatever the kernel does with the memory
/// just returned and other processes' work queued meanwhile run in the gap too.
pub fn settle(threads: usize, phase: Duration) {
    let flush = || {
        for _ in 0..4 {
            crossbeam_epoch::pin().flush();
        }
    };
    pool(threads).broadcast(|_| flush());
    flush();
    if phase >= BIG_TRIAL {
        std::thread::sleep(SETTLE_SLEEP);
    }
}

/// The process's pool of `threads` worker threads, made on first use.
fn pool(threads: usize) -> Arc<ThreadPool> {
    static POOLS: Mutex<Option<HashMap<usize, Arc<ThreadPool>>>> = Mutex::new(None);
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    let pool = pools
        .get_or_insert_with(HashMap::new)
        .entry(threads)
        .or_insert_with(|| {
            let pool = ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |i| format!("bench-{threads}-{i}"))
                .build()
                .unwrap_or_else(|e| panic!("cannot start {threads} worker threads: {e}"));
            Arc::new(pool)
        });
    Arc::clone(pool)
}

/// Nanoseconds, humanly: `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s` (the report and the tail run).
///
/// # Examples
///
/// ```
/// assert_eq!(syncmap_benches::harness::human_ns(12_345), "12.3 µs");
/// ```
pub fn human_ns(ns: u64) -> String {
    let f = ns as f64;
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", f / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2} ms", f / 1e6)
    } else {
        format!("{:.2} s", f / 1e9)
    }
}

/// The calling thread's CPU time so far, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): what a
/// call burnt on CPU, as opposed to the wall time a descheduled thread also counts.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; `CLOCK_THREAD_CPUTIME_ID` is a clock every
    // Linux kernel has, and on failure `ts` keeps its zeroes.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::maps::Hashbrown;

    #[test]
    fn workers_share_exactly_n_operations_and_start_at_id_times_n() {
        let map = <Hashbrown as ReadMap>::new();
        let grain = Grain::default();
        for (threads, n) in [(1, 0), (1, 7), (3, 1000), (4, 10_001)] {
            let done = AtomicU64::new(0);
            let starts = Mutex::new(Vec::new());
            run_parallel(&map, threads, n, &grain, |pb, i, _| {
                starts.lock().unwrap().push(i);
                while pb.next() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
            assert_eq!(
                done.load(Ordering::Relaxed),
                n,
                "{threads} threads, n = {n}"
            );
            let mut starts = starts.into_inner().unwrap();
            starts.sort_unstable();
            let expected: Vec<u64> = (0..threads as u64).map(|id| id * n).collect();
            assert_eq!(starts, expected);
        }
    }

    #[test]
    fn grain_is_what_the_previous_run_did_in_100_us() {
        let grain = Grain::default();
        assert_eq!(grain.get(), 1);
        grain.record(1_000_000, Duration::from_millis(10)); // 10 ns/op
        assert_eq!(grain.get(), 10_000);
        grain.record(1_000, Duration::from_millis(10)); // 10 µs/op
        assert_eq!(grain.get(), 10);
        assert_eq!(grain.ops_for(5, Duration::from_millis(3)), 300);
        assert_eq!(grain.ops_for(1_000, Duration::from_millis(3)), 1_000);
    }
}
