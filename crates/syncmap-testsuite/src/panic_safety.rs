//! Panic safety: a panicking `Hash`, `Eq`, `Clone` or `Drop` of a key or value, or a panicking
//! `range` callback, must leave the map usable and consistent, and leak nothing.
//!
//! Panicking `Drop`s are exercised where a map must drop user data synchronously (the unused key
//! of a store to a present key, the unused value of `load_or_store` or of a failed
//! compare-and-swap), and where it drops what it holds: a retired value freed in a batch, the
//! entries a `clear` unlinks, the entries left at the map's drop. There every *other* key and
//! value must still be dropped exactly once, the map and its reclaimer must keep working, and the
//! panic must surface exactly once (a second panicking `Drop` in the same batch is caught
//! and dropped rather than aborting). The values trapped inside the map panic only on the test's
//! own thread ([`PANIC_ON_DROP_HERE`]): a global collector may run their destructor in another
//! test's operation, which would then see the panic.
//!
//! Checks the contract's [Panics](crate::ConcurrentMap#panics) ("a panic in user code ... leaves
//! the map consistent and usable"; "a panicking `Drop` costs only that value") and, in
//! [`never_clones`], [Drops and clones](crate::ConcurrentMap#drops-and-clones) ("the map never
//! clones a key or a value, unless its implementation asks `K: Clone` or `V: Clone`").

use std::{
    collections::HashMap,
    panic::{AssertUnwindSafe, catch_unwind},
};

use crate::{
    Backend, ConcurrentMap,
    tracked::{
        PANIC_ON_CLONE, PANIC_ON_DROP, PANIC_ON_DROP_HERE, PANIC_ON_EQ, PANIC_ON_HASH, Tracked,
        Tracker,
    },
    util::{RECLAIM_TIMEOUT, quiesce_until},
    watchdog::{AFTER_A_PANIC, RANGE_CALLBACK_CALLS_MAP, waiting_on},
};

const KEYS: u64 = 8;

/// Asserts that `f` panics.
fn expect_panic<R>(what: &str, f: impl FnOnce() -> R) {
    let result = catch_unwind(AssertUnwindSafe(|| drop(f())));
    assert!(result.is_err(), "{what}: the trap did not fire");
}

/// A map holding `k -> k` for `k` in `0..KEYS`, half promoted to the read table and half only in
/// the dirty table.
fn setup<B: Backend>(
    keys: &Tracker,
    values: &Tracker,
) -> (B::Map<Tracked, Tracked>, HashMap<u64, u64>) {
    let map = B::Map::<Tracked, Tracked>::default();
    for k in 0..KEYS / 2 {
        map.store(keys.make(k), values.make(k));
    }
    map.range(|_, _| true);
    for k in KEYS / 2..KEYS {
        map.store(keys.make(k), values.make(k));
    }
    (map, (0..KEYS).map(|k| (k, k)).collect())
}

/// Asserts that the map holds exactly `expected`, through `load`, `len` and `range`, and that it
/// still accepts writes.
fn check_consistent(
    map: &impl ConcurrentMap<Tracked, Tracked>,
    keys: &Tracker,
    values: &Tracker,
    expected: &HashMap<u64, u64>,
) {
    for k in 0..KEYS * 2 {
        let got = map.load(&keys.make(k)).map(|v| v.value());
        assert_eq!(got, expected.get(&k).copied(), "key {k} after the panics");
    }
    assert_eq!(map.len(), expected.len(), "len after the panics");
    let mut seen = HashMap::new();
    map.range(|k, v| {
        assert!(
            seen.insert(k.value(), v.value()).is_none(),
            "range repeated {k:?}"
        );
        true
    });
    assert_eq!(&seen, expected, "range after the panics");
    map.store(keys.make(1000), values.make(1000));
    assert_eq!(map.load(&keys.make(1000)).map(|v| v.value()), Some(1000));
    assert_eq!(
        map.load_and_delete(&keys.make(1000)).map(|v| v.value()),
        Some(1000)
    );
}

/// Drops the map and asserts that every key and value was dropped exactly once.
fn check_no_leak<B: Backend>(map: B::Map<Tracked, Tracked>, keys: &Tracker, values: &Tracker) {
    drop(map);
    quiesce_until::<B>(RECLAIM_TIMEOUT, || {
        keys.all_dropped_once() && values.all_dropped_once()
    });
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
}

/// Every operation with a key whose `Hash` panics, for a missing key and for present keys (in
/// read and only in dirty).
pub fn panicking_hash<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let (map, expected) = setup::<B>(&keys, &values);
    for k in [1, KEYS - 1, 100] {
        let trap = || keys.make_trapped(k, PANIC_ON_HASH);
        expect_panic("load", || map.load(&trap()).map(|v| v.value()));
        expect_panic("store", || map.store(trap(), values.make(k + 10)));
        expect_panic("load_or_store", || {
            map.load_or_store(trap(), values.make(k + 10)).1
        });
        expect_panic("swap", || {
            map.swap(trap(), values.make(k + 10)).map(|v| v.value())
        });
        expect_panic("load_and_delete", || map.load_and_delete(&trap()).is_some());
        expect_panic("delete", || map.delete(&trap()));
        expect_panic("compare_and_swap", || {
            map.compare_and_swap(&trap(), &values.make(k), values.make(k + 10))
        });
        expect_panic("compare_and_delete", || {
            map.compare_and_delete(&trap(), &values.make(k))
        });
    }
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// Every lookup with a query key whose `Eq` panics, for keys in read and only in dirty; and
/// compare-and-swap with an `old` value whose `Eq` panics.
pub fn panicking_eq<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let (map, expected) = setup::<B>(&keys, &values);
    for k in [1, KEYS - 1] {
        let trap = || keys.make_trapped(k, PANIC_ON_EQ);
        expect_panic("load", || map.load(&trap()).map(|v| v.value()));
        expect_panic("store", || map.store(trap(), values.make(k + 10)));
        expect_panic("load_or_store", || {
            map.load_or_store(trap(), values.make(k + 10)).1
        });
        expect_panic("swap", || {
            map.swap(trap(), values.make(k + 10)).map(|v| v.value())
        });
        expect_panic("load_and_delete", || map.load_and_delete(&trap()).is_some());
        expect_panic("delete", || map.delete(&trap()));
        expect_panic("compare_and_swap", || {
            map.compare_and_swap(&trap(), &values.make(k), values.make(k + 10))
        });
        expect_panic("compare_and_delete", || {
            map.compare_and_delete(&trap(), &values.make(k))
        });
        let old = || values.make_trapped(k, PANIC_ON_EQ);
        expect_panic("compare_and_swap's value", || {
            map.compare_and_swap(&keys.make(k), &old(), values.make(k + 10))
        });
        expect_panic("compare_and_delete's value", || {
            map.compare_and_delete(&keys.make(k), &old())
        });
    }
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// Keys and values the map must drop itself (unused arguments) panic in `Drop`.
pub fn panicking_drop<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let (map, mut expected) = setup::<B>(&keys, &values);
    for k in [1, KEYS - 1] {
        // `store` to a present key does not need its key argument: dropping it panics. The
        // store itself may or may not have taken effect.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            map.store(keys.make_trapped(k, PANIC_ON_DROP), values.make(k + 10));
        }));
        let now = map.load(&keys.make(k)).map(|v| v.value());
        assert!(
            now == Some(k) || now == Some(k + 10),
            "key {k} holds {now:?} after a panicking store"
        );
        expected.insert(k, now.expect("present"));
        // The same for `swap`.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            drop(map.swap(keys.make_trapped(k, PANIC_ON_DROP), values.make(k + 20)));
        }));
        let now = map.load(&keys.make(k)).map(|v| v.value());
        assert!(
            now == expected.get(&k).copied() || now == Some(k + 20),
            "key {k} holds {now:?} after a panicking swap"
        );
        expected.insert(k, now.expect("present"));
        // `load_or_store` of a present key drops both arguments unused.
        expect_panic("load_or_store's unused value", || {
            map.load_or_store(keys.make(k), values.make_trapped(k + 30, PANIC_ON_DROP))
                .1
        });
        expect_panic("load_or_store's unused key", || {
            map.load_or_store(keys.make_trapped(k, PANIC_ON_DROP), values.make(k + 30))
                .1
        });
        // A failed compare-and-swap drops its new value unused.
        expect_panic("compare_and_swap's unused value", || {
            map.compare_and_swap(
                &keys.make(k),
                &values.make(u64::MAX),
                values.make_trapped(k + 40, PANIC_ON_DROP),
            )
        });
        expect_panic("compare_and_swap on a missing key", || {
            map.compare_and_swap(
                &keys.make(500),
                &values.make(0),
                values.make_trapped(0, PANIC_ON_DROP),
            )
        });
    }
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// A `range` callback that panics (on a promoted map, on an amended one, and after writing to
/// the map from inside the callback) leaves the map consistent and usable.
pub fn panicking_callback<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let (map, mut expected) = setup::<B>(&keys, &values);
    for round in 0..3_u64 {
        let mut visited = 0;
        let waiting = (round == 2).then(|| waiting_on(RANGE_CALLBACK_CALLS_MAP.into()));
        expect_panic("range callback", || {
            map.range(|k, _| {
                visited += 1;
                if round == 2 {
                    map.store(keys.make(k.value()), values.make(k.value() + 50));
                }
                assert!(visited < 3, "trap: callback");
                true
            })
        });
        drop(waiting);
        assert_eq!(visited, 3, "range stopped before the callback panicked");
        if round == 0 {
            // A new key: the next range promotes dirty first, then panics in the callback.
            map.store(keys.make(KEYS), values.make(KEYS));
            expected.insert(KEYS, KEYS);
        }
    }
    // Round 2 overwrote the first three keys visited: learn which from the map.
    for k in 0..=KEYS {
        let now = map.load(&keys.make(k)).map(|v| v.value()).expect("present");
        assert!(now == k || now == k + 50, "key {k} holds {now}");
        expected.insert(k, now);
    }
    assert_eq!(
        expected.values().filter(|&&v| v >= 50).count(),
        3,
        "round 2 stored three values"
    );
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// Keys and values whose `Clone` panics, through every operation: the map never clones user
/// data (so it works for types that cannot be cloned cheaply or at all). For a map that says it
/// clones ([`Backend::CLONES`]), the same operations with cloneable keys and values: every clone
/// is dropped once.
pub fn never_clones<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let map = B::Map::<Tracked, Tracked>::default();
    let traps = if B::CLONES { 0 } else { PANIC_ON_CLONE };
    let key = |k| keys.make_trapped(k, traps);
    let value = |v| values.make_trapped(v, traps);
    for k in 0..KEYS {
        map.store(key(k), value(k));
    }
    let _ = map.load(&key(0));
    map.range(|_, _| true);
    map.store(key(1), value(11));
    assert_eq!(map.swap(key(2), value(12)).map(|v| v.value()), Some(2));
    assert!(map.load_or_store(key(3), value(13)).1);
    assert!(!map.load_or_store(key(KEYS), value(KEYS)).1);
    assert!(map.compare_and_swap(&key(4), &value(4), value(14)));
    assert!(map.compare_and_delete(&key(5), &value(5)));
    assert_eq!(map.load_and_delete(&key(6)).map(|v| v.value()), Some(6));
    map.delete(&key(7));
    let mut expected: HashMap<u64, u64> = [(0, 0), (1, 11), (2, 12), (3, 3), (4, 14), (KEYS, KEYS)]
        .into_iter()
        .collect();
    check_consistent(&map, &keys, &values, &expected);
    map.clear();
    expected.clear();
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// Closures of `load_or_store_with` and `update` that panic: nothing is inserted or changed,
/// nothing leaks, and the key can be computed again.
pub fn panicking_compute_and_update<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let (map, mut expected) = setup::<B>(&keys, &values);
    for k in [1, KEYS - 1] {
        expect_panic("update", || {
            map.update(&keys.make(k), |_| panic!("trap: update closure"))
                .map(|v| v.value())
        });
    }
    for k in [100, 101] {
        expect_panic("load_or_store_with", || {
            map.load_or_store_with(keys.make(k), || panic!("trap: load_or_store_with closure"))
                .1
        });
        assert!(
            map.load(&keys.make(k)).is_none(),
            "a panicking closure inserted key {k}"
        );
    }
    check_consistent(&map, &keys, &values, &expected);
    let (v, loaded) = map.load_or_store_with(keys.make(100), || values.make(100));
    assert_eq!((v.value(), loaded), (100, false));
    drop(v);
    expected.insert(100, 100);
    let updated = map.update(&keys.make(1), |v| values.make(v.value() + 1));
    assert_eq!(updated.map(|v| v.value()), Some(2));
    expected.insert(1, 2);
    check_consistent(&map, &keys, &values, &expected);
    check_no_leak::<B>(map, &keys, &values);
}

/// Runs `f`, counting its panic, if any, in `panics`.
fn count_panic(panics: &mut usize, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        *panics += 1;
    }
}

/// A map to run operations on while waiting: a backend whose collector runs destructors outside
/// any map operation (crossbeam-epoch's, from `quiesce`) surfaces their panics at this thread's
/// next operation, on any map.
struct Probe<B: Backend> {
    map: B::Map<Tracked, Tracked>,
    key: Tracked,
    _trackers: Tracker,
}

impl<B: Backend> Probe<B> {
    fn new() -> Self {
        let trackers = Tracker::new();
        Probe {
            map: B::Map::default(),
            key: trackers.make(0),
            _trackers: trackers,
        }
    }

    /// Quiesces until `done` holds, running a load on the probe map each round and counting the
    /// panics that surface; returns whether `done` held in time.
    fn settle(&self, panics: &mut usize, mut done: impl FnMut() -> bool) -> bool {
        let done = quiesce_until::<B>(RECLAIM_TIMEOUT, || {
            count_panic(panics, || drop(self.map.load(&self.key)));
            done()
        });
        self.tick(panics);
        done
    }

    /// One load on the probe map, counting a panic that surfaces there: a destructor's panic
    /// that the thread's collector kept for its next operation (seize and crossbeam-epoch).
    fn tick(&self, panics: &mut usize) {
        count_panic(panics, || drop(self.map.load(&self.key)));
    }
}

/// Keys in the maps of the panicking-destructor tests: more than a batch of every backend.
const MANY: u64 = 200;

/// A retired value whose `Drop` panics, freed in a batch with other retired objects: the rest of
/// the batch is still freed, later retirements are still freed (the reclaimer keeps working),
/// and the panic surfaces once (where the batch was freed, or at the map's drop).
pub fn panicking_drop_of_a_retired_value<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let probe = Probe::<B>::new();
    let mut panics = 0;
    let map = B::Map::<Tracked, Tracked>::default();
    for k in 0..MANY {
        map.store(keys.make(k), values.make(k));
    }
    // Replaced by the first round below: retired early in a batch that other values follow.
    map.store(keys.make(3), values.make_trapped(3, PANIC_ON_DROP_HERE));
    for round in 1..=4 {
        for k in 0..MANY {
            // The panic may surface in any write (the one whose retirement or guard ran the
            // batch), before or after it took effect; what the map holds is checked below only
            // through counts.
            count_panic(&mut panics, || {
                map.store(keys.make(k), values.make(round * 1000 + k));
            });
        }
        map.range(|_, _| true);
    }
    if B::FREES_BEFORE_DROP {
        // Everything retired after the panic is freed too: at most the live values and the
        // last, partly filled batch remain.
        let bound = MANY as usize + B::PENDING_LIMIT;
        let freed = probe.settle(&mut panics, || values.live() <= bound);
        assert!(
            freed,
            "{} values alive after the panicking drop, at most {bound} expected: the reclaimer \
             stopped freeing",
            values.live()
        );
    }
    count_panic(&mut panics, || drop(map));
    probe.settle(&mut panics, || {
        keys.all_dropped_once() && values.all_dropped_once()
    });
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
    assert_eq!(
        panics,
        values.drop_panics(),
        "each panicking drop surfaces exactly once"
    );
}

/// A map of `MANY` keys, half in read and half only in dirty, where `trapped_value`'s value and
/// `trapped_key`'s key panic when dropped; a few values have been replaced (retired) as well.
fn trapped_map<B: Backend>(
    keys: &Tracker,
    values: &Tracker,
    trapped_value: u64,
    trapped_key: Option<u64>,
) -> B::Map<Tracked, Tracked> {
    let map = B::Map::<Tracked, Tracked>::default();
    let key = |k| match trapped_key {
        Some(t) if t == k => keys.make_trapped(k, PANIC_ON_DROP_HERE),
        _ => keys.make(k),
    };
    let value = |k| {
        if k == trapped_value {
            values.make_trapped(k, PANIC_ON_DROP_HERE)
        } else {
            values.make(k)
        }
    };
    for k in 0..MANY / 2 {
        map.store(key(k), value(k));
    }
    map.range(|_, _| true);
    for k in MANY / 2..MANY {
        map.store(key(k), value(k));
    }
    for k in [0, MANY - 1] {
        map.store(keys.make(k), values.make(k + 1000));
    }
    map.delete(&keys.make(1));
    map
}

/// `clear` unlinks entries whose value panics when dropped: every other key and value is
/// dropped once, the panic surfaces once, and the map stays usable.
pub fn panicking_drop_at_clear<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let probe = Probe::<B>::new();
    let mut panics = 0;
    let map = trapped_map::<B>(&keys, &values, MANY / 2 - 1, None);
    count_panic(&mut panics, || map.clear());
    if B::FREES_BEFORE_DROP {
        let freed = probe.settle(&mut panics, || {
            keys.all_dropped_once() && values.all_dropped_once()
        });
        assert!(
            freed,
            "after a clear with a panicking drop, {} keys and {} values were not dropped",
            keys.live(),
            values.live()
        );
    } else {
        // A strategy that frees only some retirements before the drop (seize flushes a large
        // clear) may have run the destructor when the clear's guard left; its panic surfaces
        // at the thread's next operation.
        probe.tick(&mut panics);
    }
    check_consistent(&map, &keys, &values, &HashMap::new());
    for k in 0..MANY {
        map.store(keys.make(k), values.make(k));
    }
    count_panic(&mut panics, || map.clear());
    count_panic(&mut panics, || drop(map));
    probe.settle(&mut panics, || {
        keys.all_dropped_once() && values.all_dropped_once()
    });
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
    assert_eq!(
        panics,
        values.drop_panics(),
        "each panicking drop surfaces exactly once"
    );
}

/// Dropping a map that holds a value and a key whose `Drop` panics: every other key and value is
/// dropped once, and the drop panics once (the second panicking destructor's panic is caught and
/// dropped, or, as for std's collections, does not panic because the thread is already unwinding).
pub fn panicking_drop_at_map_drop<B: Backend>() {
    // Every operation here runs after (or is) one through which user code panicked.
    let _after = waiting_on(AFTER_A_PANIC.into());
    let (keys, values) = (Tracker::new(), Tracker::new());
    let probe = Probe::<B>::new();
    let mut panics = 0;
    let map = trapped_map::<B>(&keys, &values, MANY / 2 + 3, Some(5));
    count_panic(&mut panics, || drop(map));
    let dropped = probe.settle(&mut panics, || {
        keys.all_dropped_once() && values.all_dropped_once()
    });
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
    assert!(dropped);
    let trapped = keys.drop_panics() + values.drop_panics();
    assert!(
        (1..=2).contains(&trapped),
        "{trapped} trapped destructors panicked, 1 or 2 expected"
    );
    assert_eq!(panics, 1, "the map's drop surfaces one panic");
}
