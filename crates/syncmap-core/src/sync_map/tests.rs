//! Unit tests of the algorithm through the public API: promotion, expunging, drops.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use super::*;
use crate::reclaim::DeferToDrop;
use core::hash::Hash;

type Map<V> = SyncMap<u64, V, DeferToDrop>;

/// A map of one shard: Go's exact design, whose counts these tests check.
fn go_map<K, V>() -> SyncMap<K, V, DeferToDrop> {
    SyncMap::with_capacity_hasher_and_shards(0, std::hash::RandomState::new(), 1)
}

#[test]
fn promotion_after_as_many_misses_as_dirty_keys() {
    const N: u64 = 10;
    let map: Map<u64> = go_map();
    for k in 0..N {
        map.store(k, k);
    }
    let after_stores = map.stats();
    assert_eq!(
        after_stores.dirty_rebuilds, 1,
        "one rebuild serves every new key"
    );
    assert_eq!(after_stores.promotions, 0);
    for k in 0..N - 1 {
        assert_eq!(map.load(&k).copied(), Some(k));
    }
    assert_eq!(map.stats().misses, N - 1);
    assert_eq!(map.stats().promotions, 0, "N-1 misses against N dirty keys");
    assert_eq!(map.load(&(N - 1)).copied(), Some(N - 1));
    let promoted = map.stats();
    assert_eq!(promoted.misses, N);
    assert_eq!(promoted.promotions, 1, "the Nth miss promotes");
    let hits = promoted.read_hits;
    for k in 0..N {
        assert_eq!(map.load(&k).copied(), Some(k));
    }
    let after = map.stats();
    assert_eq!(after.misses, N, "promoted keys no longer miss");
    assert_eq!(after.read_hits, hits + N);
}

#[test]
fn misses_on_absent_keys_promote_too() {
    let map: Map<u64> = go_map();
    map.store(1, 1);
    map.store(2, 2);
    assert!(map.load(&100).is_none());
    assert_eq!(map.stats().promotions, 0);
    assert!(map.load(&101).is_none());
    assert_eq!(map.stats().promotions, 1);
    // After promotion read is not amended: absent keys answer without the lock.
    assert!(map.load(&102).is_none());
    assert_eq!(map.stats().misses, 2);
}

/// Promotes everything stored so far, through `range`.
fn promote<V: Send + 'static>(map: &Map<V>) {
    map.range(|_, _| true);
}

#[test]
fn deleted_keys_are_expunged_at_rebuild_and_revived_by_store() {
    let mut map: Map<u64> = go_map();
    map.extend((0..4).map(|k| (k, k)));
    promote(&map);
    map.delete(&0); // present → deleted, lock-free in read
    map.store(10, 10); // a new key: rebuild dirty, expunging 0
    let s = map.stats();
    assert_eq!((s.dirty_rebuilds, s.expunged, s.unexpunged), (2, 1, 0));
    assert!(map.load(&0).is_none());
    map.store(0, 100); // expunged → deleted → present, relinked into dirty
    assert_eq!(map.stats().unexpunged, 1);
    promote(&map);
    let mut seen = Vec::new();
    map.range(|k, v| {
        seen.push((*k, *v));
        true
    });
    seen.sort_unstable();
    assert_eq!(seen, [(0, 100), (1, 1), (2, 2), (3, 3), (10, 10)]);
}

#[test]
fn expunged_keys_that_stay_deleted_vanish_at_promotion() {
    let map: Map<u64> = (0..4).map(|k| (k, k)).collect();
    promote(&map);
    map.delete(&1);
    map.store(9, 9); // rebuild: 1 is expunged and left out of dirty
    promote(&map); // 1 dies with the old read table
    assert_eq!(map.len(), 4);
    map.store(1, 11); // a brand-new entry now
    assert_eq!(map.stats().unexpunged, 0);
    assert_eq!(map.load(&1).copied(), Some(11));
}

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl PartialEq for Counted {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A key that counts its drops; hashes and compares by its number only.
struct Key(u64, Arc<AtomicUsize>);

impl Hash for Key {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Key {}

impl Drop for Key {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_key_and_value_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let value = || Counted(drops.clone());
    let key = |k: u64| Key(k, drops.clone());
    let mut made = 0;
    {
        let map: SyncMap<Key, Counted, DeferToDrop> = SyncMap::new();
        for round in 0..5u64 {
            for k in 0..20u64 {
                map.store(key(k), value());
                made += 2;
                if k % 3 == round % 3 {
                    map.delete(&key(k));
                    made += 1;
                }
                if k % 5 == 0 {
                    let _previous = map.swap(key(k + 100), value());
                    made += 2;
                }
                if k % 4 == 0 {
                    let _actual = map.load_or_store(key(k), value());
                    made += 2;
                }
                if k % 7 == 0 {
                    map.compare_and_swap(&key(k), &value(), value());
                    made += 3;
                }
                let _ = map.load(&key(k / 2));
                made += 1;
            }
            if round == 2 {
                map.clear();
            }
            map.range(|_, _| true);
        }
        assert!(
            drops.load(Ordering::SeqCst) < made,
            "some keys and values are still in the map"
        );
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        made,
        "each key and value dropped exactly once"
    );
}

#[test]
fn clear_then_reuse() {
    let map: Map<u64> = (0..100).map(|k| (k, k)).collect();
    map.clear();
    assert!(map.is_empty());
    assert!(map.load(&5).is_none());
    map.store(5, 55);
    assert_eq!(map.len(), 1);
    assert_eq!(map.load(&5).copied(), Some(55));
    map.clear();
    map.clear();
    assert_eq!(map.len(), 0);
}

#[test]
fn range_may_call_back_into_the_map() {
    let map: Map<u64> = (0..10).map(|k| (k, k)).collect();
    let mut visited = 0;
    map.range(|k, v| {
        visited += 1;
        map.store(k + 1000, *v); // new keys: take the lock inside range
        map.delete(k);
        assert_eq!(map.load(&(k + 1000)), Some(v));
        true
    });
    assert_eq!(
        visited, 10,
        "keys stored during range are not in its snapshot"
    );
    assert_eq!(map.len(), 10);
    assert!((0..10).all(|k| map.load(&k).is_none()));
}
