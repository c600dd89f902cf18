//! The workloads: every benchmark of Go's `src/sync/map_bench_test.go` (Go 1.27, 24 of them),
//! ported line by line, plus `ReadMostly`.
//!
//! Each port keeps Go's setup (including the "prime the map" loads), its per-worker loop body
//! and its key arithmetic: worker `id` starts at `i = id * b.N` and increments `i` after each
//! operation, exactly as `benchMap` and `for ; pb.Next(); i++` do. Two deliberate differences:
//!
//! * `AdversarialDelete` deletes the first key `Range` visits *after* `Range` returns, instead
//!   of from inside the callback: a lock-based map (`RwLock<HashMap>`, dashmap) deadlocks when its
//!   iteration callback writes, and Go's `RWMutexMap` avoids that by copying its keys first. The
//!   key deleted and the work done are the same.
//! * `LoadOrStoreBalanced`'s `b.Fatalf` checks become `assert!`s (kept: they are part of the loop).
//!
//! Go 1.19's file has only the first 12 of these (`LoadMostlyHits` .. `DeleteCollision`), and
//! its `LoadAndDeleteCollision` only deletes (after the first call every call misses); the
//! report marks that row.

use std::{hint::black_box, time::Duration};

use crate::{
    harness::{Grain, Pb, run_parallel, settle},
    maps::{BenchMap, ReadMap},
};

/// A workload: one row of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Go `BenchmarkMapLoadMostlyHits`.
    LoadMostlyHits,
    /// Go `BenchmarkMapLoadMostlyMisses`.
    LoadMostlyMisses,
    /// Go `BenchmarkMapLoadOrStoreBalanced`.
    LoadOrStoreBalanced,
    /// Go `BenchmarkMapLoadOrStoreUnique`.
    LoadOrStoreUnique,
    /// Go `BenchmarkMapLoadOrStoreCollision`.
    LoadOrStoreCollision,
    /// Go `BenchmarkMapLoadAndDeleteBalanced`.
    LoadAndDeleteBalanced,
    /// Go `BenchmarkMapLoadAndDeleteUnique`.
    LoadAndDeleteUnique,
    /// Go `BenchmarkMapLoadAndDeleteCollision`.
    LoadAndDeleteCollision,
    /// Go `BenchmarkMapRange`.
    Range,
    /// Go `BenchmarkMapAdversarialAlloc`.
    AdversarialAlloc,
    /// Go `BenchmarkMapAdversarialDelete`.
    AdversarialDelete,
    /// Go `BenchmarkMapDeleteCollision`.
    DeleteCollision,
    /// Go `BenchmarkMapSwapCollision`.
    SwapCollision,
    /// Go `BenchmarkMapSwapMostlyHits`.
    SwapMostlyHits,
    /// Go `BenchmarkMapSwapMostlyMisses`.
    SwapMostlyMisses,
    /// Go `BenchmarkMapCompareAndSwapCollision`.
    CompareAndSwapCollision,
    /// Go `BenchmarkMapCompareAndSwapNoExistingKey`.
    CompareAndSwapNoExistingKey,
    /// Go `BenchmarkMapCompareAndSwapValueNotEqual`.
    CompareAndSwapValueNotEqual,
    /// Go `BenchmarkMapCompareAndSwapMostlyHits`.
    CompareAndSwapMostlyHits,
    /// Go `BenchmarkMapCompareAndSwapMostlyMisses`.
    CompareAndSwapMostlyMisses,
    /// Go `BenchmarkMapCompareAndDeleteCollision`.
    CompareAndDeleteCollision,
    /// Go `BenchmarkMapCompareAndDeleteMostlyHits`.
    CompareAndDeleteMostlyHits,
    /// Go `BenchmarkMapCompareAndDeleteMostlyMisses`.
    CompareAndDeleteMostlyMisses,
    /// Go `BenchmarkMapClear`.
    Clear,
    /// Ours: 65,536 keys; 98% loads of present keys, 1% overwrites of present keys, 1% loads
    /// of absent keys.
    ReadMostly,
}

use Workload::*;

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 25] = [
        LoadMostlyHits,
        LoadMostlyMisses,
        ReadMostly,
        Range,
        LoadOrStoreBalanced,
        LoadOrStoreUnique,
        LoadOrStoreCollision,
        LoadAndDeleteBalanced,
        LoadAndDeleteUnique,
        LoadAndDeleteCollision,
        AdversarialAlloc,
        AdversarialDelete,
        DeleteCollision,
        SwapCollision,
        SwapMostlyHits,
        SwapMostlyMisses,
        CompareAndSwapCollision,
        CompareAndSwapNoExistingKey,
        CompareAndSwapValueNotEqual,
        CompareAndSwapMostlyHits,
        CompareAndSwapMostlyMisses,
        CompareAndDeleteCollision,
        CompareAndDeleteMostlyHits,
        CompareAndDeleteMostlyMisses,
        Clear,
    ];

    /// The name: Go's benchmark name without `BenchmarkMap`.
    pub fn name(self) -> &'static str {
        match self {
            LoadMostlyHits => "LoadMostlyHits",
            LoadMostlyMisses => "LoadMostlyMisses",
            LoadOrStoreBalanced => "LoadOrStoreBalanced",
            LoadOrStoreUnique => "LoadOrStoreUnique",
            LoadOrStoreCollision => "LoadOrStoreCollision",
            LoadAndDeleteBalanced => "LoadAndDeleteBalanced",
            LoadAndDeleteUnique => "LoadAndDeleteUnique",
            LoadAndDeleteCollision => "LoadAndDeleteCollision",
            Range => "Range",
            AdversarialAlloc => "AdversarialAlloc",
            AdversarialDelete => "AdversarialDelete",
            DeleteCollision => "DeleteCollision",
            SwapCollision => "SwapCollision",
            SwapMostlyHits => "SwapMostlyHits",
            SwapMostlyMisses => "SwapMostlyMisses",
            CompareAndSwapCollision => "CompareAndSwapCollision",
            CompareAndSwapNoExistingKey => "CompareAndSwapNoExistingKey",
            CompareAndSwapValueNotEqual => "CompareAndSwapValueNotEqual",
            CompareAndSwapMostlyHits => "CompareAndSwapMostlyHits",
            CompareAndSwapMostlyMisses => "CompareAndSwapMostlyMisses",
            CompareAndDeleteCollision => "CompareAndDeleteCollision",
            CompareAndDeleteMostlyHits => "CompareAndDeleteMostlyHits",
            CompareAndDeleteMostlyMisses => "CompareAndDeleteMostlyMisses",
            Clear => "Clear",
            ReadMostly => "ReadMostly",
        }
    }

    /// Whether only loads and ranges run in the timed phase (so unsynchronized hashbrown can).
    pub fn read_only(self) -> bool {
        matches!(self, LoadMostlyHits | LoadMostlyMisses | Range)
    }

    /// Whether the timed loads go through the worker's reader (so the pinned API differs).
    pub fn pinned_reads(self) -> bool {
        matches!(self, LoadMostlyHits | LoadMostlyMisses | ReadMostly)
    }

    /// Whether Go skips `DeepCopyMap` here ("DeepCopyMap has quadratic running time").
    pub fn skips_copy_on_write(self) -> bool {
        matches!(
            self,
            LoadOrStoreBalanced
                | LoadOrStoreUnique
                | LoadAndDeleteBalanced
                | LoadAndDeleteUnique
                | CompareAndSwapMostlyHits
                | CompareAndDeleteMostlyHits
        )
    }

    /// Whether map `M` runs this workload.
    pub fn runs<M: BenchMap>(self) -> bool {
        (!M::PINNED || self.pinned_reads()) && !(M::COPY_ON_WRITE && self.skips_copy_on_write())
    }

    /// Whether Go's suite has it (so Go's columns can be filled).
    pub fn in_go(self) -> bool {
        self != ReadMostly
    }

    /// Whether Go 1.19's suite has it.
    pub fn in_go_1_19(self) -> bool {
        matches!(
            self,
            LoadMostlyHits
                | LoadMostlyMisses
                | LoadOrStoreBalanced
                | LoadOrStoreUnique
                | LoadOrStoreCollision
                | LoadAndDeleteBalanced
                | LoadAndDeleteUnique
                | LoadAndDeleteCollision
                | Range
                | AdversarialAlloc
                | AdversarialDelete
                | DeleteCollision
        )
    }

    /// Looks a workload up by [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Workload> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// Go's `benchMap` for one map and one `b.N`: a fresh map, `setup`, then the timed parallel
/// phase. The map is dropped after the clock stops, and the trial's deferred frees are let run
/// before the next trial starts ([`settle`]).
fn bench<M: ReadMap>(
    threads: usize,
    n: u64,
    grain: &Grain,
    setup: impl FnOnce(&mut M),
    per_g: impl Fn(&mut Pb<'_, M>, u64, &M) + Sync,
) -> Duration {
    let mut map = M::new();
    setup(&mut map);
    let elapsed = run_parallel(&map, threads, n, grain, per_g);
    drop(map);
    settle(threads, elapsed);
    elapsed
}

/// Go's common setup: `LoadOrStore(i, i)` for `i < hits`, then `Load(i % hits)` for
/// `i < 2 * hits` ("prime the map to get it into a steady state").
fn hits_setup<M: ReadMap>(hits: u64) -> impl FnOnce(&mut M) {
    move |m: &mut M| {
        for i in 0..hits {
            m.setup_load_or_store(i, i);
        }
        let reader = m.reader();
        for i in 0..hits * 2 {
            black_box(crate::maps::Reader::load(&reader, i % hits));
        }
    }
}

/// Go's `setup` of the collision benchmarks: `LoadOrStore(0, 0)`.
fn zero_setup<M: BenchMap>(m: &mut M) {
    m.load_or_store(0, 0);
}

/// Go's `setup` of `Range` and `AdversarialDelete`: `Store(i, i)` for `i < 1 << 10`.
///
/// (Setup is untimed; the copy-on-write map inserts in place instead of copying per key.)
fn store_1024<M: ReadMap>(m: &mut M) {
    for i in 0..1 << 10 {
        m.setup_store(i, i);
    }
}

/// The number of keys of [`Workload::ReadMostly`].
pub const READ_MOSTLY_KEYS: u64 = 1 << 16;

/// Runs one read-only workload (`LoadMostlyHits`, `LoadMostlyMisses`, `Range`) on any map,
/// including the unsynchronized floor: `n` operations on `threads` threads; returns the wall
/// time of the parallel phase.
pub fn run_read_only<M: ReadMap>(w: Workload, threads: usize, n: u64, grain: &Grain) -> Duration {
    match w {
        LoadMostlyHits | LoadMostlyMisses => {
            let (hits, misses) = if w == LoadMostlyHits {
                (1023, 1)
            } else {
                (1, 1023)
            };
            bench::<M>(threads, n, grain, hits_setup(hits), move |pb, mut i, _| {
                while pb.next() {
                    black_box(pb.load(i % (hits + misses)));
                    i += 1;
                }
            })
        }
        Range => bench::<M>(threads, n, grain, store_1024, |pb, _, m| {
            while pb.next() {
                m.range(|k, v| {
                    black_box((k, v));
                    true
                });
            }
        }),
        _ => panic!("{} is not a read-only workload", w.name()),
    }
}

/// Runs workload `w` on map `M`: `n` operations on `threads` threads; returns the wall time of
/// the parallel phase.
pub fn run<M: BenchMap>(w: Workload, threads: usize, n: u64, grain: &Grain) -> Duration {
    match w {
        LoadMostlyHits | LoadMostlyMisses | Range => run_read_only::<M>(w, threads, n, grain),

        ReadMostly => {
            let setup = |m: &mut M| {
                for k in 0..READ_MOSTLY_KEYS {
                    BenchMap::setup_store(m, k, k);
                }
                // Prime, as Go's benchmarks do: two loads of every key.
                for i in 0..READ_MOSTLY_KEYS * 2 {
                    black_box(m.load(i % READ_MOSTLY_KEYS));
                }
            };
            bench::<M>(threads, n, grain, setup, |pb, mut i, m| {
                while pb.next() {
                    // A present key, scattered over the table (Fibonacci hashing of i).
                    let k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48;
                    match i % 100 {
                        0 => m.store(k, i),
                        1 => {
                            black_box(pb.load(k + READ_MOSTLY_KEYS));
                        }
                        _ => {
                            black_box(pb.load(k));
                        }
                    }
                    i += 1;
                }
            })
        }

        LoadOrStoreBalanced => {
            const HITS: u64 = 128;
            const MISSES: u64 = 128;
            bench::<M>(threads, n, grain, hits_setup(HITS), |pb, mut i, m| {
                while pb.next() {
                    let j = i % (HITS + MISSES);
                    if j < HITS {
                        let (_, loaded) = m.load_or_store(j, i);
                        assert!(loaded, "unexpected miss for {j}");
                    } else {
                        let (v, loaded) = m.load_or_store(i, i);
                        assert!(!loaded, "failed to store {i}: existing value {v}");
                    }
                    i += 1;
                }
            })
        }

        LoadOrStoreUnique => bench::<M>(
            threads,
            n,
            grain,
            |_| {},
            |pb, mut i, m| {
                while pb.next() {
                    black_box(m.load_or_store(i, i));
                    i += 1;
                }
            },
        ),

        LoadOrStoreCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                black_box(m.load_or_store(0, 0));
            }
        }),

        LoadAndDeleteBalanced => {
            const HITS: u64 = 128;
            const MISSES: u64 = 128;
            bench::<M>(threads, n, grain, hits_setup(HITS), |pb, mut i, m| {
                while pb.next() {
                    let j = i % (HITS + MISSES);
                    if j < HITS {
                        black_box(m.load_and_delete(j));
                    } else {
                        black_box(m.load_and_delete(i));
                    }
                    i += 1;
                }
            })
        }

        LoadAndDeleteUnique => bench::<M>(
            threads,
            n,
            grain,
            |_| {},
            |pb, mut i, m| {
                while pb.next() {
                    black_box(m.load_and_delete(i));
                    i += 1;
                }
            },
        ),

        LoadAndDeleteCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                if m.load_and_delete(0).is_some() {
                    m.store(0, 0);
                }
            }
        }),

        AdversarialAlloc => bench::<M>(
            threads,
            n,
            grain,
            |_| {},
            |pb, mut i, m| {
                let (mut stores, mut loads_since_store) = (0u64, 0u64);
                while pb.next() {
                    black_box(m.load(i));
                    loads_since_store += 1;
                    if loads_since_store > stores {
                        black_box(m.load_or_store(i, stores));
                        loads_since_store = 0;
                        stores += 1;
                    }
                    i += 1;
                }
            },
        ),

        AdversarialDelete => {
            const MAP_SIZE: u64 = 1 << 10;
            bench::<M>(threads, n, grain, store_1024, |pb, mut i, m| {
                while pb.next() {
                    black_box(m.load(i));
                    if i % MAP_SIZE == 0 {
                        let mut first = None;
                        BenchMap::range(m, |k, _| {
                            first = Some(k);
                            false
                        });
                        if let Some(k) = first {
                            m.delete(k);
                        }
                        m.store(i, i);
                    }
                    i += 1;
                }
            })
        }

        DeleteCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                m.delete(0);
            }
        }),

        SwapCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                black_box(m.swap(0, 0));
            }
        }),

        SwapMostlyHits | SwapMostlyMisses => {
            let (hits, misses) = if w == SwapMostlyHits {
                (1023, 1)
            } else {
                (1, 1023)
            };
            bench::<M>(threads, n, grain, hits_setup(hits), move |pb, mut i, m| {
                while pb.next() {
                    if i % (hits + misses) < hits {
                        let v = i % (hits + misses);
                        black_box(m.swap(v, v));
                    } else {
                        black_box(m.swap(i, i));
                        m.delete(i);
                    }
                    i += 1;
                }
            })
        }

        CompareAndSwapCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                if m.compare_and_swap(0, 0, 42) {
                    m.compare_and_swap(0, 42, 0);
                }
            }
        }),

        CompareAndSwapNoExistingKey => bench::<M>(
            threads,
            n,
            grain,
            |_| {},
            |pb, mut i, m| {
                while pb.next() {
                    if m.compare_and_swap(i, 0, 0) {
                        m.delete(i);
                    }
                    i += 1;
                }
            },
        ),

        CompareAndSwapValueNotEqual => {
            let setup = |m: &mut M| m.store(0, 0);
            bench::<M>(threads, n, grain, setup, |pb, _, m| {
                while pb.next() {
                    black_box(m.compare_and_swap(0, 1, 2));
                }
            })
        }

        CompareAndSwapMostlyHits | CompareAndSwapMostlyMisses => {
            let (hits, misses) = if w == CompareAndSwapMostlyHits {
                (1023, 1)
            } else {
                (1, 1023)
            };
            bench::<M>(threads, n, grain, hits_setup(hits), move |pb, mut i, m| {
                while pb.next() {
                    let v = if i % (hits + misses) < hits {
                        i % (hits + misses)
                    } else {
                        i
                    };
                    black_box(m.compare_and_swap(v, v, v));
                    i += 1;
                }
            })
        }

        CompareAndDeleteCollision => bench::<M>(threads, n, grain, zero_setup, |pb, _, m| {
            while pb.next() {
                if m.compare_and_delete(0, 0) {
                    m.store(0, 0);
                }
            }
        }),

        CompareAndDeleteMostlyHits | CompareAndDeleteMostlyMisses => {
            let (hits, misses) = if w == CompareAndDeleteMostlyHits {
                (1023, 1)
            } else {
                (1, 1023)
            };
            bench::<M>(threads, n, grain, hits_setup(hits), move |pb, mut i, m| {
                while pb.next() {
                    let v = if i % (hits + misses) < hits {
                        i % (hits + misses)
                    } else {
                        i
                    };
                    if m.compare_and_delete(v, v) {
                        m.store(v, v);
                    }
                    i += 1;
                }
            })
        }

        Clear => bench::<M>(
            threads,
            n,
            grain,
            |_| {},
            |pb, mut i, m| {
                while pb.next() {
                    let (k, v) = (i % 256, i % 256);
                    m.clear();
                    m.store(k, v);
                    i += 1;
                }
            },
        ),
    }
}
