//! Loom models of the arc-swap backend's own protocol: generations, batches and their freeing.
//!
//! Run with `cargo xtask loom`, or by hand:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p syncmap-arcswap --release --test loom`.
//!
//! Under `cfg(loom)` the strategy's `Mutex` and generation `Arc`s are loom's, and the `ArcSwap`
//! of the current generation is a lock-based stand-in with the same contract (see `mod sync` in
//! `src/lib.rs`); `BATCH` is 2. The map itself runs on loom's primitives too (`syncmap-core`'s
//! private `primitive` module). Each model races a reader that pins the map, loads a value and
//! reads it, against a writer whose overwrites, deletes and `clear` retire that value (and
//! entries and read tables), close generations (a full batch, or a flush) and free them.
//!
//! What is checked: every value is a [`Checked`], which the reader reads and whose `Drop`
//! writes, both through a `loom::cell::UnsafeCell`: a value freed while a reader may still read
//! it (no happens-before from the read to the drop) is a causality violation that loom
//! reports. Every value is dropped exactly once by the end of each execution (counted), and loom
//! reports a generation `Arc` that leaks.
//!
//! What is not: arc-swap's own lock-free `load`/`swap` (the stand-in is a lock, which orders
//! more than arc-swap promises, so an ordering bug that only arc-swap's weaker guarantee allows
//! would go unseen), and values shared through owned `Arc<V>` handles (`into_arc`,
//! `load_owned`: values stay in `std::sync::Arc`, whose counts loom does not see; the models
//! read through pinned loads and `ArcRef`s, whose safety rests on the generations alone).
#![cfg(loom)]

use std::{
    hash::{BuildHasherDefault, DefaultHasher},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use loom::{cell::UnsafeCell, sync::Arc, thread};
use syncmap_arcswap::{ArcSwapReclaim, BATCH};

/// A fixed hasher: loom replays executions and needs every one to make the same calls.
type Map = syncmap_core::SyncMap<u64, Checked, ArcSwapReclaim, BuildHasherDefault<DefaultHasher>>;

/// What a dropped value's cell holds.
const FREED: u64 = u64::MAX;

/// A value that loom can tell was freed under a reader.
struct Checked {
    value: UnsafeCell<u64>,
    drops: std::sync::Arc<AtomicUsize>,
}

// SAFETY: the cell is written only in `Drop` (with `&mut self`, so exclusively); shared
// references only read it.
unsafe impl Sync for Checked {}

impl Checked {
    fn new(value: u64, drops: &std::sync::Arc<AtomicUsize>) -> Self {
        Checked {
            value: UnsafeCell::new(value),
            drops: std::sync::Arc::clone(drops),
        }
    }

    /// Reads the value: loom checks that no drop of it can be concurrent with this read.
    fn read(&self) -> u64 {
        // SAFETY: only `Drop` writes the cell; loom reports it if that write may race this read.
        let value = self.value.with(|p| unsafe { *p });
        assert_ne!(value, FREED, "read a freed value");
        value
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other reference to the cell exists, as far as Rust knows;
        // loom checks that the map's readers agree.
        self.value.with_mut(|p| unsafe { *p = FREED });
        self.drops.fetch_add(1, Relaxed);
    }
}

/// Runs `f` under loom, with a preemption bound of 2 unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise.
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
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

/// Spawns a reader that pins `map`, loads key 1 and reads its value (if present), which must be
/// one of `allowed`.
fn reader(map: &Arc<Map>, allowed: &'static [u64]) -> thread::JoinHandle<()> {
    let map = Arc::clone(map);
    thread::spawn(move || {
        let pinned = map.pin();
        if let Some(value) = pinned.load(&1) {
            let value = value.read();
            assert!(allowed.contains(&value), "read {value}");
        }
    })
}

/// As [`reader`], through a per-call `load`: an `ArcRef` holding the guard it was read under.
fn arcref_reader(map: &Arc<Map>, allowed: &'static [u64]) -> thread::JoinHandle<()> {
    let map = Arc::clone(map);
    thread::spawn(move || {
        if let Some(value) = map.load(&1) {
            let value = value.read();
            assert!(allowed.contains(&value), "read {value}");
        }
    })
}

/// A map where key 1 (value 1) is in the read table, so loads of it take no lock, and the open
/// generation's bag holds one object, value 0: the promotion retired the first read table and
/// the root that published it (a full batch, freed at once), and deleting key 0 retired its
/// value.
fn promoted(drops: &std::sync::Arc<AtomicUsize>) -> Arc<Map> {
    let map = Arc::new(Map::default());
    map.store(1, Checked::new(1, drops));
    map.store(0, Checked::new(0, drops));
    map.range(|_, _| true);
    map.delete(&0);
    map
}

/// A reader against a writer that fills a batch: the overwrite retires value 1 next to value
/// 0, which closes the generation the reader may have pinned, and value 1
/// is freed only after the reader's guard is gone. The delete then retires value 2 into a bag
/// that is still open when the map is dropped.
#[test]
fn batch_closed_under_a_reader() {
    assert_eq!(BATCH, 2, "the models are sized for batches of 2");
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = promoted(&drops);
        let reader = reader(&map, &[1, 2]);
        map.store(1, Checked::new(2, &drops));
        map.delete(&1);
        reader.join().unwrap();
        assert_eq!(drops.load(Relaxed), 2, "the closed generation was freed");
        drop(map);
        assert_eq!(drops.load(Relaxed), 3, "the open bag was freed at the drop");
    });
}

/// [`batch_closed_under_a_reader`] with a per-call `load`: the `ArcRef` it returns keeps the
/// guard, so value 1 outlives it although no reference count was taken.
#[test]
fn batch_closed_under_a_loaded_arcref() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = promoted(&drops);
        let reader = arcref_reader(&map, &[1, 2]);
        map.store(1, Checked::new(2, &drops));
        map.delete(&1);
        reader.join().unwrap();
        assert_eq!(drops.load(Relaxed), 2, "the closed generation was freed");
        drop(map);
        assert_eq!(drops.load(Relaxed), 3, "the open bag was freed at the drop");
    });
}

/// A reader against a writer that overwrites (closing a full batch, as above) and then clears
/// the map: the clear retires the read table with the entry holding value 2 and flushes that
/// half-full batch, so value 2 dies with its entry in a generation the reader may hold.
#[test]
fn flush_under_a_reader() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = promoted(&drops);
        let reader = reader(&map, &[1, 2]);
        map.store(1, Checked::new(2, &drops));
        map.clear();
        reader.join().unwrap();
        assert_eq!(drops.load(Relaxed), 3, "the flushed generation was freed");
        drop(map);
        assert_eq!(drops.load(Relaxed), 3, "nothing else to free");
    });
}

/// Two generations closed while a reader may hold the older one: the younger one's bag (values
/// 2 and 3) must wait for the older one, which owns it, even if no guard holds the younger one
/// itself; value 4, pending when the map is dropped, is freed then.
#[test]
fn chained_generations_under_a_reader() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = promoted(&drops);
        let reader = reader(&map, &[1, 2, 3, 4]);
        for value in 2..=4 {
            map.store(1, Checked::new(value, &drops));
        }
        map.delete(&1);
        reader.join().unwrap();
        assert_eq!(drops.load(Relaxed), 4, "both closed generations were freed");
        drop(map);
        assert_eq!(drops.load(Relaxed), 5, "nothing else to free");
    });
}

/// Two writers retiring at once, with a reader: whichever retirement comes first closes the
/// batch value 0 started, the other goes into the next one; exactly the closed one is
/// freed once every thread is done, and the other at the map's drop.
#[test]
fn racing_writers_under_a_reader() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = Arc::new(Map::default());
        map.store(1, Checked::new(1, &drops));
        map.store(2, Checked::new(20, &drops));
        map.store(0, Checked::new(0, &drops));
        map.range(|_, _| true);
        map.delete(&0); // the open bag: value 0 (see `promoted`)
        let reader = reader(&map, &[1, 2]);
        let writer = {
            let (map, drops) = (Arc::clone(&map), std::sync::Arc::clone(&drops));
            thread::spawn(move || map.store(2, Checked::new(21, &drops)))
        };
        map.store(1, Checked::new(2, &drops));
        reader.join().unwrap();
        writer.join().unwrap();
        assert_eq!(drops.load(Relaxed), 2, "the closed generation was freed");
        drop(map);
        assert_eq!(drops.load(Relaxed), 5, "everything was freed at the drop");
    });
}

/// `load_or_store_with` of a new key against a `clear`: the closure holds no guard, so the
/// `clear` may unlink the reserved entry and the strategy reclaim it (the clear's flush closes
/// the generation, freed when the clear's own guard goes) before the value is published; the
/// strategy then hands the entry to the reserving thread, which frees it. Either way the value
/// returned is readable (loom checks the read against its drop), the key ends absent or
/// holding that value, and every value is dropped exactly once.
#[test]
fn clear_while_computing() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = Arc::new(Map::default());
        map.store(2, Checked::new(20, &drops));
        map.range(|_, _| true);
        let computing = {
            let (map, drops) = (Arc::clone(&map), std::sync::Arc::clone(&drops));
            thread::spawn(move || {
                let (value, loaded) = map.load_or_store_with(1, || Checked::new(1, &drops));
                (value.into_arc(), loaded) // an owned `Arc`: the `ArcRef` borrows `map`
            })
        };
        map.clear();
        // Read here, after the join: loom does not see `std::sync::Arc`'s counts (see the
        // module docs), so a read on the computing thread would race, for loom, with the
        // value's drop wherever the map's own share goes last.
        let (value, loaded) = computing.join().unwrap();
        assert_eq!((value.read(), loaded), (1, false));
        drop(value);
        let pinned = map.pin();
        if let Some(value) = pinned.load(&1) {
            assert_eq!(value.read(), 1);
        }
        drop(pinned);
        drop(map);
        assert_eq!(drops.load(Relaxed), 2, "values 20 and 1, once each");
    });
}

/// A key that loom can tell was freed under a reader: `Eq`, which a lookup runs on the stored
/// key, reads it; `Drop`, when its entry is freed, writes it. The cell is boxed so that entries
/// stay small enough for the arena's chunks under loom (loom's cells are large).
struct Key {
    id: u64,
    cell: Box<UnsafeCell<u64>>,
}

// SAFETY: as for `Checked`: the cell is written only in `Drop`.
unsafe impl Sync for Key {}

impl Key {
    fn new(id: u64) -> Self {
        Key {
            id,
            cell: Box::new(UnsafeCell::new(id)),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: only `Drop` writes the cells; loom reports it if that write may race this read.
        let (a, b) = (
            self.cell.with(|p| unsafe { *p }),
            other.cell.with(|p| unsafe { *p }),
        );
        assert!(a != FREED && b != FREED, "compared a freed key");
        self.id == other.id
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: `&mut self`, as for `Checked`.
        self.cell.with_mut(|p| unsafe { *p = FREED });
    }
}

/// The entry arena's slot reuse under a reader: a `clear` unlinks key 1's entry and the writer
/// then stores new keys, whose entries come from the arena (under loom every map uses one, in
/// chunks of a few slots), taking the cleared entry's slot once the strategy has freed it. A
/// reader pinned before may still be comparing key 1 in that slot: loom checks that the key's
/// drop (and so the slot's reuse, which follows it) happens after the reader is done, and that
/// every key and value is dropped exactly once.
#[test]
fn arena_slot_reused_under_a_reader() {
    type Keyed =
        syncmap_core::SyncMap<Key, Checked, ArcSwapReclaim, BuildHasherDefault<DefaultHasher>>;
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let map = Arc::new(Keyed::default());
        map.store(Key::new(1), Checked::new(1, &drops));
        map.range(|_, _| true);
        let reader = {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                let pinned = map.pin();
                if let Some(value) = pinned.load(&Key::new(1)) {
                    assert_eq!(value.read(), 1);
                }
            })
        };
        map.clear();
        // Enough new keys to use up the chunk's fresh slots (two or three, under loom), so
        // that the last one takes a freed slot if there is one.
        for id in 2..=4 {
            map.store(Key::new(id), Checked::new(id, &drops));
        }
        reader.join().unwrap();
        let pinned = map.pin();
        assert!(pinned.load(&Key::new(1)).is_none());
        for id in 2..=4 {
            assert_eq!(pinned.load(&Key::new(id)).map(Checked::read), Some(id));
        }
        drop(pinned);
        drop(map);
        assert_eq!(drops.load(Relaxed), 4, "values 1 to 4, once each");
    });
}
