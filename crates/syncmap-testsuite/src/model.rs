//! Sequential model-based tests: random operation sequences, applied to the map and to a
//! `HashMap` model, must give the same answers (proptest, with shrinking).
//!
//! Checks the contract's [Atomicity](crate::ConcurrentMap#atomicity) run alone ("the map
//! answers as a `HashMap` would, call by call"), including lookups by a borrowed form of the
//! key.

use std::{cell::Cell, collections::HashMap};

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};

use crate::{
    Backend, ConcurrentMap, Stats,
    util::scaled,
    watchdog::{RANGE_CALLBACK_CALLS_MAP, waiting_on},
};

/// Keys are drawn from `0..KEYS`: few enough that loads hit stored keys and deletes hit live
/// ones, many enough that a dirty table grows past a handful of misses before promotion.
pub const KEYS: u64 = 24;
/// Values are drawn from `0..VALUES`, so that compare-and-swap often compares equal.
pub const VALUES: u64 = 4;

/// One call of the [`ConcurrentMap`] API.
#[derive(Clone, Debug)]
pub enum Op {
    /// `load(key)`
    Load(u64),
    /// `store(key, value)`
    Store(u64, u64),
    /// `load_or_store(key, value)`
    LoadOrStore(u64, u64),
    /// `load_and_delete(key)`
    LoadAndDelete(u64),
    /// `delete(key)`
    Delete(u64),
    /// `swap(key, value)`
    Swap(u64, u64),
    /// `compare_and_swap(key, old, new)`
    CompareAndSwap(u64, u64, u64),
    /// `compare_and_delete(key, old)`
    CompareAndDelete(u64, u64),
    /// `range`, stopping after this many keys.
    Range(usize),
    /// `load_or_store_with(key, || value)`
    LoadOrStoreWith(u64, u64),
    /// `update(key, |v| (v + delta) % VALUES)`
    Update(u64, u64),
    /// `load_cloned(key)`
    LoadCloned(u64),
    /// `retain(|k, v| (k + v) % 3 != m)`
    Retain(u64),
    /// `clear()`
    Clear,
    /// `len()` and `is_empty()`
    Len,
}

/// A strategy for one operation, weighted towards loads (which drive misses and promotions).
///
/// # Examples
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let op = syncmap_testsuite::model::op().new_tree(&mut TestRunner::default()).unwrap().current();
/// println!("{op:?}");
/// ```
pub fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS;
    let value = 0..VALUES;
    prop_oneof![
        8 => key.clone().prop_map(Op::Load),
        5 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::Store(k, v)),
        2 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::LoadOrStore(k, v)),
        2 => key.clone().prop_map(Op::LoadAndDelete),
        3 => key.clone().prop_map(Op::Delete),
        2 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::Swap(k, v)),
        2 => (key.clone(), value.clone(), value.clone())
            .prop_map(|(k, o, n)| Op::CompareAndSwap(k, o, n)),
        2 => (key.clone(), value.clone()).prop_map(|(k, o)| Op::CompareAndDelete(k, o)),
        1 => (0..KEYS as usize + 2).prop_map(Op::Range),
        2 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::LoadOrStoreWith(k, v)),
        2 => (key.clone(), 1..VALUES).prop_map(|(k, d)| Op::Update(k, d)),
        1 => key.clone().prop_map(Op::LoadCloned),
        1 => (0..3_u64).prop_map(Op::Retain),
        1 => Just(Op::Len),
        1 => Just(Op::Clear),
    ]
}

/// Applies `ops` to `map` and to a model, failing at the first difference.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::{model::{Op, check_ops}, reference::RwLockMap};
///
/// let map: RwLockMap<u64, u64> = Default::default();
/// check_ops(&map, &[Op::Store(1, 2), Op::Load(1), Op::Delete(1), Op::Len]).unwrap();
/// ```
pub fn check_ops<M: ConcurrentMap<u64, u64>>(map: &M, ops: &[Op]) -> Result<(), TestCaseError> {
    let model = run_ops(map, ops)?;
    for k in 0..KEYS {
        prop_assert_eq!(
            map.load(&k).map(|v| *v),
            model.get(&k).copied(),
            "final load {}",
            k
        );
    }
    prop_assert_eq!(map.len(), model.len(), "final len");
    Ok(())
}

/// Applies `ops` to `map` and to a model, failing at the first difference; returns the model.
fn run_ops<M: ConcurrentMap<u64, u64>>(
    map: &M,
    ops: &[Op],
) -> Result<HashMap<u64, u64>, TestCaseError> {
    let mut model: HashMap<u64, u64> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Load(k) => {
                let got = map.load(&k).map(|v| *v);
                prop_assert_eq!(got, model.get(&k).copied(), "step {}: {:?}", i, op);
                let contains = map.contains_key(&k);
                prop_assert_eq!(contains, got.is_some(), "step {}: contains_key", i);
            }
            Op::Store(k, v) => {
                map.store(k, v);
                model.insert(k, v);
            }
            Op::LoadOrStore(k, v) => {
                let (got, loaded) = map.load_or_store(k, v);
                let got = *got;
                let expected = match model.get(&k) {
                    Some(&old) => (old, true),
                    None => {
                        model.insert(k, v);
                        (v, false)
                    }
                };
                prop_assert_eq!((got, loaded), expected, "step {}: {:?}", i, op);
            }
            Op::LoadAndDelete(k) => {
                let got = map.load_and_delete(&k).map(|v| *v);
                prop_assert_eq!(got, model.remove(&k), "step {}: {:?}", i, op);
            }
            Op::Delete(k) => {
                map.delete(&k);
                model.remove(&k);
            }
            Op::Swap(k, v) => {
                let got = map.swap(k, v).map(|v| *v);
                prop_assert_eq!(got, model.insert(k, v), "step {}: {:?}", i, op);
            }
            Op::CompareAndSwap(k, old, new) => {
                let got = map.compare_and_swap(&k, &old, new);
                let expected = model.get(&k) == Some(&old);
                if expected {
                    model.insert(k, new);
                }
                prop_assert_eq!(got, expected, "step {}: {:?}", i, op);
            }
            Op::CompareAndDelete(k, old) => {
                let got = map.compare_and_delete(&k, &old);
                let expected = model.get(&k) == Some(&old);
                if expected {
                    model.remove(&k);
                }
                prop_assert_eq!(got, expected, "step {}: {:?}", i, op);
            }
            Op::Range(stop) => {
                let mut seen = Vec::new();
                map.range(|&k, &v| {
                    seen.push((k, v));
                    seen.len() < stop
                });
                check_range(&model, &seen, stop)
                    .map_err(|e| TestCaseError::fail(format!("step {i}: {op:?}: {e}")))?;
            }
            Op::Clear => {
                map.clear();
                model.clear();
            }
            Op::LoadOrStoreWith(k, v) => {
                let mut calls = 0;
                let (got, loaded) = map.load_or_store_with(k, || {
                    calls += 1;
                    v
                });
                let got = *got;
                let expected = match model.get(&k) {
                    Some(&old) => (old, true, 0),
                    None => {
                        model.insert(k, v);
                        (v, false, 1)
                    }
                };
                prop_assert_eq!((got, loaded, calls), expected, "step {}: {:?}", i, op);
            }
            Op::Update(k, delta) => {
                let got = map.update(&k, |v| (v + delta) % VALUES).map(|v| *v);
                let expected = model.get_mut(&k).map(|v| {
                    *v = (*v + delta) % VALUES;
                    *v
                });
                prop_assert_eq!(got, expected, "step {}: {:?}", i, op);
            }
            Op::LoadCloned(k) => {
                prop_assert_eq!(
                    map.load_cloned(&k),
                    model.get(&k).copied(),
                    "step {}: {:?}",
                    i,
                    op
                );
            }
            Op::Retain(m) => {
                let mut visited = 0;
                // The provided `retain` deletes from inside a `range` callback.
                let waiting = waiting_on(RANGE_CALLBACK_CALLS_MAP.into());
                map.retain(|&k, &v| {
                    visited += 1;
                    (k + v) % 3 != m
                });
                drop(waiting);
                prop_assert_eq!(visited, model.len(), "step {}: {:?} visits", i, op);
                model.retain(|&k, &mut v| (k + v) % 3 != m);
            }
            Op::Len => {
                prop_assert_eq!(map.len(), model.len(), "step {}: {:?}", i, op);
                prop_assert_eq!(map.is_empty(), model.is_empty(), "step {}: {:?}", i, op);
            }
        }
    }
    Ok(model)
}

/// Checks what a sequential `range` that stops after `stop` keys visited.
fn check_range(model: &HashMap<u64, u64>, seen: &[(u64, u64)], stop: usize) -> Result<(), String> {
    let mut keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() != seen.len() {
        return Err(format!("range visited a key twice: {seen:?}"));
    }
    for &(k, v) in seen {
        if model.get(&k) != Some(&v) {
            return Err(format!(
                "range visited ({k}, {v}); the model has {:?}",
                model.get(&k)
            ));
        }
    }
    let expected = stop.max(1).min(model.len());
    if seen.len() != expected {
        return Err(format!(
            "range visited {} keys of {} (stopping after {stop}): {seen:?}",
            seen.len(),
            model.len()
        ));
    }
    Ok(())
}

fn add(total: &Cell<Stats>, s: Stats) {
    let mut t = total.get();
    t.read_hits += s.read_hits;
    t.misses += s.misses;
    t.promotions += s.promotions;
    t.dirty_rebuilds += s.dirty_rebuilds;
    t.expunged += s.expunged;
    t.unexpunged += s.unexpunged;
    total.set(t);
}

/// Random sequences of up to 400 operations on `u64` keys and values, each on a fresh map,
/// compared with the model step by step. If the map has statistics, the run must have exercised
/// promotions, dirty rebuilds, expunges and unexpunges (otherwise it proves little).
pub fn sequential_u64<B: Backend>() {
    let config = Config {
        cases: scaled(256) as u32,
        failure_persistence: None,
        ..Config::default()
    };
    let total = Cell::new(Stats::default());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), 1..400), |ops| {
        let map = B::Map::<u64, u64>::default();
        let outcome = check_ops(&map, &ops);
        if let Some(stats) = map.stats_if_any() {
            add(&total, stats);
        }
        outcome
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    if B::Map::<u64, u64>::default().stats_if_any().is_some() {
        let t = total.get();
        assert!(
            t.promotions > 0 && t.dirty_rebuilds > 0 && t.expunged > 0 && t.unexpunged > 0,
            "the random sequences did not reach every internal path: {t:?}"
        );
    }
}

/// A scripted sequence through every state of an entry (present in dirty, promoted, deleted,
/// expunged, revived, cleared, re-inserted), checking every answer against the model; for a map
/// with statistics, checks that each internal event happened where Go's algorithm has it (on
/// [`Backend::unsharded`] maps).
pub fn sequential_drives_every_internal_path<B: Backend>() {
    let map = B::unsharded::<u64, u64>();
    let script = [
        // New keys go to dirty.
        Op::Store(1, 1),
        Op::Store(2, 2),
        Op::Store(3, 3),
        // Misses: enough to promote.
        Op::Load(1),
        Op::Load(2),
        Op::Load(3),
        Op::Load(1),
        // Deleted in read.
        Op::Delete(2),
        Op::LoadAndDelete(3),
        // A new key rebuilds dirty, expunging 2 and 3.
        Op::Store(4, 4),
        // Storing an expunged key revives it.
        Op::Store(2, 20),
        Op::Swap(3, 30),
        Op::Load(2),
        Op::Load(3),
        Op::Load(4),
        Op::Load(4),
        Op::Load(4),
        Op::Range(10),
        Op::Len,
        Op::CompareAndSwap(2, 20, 21),
        Op::CompareAndDelete(3, 30),
        Op::Clear,
        Op::Len,
        Op::Load(2),
        Op::LoadOrStore(2, 5),
        Op::Store(9, 9),
        Op::Range(10),
        Op::Len,
    ];
    check_ops(&map, &script).unwrap_or_else(|e| panic!("{e}"));
    if map.stats_if_any().is_none() {
        return;
    }
    // The statistics after the first `n` steps, replayed on a fresh map.
    let at = |n: usize| {
        let map = B::unsharded::<u64, u64>();
        run_ops(&map, &script[..n]).unwrap_or_else(|e| panic!("{e}"));
        map.stats_if_any().expect("stats")
    };
    assert_eq!(at(3).dirty_rebuilds, 1, "new keys share one dirty rebuild");
    assert_eq!(at(3).promotions, 0);
    assert!(at(7).promotions >= 1, "misses reaching len(dirty) promote");
    let rebuilt = at(10);
    assert_eq!(
        rebuilt.dirty_rebuilds, 2,
        "a new key after promotion rebuilds"
    );
    assert_eq!(
        rebuilt.expunged, 2,
        "the rebuild expunges the two deleted keys"
    );
    assert_eq!(at(12).unexpunged, 2, "storing expunged keys revives them");
}

/// Lookups by a borrowed form of the key (`String` keys, `&str` queries), through every method
/// that takes one.
pub fn borrowed_lookups<B: Backend>() {
    let map = B::Map::<String, u64>::default();
    map.store("a".to_string(), 1);
    assert_eq!(map.load("a").map(|v| *v), Some(1));
    assert!(map.load("b").is_none());
    assert!(map.compare_and_swap("a", &1, 2));
    assert!(!map.compare_and_swap("b", &1, 2));
    assert_eq!(map.load_and_delete("a").map(|v| *v), Some(2));
    map.store("b".to_string(), 3);
    assert!(!map.compare_and_delete("b", &4));
    assert!(map.compare_and_delete("b", &3));
    map.store("c".to_string(), 5);
    map.delete("c");
    assert!(map.is_empty());
}
