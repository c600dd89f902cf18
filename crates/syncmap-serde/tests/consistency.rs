//! What a snapshot holds while the map changes, for every backend: each key once, a value the key
//! had during the copy, every key present throughout, and an entry count that matches the entries
//! written (checked by strict decoding, which fails on a count that disagrees with the entries).

mod common;

use std::{
    collections::{HashMap, HashSet},
    marker::PhantomData,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    thread,
};

use common::for_each_backend;
use serde::{Serialize, Serializer};
use syncmap_core::ConcurrentMap;
use syncmap_serde::{Snapshot, postcard};

/// A map whose `range` deletes and inserts keys while it runs (after the first visit), and whose
/// `len` therefore disagrees with what `range` visits: the situation in which writing `len()`
/// and then iterating writes a wrong count.
struct Meddling<M> {
    inner: M,
    deleted: Vec<u64>,
    added: Vec<u64>,
}

impl<M: ConcurrentMap<u64, u64>> ConcurrentMap<u64, u64> for Meddling<M> {
    type Ref<'a>
        = M::Ref<'a>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.inner.load(key)
    }
    fn store(&self, key: u64, value: u64) {
        self.inner.store(key, value)
    }
    fn load_or_store(&self, key: u64, value: u64) -> (Self::Ref<'_>, bool) {
        self.inner.load_or_store(key, value)
    }
    fn load_and_delete<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.inner.load_and_delete(key)
    }
    fn delete<Q>(&self, key: &Q)
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.inner.delete(key)
    }
    fn swap(&self, key: u64, value: u64) -> Option<Self::Ref<'_>> {
        self.inner.swap(key, value)
    }
    fn compare_and_swap<Q>(&self, key: &Q, old: &u64, new: u64) -> bool
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.inner.compare_and_swap(key, old, new)
    }
    fn compare_and_delete<Q>(&self, key: &Q, old: &u64) -> bool
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.inner.compare_and_delete(key, old)
    }
    fn range<F: FnMut(&u64, &u64) -> bool>(&self, mut f: F) {
        let mut first = true;
        self.inner.range(|k, v| {
            if first {
                first = false;
                for key in &self.deleted {
                    if key != k {
                        self.inner.delete(key);
                    }
                }
                for &key in &self.added {
                    self.inner.store(key, key * 10);
                }
            }
            f(k, v)
        });
    }
    fn clear(&self) {
        self.inner.clear()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn load_or_store_with<F: FnOnce() -> u64>(&self, key: u64, f: F) -> (Self::Ref<'_>, bool) {
        self.inner.load_or_store_with(key, f)
    }

    fn update<Q, F>(&self, key: &Q, f: F) -> Option<Self::Ref<'_>>
    where
        u64: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
        F: FnMut(&u64) -> u64,
    {
        self.inner.update(key, f)
    }
}

/// Serializes a borrowed live map with the `map` field module.
struct ByRef<'a, M, K, V>(&'a M, PhantomData<fn() -> (K, V)>);

fn by_ref<M, K, V>(map: &M) -> ByRef<'_, M, K, V> {
    ByRef(map, PhantomData)
}

impl<K, V, M> Serialize for ByRef<'_, M, K, V>
where
    M: ConcurrentMap<K, V>,
    K: Serialize + Clone,
    V: Serialize + Clone,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        syncmap_serde::map::serialize(self.0, serializer)
    }
}

fn count_matches_entries_when_len_disagrees<M: ConcurrentMap<u64, u64> + Default>() {
    let inner = M::default();
    for k in 0..20 {
        inner.store(k, k * 10);
    }
    let map = Meddling {
        inner,
        deleted: (0..20).collect(),
        added: (100..105).collect(),
    };
    let len_before = map.len();
    let snapshot = Snapshot::of(&map);
    assert_eq!(len_before, 20);
    assert_eq!(map.len(), 6, "the meddling ran: 1 survivor + 5 new keys");

    // Whatever range saw, each entry is a real one, and no key is repeated.
    let mut seen = HashSet::new();
    for &(k, v) in snapshot.iter() {
        assert!(seen.insert(k), "key {k} twice");
        assert_eq!(v, k * 10);
    }
    // The survivor (first visited) is there: it was present for the whole call.
    assert!(!snapshot.is_empty());

    // The count written is the number of entries written, so strict decoders accept it and read
    // back exactly the snapshot.
    let bytes = postcard::to_vec(&snapshot).unwrap();
    let back: Snapshot<u64, u64> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back.entries(), snapshot.entries());
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: HashMap<u64, u64> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), snapshot.len());

    // And through the field module, which copies first too: the bytes decode strictly.
    map.inner.clear();
    for k in 0..20 {
        map.inner.store(k, k * 10);
    }
    let bytes = postcard::to_vec(&by_ref(&map)).unwrap();
    let back: Snapshot<u64, u64> = postcard::from_bytes(&bytes).unwrap();
    assert!(!back.is_empty());
    assert!(
        back.len() < 20,
        "the meddling deleted keys before they were visited"
    );
}

const STABLE: u64 = 32;
const CHURN: std::ops::Range<u64> = 1000..1064;

/// Checks one decoded snapshot against the writers' progress before (`lo`) and after (`hi`) it
/// was taken.
fn check(entries: &[(u64, (u64, u64))], lo: &[u64], hi: &[u64]) {
    let mut seen = HashSet::new();
    for &(k, (owner, version)) in entries {
        assert!(seen.insert(k), "key {k} twice");
        assert_eq!(owner, k, "value of another key under {k}");
        if k < STABLE {
            let k = k as usize;
            // `published` is set after each store, so the map may be one ahead of `hi`.
            assert!(
                lo[k] <= version && version <= hi[k] + 1,
                "key {k}: version {version} outside [{}, {}]",
                lo[k],
                hi[k] + 1
            );
        } else {
            assert!(CHURN.contains(&k), "key {k} was never written");
        }
    }
    for k in 0..STABLE {
        assert!(
            seen.contains(&k),
            "key {k} was present throughout but is missing"
        );
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn snapshots_under_concurrent_writes<M>()
where
    M: ConcurrentMap<u64, (u64, u64)> + Default + Sync,
{
    let rounds = 2000;
    let map = M::default();
    let published: Vec<AtomicU64> = (0..STABLE).map(|_| AtomicU64::new(0)).collect();
    for k in 0..STABLE {
        map.store(k, (k, 0));
    }
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        // Overwrites every stable key, over and over, publishing each version once stored.
        s.spawn(|| {
            let mut version = 0;
            while !stop.load(Ordering::Relaxed) {
                version += 1;
                for k in 0..STABLE {
                    map.store(k, (k, version));
                    published[k as usize].store(version, Ordering::Release);
                }
            }
        });
        // Inserts and deletes other keys, so that tables are promoted and rebuilt meanwhile.
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let k = CHURN.start + i % (CHURN.end - CHURN.start);
                if i % 3 == 0 {
                    map.delete(&k);
                } else {
                    map.store(k, (k, i));
                }
                i += 1;
            }
        });

        let progress = || -> Vec<u64> {
            published
                .iter()
                .map(|p| p.load(Ordering::Acquire))
                .collect()
        };
        // Stops the writers even if a check below panics (else the scope would wait forever).
        let _stop = StopOnDrop(&stop);
        // Let both writers get going before the first snapshot.
        while published[0].load(Ordering::Acquire) < 2 {
            thread::yield_now();
        }
        let start = progress()[0];
        let mut end = start;
        let mut sizes = HashSet::new();
        for round in 0..rounds {
            let lo = progress();
            let (entries, bytes) = if round % 2 == 0 {
                let snapshot = Snapshot::of(&map);
                let bytes = postcard::to_vec(&snapshot).unwrap();
                (snapshot.into_entries(), bytes)
            } else {
                // The field module takes its own snapshot while serializing.
                let bytes = postcard::to_vec(&by_ref(&map)).unwrap();
                let decoded: Snapshot<u64, (u64, u64)> = postcard::from_bytes(&bytes).unwrap();
                (decoded.into_entries(), bytes)
            };
            let hi = progress();
            end = hi[0];
            sizes.insert(entries.len());
            check(&entries, &lo, &hi);
            // The bytes decode strictly (count == entries, no repeat) to the same entries.
            let decoded: Snapshot<u64, (u64, u64)> = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(decoded.entries(), &entries[..]);
            if round % 10 == 0 {
                let json = serde_json::to_string(&decoded).unwrap();
                let again: Snapshot<u64, (u64, u64)> = serde_json::from_str(&json).unwrap();
                check(again.entries(), &lo, &hi);
            }
        }
        // The writer kept overwriting while the snapshots were taken.
        assert!(end > start + 1, "writer made no progress: {start} -> {end}");
        // And the other writer changed the number of keys while they were.
        assert!(sizes.len() > 1, "every snapshot had {sizes:?} entries");
    });
}

macro_rules! consistency_tests {
    ($($backend:ident => $map:ty;)*) => {$(
        mod $backend {
            #[test]
            fn count_matches_entries_when_len_disagrees() {
                super::count_matches_entries_when_len_disagrees::<$map>();
            }

            #[test]
            fn snapshots_under_concurrent_writes() {
                super::snapshots_under_concurrent_writes::<$map>();
            }
        }
    )*};
}

for_each_backend!(consistency_tests);
