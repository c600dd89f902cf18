//! What a snapshot holds while the map changes, for every backend: each key once, a value the key
//! had during the copy, every key present throughout, and an entry count that matches the entries
//! written (checked by strict decoding, which fails on a count that disagrees with the entries).

mod common;

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    marker::PhantomData,
    sync::Arc,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    thread,
    time::{Duration, Instant},
};

use common::for_each_backend;
use serde::{Deserialize, Serialize, Serializer};
use syncmap_core::ConcurrentMap;
use syncmap_serde::{Snapshot, postcard};

thread_local! {
    /// Run once by the next `Meddle` clone or serialization on this thread.
    static HOOK: RefCell<Option<Box<dyn FnOnce()>>> = RefCell::new(None);
}

fn run_hook() {
    let hook = HOOK.with(|hook| hook.borrow_mut().take());
    if let Some(hook) = hook {
        hook();
    }
}

/// A value whose first clone or serialization after `HOOK` is set runs the hook: a way to write
/// to the map *while* a snapshot is being taken (inside `range`, where copying or serializing
/// happens), deterministically. Then `len()` disagrees with what `range` visits: the situation
/// in which writing `len()` and then iterating writes a wrong count.
#[derive(Debug, PartialEq, Eq, Deserialize)]
struct Meddle(u64);

impl Clone for Meddle {
    fn clone(&self) -> Self {
        run_hook();
        Meddle(self.0)
    }
}

impl Serialize for Meddle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        run_hook();
        self.0.serialize(serializer)
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

fn count_matches_entries_when_len_disagrees<M>()
where
    M: ConcurrentMap<u64, Meddle> + Default + 'static,
{
    let map = Arc::new(M::default());
    let fill = |map: &M| {
        for k in 0..20 {
            map.store(k, Meddle(k * 10));
        }
    };
    // On the first copy: delete every key, and add five new ones.
    let arm = |map: &Arc<M>| {
        let map = Arc::clone(map);
        HOOK.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move || {
                for k in 0..20 {
                    map.delete(&k);
                }
                for k in 100..105 {
                    map.store(k, Meddle(k * 10));
                }
            }))
        });
    };

    fill(&map);
    arm(&map);
    assert_eq!(map.len(), 20);
    let snapshot = Snapshot::of(&*map);
    assert_eq!(map.len(), 5, "the hook ran during the copy");

    // Whatever range saw, each entry is a real one, and no key is repeated.
    let mut seen = HashSet::new();
    for (k, v) in snapshot.iter() {
        assert!(seen.insert(*k), "key {k} twice");
        assert_eq!(v.0, k * 10);
    }
    // The first key visited was copied before the hook deleted it; the rest may be gone.
    assert!(
        !snapshot.is_empty() && snapshot.len() < 20,
        "{}",
        snapshot.len()
    );

    // The count written is the number of entries written, so strict decoders accept it and read
    // back exactly the snapshot.
    let bytes = postcard::to_vec(&snapshot).unwrap();
    let back: Snapshot<u64, Meddle> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back.entries(), snapshot.entries());
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: HashMap<u64, u64> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), snapshot.len());

    // The same through the field module, with the writes happening while it serializes.
    map.clear();
    fill(&map);
    arm(&map);
    let bytes = postcard::to_vec(&by_ref(&*map)).unwrap();
    assert_eq!(map.len(), 5, "the hook ran during serialization");
    let back: Snapshot<u64, Meddle> = postcard::from_bytes(&bytes).unwrap();
    assert!(!back.is_empty() && back.len() < 20, "{}", back.len());
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

/// How long `snapshots_under_concurrent_writes` keeps taking snapshots while waiting to see both
/// writers at work, however loaded the machine.
const PROGRESS_LIMIT: Duration = Duration::from_secs(120);

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
        // At least `rounds` snapshots, and then more until both writers are seen at work (the
        // scheduler may keep one of them off the CPU for all of the first `rounds`), bounded by
        // `PROGRESS_LIMIT`.
        let started = Instant::now();
        let mut round = 0;
        while round < rounds || !(end > start + 1 && sizes.len() > 1) {
            if started.elapsed() > PROGRESS_LIMIT {
                break;
            }
            let this = round;
            round += 1;
            let lo = progress();
            let (entries, bytes) = if this % 2 == 0 {
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
            if this % 10 == 0 {
                let json = serde_json::to_string(&decoded).unwrap();
                let again: Snapshot<u64, (u64, u64)> = serde_json::from_str(&json).unwrap();
                check(again.entries(), &lo, &hi);
            }
        }
        // The writer kept overwriting while the snapshots were taken.
        assert!(
            end > start + 1,
            "writer made no progress in {round} rounds: {start} -> {end}"
        );
        // And the other writer changed the number of keys while they were.
        assert!(
            sizes.len() > 1,
            "every snapshot of {round} had {sizes:?} entries"
        );
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
