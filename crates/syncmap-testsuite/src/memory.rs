//! Memory: every key and value dropped exactly once, memory given back after `clear`, none held
//! back by a slow `load_or_store_with`, and no allocation in `range`.
//!
//! Checks the contract's [Drops and clones](crate::ConcurrentMap#drops-and-clones) ("every key and
//! value handed to the map is dropped exactly once"), [Memory](crate::ConcurrentMap#memory) ("a
//! `clear`ed map gives its memory back ... with no later write needed"; "user code that runs for
//! long holds nothing back": [`compute_holds_nothing_back`]) and
//! [Allocation](crate::ConcurrentMap#allocation) (`range` and loads of present keys).

use std::{collections::HashMap, process::Command, thread, time::Duration};

use crate::{
    Backend, ConcurrentMap,
    alloc::{live_bytes, require_installed, thread_allocations},
    tracked::{Tracked, Tracker},
    util::{RECLAIM_TIMEOUT, Rng, quiesce_until, scaled, threads},
    watchdog,
};

/// Drops `map`, waits for deferred reclamation, and asserts that every instance of both
/// trackers was dropped exactly once.
fn drop_and_check<B: Backend>(map: B::Map<Tracked, Tracked>, keys: &Tracker, values: &Tracker) {
    drop(map);
    quiesce_until::<B>(RECLAIM_TIMEOUT, || {
        keys.all_dropped_once() && values.all_dropped_once()
            || keys.dropped_twice() + values.dropped_twice() > 0
    });
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
}

/// Random sequential operations on tracked keys and values (store, swap, load-or-store, delete,
/// load-and-delete, compare-and-swap, compare-and-delete, range, clear), checked against a
/// model; then the map is dropped. Every key and value must be dropped exactly once. For a
/// backend that frees before drop, the values outside the map must also be gone whenever the
/// map is quiescent, and the keys must be bounded by the number of distinct keys.
pub fn drops_exactly_once_sequential<B: Backend>() {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map = B::Map::<Tracked, Tracked>::default();
    let mut model: HashMap<u64, u64> = HashMap::new();
    let mut rng = Rng::new(42);
    let distinct = 32;
    for step in 0..scaled(6000) as u64 {
        let k = rng.below(distinct);
        let v = step;
        match rng.below(11) {
            0 | 1 => {
                map.store(keys.make(k), values.make(v));
                model.insert(k, v);
            }
            2 => {
                let old = map.swap(keys.make(k), values.make(v)).map(|x| x.value());
                assert_eq!(old, model.insert(k, v), "step {step}: swap {k}");
            }
            3 => {
                let was_present = model.contains_key(&k);
                let (got, loaded) = map.load_or_store(keys.make(k), values.make(v));
                let expected = *model.entry(k).or_insert(v);
                assert_eq!(
                    (got.value(), loaded),
                    (expected, was_present),
                    "step {step}"
                );
            }
            4 => {
                map.delete(&keys.make(k));
                model.remove(&k);
            }
            5 => {
                let old = map.load_and_delete(&keys.make(k)).map(|x| x.value());
                assert_eq!(old, model.remove(&k), "step {step}: load_and_delete {k}");
            }
            6 => {
                let old = model.get(&k).copied().unwrap_or(u64::MAX);
                let done = map.compare_and_swap(&keys.make(k), &values.make(old), values.make(v));
                assert_eq!(
                    done,
                    model.contains_key(&k),
                    "step {step}: compare_and_swap {k}"
                );
                if done {
                    model.insert(k, v);
                }
            }
            7 => {
                let old = model.get(&k).copied().unwrap_or(u64::MAX);
                let done = map.compare_and_delete(&keys.make(k), &values.make(old));
                assert_eq!(
                    done,
                    model.remove(&k).is_some(),
                    "step {step}: compare_and_delete"
                );
            }
            8 => {
                let got = map.load(&keys.make(k)).map(|x| x.value());
                assert_eq!(got, model.get(&k).copied(), "step {step}: load {k}");
            }
            9 => {
                let mut n = 0;
                map.range(|key, value| {
                    assert_eq!(
                        model.get(&key.value()),
                        Some(&value.value()),
                        "step {step}: range"
                    );
                    n += 1;
                    true
                });
                assert_eq!(n, model.len(), "step {step}: range count");
            }
            _ => {
                if rng.below(8) == 0 {
                    map.clear();
                    model.clear();
                }
            }
        }
        assert_eq!(
            keys.dropped_twice() + values.dropped_twice(),
            0,
            "step {step}: double drop"
        );
        if step % 500 == 499 {
            let live_values = || values.live();
            if B::FREES_BEFORE_DROP {
                let freed = || live_values() <= model.len() + B::PENDING_LIMIT;
                quiesce_until::<B>(RECLAIM_TIMEOUT, freed);
                let (live, limit) = (live_values(), B::PENDING_LIMIT);
                assert!(
                    live >= model.len() && freed(),
                    "step {step}: {live} values alive once quiescent, for {} in the map \
                     (the strategy may hold back {limit})",
                    model.len()
                );
                let live_keys = keys.live();
                assert!(
                    (model.len()..=distinct as usize).contains(&live_keys),
                    "step {step}: {live_keys} keys alive for {} entries and {distinct} distinct keys",
                    model.len()
                );
            } else {
                assert!(
                    live_values() >= model.len(),
                    "step {step}: a value in the map was dropped"
                );
            }
        }
    }
    drop_and_check::<B>(map, &keys, &values);
}

/// Threads run random operations on shared tracked keys; afterwards the map is dropped, and
/// every key and value must be dropped exactly once.
pub fn drops_exactly_once_concurrent<B: Backend>() {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map = B::Map::<Tracked, Tracked>::default();
    let ops = scaled(3000) as u64;
    crate::watchdog::scope(|s| {
        for t in 0..threads() as u64 {
            let (map, keys, values) = (&map, &keys, &values);
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for i in 0..ops {
                    let k = rng.below(24);
                    let v = t << 32 | i;
                    match rng.below(10) {
                        0 | 1 => map.store(keys.make(k), values.make(v)),
                        2 => drop(map.swap(keys.make(k), values.make(v))),
                        3 => drop(map.load_or_store(keys.make(k), values.make(v))),
                        4 => map.delete(&keys.make(k)),
                        5 => drop(map.load_and_delete(&keys.make(k))),
                        6 => {
                            let current = map.load(&keys.make(k)).map(|x| x.value());
                            if let Some(old) = current {
                                map.compare_and_swap(
                                    &keys.make(k),
                                    &values.make(old),
                                    values.make(v),
                                );
                            }
                        }
                        7 => {
                            let current = map.load(&keys.make(k)).map(|x| x.value());
                            if let Some(old) = current {
                                map.compare_and_delete(&keys.make(k), &values.make(old));
                            }
                        }
                        8 => map.range(|key, value| {
                            assert!(key.value() < 24 && value.value() >> 32 < 64);
                            true
                        }),
                        _ => {
                            if i % 64 == 0 {
                                map.clear();
                            } else {
                                drop(map.load(&keys.make(k)));
                            }
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        keys.dropped_twice() + values.dropped_twice(),
        0,
        "double drop"
    );
    drop_and_check::<B>(map, &keys, &values);
}

/// A cleared map hands its entries back without waiting for later writes: after `clear`, with
/// only loads (no store, delete or [`Backend::quiesce`] hook), every value is dropped soon. A
/// strategy that batches retirements gets a flush hint from `clear` for this (Go's `Clear`
/// leaves the old maps to the garbage collector, which needs no writes either). Skipped for
/// strategies that free only on drop.
pub fn clear_frees_without_later_writes<B: Backend>() {
    if !B::FREES_BEFORE_DROP {
        return;
    }
    let keys = Tracker::new();
    let values = Tracker::new();
    let map = B::Map::<Tracked, Tracked>::default();
    let n = scaled(5_000) as u64;
    for k in 0..n {
        map.store(keys.make(k), values.make(k));
    }
    map.range(|_, _| true);
    map.clear();
    let probe = keys.make(0);
    let started = std::time::Instant::now();
    while values.live() > 0 && started.elapsed() < crate::util::RECLAIM_TIMEOUT {
        for _ in 0..64 {
            assert!(map.load(&probe).is_none());
        }
        thread::yield_now();
    }
    assert_eq!(
        values.live(),
        0,
        "{} of {n} values still alive after `clear` and {:?} of loads",
        values.live(),
        started.elapsed()
    );
    drop(probe);
    drop(map);
    quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() == 0);
    keys.assert_all_dropped_once();
}

/// Go's `TestMapRangeNoAllocations`, on a promoted map of 64 keys: after a warm-up call (which
/// may promote, or register the thread with a collector), `range` and loads of present keys
/// allocate nothing.
pub fn range_allocates_nothing<B: Backend>() {
    require_installed();
    let map = B::Map::<u64, u64>::default();
    for k in 0..64 {
        map.store(k, k);
    }
    let mut sum = 0;
    for _ in 0..2 {
        map.range(|_, &v| {
            sum += v;
            true
        });
        for k in 0..64 {
            sum += *map.load(&k).expect("stored");
        }
    }
    let runs = 100;
    let before = thread_allocations();
    for _ in 0..runs {
        map.range(|_, &v| {
            sum += v;
            true
        });
        for k in 0..64 {
            sum += *map.load(&k).expect("stored");
        }
    }
    let allocations = thread_allocations() - before;
    assert_eq!(
        allocations, 0,
        "{runs} rounds of range and loads allocated {allocations} times"
    );
    let per_round = 2 * (0..64).sum::<u64>();
    assert_eq!(
        sum,
        (runs + 2) * per_round,
        "range or load saw wrong values"
    );
}

/// The environment variable that marks the child process of [`clear_returns_memory`].
pub const MEMORY_CHILD_ENV: &str = "SYNCMAP_TESTSUITE_MEMORY_CHILD";

/// Entries in the memory check.
pub const MEMORY_ENTRIES: u64 = 1_000_000;

/// Bytes a cleared, quiescent map may keep (an empty read table, collector bookkeeping).
pub const MEMORY_SLACK: isize = 256 * 1024;

/// A map of 1,000,000 entries, promoted and with a rebuilt dirty table, gives its memory back
/// once cleared and quiescent (or, for a backend that frees only on drop, once dropped).
///
/// The measurement counts the live bytes of the whole process, so it runs alone: the test
/// re-runs itself, by its libtest name `test_path` (`module_path!()` plus the function name),
/// in a child process with only that test.
pub fn clear_returns_memory<B: Backend>(test_path: &str) {
    run_alone(test_path, measure_clear::<B>);
}

/// Runs `measure` in a child process that runs only the test `test_path` (a libtest name:
/// `module_path!()` plus the function name), since live bytes are counted for the whole
/// process; `measure` returns a report starting with `ok`.
fn run_alone(test_path: &str, measure: fn() -> String) {
    if let Some(report) = std::env::var_os(MEMORY_CHILD_ENV) {
        // A failure's message goes into the report too, so that the parent's names it.
        let outcome = std::panic::catch_unwind(measure);
        let text = match &outcome {
            Ok(text) => text.clone(),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(a panic without a message)");
                format!("failed: {message}")
            }
        };
        std::fs::write(report, text).expect("write the report");
        if let Err(payload) = outcome {
            std::panic::resume_unwind(payload);
        }
        return;
    }
    require_installed();
    let name = test_path
        .split_once("::")
        .map_or(test_path, |(_, rest)| rest);
    let report = std::env::temp_dir().join(format!(
        "syncmap-memory-{}-{}.txt",
        std::process::id(),
        name.replace("::", "-")
    ));
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(MEMORY_CHILD_ENV, &report);
    // The child's watchdog fires before ours, so that its message names what it waited on.
    if let Some(deadline) = watchdog::deadline() {
        child.env(
            watchdog::WATCHDOG_ENV,
            (deadline.as_secs_f64() * 0.9).to_string(),
        );
    }
    let waiting = watchdog::waiting_on(watchdog::CHILD_PROCESS.into());
    let status = child.status().expect("run the test binary again");
    drop(waiting);
    let outcome = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    assert!(
        status.success(),
        "the memory check failed in its own process ({status}): {}",
        outcome
            .strip_prefix("failed: ")
            .unwrap_or("no report (see its output above)")
    );
    assert!(
        outcome.starts_with("ok"),
        "the child process did not run the memory check (test `{name}`): {outcome:?}"
    );
    eprintln!("{name}: {outcome}");
}

/// Keys of [`compute_holds_nothing_back`]'s map, and the bytes of each value.
const CHURN_KEYS: u64 = 1_000;
const CHURN_VALUE_BYTES: usize = 1024;
/// Times every key is overwritten while the computation is in progress.
const CHURN_ROUNDS: usize = 64;

/// A `load_or_store_with` whose closure takes long (a slow fetch: here, until the test lets it
/// return) holds back no memory: while it runs, and while another thread waits for the same
/// key, a second thread overwrites every key of a 1,000-key map of 1 KiB values 64 times, and
/// once quiescent the map still holds about its live set (at most twice the bytes it held
/// before the overwrites, plus [`MEMORY_SLACK`]), not the 64 MiB it replaced. A map that pins
/// its strategy for the closure's whole run keeps all of it (the contract:
/// `ConcurrentMap::load_or_store_with`). Runs alone in a child process, as
/// [`clear_returns_memory`] does; for a backend that frees only on drop
/// ([`Backend::FREES_BEFORE_DROP`] false) it checks nothing beyond the values.
pub fn compute_holds_nothing_back<B: Backend>(test_path: &str) {
    run_alone(test_path, measure_compute::<B>);
}

fn measure_compute<B: Backend>() -> String {
    require_installed();
    if !B::FREES_BEFORE_DROP {
        return "ok: skipped (the backend frees only on drop)".to_string();
    }
    for _ in 0..64 {
        B::quiesce();
    }
    let base = live_bytes();
    let map = B::Map::<u64, Vec<u8>>::default();
    let value = |round: usize| vec![round as u8; CHURN_VALUE_BYTES];
    for k in 0..CHURN_KEYS {
        map.store(k, value(0));
    }
    for _ in 0..64 {
        B::quiesce();
    }
    let live = live_bytes() - base;
    let bound = 2 * live + MEMORY_SLACK;
    let computing = CHURN_KEYS;
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let kept = thread::scope(|s| {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let map = &map;
        let computer = s.spawn(move || {
            let (v, loaded) = map.load_or_store_with(computing, || {
                entered_tx.send(()).expect("the test waits for this");
                // Until the test has measured (or failed: the sender is then dropped).
                let _ = release_rx.recv();
                value(1)
            });
            (v[0], loaded)
        });
        entered_rx.recv().expect("the computing thread started");
        // A writer of the same key meanwhile (`SyncMap`'s waits for the computation).
        let waiter = s.spawn(move || map.store(computing, value(2)));
        thread::sleep(Duration::from_millis(20));
        for round in 1..=CHURN_ROUNDS {
            for k in 0..CHURN_KEYS {
                map.store(k, value(round));
            }
            B::quiesce();
        }
        let within = quiesce_until::<B>(RECLAIM_TIMEOUT, || live_bytes() - base <= bound);
        let kept = live_bytes() - base;
        assert!(
            within,
            "while a `load_or_store_with` closure ran, overwriting {CHURN_KEYS} keys of \
             {CHURN_VALUE_BYTES} bytes {CHURN_ROUNDS} times left the map holding {kept} bytes \
             once quiescent (live set {live} bytes, bound {bound}): the closure, or the thread \
             waiting for it, holds back reclamation (a guard pinned across user code)"
        );
        release_tx.send(()).expect("the computing thread waits");
        // The closure's value; or, for a map whose writers do not wait for a computation, the
        // writer's (then the store linearizes before the insertion, which finds the key).
        let computed = computer.join().unwrap();
        assert!(
            [(1, false), (2, true)].contains(&computed),
            "load_or_store_with returned {computed:?}"
        );
        waiter.join().unwrap();
        kept
    });
    assert_eq!(
        map.load(&computing).map(|v| v[0]),
        Some(2),
        "the writer's store is last"
    );
    assert_eq!(map.load(&0).map(|v| v[0]), Some(CHURN_ROUNDS as u8));
    format!("ok: live {live} bytes, kept {kept} while computing (bound {bound})")
}

fn measure_clear<B: Backend>() -> String {
    require_installed();
    for _ in 0..64 {
        B::quiesce();
    }
    let base = live_bytes();
    let map = B::Map::<u64, u64>::default();
    for k in 0..MEMORY_ENTRIES {
        map.store(k, k);
    }
    // Promote (range), then rebuild dirty with a new key: both tables are full.
    map.range(|_, _| true);
    map.store(MEMORY_ENTRIES, 0);
    assert_eq!(map.len() as u64, MEMORY_ENTRIES + 1);
    let full = live_bytes() - base;
    let payload = (MEMORY_ENTRIES * 2 * 8) as isize;
    assert!(
        full >= payload,
        "{full} bytes for {MEMORY_ENTRIES} entries: the allocator does not see the map"
    );
    map.clear();
    assert!(map.is_empty());
    let returned =
        |slack: isize| quiesce_until::<B>(RECLAIM_TIMEOUT, || live_bytes() - base <= slack);
    let after_clear = if B::FREES_BEFORE_DROP {
        returned(MEMORY_SLACK);
        let kept = live_bytes() - base;
        assert!(
            kept <= MEMORY_SLACK,
            "a cleared, quiescent map keeps {kept} of {full} bytes (slack {MEMORY_SLACK})"
        );
        // The map is still usable.
        map.store(1, 1);
        assert_eq!(map.load(&1).map(|v| *v), Some(1));
        kept
    } else {
        live_bytes() - base
    };
    drop(map);
    returned(MEMORY_SLACK);
    let kept = live_bytes() - base;
    assert!(
        kept <= MEMORY_SLACK,
        "a dropped map keeps {kept} of {full} bytes"
    );
    format!("ok: full {full} bytes, after clear {after_clear}, after drop {kept}")
}
