//! Go's own tests of `sync.Map` (`src/sync/map_test.go`) and of the hash-trie map behind it
//! since Go 1.24 (`src/internal/sync/hashtriemap_test.go`), re-expressed over [`ConcurrentMap`].
//!
//! # Go's tests and where they are
//!
//! Every `Test*` function of those two files in the releases Go 1.19 to 1.27 (tags `go1.19`,
//! `go1.20`, `go1.21.0` … `go1.26.0`, and `go1.27rc2`, the newest 1.27 tag: there is no
//! `go1.27.0` tag, and `release-branch.go1.27` has the same files; the last patch release of
//! each of 1.19 to 1.26 has the same files as its first). There is no `Example*` or `Fuzz*`
//! function in them. `map_reference_test.go` defines no test, only the reference maps the
//! `TestMapMatches*` tests compare with (`RWMutexMap`, `DeepCopyMap`; ours is
//! [`RwLockMap`](crate::reference::RwLockMap), which passes this whole suite), and
//! `map_bench_test.go` only benchmarks (ours are `cargo xtask bench`).
//!
//! | Go test | Go versions | Here |
//! | --- | --- | --- |
//! | `TestMapMatchesRWMutex` | 1.19–1.27 | [`model::sequential_u64`](crate::model::sequential_u64): random call sequences checked against a reference (a `HashMap` model rather than a map behind a lock), answer by answer and in the final contents. Go draws keys and values from short random strings; ours are `u64`s on 24 keys, so that calls hit present keys and the map promotes, rebuilds, expunges and revives entries. |
//! | `TestMapMatchesDeepCopy` | 1.19–1.27 | The same: Go's second reference map (copy on write) checks the same property. |
//! | `TestMapMatchesHashTrieMap` | 1.24–1.27 | The same: it compares Go's `sync.Map` with its hash-trie implementation; every backend here is compared with the same model. |
//! | `TestConcurrentRange` | 1.19–1.27 | [`concurrent_range`] |
//! | `TestIssue40999` | 1.19–1.27 | [`issue_40999_store_delete`](crate::bounds::issue_40999_store_delete), [`issue_40999_load_and_delete`](crate::bounds::issue_40999_load_and_delete), [`issue_40999_compare_and_delete`](crate::bounds::issue_40999_compare_and_delete), [`issue_40999_with_promotions`](crate::bounds::issue_40999_with_promotions), and beyond Go the model-based [`entries_bounded_by_live`](crate::bounds::entries_bounded_by_live) |
//! | `TestMapRangeNestedCall` | 1.19–1.27 | [`range_nested_call`] |
//! | `TestCompareAndSwap_NonExistingKey` | 1.20–1.27 | [`compare_and_swap_missing_key`] (also for deleted, expunged and cleared keys, and for compare-and-delete) |
//! | `TestMapRangeNoAllocations` | 1.22–1.27 | Go's case, `Range` of an empty map: [`empty_map_operations_allocate_nothing`]; on a promoted map of 64 keys, with loads: [`memory::range_allocates_nothing`](crate::memory::range_allocates_nothing) |
//! | `TestConcurrentClear` | 1.23–1.27 | [`concurrent_clear`] (also checks the values readers see, and that the map is usable afterwards) |
//! | `TestMapClearNoAllocations` | 1.23 | [`empty_map_operations_allocate_nothing`] |
//! | `TestMapClearOneAllocation` | 1.24–1.27 | [`empty_map_operations_allocate_nothing`], which allows no allocation: Go's one is the hash-trie's fresh root; our `clear` of an empty map returns early, as Go 1.23's did |
//! | `TestHashTrieMap` | 1.24–1.27 | [`hash_trie_map`]: every subtest (`LoadEmpty`, `LoadOrStore`, `All`, `Clear/{Simple,Concurrent}`, and `All`, `One`, `Multiple`, `Iterate` where Go has it, `ConcurrentUnsharedKeys`, `ConcurrentUnsharedKeysWithDelete` where Go has it and `ConcurrentSharedKeys` of `CompareAndDelete`, `CompareAndSwap`, `Swap` and `LoadAndDelete`), with `String` keys; `All` (Go's iterator) is `range`, which must also visit every key |
//! | `TestHashTrieMapBadHash` | 1.24–1.27 | [`hash_trie_map_bad_hash`]: Go replaces the map's hash function with one that returns 0; a backend's hasher is fixed here, so the keys ([`BadHash`]) feed it nothing and all hash alike |
//! | `TestHashTrieMapTruncHash` | 1.24–1.27 | [`hash_trie_map_trunc_hash`]: Go truncates the hash to 4 bits; here the keys ([`TruncHash`]) feed the map's hasher 4 bits, giving 16 classes of equal hashes. Go's point, hashes that differ only in their last bits, is about the trie's layout and does not carry over (the map's hasher mixes the 4 bits). |
//! | `TestConcurrentCache` | 1.24–1.27 | [`concurrent_cache`] (issue 70970: compare-and-swap and compare-and-delete of one slot must not both succeed); Go's weak pointers and cleanups are `std::sync::Weak` and a cleanup thread fed by `Drop` |
//!
//! Go's development branch (1.28) adds `TestHashTrieMapEmptyOperationsDoNotInitialize`: load,
//! load-and-delete and delete of a missing key, range and clear on an empty map must not create
//! the trie's root. Its observable part, that they allocate nothing, is
//! [`empty_map_operations_allocate_nothing`].
//!
//! The other tests here go beyond Go's: they race the same operations harder
//! ([`concurrent_load_or_store_one_winner`], [`concurrent_cas_counters`],
//! [`concurrent_compare_and_delete_once`], [`concurrent_load_and_delete_once`],
//! [`concurrent_swap_no_lost_value`], [`concurrent_store_delete_readers`]) or test methods Go
//! lacks (`load_or_store_with`, `update`).
//!
//! # The contract they check
//!
//! [Atomicity](crate::ConcurrentMap#atomicity): the concurrent tests (one winner per
//! `load_or_store`, racing compare-and-swaps and deletes that succeed once, no lost `swap` or
//! `update`, `clear` ordered as a whole), and [`compare_and_swap_missing_key`] for
//! [`compare_and_swap`](crate::ConcurrentMap::compare_and_swap)'s "a missing key never does".
//! [`range`](crate::ConcurrentMap::range)'s own sentences ("every key present for the whole call is
//! visited exactly once"): [`concurrent_range`] and [`hash_trie_map`].
//! [Callbacks](crate::ConcurrentMap#callbacks): [`range_nested_call`] and the `Iterate` subtests of
//! [`hash_trie_map`]. [`load_or_store_with`](crate::ConcurrentMap::load_or_store_with)'s once per
//! insertion and release of waiters: [`concurrent_load_or_store_with_runs_once`],
//! [`load_or_store_with_panic_releases_waiters`]. [Allocation](crate::ConcurrentMap#allocation) on
//! an empty map: [`empty_map_operations_allocate_nothing`].

use std::{
    collections::HashMap,
    sync::{
        Barrier,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*},
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    Backend, ConcurrentMap,
    util::{Rng, scaled, threads},
    watchdog::{COMPUTE_WAITER, RANGE_CALLBACK_CALLS_MAP, waiting_on},
};

/// Sets a flag when dropped, so that background threads stop even if the test body panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Release);
    }
}

/// Counts one finished thread when dropped, so that waiting threads stop even if it panics.
struct CountOnDrop<'a>(&'a AtomicU64);

impl Drop for CountOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Release);
    }
}

/// A safety net for background loops: they also stop after this long.
const BACKGROUND_LIMIT: Duration = Duration::from_secs(60);

/// Go's `TestConcurrentRange`: writers keep storing `k -> n * k` for every key while `range`
/// runs; each `range` must see every key exactly once, each with a multiple of its key.
pub fn concurrent_range<B: Backend>() {
    let map_size: u64 = 1 << 10;
    let map = B::Map::<u64, u64>::default();
    for k in 1..=map_size {
        map.store(k, k);
    }
    let stop = AtomicBool::new(false);
    crate::watchdog::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for g in 0..threads() as u64 - 1 {
            let (map, stop) = (&map, &stop);
            s.spawn(move || {
                let started = Instant::now();
                let mut rng = Rng::new(g);
                let mut n = 1;
                while !stop.load(Acquire) && started.elapsed() < BACKGROUND_LIMIT {
                    for _ in 0..map_size {
                        let k = 1 + rng.below(map_size);
                        map.store(k, n * k);
                    }
                    n += 1;
                }
            });
        }
        for iteration in 0..scaled(256) {
            let mut seen = vec![false; map_size as usize + 1];
            let mut count = 0;
            map.range(|&k, &v| {
                assert!((1..=map_size).contains(&k), "range visited unknown key {k}");
                assert_eq!(v % k, 0, "key {k} has value {v}, not a multiple of the key");
                assert!(!seen[k as usize], "range visited key {k} twice");
                seen[k as usize] = true;
                count += 1;
                true
            });
            assert_eq!(
                count, map_size,
                "range {iteration} missed keys present throughout"
            );
        }
    });
}

/// Go's `TestMapRangeNestedCall` (issue 46399): every method called from inside `range`,
/// nested two levels deep, and deletes from inside `range` take effect.
pub fn range_nested_call<B: Backend>() {
    let map = B::Map::<u64, String>::default();
    for (i, v) in ["hello", "world", "Go"].into_iter().enumerate() {
        map.store(i as u64, v.to_string());
    }
    let mut outer_visits = 0;
    let waiting = waiting_on(RANGE_CALLBACK_CALLS_MAP.into());
    map.range(|key, value| {
        outer_visits += 1;
        let mut inner_visits = 0;
        map.range(|key, value| {
            inner_visits += 1;
            // No concurrent delete: the key offered must load with the value offered.
            assert_eq!(
                map.load(key).as_deref(),
                Some(value),
                "nested load of {key}"
            );
            // 42 was never stored: load_or_store must store it.
            let (v, loaded) = map.load_or_store(42, "dummy".to_string());
            assert!(!loaded, "nested load_or_store found a value for 42: {}", *v);
            drop(v);
            map.store(42, "sync.Map".to_string());
            assert_eq!(
                map.load_and_delete(&42).as_deref().map(String::as_str),
                Some("sync.Map"),
                "nested load_and_delete of 42"
            );
            assert_eq!(map.swap(*key, value.clone()).as_deref(), Some(value));
            assert!(map.compare_and_swap(key, value, value.clone()));
            true
        });
        assert!(inner_visits >= 1, "nested range visited nothing");
        assert_eq!(map.load(key).as_deref(), Some(value));
        // Remove the key on the fly.
        map.delete(key);
        true
    });
    drop(waiting);
    assert_eq!(outer_visits, 3);
    let mut length = 0;
    map.range(|_, _| {
        length += 1;
        true
    });
    assert_eq!(
        length, 0,
        "after a range of deletes, range still visits keys"
    );
    assert_eq!(map.len(), 0);
}

/// Go's `TestCompareAndSwap_NonExistingKey`, in every state a missing key can be in: never
/// stored, deleted (the entry may still be linked), expunged (deleted, then dirty rebuilt), and
/// cleared. Compare-and-swap and compare-and-delete must fail and store nothing.
pub fn compare_and_swap_missing_key<B: Backend>() {
    let map = B::Map::<u64, u64>::default();
    let check = |map: &B::Map<u64, u64>, state: &str| {
        assert!(
            !map.compare_and_swap(&7, &0, 42),
            "CAS on a {state} key succeeded"
        );
        assert!(
            map.load(&7).is_none(),
            "CAS on a {state} key stored a value"
        );
        assert!(
            !map.compare_and_delete(&7, &0),
            "CAD on a {state} key succeeded"
        );
    };
    check(&map, "never stored");
    map.store(7, 1);
    map.range(|_, _| true);
    map.delete(&7);
    check(&map, "deleted");
    map.store(8, 8); // a new key: rebuilds dirty, expunging 7
    check(&map, "expunged");
    map.store(7, 0);
    map.clear();
    check(&map, "cleared");
    assert!(map.is_empty(), "{:?} entries left", map.len());
}

/// Go's `TestConcurrentClear`, strengthened: writers, readers and clearers race; every value a
/// reader sees must be one written for its key; after a final clear the map is empty, and it is
/// usable afterwards.
pub fn concurrent_clear<B: Backend>() {
    let map = B::Map::<u64, u64>::default();
    let rounds = scaled(200) as u64;
    let threads = threads() as u64;
    crate::watchdog::scope(|s| {
        for t in 0..threads {
            let map = &map;
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for i in 0..rounds * 10 {
                    let k = rng.below(16);
                    match t % 3 {
                        0 => map.store(k, k * 1_000_000 + i),
                        1 => {
                            if let Some(v) = map.load(&k) {
                                assert_eq!(*v / 1_000_000, k, "key {k} loaded another key's value");
                            }
                        }
                        _ => {
                            if i % 10 == 0 {
                                map.clear();
                            } else if let Some(v) = map.swap(k, k * 1_000_000 + i) {
                                assert_eq!(
                                    *v / 1_000_000,
                                    k,
                                    "key {k} swapped out another key's value"
                                );
                            }
                        }
                    }
                }
            });
        }
    });
    map.clear();
    let mut visited = 0;
    map.range(|_, _| {
        visited += 1;
        true
    });
    assert_eq!(visited, 0, "range after clear visited entries");
    assert_eq!(map.len(), 0);
    for k in 0..16 {
        assert!(map.load(&k).is_none(), "key {k} survived clear");
    }
    map.store(1, 1);
    assert_eq!(map.load(&1).map(|v| *v), Some(1));
    assert_eq!(map.len(), 1);
}

/// hashtriemap's concurrent `LoadOrStore`: threads race to `load_or_store` the same keys, each
/// with its own value; per key exactly one stores, and every thread gets the winner's value.
pub fn concurrent_load_or_store_one_winner<B: Backend>() {
    let keys = 256_u64;
    let threads = threads() as u64;
    for _round in 0..scaled(20) {
        let map = B::Map::<u64, u64>::default();
        let barrier = Barrier::new(threads as usize);
        let results: Vec<Vec<(u64, bool)>> = crate::watchdog::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (map, barrier) = (&map, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        (0..keys)
                            .map(|k| {
                                let (v, loaded) = map.load_or_store(k, t << 32 | k);
                                (*v, loaded)
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for k in 0..keys {
            let winners: Vec<u64> = (0..threads)
                .filter(|&t| !results[t as usize][k as usize].1)
                .collect();
            assert_eq!(winners.len(), 1, "key {k}: threads {winners:?} all stored");
            let value = winners[0] << 32 | k;
            for t in 0..threads {
                assert_eq!(
                    results[t as usize][k as usize].0, value,
                    "key {k}: thread {t} got another value than the winner's"
                );
            }
            assert_eq!(map.load(&k).map(|v| *v), Some(value));
        }
    }
}

/// hashtriemap's concurrent `CompareAndSwap` counters: threads increment shared counters with
/// load + compare-and-swap loops while another thread keeps adding keys (forcing promotions and
/// rebuilds); no increment may be lost.
pub fn concurrent_cas_counters<B: Backend>() {
    let counters = 4_u64;
    let increments = scaled(2000) as u64;
    let threads = threads() as u64 - 1;
    let map = B::Map::<u64, u64>::default();
    for k in 0..counters {
        map.store(k, 0);
    }
    let stop = AtomicBool::new(false);
    crate::watchdog::scope(|s| {
        let (map_ref, stop_ref) = (&map, &stop);
        s.spawn(move || {
            let started = Instant::now();
            let mut k = 1000;
            while !stop_ref.load(Acquire) && started.elapsed() < BACKGROUND_LIMIT {
                map_ref.store(k, k);
                let _ = map_ref.load(&k);
                map_ref.delete(&(k - 3));
                k += 1;
            }
        });
        let _stop = StopOnDrop(&stop);
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    for _ in 0..increments {
                        for k in 0..counters {
                            loop {
                                let current =
                                    *map_ref.load(&k).expect("counters are never deleted");
                                if map_ref.compare_and_swap(&k, &current, current + 1) {
                                    break;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    for k in 0..counters {
        assert_eq!(
            map.load(&k).map(|v| *v),
            Some(threads * increments),
            "counter {k} lost increments"
        );
    }
}

/// Runs `round` on a fresh map of `keys` keys (`k -> k`), with all threads starting together,
/// and returns how many times each key's operation succeeded.
fn delete_race<B: Backend>(
    keys: u64,
    op: impl Fn(&B::Map<u64, u64>, u64) -> bool + Sync,
) -> Vec<usize> {
    let map = B::Map::<u64, u64>::default();
    for k in 0..keys {
        map.store(k, k);
    }
    // Half the keys promoted to read, half only in dirty.
    for k in 0..keys / 2 {
        let _ = map.load(&k);
    }
    let successes: Vec<AtomicUsize> = (0..keys).map(|_| AtomicUsize::new(0)).collect();
    let threads = threads();
    let barrier = Barrier::new(threads);
    crate::watchdog::scope(|s| {
        for t in 0..threads {
            let (map, barrier, successes, op) = (&map, &barrier, &successes, &op);
            s.spawn(move || {
                barrier.wait();
                for i in 0..keys {
                    // Different threads walk the keys in different orders.
                    let k = if t % 2 == 0 { i } else { keys - 1 - i };
                    if op(map, k) {
                        successes[k as usize].fetch_add(1, Relaxed);
                    }
                }
            });
        }
    });
    assert!(map.is_empty(), "{} keys survived", map.len());
    successes.into_iter().map(AtomicUsize::into_inner).collect()
}

/// hashtriemap's concurrent `CompareAndDelete`: threads race to compare-and-delete the same
/// keys; each key is deleted exactly once.
pub fn concurrent_compare_and_delete_once<B: Backend>() {
    for _ in 0..scaled(20) {
        let successes = delete_race::<B>(256, |map, k| map.compare_and_delete(&k, &k));
        for (k, &n) in successes.iter().enumerate() {
            assert_eq!(n, 1, "key {k} was compare-and-deleted {n} times");
        }
    }
}

/// hashtriemap's concurrent `LoadAndDelete`: threads race to load-and-delete the same keys;
/// each key's value is returned exactly once, and it is the stored value.
pub fn concurrent_load_and_delete_once<B: Backend>() {
    for _ in 0..scaled(20) {
        let successes = delete_race::<B>(256, |map, k| match map.load_and_delete(&k) {
            Some(v) => {
                assert_eq!(*v, k, "load_and_delete returned another key's value");
                true
            }
            None => false,
        });
        for (k, &n) in successes.iter().enumerate() {
            assert_eq!(n, 1, "key {k} was load-and-deleted {n} times");
        }
    }
}

/// hashtriemap's concurrent `Swap`: threads swap unique values into a few keys. Per key, the
/// values swapped out plus the final value are exactly the values swapped in, each once, and
/// exactly one swap found the key missing.
pub fn concurrent_swap_no_lost_value<B: Backend>() {
    let keys = 4_u64;
    let swaps = scaled(2000) as u64;
    let threads = threads() as u64;
    for _round in 0..scaled(5) {
        let map = B::Map::<u64, u64>::default();
        let barrier = Barrier::new(threads as usize);
        let returned: Vec<Vec<(u64, Option<u64>)>> = crate::watchdog::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (map, barrier) = (&map, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        (0..swaps)
                            .map(|i| {
                                let k = i % keys;
                                (k, map.swap(k, t << 32 | i).map(|v| *v))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for k in 0..keys {
            let mut swapped_in: Vec<u64> = (0..threads)
                .flat_map(|t| {
                    (0..swaps)
                        .filter(move |i| i % keys == k)
                        .map(move |i| t << 32 | i)
                })
                .collect();
            let mut out: Vec<u64> = Vec::new();
            let mut missing = 0;
            for per_thread in &returned {
                for &(key, old) in per_thread {
                    if key == k {
                        match old {
                            Some(v) => out.push(v),
                            None => missing += 1,
                        }
                    }
                }
            }
            out.push(*map.load(&k).expect("swapped keys are present"));
            assert_eq!(missing, 1, "key {k}: {missing} swaps found the key missing");
            swapped_in.sort_unstable();
            out.sort_unstable();
            let dup = out.windows(2).find(|w| w[0] == w[1]);
            assert!(
                dup.is_none(),
                "key {k}: value {dup:?} was swapped out twice"
            );
            assert_eq!(out, swapped_in, "key {k}: values lost or invented by swap");
        }
    }
}

/// Writers store, swap and delete while readers load and range; every value seen belongs to
/// its key, and afterwards the map agrees with each writer's last write to its own keys.
pub fn concurrent_store_delete_readers<B: Backend>() {
    let map = B::Map::<u64, u64>::default();
    let threads = threads() as u64;
    let writers = threads / 2;
    let ops = scaled(20_000) as u64;
    let done = AtomicU64::new(0);
    let last: Vec<HashMap<u64, Option<u64>>> = crate::watchdog::scope(|s| {
        for r in writers..threads {
            let (map, done) = (&map, &done);
            s.spawn(move || {
                let mut rng = Rng::new(r);
                let started = Instant::now();
                while done.load(Acquire) < writers && started.elapsed() < BACKGROUND_LIMIT {
                    let k = rng.below(64);
                    if let Some(v) = map.load(&k) {
                        assert_eq!(*v >> 32, k, "key {k} holds another key's value {}", *v);
                    }
                    if rng.below(100) == 0 {
                        map.range(|&k, &v| {
                            assert_eq!(v >> 32, k, "range: key {k} holds value {v}");
                            true
                        });
                    }
                }
            });
        }
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (map, done) = (&map, &done);
                s.spawn(move || {
                    let _done = CountOnDrop(done);
                    // Writer `w` owns the keys congruent to `w`; readers read all of them.
                    let mut rng = Rng::new(100 + w);
                    let mut last = HashMap::new();
                    for i in 0..ops {
                        let k = rng.below(64 / writers) * writers + w;
                        let v = k << 32 | i;
                        match rng.below(4) {
                            0 => {
                                map.store(k, v);
                                last.insert(k, Some(v));
                            }
                            1 => {
                                let old = map.swap(k, v).map(|x| *x);
                                assert_eq!(
                                    old,
                                    last.get(&k).copied().flatten(),
                                    "swap of own key {k}"
                                );
                                last.insert(k, Some(v));
                            }
                            2 => {
                                let old = map.load_and_delete(&k).map(|x| *x);
                                assert_eq!(
                                    old,
                                    last.get(&k).copied().flatten(),
                                    "delete of own key {k}"
                                );
                                last.insert(k, None);
                            }
                            _ => {
                                let seen = map.load(&k).map(|x| *x);
                                assert_eq!(
                                    seen,
                                    last.get(&k).copied().flatten(),
                                    "load of own key {k}"
                                );
                            }
                        }
                    }
                    last
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for per_writer in last {
        for (k, v) in per_writer {
            assert_eq!(map.load(&k).map(|x| *x), v, "final value of key {k}");
        }
    }
}

/// `load_or_store_with` (beyond Go): threads race to insert the same absent keys with a closure
/// that counts its calls; per key the closure runs once, one thread stores, and every thread
/// gets the stored value.
pub fn concurrent_load_or_store_with_runs_once<B: Backend>() {
    let keys = 64_u64;
    // At least 8 racers on one key, however few cores (issue 8's bar).
    let threads = threads().max(8) as u64;
    for _round in 0..scaled(20) {
        let map = B::Map::<u64, u64>::default();
        let calls: Vec<AtomicUsize> = (0..keys).map(|_| AtomicUsize::new(0)).collect();
        let barrier = Barrier::new(threads as usize);
        let results: Vec<Vec<(u64, bool)>> = crate::watchdog::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (map, barrier, calls) = (&map, &barrier, &calls);
                    s.spawn(move || {
                        barrier.wait();
                        (0..keys)
                            .map(|k| {
                                let (v, loaded) = map.load_or_store_with(k, || {
                                    calls[k as usize].fetch_add(1, Relaxed);
                                    t << 32 | k
                                });
                                (*v, loaded)
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for k in 0..keys {
            let n = calls[k as usize].load(Relaxed);
            assert_eq!(n, 1, "key {k}: the closure ran {n} times for one insertion");
            let winners: Vec<u64> = (0..threads)
                .filter(|&t| !results[t as usize][k as usize].1)
                .collect();
            assert_eq!(winners.len(), 1, "key {k}: threads {winners:?} all stored");
            let value = winners[0] << 32 | k;
            for per_thread in &results {
                assert_eq!(
                    per_thread[k as usize].0, value,
                    "key {k}: not the stored value"
                );
            }
        }
    }
}

/// `load_or_store_with` whose closure panics while other threads wait for the same key: the
/// key stays absent meanwhile and afterwards, and the waiting thread is released and computes
/// its own value.
pub fn load_or_store_with_panic_releases_waiters<B: Backend>() {
    for round in 0..scaled(10) as u64 {
        let map = B::Map::<u64, u64>::default();
        let started = AtomicBool::new(false);
        crate::watchdog::scope(|s| {
            let (map, started) = (&map, &started);
            s.spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    map.load_or_store_with(round, || {
                        started.store(true, Release);
                        thread::sleep(Duration::from_millis(5));
                        panic!("trap: load_or_store_with closure");
                    })
                    .1
                }));
                assert!(result.is_err(), "the closure's panic did not propagate");
            });
            while !started.load(Acquire) {
                thread::yield_now();
            }
            assert!(
                map.load(&round).is_none(),
                "a value is visible while being computed"
            );
            let waiting = waiting_on(COMPUTE_WAITER.into());
            let (v, loaded) = map.load_or_store_with(round, || 7);
            drop(waiting);
            assert_eq!(
                (*v, loaded),
                (7, false),
                "the waiter did not compute its own value"
            );
        });
        assert_eq!(map.load(&round).map(|v| *v), Some(7));
        assert_eq!(map.len(), 1);
    }
}

/// `update` (beyond Go): threads increment shared counters with `update` while another thread
/// keeps adding keys; no increment may be lost.
pub fn concurrent_update_counters<B: Backend>() {
    let counters = 4_u64;
    let increments = scaled(2000) as u64;
    let threads = threads() as u64 - 1;
    let map = B::Map::<u64, u64>::default();
    for k in 0..counters {
        map.store(k, 0);
    }
    let stop = AtomicBool::new(false);
    crate::watchdog::scope(|s| {
        let (map_ref, stop_ref) = (&map, &stop);
        s.spawn(move || {
            let started = Instant::now();
            let mut k = 1000;
            while !stop_ref.load(Acquire) && started.elapsed() < BACKGROUND_LIMIT {
                map_ref.store(k, k);
                let _ = map_ref.load(&k);
                map_ref.delete(&(k - 3));
                k += 1;
            }
        });
        let _stop = StopOnDrop(&stop);
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    for _ in 0..increments {
                        for k in 0..counters {
                            let new = map_ref
                                .update(&k, |v| v + 1)
                                .expect("counters are never deleted");
                            assert!(*new >= 1);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    for k in 0..counters {
        assert_eq!(
            map.load(&k).map(|v| *v),
            Some(threads * increments),
            "counter {k} lost updates"
        );
    }
}

/// `load_or_store_with` with slow closures while other threads store, delete, swap, clear and
/// load the same keys: nobody deadlocks, every value belongs to its key, and a caller that did
/// not load gets its own closure's value.
pub fn load_or_store_with_vs_writers<B: Backend>() {
    let map = B::Map::<u64, u64>::default();
    let rounds = scaled(300) as u64;
    let threads = threads() as u64;
    crate::watchdog::scope(|s| {
        for t in 0..threads {
            let map = &map;
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for i in 0..rounds {
                    let k = rng.below(8);
                    let mine = k << 32 | t << 16 | i;
                    match (t + i) % 6 {
                        0 | 1 => {
                            let (v, loaded) = map.load_or_store_with(k, || {
                                thread::yield_now();
                                mine
                            });
                            assert_eq!(*v >> 32, k, "key {k} returned another key's value");
                            if !loaded {
                                assert_eq!(*v, mine, "stored, but returned another value");
                            }
                        }
                        2 => map.store(k, mine),
                        3 => {
                            if let Some(v) = map.swap(k, mine) {
                                assert_eq!(*v >> 32, k);
                            }
                        }
                        4 => {
                            if i % 16 == 0 {
                                map.clear();
                            } else {
                                map.delete(&k);
                            }
                        }
                        _ => {
                            if let Some(v) = map.load(&k) {
                                assert_eq!(*v >> 32, k);
                            }
                        }
                    }
                }
            });
        }
    });
    let present = (0..8).filter(|k| map.load(k).is_some()).count();
    assert_eq!(map.len(), present, "len disagrees with loads");
}

/// A key type for the ports of `hashtriemap_test.go`, made from Go's test strings.
pub trait GoKey: crate::Key + Clone + core::fmt::Debug {
    /// The key for Go's string `s`.
    fn from_go(s: String) -> Self;
}

impl GoKey for String {
    fn from_go(s: String) -> Self {
        s
    }
}

/// A string key whose `Hash` feeds the map's hasher nothing, so that every key hashes alike
/// (Go's `NewBadHashTrieMap`, whose hash function returns 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadHash(pub String);

impl core::hash::Hash for BadHash {
    fn hash<H: core::hash::Hasher>(&self, _state: &mut H) {}
}

impl GoKey for BadHash {
    fn from_go(s: String) -> Self {
        BadHash(s)
    }
}

/// A string key whose `Hash` feeds the map's hasher only 4 bits of the string's own hash, so
/// that the keys fall into 16 classes of full collisions (Go's `NewTruncHashTrieMap`, whose hash
/// is the real one truncated to 4 bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncHash(pub String);

impl core::hash::Hash for TruncHash {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        use core::hash::{BuildHasher, BuildHasherDefault};
        let full = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(&self.0);
        state.write_u8((full & 0xF) as u8);
    }
}

impl GoKey for TruncHash {
    fn from_go(s: String) -> Self {
        TruncHash(s)
    }
}

/// Go's `testData`: the 128 strings `fmt.Sprintf("%b", i)`.
fn go_test_data<K: GoKey>() -> Vec<K> {
    (0..128).map(|i| K::from_go(format!("{i:b}"))).collect()
}

/// Go's `expectMissing`.
fn expect_missing<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K) {
    if let Some(v) = m.load(k) {
        panic!(
            "expected key {k:?} to be missing from map, got value {}",
            *v
        );
    }
}

/// Go's `expectPresent`.
fn expect_present<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K, want: u64) {
    let got = m.load(k).map(|v| *v);
    assert_eq!(
        got,
        Some(want),
        "key {k:?}: expected it present with {want}"
    );
}

/// Go's `expectStored`, of `load_or_store(k, v)`.
fn expect_stored<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K, v: u64) {
    let (got, loaded) = m.load_or_store(k.clone(), v);
    assert!(
        !loaded,
        "expected inserted key {k:?} to have been stored, not loaded"
    );
    assert_eq!(*got, v, "inserted key {k:?}");
}

/// Go's `expectLoaded`, of `load_or_store(k, 0)`.
fn expect_loaded<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K, want: u64) {
    let (got, loaded) = m.load_or_store(k.clone(), 0);
    assert!(loaded, "expected key {k:?} to have been loaded, not stored");
    assert_eq!(*got, want, "loaded key {k:?}");
}

/// Go's `expectDeleted` / `expectNotDeleted`, of `compare_and_delete(k, old)`.
fn expect_compare_and_delete<K: GoKey>(
    m: &impl ConcurrentMap<K, u64>,
    k: &K,
    old: u64,
    deleted: bool,
) {
    assert_eq!(
        m.compare_and_delete(k, &old),
        deleted,
        "compare_and_delete({k:?}, {old})"
    );
}

/// Go's `expectSwapped` / `expectNotSwapped`, of `compare_and_swap(k, old, new)`.
fn expect_compare_and_swap<K: GoKey>(
    m: &impl ConcurrentMap<K, u64>,
    k: &K,
    old: u64,
    new: u64,
    swapped: bool,
) {
    assert_eq!(
        m.compare_and_swap(k, &old, new),
        swapped,
        "compare_and_swap({k:?}, {old}, {new})"
    );
}

/// Go's `expectLoadedFromSwap` / `expectNotLoadedFromSwap`, of `swap(k, new)`.
fn expect_swap<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K, new: u64, old: Option<u64>) {
    assert_eq!(
        m.swap(k.clone(), new).map(|v| *v),
        old,
        "swap({k:?}, {new})"
    );
}

/// Go's `expectLoadedFromDelete` / `expectNotLoadedFromDelete`, of `load_and_delete(k)`.
fn expect_load_and_delete<K: GoKey>(m: &impl ConcurrentMap<K, u64>, k: &K, old: Option<u64>) {
    assert_eq!(
        m.load_and_delete(k).map(|v| *v),
        old,
        "load_and_delete({k:?})"
    );
}

/// Go's `testAll`: stores `data[i] -> i` with `load_or_store`, then ranges, checking each
/// visited value, calling `visit` on it, and (beyond Go) that every key is visited exactly once.
fn go_test_all<K: GoKey, M: ConcurrentMap<K, u64>>(
    m: &M,
    data: &[K],
    mut visit: impl FnMut(&K, u64),
) {
    for (i, k) in data.iter().enumerate() {
        expect_stored(m, k, i as u64);
    }
    let mut visited = vec![0_usize; data.len()];
    m.range(|k, &v| {
        let i = data
            .iter()
            .position(|d| d == k)
            .unwrap_or_else(|| panic!("unexpected key {k:?} in map"));
        assert_eq!(v, i as u64, "key {k:?} has value {v}, expected {i}");
        visited[i] += 1;
        visit(k, v);
        true
    });
    for (i, &n) in visited.iter().enumerate() {
        assert_eq!(n, 1, "range visited key {:?} {n} times", data[i]);
    }
}

/// Runs one of Go's `t.Run` subtests, naming it if it fails.
fn subtest(name: &str, f: impl FnOnce()) {
    let _waiting = waiting_on(format!("Go's subtest {name}").into());
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(see the panic above)");
        panic!("subtest {name}: {message}");
    }
}

/// Go's `testHashTrieMap`: every subtest, in Go's order, on a fresh map of `K -> u64` each.
fn hash_trie_map_subtests<B: Backend, K: GoKey>() {
    let data = go_test_data::<K>();
    let data = &data[..];
    let new_map = B::Map::<K, u64>::default;
    let max = u64::MAX; // Go's math.MaxInt: a value never stored
    let gmp = threads() as u64;
    // The first loop of most subtests: load, load_or_store, load, load_or_store.
    let fill = |m: &B::Map<K, u64>| {
        for (i, s) in data.iter().enumerate() {
            expect_missing(m, s);
            expect_stored(m, s, i as u64);
            expect_present(m, s, i as u64);
            expect_loaded(m, s, i as u64);
        }
    };
    // Go's `makeKey`: thread `id`'s own copy of the keys.
    let keys_of = |id: u64| -> Vec<K> {
        (0..data.len())
            .map(|i| K::from_go(format!("{i:b}-{id}")))
            .collect()
    };
    let picked = [1_usize, 105, 6, 85];

    subtest("LoadEmpty", || {
        let m = new_map();
        for s in data {
            expect_missing(&m, s);
        }
    });
    subtest("LoadOrStore", || {
        let m = new_map();
        fill(&m);
        for (i, s) in data.iter().enumerate() {
            expect_present(&m, s, i as u64);
            expect_loaded(&m, s, i as u64);
        }
    });
    subtest("All", || go_test_all(&new_map(), data, |_, _| {}));
    subtest("Clear/Simple", || {
        let m = new_map();
        fill(&m);
        m.clear();
        for s in data {
            expect_missing(&m, s);
        }
    });
    subtest("Clear/Concurrent", || {
        let m = new_map();
        for (i, s) in data.iter().enumerate() {
            expect_missing(&m, s);
            expect_stored(&m, s, i as u64);
        }
        crate::watchdog::scope(|sc| {
            for _ in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    for (i, s) in data.iter().enumerate() {
                        // Interfere with the clear.
                        expect_compare_and_delete(m, s, max, false);
                        m.compare_and_swap(s, &(i as u64), i as u64 + 1);
                    }
                });
            }
            thread::yield_now();
            m.clear();
        });
        for s in data {
            expect_missing(&m, s);
        }
    });
    subtest("CompareAndDelete/All", || {
        let m = new_map();
        for _ in 0..3 {
            fill(&m);
            for (i, s) in data.iter().enumerate() {
                expect_present(&m, s, i as u64);
                expect_compare_and_delete(&m, s, max, false);
                expect_compare_and_delete(&m, s, i as u64, true);
                expect_compare_and_delete(&m, s, i as u64, false);
                expect_missing(&m, s);
            }
            for s in data {
                expect_missing(&m, s);
            }
        }
    });
    subtest("CompareAndDelete/One", || {
        let m = new_map();
        fill(&m);
        expect_compare_and_delete(&m, &data[15], max, false);
        expect_compare_and_delete(&m, &data[15], 15, true);
        expect_compare_and_delete(&m, &data[15], 15, false);
        for (i, s) in data.iter().enumerate() {
            if i == 15 {
                expect_missing(&m, s);
            } else {
                expect_present(&m, s, i as u64);
            }
        }
    });
    subtest("CompareAndDelete/Multiple", || {
        let m = new_map();
        fill(&m);
        for i in picked {
            expect_compare_and_delete(&m, &data[i], max, false);
            expect_compare_and_delete(&m, &data[i], i as u64, true);
            expect_compare_and_delete(&m, &data[i], i as u64, false);
        }
        for (i, s) in data.iter().enumerate() {
            if picked.contains(&i) {
                expect_missing(&m, s);
            } else {
                expect_present(&m, s, i as u64);
            }
        }
    });
    subtest("CompareAndDelete/Iterate", || {
        let m = new_map();
        let _waiting = waiting_on(RANGE_CALLBACK_CALLS_MAP.into());
        go_test_all(&m, data, |s, i| expect_compare_and_delete(&m, s, i, true));
        for s in data {
            expect_missing(&m, s);
        }
    });
    subtest("CompareAndDelete/ConcurrentUnsharedKeys", || {
        let m = new_map();
        crate::watchdog::scope(|sc| {
            for id in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    let keys = keys_of(id);
                    for key in &keys {
                        expect_missing(m, key);
                        expect_stored(m, key, id);
                        expect_present(m, key, id);
                        expect_loaded(m, key, id);
                    }
                    for key in &keys {
                        expect_present(m, key, id);
                        expect_compare_and_delete(m, key, id, true);
                        expect_missing(m, key);
                    }
                    for key in &keys {
                        expect_missing(m, key);
                    }
                });
            }
        });
    });
    subtest("CompareAndDelete/ConcurrentSharedKeys", || {
        let m = new_map();
        for (i, s) in data.iter().enumerate() {
            expect_missing(&m, s);
            expect_stored(&m, s, i as u64);
        }
        crate::watchdog::scope(|sc| {
            for _ in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    for (i, s) in data.iter().enumerate() {
                        expect_compare_and_delete(m, s, max, false);
                        m.compare_and_delete(s, &(i as u64));
                        expect_missing(m, s);
                    }
                    for s in data {
                        expect_missing(m, s);
                    }
                });
            }
        });
    });
    subtest("CompareAndSwap/All", || {
        let m = new_map();
        fill(&m);
        for j in 0..3 {
            for (i, s) in data.iter().enumerate() {
                let i = i as u64;
                expect_present(&m, s, i + j);
                expect_compare_and_swap(&m, s, max, i + j + 1, false);
                expect_compare_and_swap(&m, s, i + j, i + j + 1, true);
                expect_compare_and_swap(&m, s, i + j, i + j + 1, false);
                expect_present(&m, s, i + j + 1);
            }
        }
        for (i, s) in data.iter().enumerate() {
            expect_present(&m, s, i as u64 + 3);
        }
    });
    subtest("CompareAndSwap/One", || {
        let m = new_map();
        fill(&m);
        expect_compare_and_swap(&m, &data[15], max, 16, false);
        expect_compare_and_swap(&m, &data[15], 15, 16, true);
        expect_compare_and_swap(&m, &data[15], 15, 16, false);
        for (i, s) in data.iter().enumerate() {
            expect_present(&m, s, if i == 15 { 16 } else { i as u64 });
        }
    });
    subtest("CompareAndSwap/Multiple", || {
        let m = new_map();
        fill(&m);
        for i in picked {
            let i64 = i as u64;
            expect_compare_and_swap(&m, &data[i], max, i64 + 1, false);
            expect_compare_and_swap(&m, &data[i], i64, i64 + 1, true);
            expect_compare_and_swap(&m, &data[i], i64, i64 + 1, false);
        }
        for (i, s) in data.iter().enumerate() {
            let bump = u64::from(picked.contains(&i));
            expect_present(&m, s, i as u64 + bump);
        }
    });
    for with_delete in [false, true] {
        let name = if with_delete {
            "CompareAndSwap/ConcurrentUnsharedKeysWithDelete"
        } else {
            "CompareAndSwap/ConcurrentUnsharedKeys"
        };
        subtest(name, || {
            let m = new_map();
            crate::watchdog::scope(|sc| {
                for id in 0..gmp {
                    let m = &m;
                    sc.spawn(move || {
                        let keys = keys_of(id);
                        for key in &keys {
                            expect_missing(m, key);
                            expect_stored(m, key, id);
                            expect_present(m, key, id);
                            expect_loaded(m, key, id);
                        }
                        for key in &keys {
                            expect_present(m, key, id);
                            expect_compare_and_swap(m, key, id, id + 1, true);
                            expect_present(m, key, id + 1);
                            if with_delete {
                                expect_compare_and_delete(m, key, id + 1, true);
                                expect_compare_and_swap(m, key, id + 1, id + 2, false);
                                expect_compare_and_delete(m, key, id + 1, false);
                                expect_missing(m, key);
                            }
                        }
                        for key in &keys {
                            if with_delete {
                                expect_missing(m, key);
                            } else {
                                expect_present(m, key, id + 1);
                            }
                        }
                    });
                }
            });
        });
    }
    subtest("CompareAndSwap/ConcurrentSharedKeys", || {
        let m = new_map();
        for (i, s) in data.iter().enumerate() {
            expect_missing(&m, s);
            expect_stored(&m, s, i as u64);
        }
        crate::watchdog::scope(|sc| {
            for _ in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    for (i, s) in data.iter().enumerate() {
                        let i = i as u64;
                        expect_compare_and_swap(m, s, max, i + 1, false);
                        m.compare_and_swap(s, &i, i + 1);
                        expect_present(m, s, i + 1);
                    }
                    for (i, s) in data.iter().enumerate() {
                        expect_present(m, s, i as u64 + 1);
                    }
                });
            }
        });
    });
    // The first loop of the Swap subtests: swap in, load, swap the same value in again.
    let fill_by_swap = |m: &B::Map<K, u64>| {
        for (i, s) in data.iter().enumerate() {
            let i = i as u64;
            expect_missing(m, s);
            expect_swap(m, s, i, None);
            expect_present(m, s, i);
            expect_swap(m, s, i, Some(i));
        }
    };
    subtest("Swap/All", || {
        let m = new_map();
        fill_by_swap(&m);
        for j in 0..3 {
            for (i, s) in data.iter().enumerate() {
                let i = i as u64;
                expect_present(&m, s, i + j);
                expect_swap(&m, s, i + j + 1, Some(i + j));
                expect_present(&m, s, i + j + 1);
            }
        }
        for (i, s) in data.iter().enumerate() {
            expect_swap(&m, s, i as u64 + 3, Some(i as u64 + 3));
        }
    });
    subtest("Swap/One", || {
        let m = new_map();
        fill_by_swap(&m);
        expect_swap(&m, &data[15], 16, Some(15));
        for (i, s) in data.iter().enumerate() {
            expect_present(&m, s, if i == 15 { 16 } else { i as u64 });
        }
    });
    subtest("Swap/Multiple", || {
        let m = new_map();
        fill_by_swap(&m);
        for i in picked {
            expect_swap(&m, &data[i], i as u64 + 1, Some(i as u64));
        }
        for (i, s) in data.iter().enumerate() {
            let bump = u64::from(picked.contains(&i));
            expect_present(&m, s, i as u64 + bump);
        }
    });
    for with_delete in [false, true] {
        let name = if with_delete {
            "Swap/ConcurrentUnsharedKeysWithDelete"
        } else {
            "Swap/ConcurrentUnsharedKeys"
        };
        subtest(name, || {
            let m = new_map();
            crate::watchdog::scope(|sc| {
                for id in 0..gmp {
                    let m = &m;
                    sc.spawn(move || {
                        let keys = keys_of(id);
                        for key in &keys {
                            expect_missing(m, key);
                            expect_swap(m, key, id, None);
                            expect_present(m, key, id);
                            expect_swap(m, key, id, Some(id));
                        }
                        for key in &keys {
                            expect_present(m, key, id);
                            expect_swap(m, key, id + 1, Some(id));
                            expect_present(m, key, id + 1);
                            if with_delete {
                                expect_compare_and_delete(m, key, id + 1, true);
                                expect_swap(m, key, id + 2, None);
                                expect_present(m, key, id + 2);
                            }
                        }
                        let last = if with_delete { id + 2 } else { id + 1 };
                        for key in &keys {
                            expect_present(m, key, last);
                        }
                    });
                }
            });
        });
    }
    subtest("Swap/ConcurrentSharedKeys", || {
        let m = new_map();
        for (i, s) in data.iter().enumerate() {
            expect_missing(&m, s);
            expect_stored(&m, s, i as u64);
        }
        crate::watchdog::scope(|sc| {
            for _ in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    for (i, s) in data.iter().enumerate() {
                        m.swap(s.clone(), i as u64 + 1);
                        expect_present(m, s, i as u64 + 1);
                    }
                    for (i, s) in data.iter().enumerate() {
                        expect_present(m, s, i as u64 + 1);
                    }
                });
            }
        });
    });
    subtest("LoadAndDelete/All", || {
        let m = new_map();
        for _ in 0..3 {
            fill(&m);
            for (i, s) in data.iter().enumerate() {
                expect_present(&m, s, i as u64);
                expect_load_and_delete(&m, s, Some(i as u64));
                expect_missing(&m, s);
                expect_load_and_delete(&m, s, None);
            }
            for s in data {
                expect_missing(&m, s);
            }
        }
    });
    subtest("LoadAndDelete/One", || {
        let m = new_map();
        fill(&m);
        expect_present(&m, &data[15], 15);
        expect_load_and_delete(&m, &data[15], Some(15));
        expect_missing(&m, &data[15]);
        expect_load_and_delete(&m, &data[15], None);
        for (i, s) in data.iter().enumerate() {
            if i == 15 {
                expect_missing(&m, s);
            } else {
                expect_present(&m, s, i as u64);
            }
        }
    });
    subtest("LoadAndDelete/Multiple", || {
        let m = new_map();
        fill(&m);
        for i in picked {
            expect_present(&m, &data[i], i as u64);
            expect_load_and_delete(&m, &data[i], Some(i as u64));
            expect_missing(&m, &data[i]);
            expect_load_and_delete(&m, &data[i], None);
        }
        for (i, s) in data.iter().enumerate() {
            if picked.contains(&i) {
                expect_missing(&m, s);
            } else {
                expect_present(&m, s, i as u64);
            }
        }
    });
    subtest("LoadAndDelete/Iterate", || {
        let m = new_map();
        let _waiting = waiting_on(RANGE_CALLBACK_CALLS_MAP.into());
        go_test_all(&m, data, |s, i| expect_load_and_delete(&m, s, Some(i)));
        for s in data {
            expect_missing(&m, s);
        }
    });
    subtest("LoadAndDelete/ConcurrentUnsharedKeys", || {
        let m = new_map();
        crate::watchdog::scope(|sc| {
            for id in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    let keys = keys_of(id);
                    for key in &keys {
                        expect_missing(m, key);
                        expect_stored(m, key, id);
                        expect_present(m, key, id);
                        expect_loaded(m, key, id);
                    }
                    for key in &keys {
                        expect_present(m, key, id);
                        expect_load_and_delete(m, key, Some(id));
                        expect_missing(m, key);
                    }
                    for key in &keys {
                        expect_missing(m, key);
                    }
                });
            }
        });
    });
    subtest("LoadAndDelete/ConcurrentSharedKeys", || {
        let m = new_map();
        for (i, s) in data.iter().enumerate() {
            expect_missing(&m, s);
            expect_stored(&m, s, i as u64);
        }
        crate::watchdog::scope(|sc| {
            for _ in 0..gmp {
                let m = &m;
                sc.spawn(move || {
                    for s in data {
                        m.load_and_delete(s);
                        expect_missing(m, s);
                    }
                    for s in data {
                        expect_missing(m, s);
                    }
                });
            }
        });
    });
}

/// Go's `TestHashTrieMap`: every subtest of `testHashTrieMap` (load, load-or-store, range,
/// clear, compare-and-delete, compare-and-swap, swap and load-and-delete, each sequentially on
/// one key, on several and on all 128, deleting while ranging, and concurrently on shared and
/// on per-thread keys), with `String` keys.
pub fn hash_trie_map<B: Backend>() {
    hash_trie_map_subtests::<B, String>();
}

/// Go's `TestHashTrieMapBadHash`: the same subtests with keys that all hash alike
/// ([`BadHash`]).
pub fn hash_trie_map_bad_hash<B: Backend>() {
    hash_trie_map_subtests::<B, BadHash>();
}

/// Go's `TestHashTrieMapTruncHash`: the same subtests with keys whose hash has 4 bits
/// ([`TruncHash`]).
pub fn hash_trie_map_trunc_hash<B: Backend>() {
    hash_trie_map_subtests::<B, TruncHash>();
}

/// The value of [`concurrent_cache`]'s map: a weak pointer to a cached object, compared by the
/// object's unique id (Go compares the `weak.Pointer`s).
#[derive(Clone, Debug)]
struct CacheSlot {
    id: u64,
    weak: std::sync::Weak<CacheObject>,
}

impl PartialEq for CacheSlot {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// A cached object: dropping it queues its cleanup (Go's `runtime.AddCleanup`), which the
/// cleanup thread runs later: compare-and-delete of the object's own slot.
struct CacheObject {
    key: u64,
    id: u64,
    cleanups: std::sync::mpsc::Sender<(u64, u64)>,
}

impl Drop for CacheObject {
    fn drop(&mut self) {
        // The cleanup thread outlives every object.
        let _ = self.cleanups.send((self.key, self.id));
    }
}

/// Go's `TestConcurrentCache` (hashtriemap, issue 70970): the map as a cache of weakly held
/// objects. A dead object's cleanup compare-and-deletes its slot while readers that found the
/// slot dead compare-and-swap a fresh object into it. Compare-and-swap and compare-and-delete
/// of the same slot must not both succeed: if they did, the cleanup would delete the fresh
/// object's slot, and a thread reading the same key twice in a row would get two different
/// objects.
///
/// As in Go, cleanups run later, on their own thread (Go's run after a garbage collection;
/// here an object queues its cleanup when its last `Arc` is dropped), so that readers often
/// find dead objects still cached. The test also asserts that this happened.
pub fn concurrent_cache<B: Backend>() {
    use std::sync::{Arc, Weak, mpsc};
    let keys = 4_u64;
    let reads = scaled(50_000) as u64;
    let map = B::Map::<u64, CacheSlot>::default();
    let next_id = AtomicU64::new(0);
    let replaced = AtomicU64::new(0);
    let (cleanups, queue) = mpsc::channel::<(u64, u64)>();
    let get = |key: u64, cleanups: &mpsc::Sender<(u64, u64)>| -> Arc<CacheObject> {
        let id = next_id.fetch_add(1, Relaxed);
        let object = Arc::new(CacheObject {
            key,
            id,
            cleanups: cleanups.clone(),
        });
        let fresh = || CacheSlot {
            id,
            weak: Arc::downgrade(&object),
        };
        loop {
            let (slot, loaded) = map.load_or_store(key, fresh());
            if !loaded {
                return object;
            }
            let old = CacheSlot {
                id: slot.id,
                weak: slot.weak.clone(),
            };
            drop(slot);
            if let Some(cached) = old.weak.upgrade() {
                return cached;
            }
            // The cached object died: replace it with ours.
            if map.compare_and_swap(&key, &old, fresh()) {
                replaced.fetch_add(1, Relaxed);
                return object;
            }
        }
    };
    crate::watchdog::scope(|s| {
        let map = &map;
        s.spawn(move || {
            for (key, id) in queue {
                let gone = CacheSlot {
                    id,
                    weak: Weak::new(),
                };
                map.compare_and_delete(&key, &gone);
            }
        });
        let readers: Vec<_> = (0..threads() as u64)
            .map(|t| {
                let (get, cleanups) = (&get, cleanups.clone());
                s.spawn(move || {
                    for i in 0..reads {
                        let key = (i + t) % keys;
                        let a = get(key, &cleanups);
                        // Let a cleanup run between the two reads.
                        thread::yield_now();
                        let b = get(key, &cleanups);
                        assert!(
                            Arc::ptr_eq(&a, &b),
                            "consecutive cache reads of key {key} returned different objects"
                        );
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        // Ends the cleanup thread once every object's cleanup has run.
        drop(cleanups);
    });
    let mut left = 0;
    map.range(|_, _| {
        left += 1;
        true
    });
    assert_eq!(left, 0, "slots of dead objects survived their cleanups");
    assert!(
        replaced.load(Relaxed) > 0,
        "no reader found a dead object still cached: the race was never run"
    );
}

/// Go's `TestMapClearNoAllocations` (1.23: `Clear` of an empty map allocates nothing),
/// `TestMapClearOneAllocation` (1.24+: at most one, for the hash-trie's new root) and the
/// empty-map case of `TestMapRangeNoAllocations` (1.22+), plus the other operations that find
/// nothing to do: on a fresh map, and on a map emptied by `clear`, each of `clear`, `range`,
/// `load`, `load_and_delete`, `delete`, `compare_and_swap` and `compare_and_delete` of a missing
/// key allocates nothing. As Go's `testing.AllocsPerRun` does, one call of each is a warm-up
/// (a collector may register the thread on first use).
pub fn empty_map_operations_allocate_nothing<B: Backend>() {
    crate::alloc::require_installed();
    let runs = 100;
    let check_empty = |map: &B::Map<u64, u64>, state: &str| {
        let ops: [(&str, &dyn Fn()); 7] = [
            ("clear", &|| map.clear()),
            ("range", &|| {
                map.range(|k, _| panic!("range of an empty map visited {k}"));
            }),
            ("load", &|| assert!(map.load(&7).is_none())),
            ("load_and_delete", &|| {
                assert!(map.load_and_delete(&7).is_none())
            }),
            ("delete", &|| map.delete(&7)),
            ("compare_and_swap", &|| {
                assert!(!map.compare_and_swap(&7, &0, 1));
            }),
            ("compare_and_delete", &|| {
                assert!(!map.compare_and_delete(&7, &0));
            }),
        ];
        for (name, op) in ops {
            op();
            let before = crate::alloc::thread_allocations();
            for _ in 0..runs {
                op();
            }
            let allocations = crate::alloc::thread_allocations() - before;
            assert_eq!(
                allocations, 0,
                "{runs} calls of {name} on a {state} map allocated {allocations} times"
            );
        }
        assert!(map.is_empty());
    };
    let map = B::Map::<u64, u64>::default();
    check_empty(&map, "fresh");
    for k in 0..64 {
        map.store(k, k);
    }
    map.range(|_, _| true); // promote
    map.store(64, 64); // rebuild dirty: both tables full
    map.clear();
    check_empty(&map, "cleared");
}
