//! [`SyncMap`]: Go's `sync.Map` algorithm, written once, generic over a [`Reclaim`] strategy.

use core::{
    borrow::Borrow,
    fmt,
    hash::{BuildHasher, Hash},
    marker::PhantomData,
    ptr::NonNull,
};
use std::hash::RandomState;

use hashbrown::HashTable;

mod beyond;
mod bound;
mod iter;
mod len;
mod owned;
mod std_names;

pub use iter::{IntoIter, Iter, Keys, Values};
pub use owned::{PinnedOwned, ReclaimOwned};

use crate::Admits;
use crate::{
    Ref,
    entry::{Entry, EntryPtr, Incoming, LoadOrStore, Locked, RetiredValue},
    primitive::sync::{
        Condvar, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::*},
    },
    reclaim::{Reclaim, Retire, sealed::Sealed},
    stats::{DeleteCounter, HitCounter, LenCounter, LockedStats, Stats},
    unwind::DropAll,
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
/// `use syncmap_arcswap::SyncMap;` (whose loads return `Arc<V>`, so `*` and `as_deref` work
/// alike). Copy the `use` line from the backend's own docs. As doc tests they run against
/// [`DeferToDrop`](crate::reclaim::DeferToDrop), through a hidden alias.
///
/// # Design
///
/// * **read**: an immutable hash table of entries, published through one atomic pointer. A
///   lookup that finds its key there takes no lock and writes no shared memory.
/// * **dirty**: a second table behind a mutex, holding every live entry of read plus the keys
///   stored since the last promotion. `amended` (a flag of the read table) says dirty has keys
///   read lacks.
/// * **misses**: lookups that had to take the lock. When they reach the size of dirty, dirty
///   becomes the new read table in O(1), and the next new key rebuilds dirty from read in O(n).
/// * **entries** are shared by both tables; their value slot is *present*, *deleted* or
///   *expunged* (see the state table in `entry.rs`), changed by CAS, so updating a key that read
///   already has needs no lock.
///
/// # Invariants
///
/// Under the dirty lock:
/// 1. `read` never changes after publication (the `amended` flag only goes false → true).
/// 2. If dirty exists, every entry of read is either in dirty or expunged, never both; and the
///    graveyard lists exactly the entries expunged by the last rebuild (some may have been
///    revived since: those are in dirty again).
/// 3. If dirty does not exist, no entry is expunged, and `amended` is false.
/// 4. A key has at most one entry across both tables.
///
/// Entry lifetime follows from these: an entry dies when it leaves both tables, which happens
/// only (a) at promotion, to read entries still expunged (the graveyard), (b) at a compaction,
/// to entries it expunges, (c) at `clear`, and (d) when the map is dropped. Deleting a key never
/// unlinks its entry (see `find_slow`). In (a) to (c) the entry is retired through `R` with the
/// old read table, so readers still inside it stay safe.
///
/// # Memory
///
/// The entries the map holds are O(live keys), whatever the operations: at most
/// `2 * live + c` once quiescent, for a small constant `c` per deleting thread (about 80 for
/// one thread). Deleted entries stay linked (so that a delete-then-store cycle reuses its entry
/// without the lock), but deletes are counted, and once dead entries could outnumber live ones
/// the map counts them under the lock and, if they are at least a quarter of all entries (and
/// at least a few dozen), *compacts*: promotes dirty, expunges every deleted entry of read and
/// publishes a read table of the live entries only, retiring the rest. Each check and each
/// compaction is O(n) and follows Θ(n) deletes or inserts, so the cost is amortised O(1) per
/// operation. Go's map has no such step: it keeps deleted keys until a new key forces a rebuild
/// (Go issue 40999 was the unbounded case, fixed in Go 1.16 for `LoadAndDelete` only).
///
/// # Consistency
///
/// Every operation is linearizable on its own key. [`range`](Self::range) is not a snapshot:
/// it visits each key at most once, visits every key present for the whole call, and may or may
/// not see concurrent changes, as Go documents for `Range`. [`len`](Self::len) is exact when no
/// write runs concurrently.
pub struct SyncMap<K, V, R: Reclaim, S = RandomState> {
    /// The published read table; never null.
    read: AtomicPtr<ReadOnly<K, V, R>>,
    dirty: Mutex<Dirty<K, V, R>>,
    /// Where writers wait for a `load_or_store_with` computation of their key to end.
    reservations: Reservations,
    hits: HitCounter,
    /// Deletes so far, and the total at which the next check for dead entries is due (see the
    /// *Memory* section and `bound.rs`).
    deletes: DeleteCounter,
    /// Present values, for `len_estimate` (see `LenCounter`).
    present: LenCounter,
    next_dead_check: AtomicU64,
    hash_builder: S,
    reclaim: R,
    _owns: PhantomData<(K, V)>,
}

// SAFETY: sending the map sends its keys and values (owned through raw pointers) and its
// strategy and hasher; retired ones may also be dropped on another thread, hence `Send` only.
// Values are owned as `R::Stored<V>`: when loaded handles share them (`Arc<V>`), the handles left
// on this thread and the map on the other both reach them, which `Stored<V>: Send` accounts for
// (`Reclaim`'s contract, item 3).
unsafe impl<K: Send, V: Send, R: Reclaim, S: Send> Send for SyncMap<K, V, R, S> where
    R::Stored<V>: Send
{
}

// SAFETY: a shared map moves keys and values in from any thread (`Send`), lends `&K` and `&V` to
// several threads at once (`Sync`), and shares its hasher (`Sync`). The strategy is `Sync` by
// the `Reclaim` bound, and all shared state is behind atomics or the mutex.
unsafe impl<K: Send + Sync, V: Send + Sync, R: Reclaim, S: Sync> Sync for SyncMap<K, V, R, S> {}

/// The waiting room of writers that found a key reserved (see `load_or_store_with`).
#[derive(Default)]
struct Reservations {
    lock: Mutex<()>,
    ended: Condvar,
}

/// The table capacity plus dead entries from which a retired read table is followed by a
/// [`Reclaim::flush`] hint even when no entry died with it.
const FLUSH_MIN_SIZE: usize = 1024;

/// A published read table: immutable but for `amended`, which only goes from false to true.
struct ReadOnly<K, V, R: Reclaim> {
    table: HashTable<EntryPtr<K, V, R>>,
    /// True if dirty holds a key that `table` does not.
    amended: AtomicBool,
}

impl<K, V, R: Reclaim> ReadOnly<K, V, R> {
    fn publish(table: HashTable<EntryPtr<K, V, R>>) -> *mut Self {
        Box::into_raw(Box::new(ReadOnly {
            table,
            amended: AtomicBool::new(false),
        }))
    }

    #[inline]
    fn amended(&self) -> bool {
        self.amended.load(Acquire)
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<EntryPtr<K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        find(&self.table, hash, key)
    }
}

/// Looks `key` up in a table of live entries.
#[inline]
fn find<K, V, R, Q>(
    table: &HashTable<EntryPtr<K, V, R>>,
    hash: u64,
    key: &Q,
) -> Option<EntryPtr<K, V, R>>
where
    R: Reclaim,
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    table
        .find(hash, |e| {
            // SAFETY: entries linked from a table the caller may read are alive.
            unsafe { e.get() }.matches(hash, key)
        })
        .copied()
}

/// The cached-hash hasher for tables of entries: rebuilding and growing never call `Hash`.
#[inline]
fn entry_hash<K, V, R: Reclaim>(e: &EntryPtr<K, V, R>) -> u64 {
    // SAFETY: entries linked from a table the caller may write (under the lock) are alive.
    unsafe { e.get() }.hash
}

/// The state behind the mutex.
struct Dirty<K, V, R: Reclaim> {
    table: Option<HashTable<EntryPtr<K, V, R>>>,
    /// Lookups that fell through to dirty since the last promotion.
    misses: usize,
    /// Entries the last rebuild expunged (invariant 2).
    graveyard: Vec<EntryPtr<K, V, R>>,
    /// The capacity asked for at construction, used by the first rebuild only.
    capacity_hint: usize,
    stats: LockedStats,
}

impl<K, V, R: Reclaim> Dirty<K, V, R> {
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<EntryPtr<K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        find(self.table.as_ref()?, hash, key)
    }

    fn insert(&mut self, entry: EntryPtr<K, V, R>) {
        // SAFETY: the caller links a live entry it just made or unexpunged.
        let hash = unsafe { entry.get() }.hash;
        self.table
            .as_mut()
            .expect("dirty exists when an entry is linked into it")
            .insert_unique(hash, entry, entry_hash);
    }
}

/// What dies with a read table: the table itself, and entries no table links any more.
struct Garbage<K, V, R: Reclaim> {
    read: NonNull<ReadOnly<K, V, R>>,
    entries: Vec<EntryPtr<K, V, R>>,
}

impl<K, V, R: Reclaim> Sealed for Garbage<K, V, R> {}

impl<K, V, R: Reclaim> Retire for Garbage<K, V, R> {
    /// Frees the table and every entry, even if a key's or value's `Drop` panics; the first
    /// such panic resumes after the rest (see [`DropAll`]).
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: garbage is boxed by `retire_read_locked` and reclaimed once.
        let garbage = unsafe { Box::from_raw(ptr.as_ptr()) };
        // SAFETY: the read table was published by `ReadOnly::publish` and is reclaimed with its
        // garbage, once.
        drop(unsafe { Box::from_raw(garbage.read.as_ptr()) });
        let mut drops = DropAll::new();
        for entry in garbage.entries {
            // SAFETY: each listed entry was unlinked from every table and listed once.
            drops.run(|| unsafe { Entry::reclaim(entry.as_non_null()) });
        }
        drops.finish();
    }
}

/// A pinned view of a map: loads return plain references that live as long as the pin.
///
/// Created by [`SyncMap::pin`]. While it lives, memory retired by any thread is kept, so hold it
/// for a batch of reads, not forever.
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<&str, u32> = [("a", 1), ("b", 2)].into_iter().collect();
/// let pinned = map.pin();
/// let (a, b) = (pinned.load("a").unwrap(), pinned.load("b").unwrap());
/// assert_eq!(a + b, 3);
/// ```
pub struct Pinned<'m, K, V, R: Reclaim, S = RandomState> {
    map: &'m SyncMap<K, V, R, S>,
    guard: R::Guard<'m>,
}

impl<K, V, R: Reclaim, S> fmt::Debug for Pinned<'_, K, V, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
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
        SyncMap {
            read: AtomicPtr::new(ReadOnly::publish(HashTable::new())),
            dirty: Mutex::new(Dirty {
                table: None,
                misses: 0,
                graveyard: Vec::new(),
                capacity_hint: capacity,
                stats: LockedStats::default(),
            }),
            reservations: Reservations::default(),
            hits: HitCounter::default(),
            deletes: DeleteCounter::default(),
            present: LenCounter::default(),
            next_dead_check: AtomicU64::new(0),
            hash_builder,
            reclaim: R::default(),
            _owns: PhantomData,
        }
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
        &self.hash_builder
    }

    /// Counters of hits, misses, promotions, rebuilds and compactions, and the entries held
    /// (live and dead): see [`Stats`]. Counting the entries makes this O(n), under the lock that
    /// writers of new keys take: a diagnostic, not a metric to scrape in a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u8, u8> = SyncMap::new();
    /// map.store(1, 1);
    /// map.store(2, 2); // both new keys share one rebuild of dirty
    /// assert_eq!(map.stats().dirty_rebuilds, 1);
    /// ```
    pub fn stats(&self) -> Stats {
        let guard = self.reclaim.pin();
        let (dirty, locked) = self.lock();
        let held = Self::count_entries_locked(&dirty, self.read(&guard), &locked);
        Stats {
            compactions: dirty.stats.compactions,
            entries: held.entries,
            dead_entries: held.dead,
            read_hits: self.hits.total(),
            misses: dirty.stats.misses,
            promotions: dirty.stats.promotions,
            dirty_rebuilds: dirty.stats.dirty_rebuilds,
            expunged: dirty.stats.expunged,
            unexpunged: dirty.stats.unexpunged,
        }
    }

    /// The current read table.
    #[inline]
    fn read<'g>(&'g self, guard: &'g R::Guard<'_>) -> &'g ReadOnly<K, V, R> {
        let _ = guard;
        let ptr = self.read.load(Acquire);
        // SAFETY: `read` is never null, and a replaced read table is retired, so it outlives
        // every guard that could have loaded it, including `guard` (`Reclaim`'s *Protection*
        // covers plain loads made while a guard lives).
        unsafe { &*ptr }
    }

    /// Takes the dirty lock, with the proof that `*_locked` functions ask for.
    fn lock(&self) -> (MutexGuard<'_, Dirty<K, V, R>>, Locked<'_>) {
        let dirty = self.dirty.lock();
        // SAFETY: the proof lives no longer than the caller's scope, which holds the guard;
        // callers keep the `MutexGuard` alive alongside it.
        (dirty, unsafe { Locked::new() })
    }

    /// Go's `missLocked`: counts a miss and promotes dirty once misses reach its size.
    fn miss_locked(&self, dirty: &mut Dirty<K, V, R>, guard: &R::Guard<'_>, locked: &Locked<'_>) {
        dirty.misses += 1;
        dirty.stats.misses += 1;
        let len = dirty.table.as_ref().map_or(0, HashTable::len);
        if dirty.misses < len {
            return;
        }
        self.promote_locked(dirty, guard, locked);
    }

    /// Makes dirty the new read table (O(1)) and retires the old one, with the graveyard
    /// entries that were not revived.
    fn promote_locked(
        &self,
        dirty: &mut Dirty<K, V, R>,
        guard: &R::Guard<'_>,
        locked: &Locked<'_>,
    ) {
        let Some(table) = dirty.table.take() else {
            debug_assert!(false, "promotion without a dirty table");
            return;
        };
        let dead: Vec<_> = dirty
            .graveyard
            .drain(..)
            // SAFETY: graveyard entries are linked from read, which we are about to retire.
            .filter(|e| unsafe { e.get() }.is_expunged(locked))
            .collect();
        dirty.misses = 0;
        dirty.stats.promotions += 1;
        self.replace_read_locked(ReadOnly::publish(table), dead, guard, locked);
    }

    /// Publishes `new` as the read table and retires the old one along with `dead` entries.
    fn replace_read_locked(
        &self,
        new: *mut ReadOnly<K, V, R>,
        dead: Vec<EntryPtr<K, V, R>>,
        guard: &R::Guard<'_>,
        _locked: &Locked<'_>,
    ) {
        let old = self.read.swap(new, AcqRel);
        // SAFETY: `old` was published until the swap and is retired only below; `guard`
        // protects it meanwhile.
        let size = unsafe { (*old).table.capacity() } + dead.len();
        let dead_count = dead.len();
        let garbage = Box::new(Garbage {
            read: NonNull::new(old).expect("read is never null"),
            entries: dead,
        });
        // SAFETY: the old table is unpublished, and the dead entries are linked from no table
        // (invariant 2 and the callers); lock-holders only reach tables through `read`, which
        // now points elsewhere. Garbage is `Send` because the map's keys and values are.
        unsafe {
            self.reclaim
                .retire(guard, NonNull::from(Box::leak(garbage)))
        }
        // Start a batch's reclamation early when keys and values died here (a `clear`, a
        // compaction, or entries expunged at the last rebuild: at least the strategy's
        // `FLUSH_MIN_DEAD`), or when the table is large; a small map promoted or cleared over
        // and over would otherwise pay a flush each time.
        if size >= FLUSH_MIN_SIZE || dead_count >= R::FLUSH_MIN_DEAD.max(1) {
            self.reclaim.flush(guard);
        }
    }

    /// Empties dirty and returns every entry of read and dirty once (invariants 2 and 3).
    fn unlink_all_locked(
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        locked: &Locked<'_>,
    ) -> Vec<EntryPtr<K, V, R>> {
        dirty.misses = 0;
        dirty.graveyard.clear();
        match dirty.table.take() {
            None => read.table.iter().copied().collect(),
            Some(table) => {
                let mut dead: Vec<_> = table.into_iter().collect();
                // SAFETY: linked from the current read table, which the lock keeps published.
                dead.extend(
                    read.table
                        .iter()
                        .filter(|e| unsafe { e.get() }.is_expunged(locked)),
                );
                dead
            }
        }
    }

    /// With exclusive access: unpublishes every entry (leaving the map empty and usable) and
    /// returns each once, for the caller to free or take apart.
    fn take_entries(&mut self) -> Vec<EntryPtr<K, V, R>> {
        let empty = ReadOnly::publish(HashTable::new());
        // `swap`/`load` rather than `get_mut`: loom's atomics have no `get_mut`.
        let read_ptr = self.read.swap(empty, Relaxed);
        // SAFETY: exclusive access: no guard of this map is alive, and `read` is never null.
        let read = unsafe { Box::from_raw(read_ptr) };
        // SAFETY: exclusive access stands in for the lock.
        let locked = unsafe { Locked::new() };
        Self::unlink_all_locked(self.dirty.get_mut(), &read, &locked)
    }

    /// Retires a value that was just replaced or deleted from `entry`, unless it is the entry's
    /// inline value, which lives and dies with the entry (see `Entry`'s inline slot).
    #[inline]
    fn retire_value(&self, guard: &R::Guard<'_>, entry: &Entry<K, V, R>, value: NonNull<V>) {
        if entry.is_inline(value) {
            return;
        }
        // SAFETY: the caller just unlinked `value` from its entry with a successful CAS or swap,
        // so no thread pinning from now on can read it, and only this thread retires it.
        unsafe {
            self.reclaim
                .retire(guard, RetiredValue::<V, R>::cast(value))
        }
    }
}

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hash_builder.hash_one(key)
    }

    /// Go's `Load`, up to reading the entry's value pointer.
    #[inline]
    fn load_ptr<Q>(&self, guard: &R::Guard<'_>, hash: u64, key: &Q) -> Option<NonNull<V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let read = self.read(guard);
        let entry = match read.find(hash, key) {
            Some(entry) => {
                self.hits.hit();
                entry
            }
            None if !read.amended() => return None,
            None => self.find_slow(guard, hash, key)?,
        };
        // SAFETY: found in a table under `guard`.
        let entry = unsafe { entry.get() };
        Entry::<K, V, R>::present(entry.slot().load(Acquire))
    }

    /// The locked half of Go's `Load`, `LoadAndDelete` and `CompareAndDelete`: re-checks read
    /// (dirty may have been promoted while we waited), then looks in dirty and counts a miss.
    ///
    /// Unlike Go's `LoadAndDelete`, deleting never unlinks a key that only dirty has: the entry
    /// stays in dirty as *deleted* (as Go's `CompareAndDelete` leaves it), and the rebuild after
    /// the next promotion expunges it if it is still deleted then. A delete-then-store cycle on
    /// a key thus reuses its entry (lock-free once promoted) instead of allocating a new entry,
    /// re-promoting and rebuilding dirty on every cycle. Promotion alone would not bound the
    /// deleted entries (a workload of new keys and deletes, with no loads, never promotes: Go
    /// issue 40999); the delete count does: see the *Memory* section of [`SyncMap`].
    #[cold]
    fn find_slow<Q>(&self, guard: &R::Guard<'_>, hash: u64, key: &Q) -> Option<EntryPtr<K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let (mut dirty, locked) = self.lock();
        let read = self.read(guard);
        if let Some(entry) = read.find(hash, key) {
            return Some(entry);
        }
        if !read.amended() {
            return None;
        }
        let found = dirty.find(hash, key);
        self.miss_locked(&mut dirty, guard, &locked);
        found
    }

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
        let hash = self.hash(key);
        let guard = self.reclaim.pin();
        let value = self.load_ptr(&guard, hash, key)?;
        // SAFETY: `value` was read under `guard` and came from `R::alloc`.
        Some(unsafe { R::make_ref(guard, value) })
    }

    /// Pins the current thread and returns a view whose loads borrow from the pin: the cheapest
    /// way to do a batch of reads.
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
        Pinned {
            map: self,
            guard: self.reclaim.pin(),
        }
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
        let guard = self.reclaim.pin();
        self.swap_ptr(&guard, key, value);
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
        let guard = self.reclaim.pin();
        let previous = self.swap_ptr(&guard, key, value)?;
        // SAFETY: `previous` was unlinked and retired under `guard`, which is still alive.
        Some(unsafe { R::make_ref(guard, previous) })
    }

    /// Go's `Swap`. Retires the previous value (before the unused key can be dropped, so a
    /// panicking `Drop` of `K` leaks nothing) and returns its pointer.
    fn swap_ptr(&self, guard: &R::Guard<'_>, key: K, value: V) -> Option<NonNull<V>> {
        let hash = self.hash(&key);
        let mut new = Incoming::Value(value);
        loop {
            let read = self.read(guard);
            if let Some(entry) = read.find(hash, &key) {
                // SAFETY: found in read under `guard`.
                let entry = unsafe { entry.get() };
                match entry.try_swap(new.owned()) {
                    Ok(previous) => return self.retired(guard, entry, previous),
                    Err(back) => new = Incoming::Owned(back),
                }
            }
            let (mut dirty, locked) = self.lock();
            let read = self.read(guard);
            let Some((entry, _)) =
                self.entry_for_write_locked(&mut dirty, read, hash, &key, &locked)
            else {
                let entry = Entry::boxed(hash, key, new);
                self.insert_new_locked(&mut dirty, read, entry, &locked);
                self.present.added();
                return None;
            };
            // SAFETY: found under `guard` and the lock.
            let swapped = unsafe { entry.get() }.swap_locked(new.owned(), &locked);
            drop(dirty);
            match swapped {
                // SAFETY: found under `guard`, which is still alive.
                Ok(previous) => return self.retired(guard, unsafe { entry.get() }, previous),
                Err(back) => {
                    new = Incoming::Owned(back);
                    self.wait_reserved(guard, entry);
                }
            }
        }
    }

    /// The common prologue of Go's locked write paths: finds `key`'s entry in read (relinking
    /// it into dirty if it was expunged) or in dirty. Returns the entry and whether it was found
    /// in dirty only, or `None` for a new key.
    fn entry_for_write_locked<Q>(
        &self,
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        hash: u64,
        key: &Q,
        locked: &Locked<'_>,
    ) -> Option<(EntryPtr<K, V, R>, bool)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if let Some(entry) = read.find(hash, key) {
            // SAFETY: found in the current read table, which the lock keeps published.
            if unsafe { entry.get() }.unexpunge_locked(locked) {
                // An expunged entry means dirty exists and lacks it: relink it there.
                dirty.insert(entry);
                dirty.stats.unexpunged += 1;
            }
            Some((entry, false))
        } else {
            dirty.find(hash, key).map(|entry| (entry, true))
        }
    }

    #[inline]
    fn retired(
        &self,
        guard: &R::Guard<'_>,
        entry: &Entry<K, V, R>,
        previous: Option<NonNull<V>>,
    ) -> Option<NonNull<V>> {
        if previous.is_none() {
            self.present.added();
        }
        if let Some(previous) = previous {
            self.retire_value(guard, entry, previous);
        }
        previous
    }

    /// Links a new key's entry into dirty, first rebuilding dirty and marking read amended if
    /// this is the first new key since the last promotion.
    fn insert_new_locked(
        &self,
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        entry: EntryPtr<K, V, R>,
        locked: &Locked<'_>,
    ) {
        if !read.amended() {
            self.dirty_locked(dirty, read, locked);
            read.amended.store(true, Release);
        }
        dirty.insert(entry);
    }

    /// Go's `dirtyLocked`: builds dirty from read, expunging deleted entries. Copies pointers
    /// with their cached hashes: no `Hash`, no `Eq`, no allocation per entry.
    fn dirty_locked(
        &self,
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        locked: &Locked<'_>,
    ) {
        if dirty.table.is_some() {
            return;
        }
        debug_assert!(
            dirty.graveyard.is_empty(),
            "graveyard outlived its dirty table"
        );
        let capacity = read
            .table
            .len()
            .max(core::mem::take(&mut dirty.capacity_hint));
        let mut table = HashTable::with_capacity(capacity);
        for &entry in read.table.iter() {
            // SAFETY: linked from the current read table, which the lock keeps published.
            if unsafe { entry.get() }.try_expunge_locked(locked) {
                dirty.graveyard.push(entry);
            } else {
                table.insert_unique(entry_hash(&entry), entry, entry_hash);
            }
        }
        dirty.stats.expunged += dirty.graveyard.len() as u64;
        dirty.stats.dirty_rebuilds += 1;
        dirty.table = Some(table);
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
        let guard = self.reclaim.pin();
        let (actual, loaded) = self.load_or_store_ptr(&guard, key, value);
        // SAFETY: `actual` is linked (or was, and is retired) and was read under `guard`.
        (unsafe { R::make_ref(guard, actual) }, loaded)
    }

    /// Go's `LoadOrStore`.
    fn load_or_store_ptr(&self, guard: &R::Guard<'_>, key: K, value: V) -> (NonNull<V>, bool) {
        let hash = self.hash(&key);
        let mut new = Incoming::Value(value);
        loop {
            let read = self.read(guard);
            if let Some(entry) = read.find(hash, &key) {
                // SAFETY: found in read under `guard`.
                match unsafe { entry.get() }.try_load_or_store(new) {
                    LoadOrStore::Loaded(actual, _unused) => return (actual, true),
                    LoadOrStore::Stored(actual) => {
                        self.present.added();
                        return (actual, false);
                    }
                    LoadOrStore::Expunged(back) => new = back,
                    LoadOrStore::Reserved(back) => {
                        new = back;
                        self.wait_reserved(guard, entry);
                        continue;
                    }
                }
            }
            let (mut dirty, locked) = self.lock();
            let read = self.read(guard);
            let Some((entry, dirty_only)) =
                self.entry_for_write_locked(&mut dirty, read, hash, &key, &locked)
            else {
                let entry = Entry::boxed(hash, key, new);
                // SAFETY: just created; alive while linked.
                let actual = unsafe { entry.get() }
                    .load()
                    .expect("a new entry is present");
                self.insert_new_locked(&mut dirty, read, entry, &locked);
                self.present.added();
                return (actual, false);
            };
            // SAFETY: found under `guard` and the lock.
            let outcome = unsafe { entry.get() }.try_load_or_store(new);
            if dirty_only {
                self.miss_locked(&mut dirty, guard, &locked);
            }
            drop(dirty);
            match outcome {
                LoadOrStore::Loaded(actual, _unused) => return (actual, true),
                LoadOrStore::Stored(actual) => {
                    self.present.added();
                    return (actual, false);
                }
                LoadOrStore::Reserved(back) => {
                    new = back;
                    self.wait_reserved(guard, entry);
                }
                LoadOrStore::Expunged(_) => {
                    unreachable!("only lock holders expunge, and we held it after unexpunging")
                }
            }
        }
    }

    /// Blocks until no thread holds a reservation on `entry`.
    #[cold]
    fn wait_reserved(&self, guard: &R::Guard<'_>, entry: EntryPtr<K, V, R>) {
        let _ = guard;
        // SAFETY: the caller found `entry` under `guard`, which it still holds.
        let entry = unsafe { entry.get() };
        // Waiting for a reservation this thread holds would never end. No lock is held here.
        assert!(
            !beyond::reserved_by_this_thread(entry),
            "a `load_or_store_with` closure wrote the key it is computing (store, swap, \
             load_or_store or load_or_store_with of the same key on the same map), which would \
             wait for the closure itself forever"
        );
        let mut waiting = self.reservations.lock.lock();
        // The reserving thread changes the state before taking this lock to notify, so a
        // reservation seen here, under the lock, is always followed by a notification.
        while entry.is_reserved() {
            waiting = self.reservations.ended.wait(waiting);
        }
    }

    /// Wakes the threads waiting for a reservation to end.
    fn notify_reserved(&self) {
        let _waiting = self.reservations.lock.lock();
        self.reservations.ended.notify_all();
    }

    /// Locates `key`'s entry as Go's `LoadAndDelete` and `CompareAndDelete` do: read first, then
    /// (if read is amended) dirty under the lock, counting a miss.
    #[inline]
    fn locate<Q>(&self, guard: &R::Guard<'_>, hash: u64, key: &Q) -> Option<EntryPtr<K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let read = self.read(guard);
        match read.find(hash, key) {
            Some(entry) => Some(entry),
            None if !read.amended() => None,
            None => self.find_slow(guard, hash, key),
        }
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
        let guard = self.reclaim.pin();
        let removed = self.delete_ptr(&guard, key)?;
        // SAFETY: `removed` was retired under `guard`, which is still alive.
        Some(unsafe { R::make_ref(guard, removed) })
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
        let guard = self.reclaim.pin();
        self.delete_ptr(&guard, key);
    }

    fn delete_ptr<Q>(&self, guard: &R::Guard<'_>, key: &Q) -> Option<NonNull<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        // SAFETY: located under `guard`.
        let entry = unsafe { self.locate(guard, hash, key)?.get() };
        // SAFETY: as above.
        let removed = unsafe { entry.delete() }?;
        self.retire_value(guard, entry, removed);
        self.count_delete(guard);
        Some(removed)
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
        let hash = self.hash(key);
        let guard = self.reclaim.pin();
        let read = self.read(&guard);
        let attempt = |entry: EntryPtr<K, V, R>| {
            // SAFETY: the callers below found `entry` in read under `guard`, or in dirty under
            // the lock while holding `guard`.
            let entry = unsafe { entry.get() };
            // SAFETY: as above: `guard` protects the entry's values.
            unsafe { entry.try_compare_and_swap(old, new) }.map(|replaced| (entry, replaced))
        };
        let replaced = if let Some(entry) = read.find(hash, key) {
            attempt(entry)
        } else if !read.amended() {
            None
        } else {
            let (mut dirty, locked) = self.lock();
            let read = self.read(&guard);
            if let Some(entry) = read.find(hash, key) {
                attempt(entry)
            } else if let Some(entry) = dirty.find(hash, key) {
                let replaced = attempt(entry);
                // The key set did not change; count a miss so that a workload of such calls
                // eventually promotes dirty and moves to the fast path (as Go does).
                self.miss_locked(&mut dirty, &guard, &locked);
                replaced
            } else {
                None
            }
        };
        match replaced {
            Some((entry, old)) => {
                self.retire_value(&guard, entry, old);
                true
            }
            None => false,
        }
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
        let hash = self.hash(key);
        let guard = self.reclaim.pin();
        // Go leaves the entry in dirty here: the comparison may fail, and a deleted entry is
        // expunged at the next rebuild anyway.
        let Some(entry) = self.locate(&guard, hash, key) else {
            return false;
        };
        // SAFETY: located under `guard`.
        let entry = unsafe { entry.get() };
        // SAFETY: as above.
        match unsafe { entry.delete_if(Some(old)) } {
            Some(removed) => {
                self.retire_value(&guard, entry, removed);
                self.count_delete(&guard);
                true
            }
            None => false,
        }
    }

    /// Calls `f` for each key and value, until it returns `false`.
    ///
    /// Not a snapshot: no key is visited twice, every key present for the whole call is
    /// visited, and concurrent changes may or may not be seen. `f` may call any method of the
    /// map (no lock is held while it runs). If dirty has keys read lacks, `range` first
    /// promotes dirty (O(1)), so a following `range` is a pure read.
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
        let guard = self.reclaim.pin();
        for (entry, value) in self.present_entries(&guard) {
            // SAFETY: the value was read under `guard`.
            if !f(&entry.key, unsafe { value.as_ref() }) {
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
        let guard = self.reclaim.pin();
        let read = self.read(&guard);
        if read.table.is_empty() && !read.amended() {
            return;
        }
        let (mut dirty, locked) = self.lock();
        let read = self.read(&guard);
        if read.table.is_empty() && !read.amended() {
            return;
        }
        let dead = Self::unlink_all_locked(&mut dirty, read, &locked);
        self.restart_dead_checks_locked(&locked);
        // SAFETY: the unlinked entries stay alive until retired below, under `guard`.
        let present = dead.iter().filter(|e| unsafe { e.get() }.load().is_some());
        self.present.removed(present.count());
        self.replace_read_locked(ReadOnly::publish(HashTable::new()), dead, &guard, &locked);
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
        self.count_present(usize::MAX)
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
        self.count_present(1) == 0
    }

    /// Counts present entries, stopping at `limit`: in dirty if read is amended (dirty then
    /// holds every live entry), otherwise in read. Does not promote.
    fn count_present(&self, limit: usize) -> usize {
        let count = |table: &HashTable<EntryPtr<K, V, R>>| {
            table
                .iter()
                // SAFETY: linked from a table the caller may read.
                .filter(|e| unsafe { e.get() }.load().is_some())
                .take(limit)
                .count()
        };
        let guard = self.reclaim.pin();
        let read = self.read(&guard);
        if read.amended() {
            let dirty = self.dirty.lock();
            if let Some(table) = dirty.table.as_ref() {
                return count(table);
            }
            // Cleared and not yet rebuilt since we looked: read is current again.
            drop(dirty);
            return count(&self.read(&guard).table);
        }
        count(&read.table)
    }
}

impl<K, V, R, S> Pinned<'_, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns a reference to `key`'s value, valid as long as the pin.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// let pinned = map.pin();
    /// let a: &u32 = pinned.load("a").unwrap();
    /// map.store("a", 2); // `a` still points at the old value
    /// assert_eq!((*a, *pinned.load("a").unwrap()), (1, 2));
    /// ```
    #[inline]
    #[doc(alias = "get")]
    pub fn load<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let value = self.map.load_ptr(&self.guard, hash, key)?;
        // SAFETY: read under `self.guard`, which lives as long as `&self`.
        Some(unsafe { value.as_ref() })
    }

    /// The map this view pins.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u8, u8> = SyncMap::new();
    /// let pinned = map.pin();
    /// pinned.map().store(1, 1);
    /// assert_eq!(pinned.load(&1), Some(&1));
    /// ```
    pub fn map(&self) -> &SyncMap<K, V, R, S> {
        self.map
    }
}

/// Drops every key and value, even if some `Drop` panics: the first such panic then resumes
/// from the map's drop, after everything else is dropped, and the strategy (a field, dropped
/// next) still frees what it holds. If the map is dropped while its thread is already unwinding,
/// such panics are dropped instead (resuming one would abort).
impl<K, V, R: Reclaim, S> Drop for SyncMap<K, V, R, S> {
    fn drop(&mut self) {
        let mut drops = DropAll::new();
        for entry in self.take_entries() {
            // SAFETY: each entry is listed once (invariant 2) and no thread can reach it.
            drops.run(|| unsafe { Entry::reclaim(entry.as_non_null()) });
        }
        // SAFETY: `take_entries` left an empty, unshared read table in place.
        drop(unsafe { Box::from_raw(self.read.load(Relaxed)) });
        drops.finish();
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;
    use crate::reclaim::DeferToDrop;
    use core::hash::Hash;

    type Map<V> = SyncMap<u64, V, DeferToDrop>;

    #[test]
    fn promotion_after_as_many_misses_as_dirty_keys() {
        const N: u64 = 10;
        let map: Map<u64> = SyncMap::new();
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
        let map: Map<u64> = SyncMap::new();
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
        let map: Map<u64> = (0..4).map(|k| (k, k)).collect();
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
}
