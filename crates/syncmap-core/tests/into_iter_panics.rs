//! `SyncMap::into_iter` and the drop of its iterator when a key's or value's `Drop` panics:
//! every other key and value is still dropped exactly once, and the panic surfaces once.
#![cfg(not(loom))]

use std::panic::{AssertUnwindSafe, catch_unwind};

use syncmap_core::{SyncMap, reclaim::DeferToDrop};
use syncmap_testsuite::tracked::{PANIC_ON_DROP, Tracked, Tracker};

type Map = SyncMap<Tracked, Tracked, DeferToDrop>;

/// A map of 100 keys, whose value 10 and value 20 panic when dropped.
fn trapped(keys: &Tracker, values: &Tracker) -> Map {
    let map = Map::new();
    for k in 0..100 {
        let traps = if k == 10 || k == 20 { PANIC_ON_DROP } else { 0 };
        map.store(keys.make(k), values.make_trapped(k, traps));
    }
    map
}

#[test]
fn dropping_a_partly_consumed_into_iter() {
    let (keys, values) = (Tracker::new(), Tracker::new());
    let mut iter = trapped(&keys, &values).into_iter();
    let taken: Vec<_> = iter.by_ref().take(3).collect();
    let taken_trapped = taken
        .iter()
        .filter(|(k, _)| [10, 20].contains(&k.value()))
        .count();
    assert!(catch_unwind(AssertUnwindSafe(|| drop(iter))).is_err() || taken_trapped == 2);
    assert_eq!(values.live(), 3, "the items not taken were all dropped");
    // Dropping the taken items may panic too (a trapped one among them).
    let _ = catch_unwind(AssertUnwindSafe(|| drop(taken)));
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
    assert_eq!(
        values.drop_panics(),
        2,
        "both trapped values panicked once each"
    );
}

#[test]
fn into_iter_of_deleted_keys_that_panic() {
    let (keys, values) = (Tracker::new(), Tracker::new());
    let map = Map::new();
    for k in 0..100 {
        let traps = if k == 10 || k == 20 { PANIC_ON_DROP } else { 0 };
        map.store(keys.make_trapped(k, traps), values.make(k));
    }
    for k in 0..50 {
        map.delete(&keys.make(k));
    }
    // The deleted keys are dropped by `into_iter`, which panics once after dropping them all,
    // and drops the pairs it had collected while unwinding.
    let result = catch_unwind(AssertUnwindSafe(|| map.into_iter().count()));
    assert!(result.is_err(), "a deleted key's panicking drop surfaced");
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
    assert_eq!(
        keys.drop_panics(),
        2,
        "each trapped key panicked, neither aborted"
    );
}
