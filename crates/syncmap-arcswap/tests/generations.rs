//! The arc-swap strategy's own guarantees, beyond the conformance suite: retirements are freed
//! in batches of `BATCH` (or at a flush, or at the map's drop), a pinned reader holds back every
//! later free, releasing it frees the whole chain of generations without recursing, every value
//! is dropped exactly once under concurrent writers and readers, and a value's `Drop` may
//! re-enter the map.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst},
    },
    thread,
};

use syncmap_arcswap::{BATCH, SyncMap};

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// How many of `retired` values a quiet map has freed, with no reader and no flush, when
/// `tables` read tables were retired first: whole batches only.
fn freed_in_batches(tables: usize, retired: usize) -> usize {
    let items = tables + retired;
    (items - items % BATCH).saturating_sub(tables)
}

/// The objects retired before the first value in these tests: the first overwrite of a key
/// only dirty has counts a miss (as `load_or_store` does), which promotes its shard's dirty and
/// retires the shard's initial read table and the root (the array of the shards' tables) that
/// published it.
const PROMOTION: usize = 2;

#[test]
fn a_pinned_reader_holds_back_frees_until_it_unpins() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    map.store(0, Counted(drops.clone()));
    let pinned = map.pin();
    // Enough generations that dropping them recursively would overflow a test thread's stack
    // (with a small batch), and not a whole number of batches.
    let overwrites = 200_000 + BATCH / 2;
    for _ in 0..overwrites {
        map.store(0, Counted(drops.clone()));
    }
    assert_eq!(
        drops.load(SeqCst),
        0,
        "freed while an older reader was pinned"
    );
    drop(pinned);
    assert_eq!(
        drops.load(SeqCst),
        freed_in_batches(PROMOTION, overwrites),
        "every closed batch is freed once unpinned, and the open one is not"
    );
    drop(map);
    assert_eq!(drops.load(SeqCst), overwrites + 1);
}

#[test]
fn without_readers_replaced_values_are_freed_batch_by_batch() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    map.store(0, Counted(drops.clone()));
    for retired in 1..=3 * BATCH + 5 {
        map.store(0, Counted(drops.clone()));
        assert_eq!(
            drops.load(SeqCst),
            freed_in_batches(PROMOTION, retired),
            "after {retired} replaced values"
        );
    }
    let retired = 3 * BATCH + 5;
    // A new key, then loads that miss until dirty is promoted again: that retires the read
    // table, and a small table with no dead entry is no reason to flush.
    let freed = freed_in_batches(PROMOTION, retired);
    let other = Arc::new(AtomicUsize::new(0));
    map.store(1, Counted(other.clone()));
    let promotions = map.stats().promotions;
    while map.stats().promotions == promotions {
        assert!(map.load(&1).is_some());
    }
    assert_eq!(
        drops.load(SeqCst),
        freed,
        "a small promotion with nothing dead does not flush"
    );
    let held = map.load_owned(&0).unwrap();
    map.delete(&0);
    for _ in 0..5 {
        map.store(0, Counted(drops.clone())); // revives the entry, then retires four
    }
    assert_eq!(drops.load(SeqCst), freed, "a partial batch waits");
    // `clear` retires the read table with every entry, and flushes: all is freed at once, but
    // an owned Arc keeps its value.
    map.clear();
    assert_eq!(
        drops.load(SeqCst),
        retired + 5,
        "a flush frees the partial batch, except the value an owned Arc holds"
    );
    drop(held);
    assert_eq!(drops.load(SeqCst), retired + 6);
    drop(map);
    assert_eq!(drops.load(SeqCst), retired + 6);
}

#[test]
fn a_loaded_arcref_holds_back_frees_and_into_arc_lets_go() {
    let drops = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    map.store(0, Counted(first.clone()));
    let loaded = map.load(&0).unwrap(); // holds the generation, as a pin does
    let strong = Arc::strong_count(&loaded.0);
    for _ in 0..4 * BATCH {
        map.store(0, Counted(drops.clone()));
    }
    map.clear();
    assert_eq!(first.load(SeqCst), 0, "freed under a live ArcRef");
    assert_eq!(drops.load(SeqCst), 0, "freed while an ArcRef was held");
    assert_eq!(Arc::strong_count(&loaded.0), strong, "the value is intact");
    // `into_arc` takes a count of its own and lets the generation go: the chain is freed,
    // except the value the `Arc` now owns.
    let owned = loaded.into_arc();
    assert_eq!(
        drops.load(SeqCst),
        4 * BATCH,
        "the ArcRef's guard was released"
    );
    assert_eq!(first.load(SeqCst), 0, "the Arc keeps its value");
    drop(map);
    assert!(Arc::ptr_eq(&owned.0, &first));
    drop(owned);
    assert_eq!(first.load(SeqCst), 1, "freed once, by the last owner");
}

#[test]
fn the_maps_drop_frees_a_partial_batch() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    for _ in 0..BATCH / 2 {
        map.store(0, Counted(drops.clone()));
    }
    assert_eq!(drops.load(SeqCst), 0, "a partial batch waits");
    drop(map);
    assert_eq!(drops.load(SeqCst), BATCH / 2);
}

#[test]
fn a_value_retired_under_a_pin_outlives_flushes_and_full_batches() {
    let drops = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    map.store(1, Counted(drops.clone()));
    map.store(0, Counted(first.clone()));
    let pinned = map.pin();
    let seen: &Counted = pinned.load(&0).unwrap();
    // Retire the pinned value, then flush (clear) and fill many batches.
    map.store(0, Counted(drops.clone()));
    map.clear();
    for _ in 0..4 * BATCH {
        map.store(0, Counted(drops.clone()));
    }
    assert_eq!(first.load(SeqCst), 0, "freed under a live pin");
    assert!(Arc::ptr_eq(&seen.0, &first), "the pinned value is intact");
    assert_eq!(
        drops.load(SeqCst),
        0,
        "freed while an older reader was pinned"
    );
    drop(pinned);
    assert_eq!(first.load(SeqCst), 1, "freed once the pin is gone");
    drop(map);
    assert_eq!(first.load(SeqCst), 1);
    assert_eq!(drops.load(SeqCst), 2 + 4 * BATCH);
}

/// A value that records its drops by id, and checks that it is intact when read.
struct Tracked {
    id: usize,
    check: usize,
    drops: Arc<Vec<AtomicU8>>,
}

impl Tracked {
    fn new(id: usize, drops: &Arc<Vec<AtomicU8>>) -> Self {
        Tracked {
            id,
            check: !id,
            drops: drops.clone(),
        }
    }

    fn assert_intact(&self) {
        assert_eq!(self.check, !self.id, "read a freed or torn value");
        assert_eq!(self.drops[self.id].load(SeqCst), 0, "read a dropped value");
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert_eq!(self.check, !self.id, "dropped a freed value");
        self.drops[self.id].fetch_add(1, SeqCst);
        self.check = 0;
    }
}

#[test]
fn concurrent_writers_and_readers_drop_every_value_once() {
    let writers = 2;
    let per_writer = 20_000;
    let keys = 8;
    let total = writers * per_writer;
    let drops: Arc<Vec<AtomicU8>> = Arc::new((0..total).map(|_| AtomicU8::new(0)).collect());
    let map: SyncMap<usize, Tracked> = SyncMap::new();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (map, drops, done) = (&map, &drops, &done);
        s.spawn(move || {
            while !done.load(SeqCst) {
                let pinned = map.pin();
                for key in 0..keys {
                    if let Some(value) = pinned.load(&key) {
                        value.assert_intact();
                    }
                }
                for (_, value) in pinned.iter() {
                    value.assert_intact();
                }
            }
        });
        s.spawn(move || {
            while !done.load(SeqCst) {
                for key in 0..keys {
                    if let Some(value) = map.load(&key) {
                        value.assert_intact();
                    }
                }
            }
        });
        let writers: Vec<_> = (0..writers)
            .map(|w| {
                s.spawn(move || {
                    for i in 0..per_writer {
                        let id = w * per_writer + i;
                        let key = id % keys;
                        match i % 5 {
                            0 => drop(map.swap(key, Tracked::new(id, drops))),
                            1 => {
                                map.store(key, Tracked::new(id, drops));
                                if let Some(old) = map.load_and_delete(&key) {
                                    old.assert_intact();
                                }
                            }
                            2 => {
                                let new = Tracked::new(id, drops);
                                match map.load(&key) {
                                    Some(current) => {
                                        current.assert_intact();
                                        // A failed compare-and-swap drops `new` at once.
                                        let _ = map.compare_and_swap(&key, &*current, new);
                                    }
                                    None => drop(map.load_or_store(key, new)),
                                }
                            }
                            3 if i % 1000 == 3 => {
                                map.store(key, Tracked::new(id, drops));
                                map.clear();
                            }
                            _ => map.store(key, Tracked::new(id, drops)),
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, SeqCst);
    });
    assert!(
        count_dropped(&drops) < total,
        "the values in the map are alive"
    );
    drop(map);
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(SeqCst), 1, "value {id} dropped {count:?} times");
    }
}

fn count_dropped(drops: &[AtomicU8]) -> usize {
    drops.iter().filter(|d| d.load(SeqCst) > 0).count()
}

/// The map for [`a_reclaimer_may_reenter_the_map`]: a value's `Drop` writes to it.
static REENTERED: OnceLock<SyncMap<u32, Reentrant>> = OnceLock::new();

/// A value whose `Drop` overwrites another key of the same map (which retires a value in turn).
struct Reentrant {
    reenter: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.reenter {
            let map = REENTERED.get().expect("the map is set");
            let value = Reentrant {
                reenter: false,
                drops: self.drops.clone(),
            };
            map.store(u32::MAX, value);
            drop(map.load(&u32::MAX));
        }
    }
}

#[test]
fn a_reclaimer_may_reenter_the_map() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = REENTERED.get_or_init(SyncMap::new);
    let overwrites = 10 * BATCH;
    for i in 0..overwrites {
        let value = Reentrant {
            reenter: true,
            drops: drops.clone(),
        };
        map.store(i as u32 % 3, value);
        if i % 7 == 0 {
            map.range(|_, _| true); // promotes now and then
        }
    }
    map.clear();
    // Every replaced value was dropped (each dropping, in turn, a value at `u32::MAX` once the
    // latter's batch closes), and nothing deadlocked on the strategy's lock.
    assert!(drops.load(SeqCst) >= overwrites, "{drops:?}");
}
