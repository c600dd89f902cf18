//! The maps under test, behind one small interface with Go's `mapInterface` methods.
//!
//! Every map hashes with [`Hasher`] (foldhash's fast variant, hashbrown's default), so the
//! comparison measures the maps and not their hash functions. Keys and values are `u64`; loads
//! copy the value out, as Go's `Load` copies an interface value.
//!
//! Adding a backend of `syncmap_core::SyncMap` is one line in [`for_each_map`]: the adapter is
//! generic over the reclamation strategy.

use std::{
    collections::HashMap,
    sync::{Mutex, RwLock},
};

use arc_swap::ArcSwap;
use syncmap_core::{Admits, SyncMap};

/// The hasher every map in the comparison uses: foldhash's fast variant.
pub type Hasher = foldhash::fast::RandomState;

/// A map as the read-only workloads see it: filled single-threaded, then loaded and ranged.
///
/// Implemented by every [`BenchMap`] and by the unsynchronized hashbrown floor.
pub trait ReadMap: Sync + Sized + 'static {
    /// What a worker loads through; re-made every batch of operations (see [`crate::harness::Pb`]).
    type Reader<'a>: Reader
    where
        Self: 'a;

    /// Whether [`Reader`] pins (the `pin()` API); such maps run only the read-path workloads.
    const PINNED: bool = false;

    /// An empty map.
    fn new() -> Self;

    /// Setup-time `LoadOrStore(k, v)` (before the map is shared).
    fn setup_load_or_store(&mut self, k: u64, v: u64);

    /// Setup-time `Store(k, v)` (before the map is shared).
    fn setup_store(&mut self, k: u64, v: u64);

    /// A reader for a batch of loads.
    fn reader(&self) -> Self::Reader<'_>;

    /// Go's `Range`: calls `f` on each entry until it returns `false`.
    fn range(&self, f: impl FnMut(u64, u64) -> bool);
}

/// Loads through a [`ReadMap::Reader`].
pub trait Reader {
    /// Go's `Load`.
    fn load(&self, k: u64) -> Option<u64>;
}

/// Go's whole `mapInterface` (`sync/map_reference_test.go`), on `u64` keys and values.
pub trait BenchMap: Sync + Sized + 'static {
    /// See [`ReadMap::Reader`].
    type Reader<'a>: Reader
    where
        Self: 'a;
    /// See [`ReadMap::PINNED`].
    const PINNED: bool = false;
    /// Whether Go skips this kind of map on its quadratic benchmarks (`DeepCopyMap`).
    const COPY_ON_WRITE: bool = false;
    /// Whether this is a read/dirty map (a syncmap backend): the memory bench then also
    /// measures it after promotion.
    const READ_DIRTY: bool = false;

    /// An empty map.
    fn new() -> Self;
    /// Setup-time `Store` (the map is not shared yet; untimed). The default is [`store`](Self::store);
    /// the copy-on-write map inserts in place instead of copying itself per key.
    fn setup_store(&mut self, k: u64, v: u64) {
        self.store(k, v);
    }
    /// A reader for a batch of loads.
    fn reader(&self) -> Self::Reader<'_>;
    /// Go's `Load`.
    fn load(&self, k: u64) -> Option<u64>;
    /// Go's `Store`.
    fn store(&self, k: u64, v: u64);
    /// Go's `LoadOrStore`: the value now stored and whether it was loaded.
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool);
    /// Go's `LoadAndDelete`.
    fn load_and_delete(&self, k: u64) -> Option<u64>;
    /// Go's `Delete`.
    fn delete(&self, k: u64);
    /// Go's `Swap`: the previous value, if any.
    fn swap(&self, k: u64, v: u64) -> Option<u64>;
    /// Go's `CompareAndSwap`.
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool;
    /// Go's `CompareAndDelete`.
    fn compare_and_delete(&self, k: u64, old: u64) -> bool;
    /// Go's `Range`.
    fn range(&self, f: impl FnMut(u64, u64) -> bool);
    /// Go's `Clear`.
    fn clear(&self);
    /// The map's own counters as `key=value` fields joined by tabs, if it keeps any (the
    /// syncmap backends: `SyncMap::stats`, O(n)). For reports, never in a timed phase.
    fn counters(&self) -> Option<String> {
        None
    }
}

impl<M: BenchMap> ReadMap for M {
    type Reader<'a> = <M as BenchMap>::Reader<'a>;
    const PINNED: bool = <M as BenchMap>::PINNED;

    fn new() -> Self {
        <M as BenchMap>::new()
    }
    fn setup_load_or_store(&mut self, k: u64, v: u64) {
        self.load_or_store(k, v);
    }
    fn setup_store(&mut self, k: u64, v: u64) {
        <M as BenchMap>::setup_store(self, k, v);
    }
    fn reader(&self) -> Self::Reader<'_> {
        <M as BenchMap>::reader(self)
    }
    fn range(&self, f: impl FnMut(u64, u64) -> bool) {
        <M as BenchMap>::range(self, f);
    }
}

/// The reader of maps without a pinned API: each load is the map's own `load`.
#[derive(Debug)]
pub struct Direct<'a, M>(&'a M);

impl<M: BenchMap> Reader for Direct<'_, M> {
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.load(k)
    }
}

/// Visits every map of the comparison (see [`for_each_map`]).
pub trait Visitor {
    /// A map with the whole API, under its column name.
    fn map<M: BenchMap>(&mut self, name: &'static str);
    /// A map that only reads (the unsynchronized floor).
    fn read_only<M: ReadMap>(&mut self, name: &'static str);
}

/// Every map of the comparison, in report column order. One line per map.
pub fn for_each_map(v: &mut impl Visitor) {
    // syncmap backends: per-call `load` and the pinned view.
    v.map::<Syncmap<syncmap_epoch::EpochReclaim>>("epoch");
    v.map::<PinnedSyncmap<syncmap_epoch::EpochReclaim>>("epoch-pinned");
    v.map::<Syncmap<syncmap_epoch::seize::SeizeReclaim>>("seize");
    v.map::<PinnedSyncmap<syncmap_epoch::seize::SeizeReclaim>>("seize-pinned");
    v.map::<Syncmap<syncmap_arcswap::ArcSwapReclaim>>("arcswap");
    v.map::<PinnedSyncmap<syncmap_arcswap::ArcSwapReclaim>>("arcswap-pinned");
    // The peers a user would pick instead.
    v.map::<RwLockMap>("rwlock");
    v.map::<MutexMap>("mutex");
    v.map::<CopyOnWriteMap>("cow-arcswap");
    v.map::<DashMap>("dashmap");
    v.map::<PapayaMap>("papaya");
    v.map::<SccMap>("scc");
    // The floor for read-only workloads.
    v.read_only::<Hashbrown>("hashbrown");
}

// ---------------------------------------------------------------------------------------------
// syncmap backends

/// A `syncmap_core::SyncMap` backend: `load` returns the backend's `Ref` (a guard or an `Arc`).
#[derive(Debug)]
pub struct Syncmap<R: Admits<(u64, u64)>>(SyncMap<u64, u64, R, Hasher>);

/// The same map read through `map.pin()`: one pin per batch of loads, each load a plain `&V`.
#[derive(Debug)]
pub struct PinnedSyncmap<R: Admits<(u64, u64)>>(Syncmap<R>);

/// The pinned reader of a [`PinnedSyncmap`].
#[derive(Debug)]
pub struct PinnedReader<'a, R: Admits<(u64, u64)>>(syncmap_core::Pinned<'a, u64, u64, R, Hasher>);

impl<R: Admits<(u64, u64)>> Reader for PinnedReader<'_, R> {
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.load(&k).copied()
    }
}

impl<R: Admits<(u64, u64)> + 'static> BenchMap for Syncmap<R> {
    type Reader<'a> = Direct<'a, Self>;
    const READ_DIRTY: bool = true;

    fn new() -> Self {
        Syncmap(SyncMap::with_hasher(Hasher::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.load(&k).map(|v| *v)
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.store(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        let (value, loaded) = self.0.load_or_store(k, v);
        (*value, loaded)
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.load_and_delete(&k).map(|v| *v)
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.delete(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.swap(k, v).map(|v| *v)
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        self.0.compare_and_swap(&k, &old, new)
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        self.0.compare_and_delete(&k, &old)
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        self.0.range(|k, v| f(*k, *v));
    }
    fn clear(&self) {
        self.0.clear();
    }
    fn counters(&self) -> Option<String> {
        let s = self.0.stats();
        Some(format!(
            "misses={}\tpromotions={}\tdirty_rebuilds={}\tcompactions={}\tentries={}\tdead_entries={}",
            s.misses, s.promotions, s.dirty_rebuilds, s.compactions, s.entries, s.dead_entries
        ))
    }
}

/// Forwards everything but the reader to the inner map.
macro_rules! forward_writes {
    ($($field:tt)+) => {
        fn load(&self, k: u64) -> Option<u64> { self.$($field)+.load(k) }
        fn store(&self, k: u64, v: u64) { self.$($field)+.store(k, v) }
        fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) { self.$($field)+.load_or_store(k, v) }
        fn load_and_delete(&self, k: u64) -> Option<u64> { self.$($field)+.load_and_delete(k) }
        fn delete(&self, k: u64) { self.$($field)+.delete(k) }
        fn swap(&self, k: u64, v: u64) -> Option<u64> { self.$($field)+.swap(k, v) }
        fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
            self.$($field)+.compare_and_swap(k, old, new)
        }
        fn compare_and_delete(&self, k: u64, old: u64) -> bool {
            self.$($field)+.compare_and_delete(k, old)
        }
        fn range(&self, f: impl FnMut(u64, u64) -> bool) { BenchMap::range(&self.$($field)+, f) }
        fn clear(&self) { self.$($field)+.clear() }
    };
}

impl<R: Admits<(u64, u64)> + 'static> BenchMap for PinnedSyncmap<R> {
    type Reader<'a> = PinnedReader<'a, R>;
    const PINNED: bool = true;

    fn new() -> Self {
        PinnedSyncmap(<Syncmap<R> as BenchMap>::new())
    }
    fn reader(&self) -> PinnedReader<'_, R> {
        PinnedReader(self.0.0.pin())
    }
    forward_writes!(0);
}

// ---------------------------------------------------------------------------------------------
// Lock-based peers

/// The operations of the two locked `HashMap` peers, on the table their lock guards.
type Table = HashMap<u64, u64, Hasher>;

#[inline]
fn table_load_or_store(map: &mut Table, k: u64, v: u64) -> (u64, bool) {
    match map.entry(k) {
        std::collections::hash_map::Entry::Occupied(e) => (*e.get(), true),
        std::collections::hash_map::Entry::Vacant(e) => (*e.insert(v), false),
    }
}

#[inline]
fn table_compare_and_swap(map: &mut Table, k: u64, old: u64, new: u64) -> bool {
    match map.get_mut(&k) {
        Some(v) if *v == old => {
            *v = new;
            true
        }
        _ => false,
    }
}

#[inline]
fn table_compare_and_delete(map: &mut Table, k: u64, old: u64) -> bool {
    if map.get(&k) == Some(&old) {
        map.remove(&k);
        true
    } else {
        false
    }
}

fn table_range(map: &Table, mut f: impl FnMut(u64, u64) -> bool) {
    for (&k, &v) in map {
        if !f(k, v) {
            break;
        }
    }
}

/// `std::sync::RwLock<HashMap>` (Go's `RWMutexMap`).
#[derive(Debug)]
pub struct RwLockMap(RwLock<Table>);

impl BenchMap for RwLockMap {
    type Reader<'a> = Direct<'a, Self>;

    fn new() -> Self {
        RwLockMap(RwLock::new(HashMap::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.read().unwrap().get(&k).copied()
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.write().unwrap().insert(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        // As Go's RWMutexMap: a read-locked look first, then the write lock.
        if let Some(&value) = self.0.read().unwrap().get(&k) {
            return (value, true);
        }
        table_load_or_store(&mut self.0.write().unwrap(), k, v)
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.write().unwrap().remove(&k)
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.write().unwrap().remove(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.write().unwrap().insert(k, v)
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        table_compare_and_swap(&mut self.0.write().unwrap(), k, old, new)
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        table_compare_and_delete(&mut self.0.write().unwrap(), k, old)
    }
    fn range(&self, f: impl FnMut(u64, u64) -> bool) {
        table_range(&self.0.read().unwrap(), f)
    }
    fn clear(&self) {
        self.0.write().unwrap().clear();
    }
}

/// `std::sync::Mutex<HashMap>`.
#[derive(Debug)]
pub struct MutexMap(Mutex<Table>);

impl BenchMap for MutexMap {
    type Reader<'a> = Direct<'a, Self>;

    fn new() -> Self {
        MutexMap(Mutex::new(HashMap::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.lock().unwrap().get(&k).copied()
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.lock().unwrap().insert(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        table_load_or_store(&mut self.0.lock().unwrap(), k, v)
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.lock().unwrap().remove(&k)
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.lock().unwrap().remove(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.lock().unwrap().insert(k, v)
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        table_compare_and_swap(&mut self.0.lock().unwrap(), k, old, new)
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        table_compare_and_delete(&mut self.0.lock().unwrap(), k, old)
    }
    fn range(&self, f: impl FnMut(u64, u64) -> bool) {
        table_range(&self.0.lock().unwrap(), f)
    }
    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

// ---------------------------------------------------------------------------------------------
// Copy-on-write: Go's DeepCopyMap

/// Go's `DeepCopyMap`: readers load an immutable `HashMap` through `ArcSwap`; writers take a
/// mutex, copy the whole map, change the copy and publish it.
#[derive(Debug)]
pub struct CopyOnWriteMap {
    clean: ArcSwap<HashMap<u64, u64, Hasher>>,
    writer: Mutex<()>,
}

impl CopyOnWriteMap {
    /// Copies the map under the writer lock, applies `f`, publishes the copy.
    fn update<T>(&self, f: impl FnOnce(&mut HashMap<u64, u64, Hasher>) -> T) -> T {
        let _writer = self.writer.lock().unwrap();
        let mut copy = HashMap::clone(&self.clean.load());
        let out = f(&mut copy);
        self.clean.store(std::sync::Arc::new(copy));
        out
    }
}

impl BenchMap for CopyOnWriteMap {
    type Reader<'a> = Direct<'a, Self>;
    const COPY_ON_WRITE: bool = true;

    fn new() -> Self {
        CopyOnWriteMap {
            clean: ArcSwap::from_pointee(HashMap::default()),
            writer: Mutex::new(()),
        }
    }
    fn setup_store(&mut self, k: u64, v: u64) {
        let mut clean = self.clean.swap(std::sync::Arc::default());
        std::sync::Arc::make_mut(&mut clean).insert(k, v);
        self.clean.store(clean);
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.clean.load().get(&k).copied()
    }
    fn store(&self, k: u64, v: u64) {
        self.update(|m| m.insert(k, v));
    }
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        // As Go's DeepCopyMap: a lock-free look first.
        if let Some(value) = self.load(k) {
            return (value, true);
        }
        let _writer = self.writer.lock().unwrap();
        let clean = self.clean.load();
        if let Some(&value) = clean.get(&k) {
            return (value, true);
        }
        let mut copy = HashMap::clone(&clean);
        copy.insert(k, v);
        self.clean.store(std::sync::Arc::new(copy));
        (v, false)
    }
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.update(|m| m.remove(&k))
    }
    fn delete(&self, k: u64) {
        self.update(|m| m.remove(&k));
    }
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.update(|m| m.insert(k, v))
    }
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        // As Go's DeepCopyMap: give up without copying when the value differs.
        if self.load(k) != Some(old) {
            return false;
        }
        self.update(|m| match m.get_mut(&k) {
            Some(v) if *v == old => {
                *v = new;
                true
            }
            _ => false,
        })
    }
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        if self.load(k) != Some(old) {
            return false;
        }
        self.update(|m| {
            if m.get(&k) == Some(&old) {
                m.remove(&k);
                true
            } else {
                false
            }
        })
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        for (&k, &v) in self.clean.load().iter() {
            if !f(k, v) {
                break;
            }
        }
    }
    fn clear(&self) {
        let _writer = self.writer.lock().unwrap();
        self.clean.store(std::sync::Arc::new(HashMap::default()));
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrent peers

/// `dashmap::DashMap` (sharded `RwLock<HashMap>`).
#[derive(Debug)]
pub struct DashMap(dashmap::DashMap<u64, u64, Hasher>);

impl BenchMap for DashMap {
    type Reader<'a> = Direct<'a, Self>;

    fn new() -> Self {
        DashMap(dashmap::DashMap::with_hasher(Hasher::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.get(&k).map(|v| *v)
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        match self.0.entry(k) {
            dashmap::Entry::Occupied(e) => (*e.get(), true),
            dashmap::Entry::Vacant(e) => {
                e.insert(v);
                (v, false)
            }
        }
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.remove(&k).map(|(_, v)| v)
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.remove(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.insert(k, v)
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        match self.0.get_mut(&k) {
            Some(mut v) if *v == old => {
                *v = new;
                true
            }
            _ => false,
        }
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        self.0.remove_if(&k, |_, v| *v == old).is_some()
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        for entry in self.0.iter() {
            if !f(*entry.key(), *entry.value()) {
                break;
            }
        }
    }
    fn clear(&self) {
        self.0.clear();
    }
}

/// `papaya::HashMap` (lock-free, seize reclamation), one `pin()` per call.
#[derive(Debug)]
pub struct PapayaMap(papaya::HashMap<u64, u64, Hasher>);

impl BenchMap for PapayaMap {
    type Reader<'a> = Direct<'a, Self>;

    fn new() -> Self {
        PapayaMap(papaya::HashMap::with_hasher(Hasher::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.pin().get(&k).copied()
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.pin().insert(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        match self.0.pin().try_insert(k, v) {
            Ok(&value) => (value, false),
            Err(e) => (*e.current, true),
        }
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.pin().remove(&k).copied()
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.pin().remove(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.pin().insert(k, v).copied()
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        let map = self.0.pin();
        let result = map.compute(k, |entry| match entry {
            Some((_, &v)) if v == old => papaya::Operation::Insert(new),
            _ => papaya::Operation::Abort(()),
        });
        matches!(result, papaya::Compute::Updated { .. })
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        matches!(self.0.pin().remove_if(&k, |_, &v| v == old), Ok(Some(_)))
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        for (&k, &v) in self.0.pin().iter() {
            if !f(k, v) {
                break;
            }
        }
    }
    fn clear(&self) {
        self.0.pin().clear();
    }
}

/// `scc::HashMap` (lock-free reads, bucket locks for writes), its `_sync` API.
#[derive(Debug)]
pub struct SccMap(scc::HashMap<u64, u64, Hasher>);

impl BenchMap for SccMap {
    type Reader<'a> = Direct<'a, Self>;

    fn new() -> Self {
        SccMap(scc::HashMap::with_hasher(Hasher::default()))
    }
    fn reader(&self) -> Direct<'_, Self> {
        Direct(self)
    }
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.read_sync(&k, |_, &v| v)
    }
    #[inline]
    fn store(&self, k: u64, v: u64) {
        self.0.upsert_sync(k, v);
    }
    #[inline]
    fn load_or_store(&self, k: u64, v: u64) -> (u64, bool) {
        match self.0.entry_sync(k) {
            scc::hash_map::Entry::Occupied(e) => (*e.get(), true),
            scc::hash_map::Entry::Vacant(e) => {
                e.insert_entry(v);
                (v, false)
            }
        }
    }
    #[inline]
    fn load_and_delete(&self, k: u64) -> Option<u64> {
        self.0.remove_sync(&k).map(|(_, v)| v)
    }
    #[inline]
    fn delete(&self, k: u64) {
        self.0.remove_sync(&k);
    }
    #[inline]
    fn swap(&self, k: u64, v: u64) -> Option<u64> {
        self.0.upsert_sync(k, v)
    }
    #[inline]
    fn compare_and_swap(&self, k: u64, old: u64, new: u64) -> bool {
        self.0
            .update_sync(&k, |_, v| {
                if *v == old {
                    *v = new;
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false)
    }
    #[inline]
    fn compare_and_delete(&self, k: u64, old: u64) -> bool {
        self.0.remove_if_sync(&k, |v| *v == old).is_some()
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        self.0.iter_sync(|&k, &v| f(k, v));
    }
    fn clear(&self) {
        self.0.clear_sync();
    }
}

// ---------------------------------------------------------------------------------------------
// The floor

/// An unsynchronized `hashbrown::HashMap`, shared read-only: the floor for the read workloads.
#[derive(Debug)]
pub struct Hashbrown(hashbrown::HashMap<u64, u64, Hasher>);

impl Reader for &Hashbrown {
    #[inline]
    fn load(&self, k: u64) -> Option<u64> {
        self.0.get(&k).copied()
    }
}

impl ReadMap for Hashbrown {
    type Reader<'a> = &'a Hashbrown;

    fn new() -> Self {
        Hashbrown(hashbrown::HashMap::default())
    }
    fn setup_load_or_store(&mut self, k: u64, v: u64) {
        self.0.entry(k).or_insert(v);
    }
    fn setup_store(&mut self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
    fn reader(&self) -> &Hashbrown {
        self
    }
    fn range(&self, mut f: impl FnMut(u64, u64) -> bool) {
        for (&k, &v) in self.0.iter() {
            if !f(k, v) {
                break;
            }
        }
    }
}
