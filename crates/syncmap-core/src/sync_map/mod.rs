//! [`SyncMap`]: the safe API of Go's `sync.Map`, a thin layer over [`RawMap`], which holds the
//! algorithm and all of its `unsafe` code.

use core::{
    borrow::Borrow,
    fmt,
    hash::{BuildHasher, Hash},
};
use std::hash::RandomState;

mod compute;
mod iter;
mod len;
mod owned;
mod pinned;
mod std_names;
#[cfg(all(test, not(loom)))]
mod tests;

pub use iter::{IntoIter, Iter, Keys, Values};
pub use owned::PinnedOwned;
pub use pinned::Pinned;

use crate::{
    Admits, Ref,
    raw::{RawMap, default_shards},
    reclaim::Reclaim,
    stats::Stats,
};

/// A concurrent hash map for read-mostly workloads: Go's classic `sync.Map`.
///
/// `R` is the memory-reclamation strategy and `S` the hasher. Users name a backend's alias
/// (`syncmap_epoch::SyncMap<K, V>`, ...) rather than this type.
///
/// # Examples on this page
///
/// The examples of the methods below are written against a backend's alias, `SyncMap<K, V>`
/// (or `SyncMap<K, V, S>` with a hasher), without saying which: they read the same with
/// `use syncmap_epoch::SyncMap;`, `use syncmap_epoch::seize::SyncMap;` or
/// `use syncmap_arcswap::SyncMap;` (whose loads return an `ArcRef`, which derefs to `V` as
/// every backend's handle does, so `*` and `as_deref` work alike). Copy the `use` line from
/// the backend's own docs. As doc tests they run against
/// [`DeferToDrop`](crate::reclaim::DeferToDrop), through a hidden alias.
///
/// # Design
///
/// * **read**: an immutable hash table of entries, published through one atomic pointer. A
///   lookup that finds its key there takes no lock and writes no shared memory.
/// * **dirty**: a second table behind a mutex, holding every live entry of read plus the keys
///   stored since the last promotion. `amended` (a flag of the read table) says dirty has keys
///   read lacks.
/// * **misses**: lookups that had to take the lock (and, unlike Go, stores to keys only dirty
///   has, as Go's `LoadOrStore` counts them). When they reach the size of dirty, dirty
///   becomes the new read table in O(1), and the next new key rebuilds dirty from read in O(n).
///   Unlike Go, no single operation pays that O(n) (nor the O(n) of growing the dirty table):
///   the new table is allocated at once, and the entries are moved into it a few at a time by
///   the locked operations that follow (see `raw/dirty.rs`), and so is a compaction (see
///   *Memory*). Only `range` (which promotes), `clear` and `stats` still do O(n) work in one
///   call.
/// * **entries** are shared by both tables; their value slot is *present*, *deleted* or
///   *expunged* (see the state table in `raw/entry.rs`), changed by CAS, so updating a key that
///   read already has needs no lock.
///
/// The invariants that make this sound are listed on the raw layer's map (`raw/mod.rs`).
///
/// # Shards
///
/// Go's design has one lock, which every writer of a new key takes. This map splits its keys by
/// hash among *shards*, each a copy of the design above with its own read table, dirty table,
/// lock, misses and promotions, so that writers of keys in different shards do not wait for
/// each other (Go's `sync.Map` with one shard is what
/// [`with_capacity_hasher_and_shards`](Self::with_capacity_hasher_and_shards)`(_, _, 1)`
/// builds). A key's shard is fixed by its hash, so every guarantee Go gives per key holds
/// as it is. What spans shards:
///
/// * the shards' read tables are published together, in one immutable array (the *root*), so
///   a lookup makes one more dependent load than Go's (the root, then its shard's table); a
///   promotion replaces the root with a copy in which its shard's table is the new one;
/// * `clear` takes every shard's lock and replaces the root in one atomic swap: it takes effect
///   for all keys at once (a lookup that finds one key cleared finds every other key cleared
///   too, unless stored again since);
/// * `range` promotes each shard that has keys its read table lacks, then iterates the tables
///   of one root: a snapshot of the read state, as Go's `Range` iterates one read table;
/// * `len`, `stats` and `retain` visit the shards one after another.
///
/// The default is four shards per hardware thread (as dashmap's), at most 64, chosen by
/// measurement: on two cores, eight shards cut the time of two threads storing new keys to
/// 0.6-0.7x of one lock's, left single-threaded work as it was, and make a `clear` take about
/// twice as long (it takes every lock); more shards help writers further and cost `clear` more
/// (see `docs/BENCHMARKS.md`, *Shards*). A shard promotes after at least as many misses as
/// there are shards, and compacts after at least 16 deletes: a shard of a few keys would
/// otherwise promote after every call or two.
///
/// # Memory
///
/// The entries the map holds are O(live keys), whatever the operations: at most
/// `2 * live + c` once quiescent, for a small constant `c`: about 100 for one shard, about 7
/// more for each shard of several, at most [`ENTRY_SLACK`](crate::ENTRY_SLACK).
/// Deleted entries stay linked (so that a delete-then-store cycle reuses its entry
/// without the lock), but deletes are counted, and once a quarter of the entries the last
/// promoted table held have been deleted since its rebuild began (so that dead entries could
/// soon outnumber live ones), the map *compacts*: it rebuilds dirty from read, which expunges
/// every deleted entry, and promotes it, retiring the expunged entries. Nothing is counted, and
/// the compaction is spread over the deletes that follow, a few hundred buckets for each
/// delete of a key of the shard being compacted (each shard counts and compacts on its own), as the rebuild after a new key is spread over inserts and misses:
/// no call does O(n) work, and the cost is amortised O(1) per delete. Once deletes stop, the
/// bound holds without the compaction finishing. Go's map has no such step: it keeps deleted
/// keys until a new key forces a rebuild (Go issue 40999 was the unbounded case, fixed in Go
/// 1.16 for `LoadAndDelete` only).
///
/// Once dirty holds a few hundred entries, new entries come from 4 KiB chunks the map owns
/// rather than from one allocation each: a new key takes a slot under the lock, a reclaimed
/// entry's slot goes back to its chunk for the next new key, and a chunk whose slots are all
/// free is released (one empty chunk is kept, so that a map growing and shrinking around a
/// chunk boundary does not allocate it over and over). A chunk with one live entry stays whole:
/// after deleting most keys of a large map, keys and values are freed, but the slots of a chunk
/// that still has a live entry are held for new keys, as a slab allocator (or `malloc`'s free
/// lists) would hold them: at worst one chunk per live key (keeping every 1,000th key of a
/// million `u64`s holds 4.2 bytes per original entry; the first thousand, 0.1). Chunks outlive
/// the map until the strategy has reclaimed their last entry.
///
/// # Consistency
///
/// Every operation is linearizable on its own key. [`range`](Self::range) is not a snapshot:
/// it visits each key at most once, visits every key present for the whole call, and may or may
/// not see concurrent changes, as Go documents for `Range`. [`len`](Self::len) is exact when no
/// write runs concurrently.
pub struct SyncMap<K, V, R: Reclaim, S = RandomState> {
    raw: RawMap<K, V, R, S>,
}

impl<K, V, R: Reclaim> SyncMap<K, V, R, RandomState> {
    /// Creates an empty map.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<String, u32> = SyncMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_capacity_and_hasher(0, RandomState::new())
    }

    /// Creates an empty map whose first dirty table has room for `capacity` keys.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u64, u64> = SyncMap::with_capacity(1024);
    /// map.store(1, 2);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, R: Reclaim, S> SyncMap<K, V, R, S> {
    /// Creates an empty map that hashes with `hash_builder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::RandomState;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let map: SyncMap<u64, u64> = SyncMap::with_hasher(RandomState::new());
    /// map.store(7, 49);
    /// assert_eq!(*map.load(&7).unwrap(), 49);
    /// ```
    pub fn with_hasher(hash_builder: S) -> Self {
        Self::with_capacity_and_hasher(0, hash_builder)
    }

    /// Creates an empty map with a capacity hint and a hasher.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::RandomState;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let map: SyncMap<u64, u64> =
    ///     SyncMap::with_capacity_and_hasher(16, RandomState::new());
    /// map.store(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hash_builder: S) -> Self {
        Self::with_capacity_hasher_and_shards(capacity, hash_builder, default_shards())
    }

    /// Creates an empty map with a capacity hint, a hasher and `shards` shards: independent
    /// copies of Go's design, each with its own read table and dirty lock, among which keys are
    /// split by hash (see [*Shards*](Self#shards)). The count is rounded up to a power of two,
    /// from 1 (Go's exact design) to 64.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::RandomState;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// // One shard: Go's `sync.Map`, one lock for every writer of a new key.
    /// let map: SyncMap<u64, u64> = SyncMap::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
    /// assert_eq!(map.shards(), 1);
    /// let map: SyncMap<u64, u64> = SyncMap::with_capacity_hasher_and_shards(0, RandomState::new(), 12);
    /// assert_eq!(map.shards(), 16);
    /// ```
    pub fn with_capacity_hasher_and_shards(
        capacity: usize,
        hash_builder: S,
        shards: usize,
    ) -> Self {
        SyncMap {
            raw: RawMap::with_capacity_hasher_and_shards(capacity, hash_builder, shards),
        }
    }

    /// The number of shards (see [*Shards*](Self#shards)).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u64, u64> = SyncMap::new();
    /// assert!(map.shards().is_power_of_two() && map.shards() <= 64);
    /// ```
    pub fn shards(&self) -> usize {
        self.raw.shards()
    }

    /// The map's hasher.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::RandomState;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let map: SyncMap<u64, u64> = SyncMap::with_hasher(RandomState::new());
    /// let _hasher: &RandomState = map.hasher();
    /// ```
    pub fn hasher(&self) -> &S {
        self.raw.hasher()
    }

    /// Counters of hits, misses, promotions, rebuilds and compactions, and the entries held
    /// (live and dead): see [`Stats`]. Counting the entries makes this O(n), under the lock that
    /// writers of new keys take: a diagnostic, not a metric to scrape in a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// // One shard, so that both keys share it (each shard rebuilds its own dirty).
    /// let map: SyncMap<u8, u8> = SyncMap::with_capacity_hasher_and_shards(0, Default::default(), 1);
    /// map.store(1, 1);
    /// map.store(2, 2); // both new keys share one rebuild of dirty
    /// assert_eq!(map.stats().dirty_rebuilds, 1);
    /// ```
    pub fn stats(&self) -> Stats {
        self.raw.stats()
    }
}

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns the value stored for `key`, if any.
    ///
    /// The returned handle keeps the value alive (it holds a guard or a reference count, never
    /// a lock); a later store replaces the map's value without changing the handle's.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<String, u32> = SyncMap::new();
    /// map.store("a".to_string(), 1);
    /// assert_eq!(map.load("a").as_deref(), Some(&1));
    /// assert!(map.load("b").is_none());
    /// ```
    #[inline]
    #[doc(alias = "get")]
    pub fn load<Q>(&self, key: &Q) -> Option<Ref<'_, V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.raw.load(key)
    }

    /// Pins the current thread and returns a view whose loads borrow from the pin: the cheapest
    /// way to do a batch of reads.
    ///
    /// **The view holds a guard**: while it lives, nothing that this map retires is freed (on
    /// the crossbeam-epoch backend, whose collector is global, nothing that any crossbeam-epoch
    /// user in the process retires). Hold it for a batch of reads, not across slow work.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (0..100).map(|i| (i, i * i)).collect();
    /// let pinned = map.pin();
    /// let sum: u32 = (0..100).filter_map(|i| pinned.load(&i)).sum();
    /// assert_eq!(sum, (0..100).map(|i| i * i).sum());
    /// ```
    pub fn pin(&self) -> Pinned<'_, K, V, R, S> {
        Pinned::new(self)
    }

    /// Sets the value for `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// map.store("a", 2);
    /// assert_eq!(*map.load("a").unwrap(), 2);
    /// ```
    #[doc(alias("insert", "set", "put"))]
    pub fn store(&self, key: K, value: V) {
        self.raw.store(key, value);
    }

    /// Sets the value for `key` and returns the previous value, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// assert!(map.swap("a", 1).is_none());
    /// assert_eq!(map.swap("a", 2).as_deref(), Some(&1));
    /// ```
    #[doc(alias("insert", "replace"))]
    pub fn swap(&self, key: K, value: V) -> Option<Ref<'_, V, R>> {
        self.raw.swap(key, value)
    }

    /// Returns the existing value for `key` if present (`true`), otherwise stores `value` and
    /// returns it (`false`).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// let (value, loaded) = map.load_or_store("a", 1);
    /// assert_eq!((*value, loaded), (1, false));
    /// let (value, loaded) = map.load_or_store("a", 2);
    /// assert_eq!((*value, loaded), (1, true));
    /// ```
    #[doc(alias("entry", "get_or_insert", "or_insert", "try_insert"))]
    pub fn load_or_store(&self, key: K, value: V) -> (Ref<'_, V, R>, bool) {
        self.raw.load_or_store(key, value)
    }

    /// Deletes `key`'s value, returning it if there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// assert_eq!(map.load_and_delete("a").as_deref(), Some(&1));
    /// assert!(map.load_and_delete("a").is_none());
    /// ```
    #[doc(alias("remove", "take"))]
    pub fn load_and_delete<Q>(&self, key: &Q) -> Option<Ref<'_, V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.raw.load_and_delete(key)
    }

    /// Deletes `key`'s value.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// map.delete("a");
    /// assert!(map.load("a").is_none());
    /// ```
    #[doc(alias = "remove")]
    pub fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.raw.delete(key);
    }

    /// Replaces `key`'s value with `new` if it is present and equal to `old`; returns whether
    /// it did. A missing key never compares equal.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// assert!(!map.compare_and_swap("a", &0, 1)); // missing
    /// map.store("a", 1);
    /// assert!(!map.compare_and_swap("a", &0, 2));
    /// assert!(map.compare_and_swap("a", &1, 2));
    /// assert_eq!(*map.load("a").unwrap(), 2);
    /// ```
    #[doc(alias("compare_exchange", "cas"))]
    pub fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.raw.compare_and_swap(key, old, new)
    }

    /// Deletes `key` if its value is present and equal to `old`; returns whether it did.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// assert!(!map.compare_and_delete("a", &2));
    /// assert!(map.compare_and_delete("a", &1));
    /// assert!(map.load("a").is_none());
    /// ```
    #[doc(alias = "remove_if")]
    pub fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.raw.compare_and_delete(key, old)
    }

    /// Calls `f` for each key and value, until it returns `false`.
    ///
    /// Not a snapshot: no key is visited twice, every key present for the whole call is
    /// visited, and concurrent changes may or may not be seen. `f` may call any method of the
    /// map (no lock is held while it runs). If dirty has keys read lacks, `range` first
    /// promotes dirty (O(1)), so a following `range` is a pure read.
    ///
    /// **`f` runs inside a guard**: while it runs, nothing that this map retires is freed (on
    /// the crossbeam-epoch backend, whose collector is global, nothing that any crossbeam-epoch
    /// user in the process retires). Keep `f` short; a slow computation belongs in
    /// [`load_or_store_with`](Self::load_or_store_with), which holds nothing while it runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (1..=4).map(|i| (i, i * 10)).collect();
    /// let mut sum = 0;
    /// map.range(|_key, value| {
    ///     sum += value;
    ///     true
    /// });
    /// assert_eq!(sum, 100);
    /// ```
    #[doc(alias("iter", "for_each"))]
    pub fn range<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = self.raw.pin_reads();
        for (key, value) in self.raw.present_entries(&guard) {
            if !f(key, value) {
                break;
            }
        }
    }

    /// Deletes every key.
    ///
    /// Concurrent operations are ordered before or after the clear as a whole, as in Go.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// map.clear();
    /// assert!(map.is_empty());
    /// map.store(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    #[doc(alias = "remove_all")]
    pub fn clear(&self) {
        self.raw.clear();
    }

    /// The number of keys with a value. O(n); exact when no write runs concurrently.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = SyncMap::new();
    /// map.store(1, 1);
    /// map.store(2, 2);
    /// map.delete(&1);
    /// assert_eq!(map.len(), 1);
    /// ```
    #[doc(alias("size", "count"))]
    pub fn len(&self) -> usize {
        self.raw.count_present(usize::MAX)
    }

    /// Whether no key has a value. Exact when no write runs concurrently.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = SyncMap::new();
    /// assert!(map.is_empty());
    /// map.store(1, 1);
    /// assert!(!map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.count_present(1) == 0
    }
}

impl<K, V, R, S> Default for SyncMap<K, V, R, S>
where
    R: Reclaim,
    S: Default,
{
    /// An empty map with the default hasher.
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K, V, R, S> fmt::Debug for SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send + fmt::Debug,
    V: Send + fmt::Debug,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Formats the entries as `range` visits them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.range(|k, v| {
            map.entry(k, v);
            true
        });
        map.finish()
    }
}

impl<K, V, R, S> FromIterator<(K, V)> for SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let map = Self::default();
        (&map).extend(iter);
        map
    }
}

impl<K, V, R, S> Extend<(K, V)> for SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&*self).extend(iter);
    }
}

impl<K, V, R, S> Extend<(K, V)> for &SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.store(key, value);
        }
    }
}
