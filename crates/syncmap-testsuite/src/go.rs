//! Go's own tests of `sync.Map` (`src/sync/map_test.go`) and the concurrent tests of
//! `src/internal/sync/hashtriemap_test.go`, re-expressed over [`ConcurrentMap`].

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
    thread::scope(|s| {
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
    thread::scope(|s| {
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
        let results: Vec<Vec<(u64, bool)>> = thread::scope(|s| {
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
    thread::scope(|s| {
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
    thread::scope(|s| {
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
        let returned: Vec<Vec<(u64, Option<u64>)>> = thread::scope(|s| {
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
    let last: Vec<HashMap<u64, Option<u64>>> = thread::scope(|s| {
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
        let results: Vec<Vec<(u64, bool)>> = thread::scope(|s| {
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
        thread::scope(|s| {
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
            let (v, loaded) = map.load_or_store_with(round, || 7);
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
    thread::scope(|s| {
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
    thread::scope(|s| {
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
