//! The suite rejects wrong maps: each map here is [`RwLockMap`] with one deliberate bug, and
//! each test asserts that the suite's checks fail on it, and pass on the same wrapper without
//! the bug (so the failure is the bug's doing).

use std::{
    borrow::Borrow,
    hash::Hash,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use syncmap_testsuite::{
    Backend, ConcurrentMap, Key, Value, go, linearizability, memory, model, panic_safety,
    reference::RwLockMap, watchdog,
};

#[global_allocator]
static ALLOC: syncmap_testsuite::alloc::CountingAlloc =
    syncmap_testsuite::alloc::CountingAlloc::new();

/// No bug: the control.
const CORRECT: u8 = 0;
/// `load_or_store` overwrites a present value (and reports whether there was one).
const LOAD_OR_STORE_OVERWRITES: u8 = 1;
/// `swap` is a `load` followed by a separate `store`.
const SWAP_LOAD_THEN_STORE: u8 = 2;
/// `delete` leaks the value it removes.
const DELETE_LEAKS: u8 = 3;
/// `range` visits the first key again after visiting all of them.
const RANGE_REPEATS: u8 = 4;
/// `compare_and_swap` on a missing key reports success.
const CAS_SUCCEEDS_ON_MISSING: u8 = 5;
/// `range` allocates a buffer per call.
const RANGE_ALLOCATES: u8 = 6;
/// Writes hold a poisoning `std` lock around user code, so one panic breaks the map forever.
const POISONS_ON_PANIC: u8 = 7;

/// [`RwLockMap`] with the bug numbered `BUG`.
struct Wrong<K, V, const BUG: u8> {
    inner: RwLockMap<K, V>,
    gate: RwLock<()>,
    /// For `HOLDS_LOCK_IN_RANGE`: read-locked during `range`, write-locked by every write.
    table_lock: parking_lot::RwLock<()>,
}

impl<K, V, const BUG: u8> Default for Wrong<K, V, BUG> {
    fn default() -> Self {
        Wrong {
            inner: RwLockMap::default(),
            gate: RwLock::new(()),
            table_lock: parking_lot::RwLock::new(()),
        }
    }
}

impl<K, V, const BUG: u8> Wrong<K, V, BUG> {
    /// For `POISONS_ON_PANIC`: runs `f` under a `std` write lock, unwrapping its poison.
    fn gated<R>(&self, f: impl FnOnce() -> R) -> R {
        if BUG == HOLDS_LOCK_IN_RANGE {
            let _table = self.table_lock.write();
            f()
        } else if BUG == POISONS_ON_PANIC {
            let _gate = self.gate.write().unwrap();
            f()
        } else {
            f()
        }
    }
}

impl<K: Hash + Eq, V, const BUG: u8> ConcurrentMap<K, V> for Wrong<K, V, BUG> {
    type Ref<'a>
        = Arc<V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if BUG == HOLDS_LOCK_IN_RANGE {
            // Readers share the lock with `range`, as a lock-based map's would.
            let _table = self.table_lock.read();
            return self.inner.load(key);
        }
        self.gated(|| self.inner.load(key))
    }

    fn store(&self, key: K, value: V) {
        self.gated(|| self.inner.store(key, value))
    }

    fn load_or_store(&self, key: K, value: V) -> (Arc<V>, bool) {
        if BUG == LOAD_OR_STORE_OVERWRITES {
            if let Some(previous) = self.inner.load(&key) {
                self.inner.store(key, value);
                return (previous, true);
            }
        }
        self.gated(|| self.inner.load_or_store(key, value))
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (Arc<V>, bool)
    where
        F: FnOnce() -> V,
    {
        self.gated(|| self.inner.load_or_store_with(key, f))
    }

    fn update<Q, F>(&self, key: &Q, f: F) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.gated(|| self.inner.update(key, f))
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.gated(|| self.inner.load_and_delete(key))
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = self.gated(|| self.inner.load_and_delete(key));
        if BUG == DELETE_LEAKS {
            std::mem::forget(removed);
        }
    }

    fn swap(&self, key: K, value: V) -> Option<Arc<V>> {
        if BUG == SWAP_LOAD_THEN_STORE {
            let previous = self.inner.load(&key);
            std::thread::yield_now();
            self.inner.store(key, value);
            return previous;
        }
        self.gated(|| self.inner.swap(key, value))
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        if BUG == CAS_SUCCEEDS_ON_MISSING && self.inner.load(key).is_none() {
            return true;
        }
        self.gated(|| self.inner.compare_and_swap(key, old, new))
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        if BUG == CAD_LOAD_THEN_DELETE {
            let matches = self.inner.load(key).is_some_and(|v| *v == *old);
            if matches {
                std::thread::yield_now();
                self.inner.delete(key);
            }
            return matches;
        }
        self.gated(|| self.inner.compare_and_delete(key, old))
    }

    fn range<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        match BUG {
            RANGE_REPEATS => {
                let mut go_on = true;
                self.inner.range(|k, v| {
                    go_on = f(k, v);
                    go_on
                });
                if go_on {
                    self.inner.range(|k, v| {
                        f(k, v);
                        false
                    });
                }
            }
            RANGE_ALLOCATES => {
                let scratch: Vec<u64> = Vec::with_capacity(4);
                std::hint::black_box(&scratch);
                self.inner.range(f);
            }
            HOLDS_LOCK_IN_RANGE => {
                let _table = self.table_lock.read();
                self.inner.range(f);
            }
            _ => self.inner.range(f),
        }
    }

    fn clear(&self) {
        if BUG == CLEAR_ALLOCATES {
            std::hint::black_box(Vec::<u64>::with_capacity(4));
        }
        self.gated(|| self.inner.clear())
    }

    fn len(&self) -> usize {
        self.gated(|| self.inner.len())
    }
}

/// The wrong map numbered `BUG`, as a backend.
struct WrongBackend<const BUG: u8>;

impl<const BUG: u8> Backend for WrongBackend<BUG> {
    type Map<K: Key, V: Value> = Wrong<K, V, BUG>;
}

/// Whether `check` fails (panics) on the wrong map.
fn fails(check: fn()) -> bool {
    catch_unwind(AssertUnwindSafe(check)).is_err()
}

/// A check by name, instantiated for the wrong map and for the control.
type Check = (&'static str, fn(), fn());

/// Asserts that every check in `checks` rejects the bug, and accepts the control.
fn assert_rejected<const BUG: u8>(checks: &[Check]) {
    for &(name, wrong, control) in checks {
        assert!(!fails(control), "{name} rejects the correct control map");
        assert!(fails(wrong), "{name} accepts the wrong map (bug {BUG})");
    }
}

/// Runs `$check` on the wrong map and on the control, as `(name, wrong, control)`.
macro_rules! checks {
    ($bug:expr; $($module:ident :: $check:ident),+ $(,)?) => {
        &[$((
            stringify!($module::$check),
            $module::$check::<WrongBackend<{ $bug }>> as fn(),
            $module::$check::<WrongBackend<CORRECT>> as fn(),
        )),+]
    };
}

#[test]
fn load_or_store_that_overwrites_is_rejected() {
    assert_rejected::<LOAD_OR_STORE_OVERWRITES>(checks![LOAD_OR_STORE_OVERWRITES;
        model::sequential_u64,
        go::concurrent_load_or_store_one_winner,
        linearizability::per_key_histories,
    ]);
}

#[test]
fn swap_made_of_load_and_store_is_rejected() {
    assert_rejected::<SWAP_LOAD_THEN_STORE>(checks![SWAP_LOAD_THEN_STORE;
        go::concurrent_swap_no_lost_value,
        linearizability::per_key_histories,
    ]);
}

#[test]
fn delete_that_leaks_is_rejected() {
    assert_rejected::<DELETE_LEAKS>(checks![DELETE_LEAKS;
        memory::drops_exactly_once_sequential,
        memory::drops_exactly_once_concurrent,
    ]);
}

#[test]
fn range_that_repeats_a_key_is_rejected() {
    assert_rejected::<RANGE_REPEATS>(checks![RANGE_REPEATS;
        model::sequential_u64,
        go::concurrent_range,
        panic_safety::never_clones,
    ]);
}

#[test]
fn compare_and_swap_that_succeeds_on_a_missing_key_is_rejected() {
    assert_rejected::<CAS_SUCCEEDS_ON_MISSING>(checks![CAS_SUCCEEDS_ON_MISSING;
        go::compare_and_swap_missing_key,
        model::sequential_u64,
    ]);
}

#[test]
fn range_that_allocates_is_rejected() {
    assert_rejected::<RANGE_ALLOCATES>(checks![RANGE_ALLOCATES;
        memory::range_allocates_nothing,
    ]);
}

#[test]
fn map_broken_by_a_panic_is_rejected() {
    assert_rejected::<POISONS_ON_PANIC>(checks![POISONS_ON_PANIC;
        panic_safety::panicking_hash,
        panic_safety::panicking_eq,
    ]);
}

// The bugs below are numbered from 20, apart from the list at the top.

/// `compare_and_delete` is a `load` and a comparison followed by a separate `delete`.
const CAD_LOAD_THEN_DELETE: u8 = 20;
/// `clear` allocates (a fresh table, say), even when the map is empty.
const CLEAR_ALLOCATES: u8 = 21;

#[test]
fn compare_and_delete_made_of_load_and_delete_is_rejected() {
    assert_rejected::<CAD_LOAD_THEN_DELETE>(checks![CAD_LOAD_THEN_DELETE;
        go::concurrent_compare_and_delete_once,
    ]);
    // `concurrent_cache` catches the bug only when a cleanup's compare-and-delete is preempted
    // at the right moment, which a loaded machine makes rarer: it must catch it within 5 runs.
    let control = go::concurrent_cache::<WrongBackend<CORRECT>>;
    assert!(
        !fails(control),
        "go::concurrent_cache rejects the control map"
    );
    let wrong = go::concurrent_cache::<WrongBackend<CAD_LOAD_THEN_DELETE>>;
    assert!(
        (0..5).any(|_| fails(wrong)),
        "go::concurrent_cache accepts the wrong map 5 times (bug {CAD_LOAD_THEN_DELETE})"
    );
}

#[test]
fn operations_on_an_empty_map_that_allocate_are_rejected() {
    assert_rejected::<CLEAR_ALLOCATES>(checks![CLEAR_ALLOCATES;
        go::empty_map_operations_allocate_nothing,
    ]);
    assert_rejected::<RANGE_ALLOCATES>(checks![RANGE_ALLOCATES;
        go::empty_map_operations_allocate_nothing,
    ]);
}

#[test]
fn go_hash_trie_map_tests_reject_wrong_maps() {
    assert_rejected::<LOAD_OR_STORE_OVERWRITES>(checks![LOAD_OR_STORE_OVERWRITES;
        go::hash_trie_map,
        go::hash_trie_map_bad_hash,
        go::hash_trie_map_trunc_hash,
    ]);
    assert_rejected::<CAS_SUCCEEDS_ON_MISSING>(checks![CAS_SUCCEEDS_ON_MISSING;
        go::hash_trie_map,
    ]);
    assert_rejected::<RANGE_REPEATS>(checks![RANGE_REPEATS;
        go::hash_trie_map,
    ]);
}

/// `range` holds the map's lock (a read lock) while the callback runs, and every write takes
/// it (a write lock): a callback that writes the map deadlocks.
const HOLDS_LOCK_IN_RANGE: u8 = 22;

/// A deliberately deadlocking map is reported by the watchdog, naming the `range` callback,
/// instead of hanging the run; the control passes the same checks under the same watchdog.
#[test]
fn map_that_holds_its_lock_during_range_is_reported_not_hung() {
    let checks: &[Check] = checks![HOLDS_LOCK_IN_RANGE;
        go::range_nested_call,
        go::hash_trie_map,
        panic_safety::panicking_callback,
        model::sequential_u64,
    ];
    for &(name, wrong, control) in checks {
        watchdog::run_for(name, Duration::from_secs(120), control);
        let started = Instant::now();
        let deadline = Duration::from_secs(2);
        let failure = catch_unwind(|| watchdog::run_for(name, deadline, wrong))
            .expect_err(&format!("{name} accepts the deadlocking map"));
        let message = failure
            .downcast_ref::<String>()
            .unwrap_or_else(|| panic!("{name}: the failure is not the watchdog's message"));
        assert!(
            message.starts_with("watchdog:")
                && message.contains(name)
                && message.contains("a `range` callback that calls the map")
                && message.contains("holds a lock while the callback runs"),
            "{name}: the watchdog's message does not name the cause: {message}"
        );
        assert!(
            started.elapsed() < deadline + Duration::from_secs(10),
            "{name}: the watchdog took {:?} to fire",
            started.elapsed()
        );
    }
}
