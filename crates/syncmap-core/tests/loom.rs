//! Loom models of the algorithm, over the reference strategy `DeferToDrop`.
//!
//! Run with `cargo xtask loom` (all models, `LOOM_MAX_PREEMPTIONS=8`; `cargo xtask ci` runs them
//! at 3), or by hand:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p syncmap-core --release --test loom`.
//! Each model sets up a map in a chosen internal state (keys only in dirty, promoted, deleted,
//! expunged) with sequential calls, then races two or three threads, and checks every outcome
//! loom can produce against what the sequential specification allows.
#![cfg(loom)]

use std::{
    collections::BTreeMap,
    hash::{BuildHasher, BuildHasherDefault, DefaultHasher},
};

use loom::{sync::Arc, thread};
use syncmap_core::{SyncMap, reclaim::DeferToDrop};

/// The models' maps, by hasher.
type MapWith<S> = SyncMap<u64, u64, DeferToDrop, S>;

/// A fixed hasher: loom replays executions and needs every one to make the same calls, so table
/// layouts (and `range` orders) must not depend on `RandomState`'s per-map keys.
type Map = MapWith<BuildHasherDefault<DefaultHasher>>;

/// What the helpers below ask of a model's hasher.
trait Hasher: BuildHasher + Send + Sync + 'static {}
impl<S: BuildHasher + Send + Sync + 'static> Hasher for S {}

/// Runs `f` under loom, with a preemption bound of 2 unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise (an unbounded search of these models takes hours).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&executions);
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    let executions = executions.load(Relaxed);
    eprintln!(
        "{} executions (preemption bound {:?})",
        executions, builder.preemption_bound
    );
    assert!(executions > 1, "loom explored a single interleaving");
}

fn load<S: Hasher>(map: &MapWith<S>, key: u64) -> Option<u64> {
    map.load(&key).copied()
}

/// Everything `range` visits, asserting that no key is visited twice.
fn contents<S: Hasher>(map: &MapWith<S>) -> BTreeMap<u64, u64> {
    let mut seen = BTreeMap::default();
    map.range(|&k, &v| {
        assert!(seen.insert(k, v).is_none(), "range visited {k} twice");
        true
    });
    seen
}

/// Asserts that `load`, `range` (which promotes) and `len` all agree with `expected`.
fn assert_state<S: Hasher>(map: &MapWith<S>, expected: &[(u64, u64)]) {
    let expected: BTreeMap<u64, u64> = expected.iter().copied().collect();
    for k in 0..4 {
        assert_eq!(load(map, k), expected.get(&k).copied(), "load({k})");
    }
    assert_eq!(contents(map), expected, "range");
    assert_eq!(map.len(), expected.len(), "len");
}

fn spawn<S: Hasher>(
    map: &Arc<MapWith<S>>,
    f: impl FnOnce(&MapWith<S>) -> u64 + Send + 'static,
) -> thread::JoinHandle<u64> {
    let map = Arc::clone(map);
    thread::spawn(move || f(&map))
}

const NONE: u64 = u64::MAX;

fn opt(v: Option<u64>) -> u64 {
    v.unwrap_or(NONE)
}

/// Lock-free loads race a store to the same key and the misses that promote dirty.
#[test]
fn load_vs_store_vs_promotion() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 10);
        map.store(2, 20);
        let reader = spawn(&map, |m| {
            // Two misses against two dirty keys: the second promotes.
            let first = opt(load(m, 1));
            let second = opt(load(m, 1));
            assert!(first == 10 || first == 11, "first load saw {first}");
            assert!(second == 10 || second == 11, "second load saw {second}");
            assert!(!(first == 11 && second == 10), "loads went back in time");
            0
        });
        let writer = spawn(&map, |m| {
            m.store(1, 11);
            0
        });
        assert_eq!(load(&map, 2), Some(20));
        reader.join().unwrap();
        writer.join().unwrap();
        assert_state(&map, &[(1, 11), (2, 20)]);
    });
}

/// A store revives a deleted key (lock-free, or by unexpunging it under the lock) while a new
/// key rebuilds dirty and expunges deleted entries: the revived value must never be lost.
#[test]
fn store_into_expunged_vs_dirty_rebuild() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 1);
        assert_eq!(load(&map, 1), Some(1)); // one miss against one dirty key: promoted
        map.delete(&1); // deleted in read
        let rebuild = spawn(&map, |m| {
            m.store(2, 2); // new key: rebuilds dirty, expunging 1 unless revived first
            0
        });
        let revive = spawn(&map, |m| {
            m.store(1, 10);
            0
        });
        rebuild.join().unwrap();
        revive.join().unwrap();
        assert_state(&map, &[(1, 10), (2, 2)]);
        // After a promotion (range promotes) key 1 must still be there.
        map.store(3, 3);
        assert_state(&map, &[(1, 10), (2, 2), (3, 3)]);
    });
}

/// Two swaps of one key, while a third thread adds a key (rebuilding dirty): each swap returns
/// what the other left, or the initial value, and no value is lost.
#[test]
fn swap_vs_swap() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 0);
        let a = spawn(&map, |m| opt(m.swap(1, 1).copied()));
        let b = spawn(&map, |m| opt(m.swap(1, 2).copied()));
        map.store(2, 2);
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let last = load(&map, 1).unwrap();
        match (a, b) {
            (0, 1) => assert_eq!(last, 2),
            (2, 0) => assert_eq!(last, 1),
            other => panic!("swaps returned {other:?}"),
        }
        assert_state(&map, &[(1, last), (2, 2)]);
    });
}

/// Two compare-and-swaps from the same old value (one in read, promoted): exactly one wins.
#[test]
fn compare_and_swap_race() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 0);
        assert_eq!(load(&map, 1), Some(0)); // promoted
        let a = spawn(&map, |m| u64::from(m.compare_and_swap(&1, &0, 1)));
        let b = spawn(&map, |m| u64::from(m.compare_and_swap(&1, &0, 2)));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(a + b, 1, "exactly one compare-and-swap wins");
        let winner = if a == 1 { 1 } else { 2 };
        assert_state(&map, &[(1, winner)]);
    });
}

/// `range` promotes dirty while another thread stores a new key and deletes another: the key
/// present throughout is visited exactly once, and the final state is exact.
#[test]
fn range_promotion_vs_writes() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 1);
        map.store(2, 2); // both only in dirty: range must promote
        let ranger = spawn(&map, |m| {
            let seen = contents(m);
            assert_eq!(
                seen.get(&1),
                Some(&1),
                "range missed a key present throughout"
            );
            for (&k, &v) in &seen {
                assert!(
                    matches!((k, v), (1, 1) | (2, 2) | (3, 3)),
                    "range saw ({k}, {v})"
                );
            }
            0
        });
        let writer = spawn(&map, |m| {
            m.store(3, 3);
            m.delete(&2);
            0
        });
        ranger.join().unwrap();
        writer.join().unwrap();
        assert_state(&map, &[(1, 1), (3, 3)]);
    });
}

/// Two `load_or_store`s of one new key: exactly one stores, and both return its value.
#[test]
fn load_or_store_race() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(9, 9);
        let a = spawn(&map, |m| {
            let (v, loaded) = m.load_or_store(1, 1);
            *v * 10 + u64::from(loaded)
        });
        let b = spawn(&map, |m| {
            let (v, loaded) = m.load_or_store(1, 2);
            *v * 10 + u64::from(loaded)
        });
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let stored = load(&map, 1).unwrap();
        assert!(
            (a, b) == (10, 11) || (a, b) == (21, 20),
            "load_or_store returned {a} and {b}"
        );
        assert_eq!(stored, a / 10);
        assert_state(&map, &[(1, stored), (9, 9)]);
    });
}

/// Two `load_and_delete`s of a key only in dirty (the path that unlinks and retires its
/// entry): exactly one gets the value.
#[test]
fn load_and_delete_race() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 1);
        map.store(2, 2);
        let a = spawn(&map, |m| opt(m.load_and_delete(&1).copied()));
        let b = spawn(&map, |m| opt(m.load_and_delete(&1).copied()));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert!(
            (a, b) == (1, NONE) || (a, b) == (NONE, 1),
            "got {a} and {b}"
        );
        assert_state(&map, &[(2, 2)]);
    });
}

/// `clear` races a store of a new key and a store of a present one: each key ends as if the
/// clear happened wholly before or after each store.
#[test]
fn clear_vs_stores() {
    model(|| clear_vs_two_stores(Map::default(), 2));
}

/// The body of [`clear_vs_stores`] and [`sharded_clear_vs_stores_in_both_shards`]: key 1 is
/// promoted, then a `clear` races a thread that stores `earlier` (value 2) and then key 1
/// (value 10).
fn clear_vs_two_stores<S: Hasher>(map: MapWith<S>, earlier: u64) {
    let map = Arc::new(map);
    map.store(1, 1);
    assert_eq!(load(&map, 1), Some(1)); // promoted
    let clear = spawn(&map, |m| {
        m.clear();
        0
    });
    let store = spawn(&map, move |m| {
        m.store(earlier, 2);
        m.store(1, 10);
        0
    });
    clear.join().unwrap();
    store.join().unwrap();
    let one = load(&map, 1);
    let two = load(&map, earlier);
    assert!(one.is_none() || one == Some(10), "key 1 holds {one:?}");
    assert!(
        two.is_none() || two == Some(2),
        "key {earlier} holds {two:?}"
    );
    // The store of `earlier` precedes the store of 1: a clear that removed 1's new value also
    // removed `earlier`'s.
    assert!(
        !(one.is_none() && two.is_some()),
        "clear split the thread's stores"
    );
    let expected: Vec<(u64, u64)> = [(1, one), (earlier, two)]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    assert_state(&map, &expected);
}

/// `update` races `update` on a promoted key: no increment is lost.
#[test]
fn update_race() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 0);
        assert_eq!(load(&map, 1), Some(0));
        let a = spawn(&map, |m| opt(m.update(&1, |v| v + 1).map(|v| *v)));
        let b = spawn(&map, |m| opt(m.update(&1, |v| v + 1).map(|v| *v)));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert!(
            (a, b) == (1, 2) || (a, b) == (2, 1),
            "updates returned {a} and {b}"
        );
        assert_state(&map, &[(1, 2)]);
    });
}

/// `load_or_store_with` races on a new key: the closure runs once, and both callers get its
/// value.
#[test]
fn load_or_store_with_race() {
    model(|| {
        let map = Arc::new(Map::default());
        let calls = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let run = |value: u64| {
            let calls = Arc::clone(&calls);
            move |m: &Map| {
                let (v, loaded) = m.load_or_store_with(1, || {
                    calls.fetch_add(1, loom::sync::atomic::Ordering::Relaxed);
                    value
                });
                *v * 10 + u64::from(loaded)
            }
        };
        let a = spawn(&map, run(1));
        let b = spawn(&map, run(2));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(calls.load(loom::sync::atomic::Ordering::Relaxed), 1);
        assert!(
            (a, b) == (10, 11) || (a, b) == (21, 20),
            "returned {a} and {b}"
        );
        assert_state(&map, &[(1, a / 10)]);
    });
}

/// A delete that unlinks a key only dirty has, a store of the same key, and misses that
/// promote dirty, all at once (three threads).
#[test]
fn delete_vs_store_vs_miss_promotion() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 1);
        map.store(2, 2);
        let deleter = spawn(&map, |m| {
            m.delete(&1);
            0
        });
        let storer = spawn(&map, |m| {
            m.store(1, 10);
            0
        });
        assert_eq!(load(&map, 2), Some(2));
        assert_eq!(load(&map, 2), Some(2));
        deleter.join().unwrap();
        storer.join().unwrap();
        let one = load(&map, 1);
        assert!(one.is_none() || one == Some(10), "key 1 holds {one:?}");
        let expected: Vec<(u64, u64)> = [(1, one), (2, Some(2))]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        assert_state(&map, &expected);
    });
}

/// An expunged key is revived while a new key rebuilds dirty and a `range` runs (three
/// threads): `range` sees the key present throughout, and nothing is lost.
#[test]
fn revive_vs_rebuild_vs_range() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(1, 1);
        map.store(2, 2);
        map.range(|_, _| true); // promoted
        map.delete(&1);
        let rebuild = spawn(&map, |m| {
            m.store(3, 3);
            0
        });
        let revive = spawn(&map, |m| {
            m.store(1, 10);
            0
        });
        let seen = contents(&map);
        assert_eq!(
            seen.get(&2),
            Some(&2),
            "range missed a key present throughout"
        );
        assert!(matches!(seen.get(&1), None | Some(&10)));
        assert!(matches!(seen.get(&3), None | Some(&3)));
        rebuild.join().unwrap();
        revive.join().unwrap();
        assert_state(&map, &[(1, 10), (2, 2), (3, 3)]);
    });
}

/// `load_or_store_with` reserves a new key while another thread stores it: the store waits for
/// the reservation (or goes first), and the last write wins.
#[test]
fn load_or_store_with_vs_store() {
    model(|| {
        let map = Arc::new(Map::default());
        let computing = spawn(&map, |m| {
            let (v, loaded) = m.load_or_store_with(1, || 1);
            *v * 10 + u64::from(loaded)
        });
        let storer = spawn(&map, |m| {
            m.store(1, 2);
            0
        });
        let computed = computing.join().unwrap();
        storer.join().unwrap();
        assert!(
            computed == 10 || computed == 21,
            "load_or_store_with returned {computed}"
        );
        assert_state(&map, &[(1, 2)]);
    });
}

/// `load_or_store_with` of a new key races `delete` of that key and `clear`: the closure's
/// value is returned, and the key ends either stored or deleted, never half-way.
#[test]
fn load_or_store_with_vs_delete_and_clear() {
    model(|| {
        let map = Arc::new(Map::default());
        map.store(2, 2);
        let computing = spawn(&map, |m| {
            let (v, loaded) = m.load_or_store_with(1, || 1);
            *v * 10 + u64::from(loaded)
        });
        let deleter = spawn(&map, |m| {
            m.delete(&1);
            m.clear();
            0
        });
        assert_eq!(computing.join().unwrap(), 10);
        deleter.join().unwrap();
        let one = load(&map, 1);
        assert!(one.is_none() || one == Some(1), "key 1 holds {one:?}");
        let expected: Vec<(u64, u64)> = one.map(|v| (1, v)).into_iter().collect();
        assert_state(&map, &expected);
    });
}

/// The waiter protocol (register, notify, cancel): a reservation races a blocked writer and an
/// async waiter that is polled once and then dropped (a cancelled task). Whatever the order,
/// the writer is woken (loom reports a deadlock otherwise), the dropped waiter leaves nothing
/// that blocks a later writer, and the last write wins.
#[test]
fn waiters_register_notify_cancel() {
    use std::{
        future::Future,
        task::{Context, Poll, Waker},
    };

    model(|| {
        let map = Arc::new(Map::default());
        let computing = spawn(&map, |m| {
            let (v, loaded) = m.load_or_store_with(1, || 1);
            *v * 10 + u64::from(loaded)
        });
        let writer = spawn(&map, |m| {
            m.store(1, 2);
            0
        });
        let mut waiting = Box::pin(map.load_or_store_with_async(1, || async { 3 }));
        let polled = match waiting
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready((v, loaded)) => v * 10 + u64::from(loaded),
            Poll::Pending => NONE,
        };
        drop(waiting);
        let computed = computing.join().unwrap();
        writer.join().unwrap();
        // Each compute-once call either stored its own value or loaded another's.
        assert!(
            [10, 21, 31].contains(&computed),
            "computing returned {computed}"
        );
        assert!(
            [NONE, 11, 21, 30].contains(&polled),
            "the async waiter returned {polled}"
        );
        // The writer stores last (it waits out any reservation; nothing else overwrites).
        assert_state(&map, &[(1, 2)]);
        map.store(1, 4);
        assert_state(&map, &[(1, 4)]);
    });
}

/// A delete that compacts (under loom, two dead entries that are a quarter of the map suffice)
/// races a store reviving the first deleted key and lock-free loads of a live key: the store
/// lands (in its kept entry, or as a new key once the entry was expunged), the load sees its
/// key throughout, and the compaction drops only dead entries.
#[test]
fn compaction_vs_revive_vs_load() {
    model(|| {
        let map = Arc::new(Map::default());
        for k in 0..3 {
            map.store(k, k);
        }
        map.range(|_, _| true); // promoted: every key in read, no dirty
        map.delete(&0); // one dead entry: below the compaction threshold
        let compactor = spawn(&map, |m| opt(m.load_and_delete(&1).map(|v| *v)));
        let reviver = spawn(&map, |m| {
            m.store(0, 10);
            0
        });
        assert_eq!(load(&map, 2), Some(2));
        assert_eq!(load(&map, 2), Some(2));
        assert_eq!(compactor.join().unwrap(), 1);
        reviver.join().unwrap();
        let stats = map.stats();
        assert_eq!(stats.entries - stats.dead_entries, 2, "{stats:?}");
        assert!(stats.entries <= 3, "{stats:?}");
        assert_state(&map, &[(0, 10), (2, 2)]);
    });
}

/// New keys move a rebuild of dirty along a bucket at a time (under loom, every rebuild is
/// incremental) while another thread revives a deleted key and deletes a live one, lock-free if
/// the rebuild has not reached them yet, and a third loads a live key: the rebuild expunges
/// only what is still deleted when it gets there, and nothing is lost.
#[test]
fn incremental_rebuild_vs_revive_and_delete() {
    model(|| {
        let map = Arc::new(Map::default());
        for k in 0..4 {
            map.store(k, k);
        }
        map.range(|_, _| true); // promoted: every key in read, no dirty
        map.delete(&0);
        let rebuilder = spawn(&map, |m| {
            m.store(10, 10); // the first new key: starts the rebuild, visits one bucket
            m.store(11, 11); // and one more
            0
        });
        let writer = spawn(&map, |m| {
            m.store(0, 20);
            opt(m.load_and_delete(&1).map(|v| *v))
        });
        assert_eq!(load(&map, 2), Some(2));
        rebuilder.join().unwrap();
        assert_eq!(writer.join().unwrap(), 1);
        assert_state(&map, &[(0, 20), (2, 2), (3, 3), (10, 10), (11, 11)]);
    });
}

/// A compaction in progress (under loom: due after two deletes of a four-key map, two buckets a
/// step) is moved on by a delete on one thread while another revives a deleted key (lock-free
/// if the rebuild has not reached it, relinked under the lock if it was expunged) and a third
/// loads a live key; then deletes of a live key finish it, and its promotion must free only the
/// expunged entries that were not revived (the drop at the end frees the rest, each once).
#[test]
fn compaction_steps_vs_revive_and_delete() {
    model(|| {
        let map = Arc::new(Map::default());
        for k in 0..4 {
            map.store(k, k);
        }
        map.range(|_, _| true); // promoted: every key in read, no dirty
        map.delete(&0);
        map.delete(&1); // due: starts the compaction, visits two buckets
        let deleter = spawn(&map, |m| opt(m.load_and_delete(&2).map(|v| *v)));
        let reviver = spawn(&map, |m| {
            m.store(0, 10);
            0
        });
        assert_eq!(load(&map, 3), Some(3));
        assert_eq!(deleter.join().unwrap(), 2);
        reviver.join().unwrap();
        // Each delete of key 3 steps the compaction (if one is still due) and each store
        // revives it: enough to finish it and promote.
        for _ in 0..4 {
            map.delete(&3);
            map.store(3, 3);
        }
        let stats = map.stats();
        // The range's promotion, then the compaction's.
        assert!(stats.compactions >= 1 && stats.promotions >= 2, "{stats:?}");
        assert_eq!(stats.entries - stats.dead_entries, 2, "{stats:?}");
        assert_state(&map, &[(0, 10), (3, 3)]);
    });
}

/// A hasher that puts key `k` in shard `k` (of a map of two shards, for keys 0 and 1): the
/// shard is chosen by bits 51 and up of the hash.
#[derive(Default)]
struct ShardOf(u64);

impl std::hash::Hasher for ShardOf {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed");
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = k << 51;
    }
}

/// A map of two shards, key `k` in shard `k % 2`.
type Sharded = MapWith<BuildHasherDefault<ShardOf>>;

fn sharded() -> Sharded {
    let map = Sharded::with_capacity_hasher_and_shards(0, BuildHasherDefault::default(), 2);
    assert_eq!(map.shards(), 2);
    map
}

/// A `clear` of a map of two shards takes effect for both at once: a reader that finds one
/// shard's key gone (with no store after the clear) finds the other's gone too, whichever shard
/// it reads first.
#[test]
fn sharded_clear_is_one_step_for_readers() {
    model(|| {
        let map = Arc::new(sharded());
        map.store(0, 10);
        map.store(1, 11);
        assert_eq!(map.load(&0).copied(), Some(10));
        assert_eq!(map.load(&1).copied(), Some(11)); // both shards promoted
        let clear = spawn(&map, |m| {
            m.clear();
            0
        });
        let reader = spawn(&map, |m| {
            let first = m.load(&0).copied();
            let second = m.load(&1).copied();
            assert!(
                !(first.is_none() && second.is_some()),
                "key 0 cleared but key 1 not, read after it"
            );
            let first = m.load(&1).copied();
            let second = m.load(&0).copied();
            assert!(
                !(first.is_none() && second.is_some()),
                "key 1 cleared but key 0 not, read after it"
            );
            0
        });
        clear.join().unwrap();
        reader.join().unwrap();
        assert!(map.load(&0).is_none() && map.load(&1).is_none());
        assert!(map.is_empty());
    });
}

/// [`clear_vs_stores`] on two shards, one key in each: the clear never removes the later store
/// while keeping the earlier one, and `range` visits what loads see.
#[test]
fn sharded_clear_vs_stores_in_both_shards() {
    model(|| clear_vs_two_stores(sharded(), 0));
}

/// Two shards promote at once (each thread's loads of its new key miss until its shard's dirty
/// is promoted), replacing the root by compare-and-swap: neither promotion undoes the other's,
/// and a `range` snapshot taken meanwhile sees each key once.
#[test]
fn promotions_of_two_shards_race_on_the_root() {
    model(|| {
        let map = Arc::new(sharded());
        let threads: Vec<_> = [0, 1]
            .into_iter()
            .map(|k| {
                spawn(&map, move |m| {
                    m.store(k, k + 10);
                    assert_eq!(m.load(&k).copied(), Some(k + 10)); // a miss (two promote)
                    let mut seen = 0;
                    m.range(|&key, &v| {
                        assert_eq!(v, key + 10);
                        seen += 1;
                        true
                    });
                    assert!(seen >= 1, "range missed this thread's own key");
                    0
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let stats = map.stats();
        assert!(stats.promotions >= 2, "{stats:?}");
        assert_eq!(map.load(&0).copied(), Some(10));
        assert_eq!(map.load(&1).copied(), Some(11));
        assert_eq!(map.len(), 2);
    });
}
