//! The raw layer: Go's algorithm and every `unsafe` block of the map.
//!
//! Its files form two layers. The upper one is [`RawMap`], its methods spread by topic:
//!
//! * [`RawMap`] (this file): the fields, lookups (a key's shard, then its read table), and the
//!   map's construction and drop;
//! * `write.rs`: Go's write paths (store, swap, load-or-store, deletes, compare-and-swap,
//!   clear) and the lock-free update;
//! * `reserve.rs`: `load_or_store_with`'s reservations (writers wait for them in `wait.rs`);
//! * `bound.rs`: counting deletes and compacting dead entries, a step at a time;
//! * `iter.rs`: the present entries, as `range` and the iterators visit them;
//! * `locked.rs`: a shard's dirty lock, held: `LockedMap`, whose methods are what Go does under
//!   the lock (misses, promotion, relinking expunged entries, linking new keys, replacing
//!   read), and `clear`, under every shard's lock.
//!
//! The lower one is the types `RawMap` is made of, each file importing only from those after it
//! (and none from the upper layer):
//!
//! * `shard.rs`: a shard's state besides its read table (its dirty lock and delete count),
//!   and the root, the one published array of the shards' read tables;
//! * `dirty.rs`: the state behind the lock, how rebuilding and growing dirty are spread over the
//!   operations that follow, and what the lock holder counts and unlinks in it;
//! * `wait.rs`: where writers wait for a reservation of their key to end;
//! * `table.rs`: the read and dirty tables, what dies with a retired read table, and
//!   [`Linked`](table::Linked) entries borrowed from them;
//! * `entry.rs`: an entry, its value slot's states, and its memory (allocation, the inline
//!   slot, freeing);
//! * `arena.rs`: the chunks a large map's entries come from, allocated under the lock and
//!   freed on any thread;
//! * `value.rs`: a value's life, from arrival to reclamation;
//! * `token.rs`: [`Locked`](token::Locked), the proof of holding the lock that entries' `*_locked`
//!   methods ask for.
//!
//! The upper files import `RawMap` (and `bound.rs` imports `LockedMap`) and the lower types; this
//! file imports only the lower types (and re-exports `iter.rs`'s `PresentEntries` for the safe
//! layer).
//!
//! Lookups return entries borrowed for as long as the guard they were found under (the safety
//! argument is made once, in `table.rs`); methods that take a guard expect one from this map's
//! [`pin`](RawMap::pin).
//!
//! The raw layer asks of keys and values only what the algorithm needs (`K: Hash + Eq`). What
//! makes handing them to the strategy sound (`K, V: Send` and `R: Admits<(K, V)>`, which
//! `Reclaim::retire` and its *Exactly once* item rely on) is required by the safe layer,
//! `SyncMap`, its only caller.

mod arena;
mod bound;
mod dirty;
mod entry;
mod iter;
mod locked;
mod reserve;
mod shard;
mod table;
mod token;
mod value;
mod wait;
mod write;

use core::{
    borrow::Borrow,
    hash::{BuildHasher, Hash},
    marker::PhantomData,
    ptr::NonNull,
};

use hashbrown::HashTable;

pub(crate) use iter::PresentEntries;
pub(crate) use shard::{MAX_SHARDS, default_shards};
use shard::{Root, Shard, shard_count, shard_index};
use table::ReadOnly;

use crate::{
    ReclaimOwned,
    primitive::sync::atomic::{AtomicPtr, Ordering::*},
    reclaim::Reclaim,
    stats::{HitCounter, LenCounter, Stats},
    unwind::DropAll,
};
use entry::Entry;
use wait::Reservations;

/// Go's `sync.Map`: see [`SyncMap`](crate::SyncMap) for the design; this is its state. Keys are
/// split by hash into shards (`shard.rs`), each one Go's design: the invariants below hold for
/// each shard, its read table (its slot of the root) and its dirty state.
///
/// # Invariants
///
/// Under the shard's dirty lock:
/// 1. `read` never changes after publication (the `amended` flag only goes false → true).
/// 2. If dirty exists, every entry of read is either in dirty or expunged, never both; and the
///    graveyard lists exactly the entries expunged by the last rebuild (some may have been
///    revived since: those are in dirty again). "In dirty" includes dirty's backlog: entries a
///    rebuild has not visited yet, and entries of a grown table's old allocation (`dirty.rs`).
/// 3. If dirty does not exist, no entry is expunged, and `amended` is false. (Dirty may exist
///    with `amended` false: a compaction's rebuild, before any new key; see `bound.rs`.)
/// 4. A key has at most one entry across both tables.
///
/// Entry lifetime follows from these: an entry dies when it leaves both tables, which happens
/// only (a) at promotion, to read entries still expunged (the graveyard; a compaction is a
/// rebuild and a promotion, so its dead entries die this way too), (b) at `clear`, and (c) when
/// the map is dropped. Deleting a key never
/// unlinks its entry (see `find_slow`). In (a) and (b) the entry is retired through `R` with the
/// old read table, so readers still inside it stay safe.
pub(crate) struct RawMap<K, V, R: Reclaim, S> {
    /// The published read tables, one per shard (see [`Root`]); never null. It shares a cache
    /// line with the other fields a lookup reads (`mask`, `hash_builder`, `reclaim`), never
    /// with a dirty lock, which every writer of a new key writes (the shards are a separate
    /// allocation, each on its own cache lines).
    root: AtomicPtr<Root<K, V, R>>,
    /// The number of shards less one (a power of two less one).
    mask: usize,
    /// Each shard's dirty lock and delete count (see [`Shard`]).
    shards: Box<[Shard<K, V, R>]>,
    /// Where writers wait for a `load_or_store_with` computation of their key to end.
    reservations: Reservations,
    hits: HitCounter,
    /// Present values, for `len_estimate` (see `LenCounter`).
    present: LenCounter,
    hash_builder: S,
    reclaim: R,
    _owns: PhantomData<(K, V)>,
}

// SAFETY: sending the map sends its keys and values (owned through raw pointers) and its
// strategy and hasher; retired ones may also be dropped on another thread, hence `Send` only.
// Values are owned as `R::Stored<V>`: when loaded handles share them (`Arc<V>`), the handles left
// on this thread and the map on the other both reach them, which `Stored<V>: Send` accounts for
// (`Reclaim`'s contract, item 3).
unsafe impl<K: Send, V: Send, R: Reclaim, S: Send> Send for RawMap<K, V, R, S> where
    R::Stored<V>: Send
{
}

// SAFETY: a shared map moves keys and values in from any thread (`Send`), lends `&K` and `&V` to
// several threads at once (`Sync`), and shares its hasher (`Sync`). The strategy is `Sync` by
// the `Reclaim` bound, and all shared state is behind atomics or the mutex.
unsafe impl<K: Send + Sync, V: Send + Sync, R: Reclaim, S: Sync> Sync for RawMap<K, V, R, S> {}

impl<K, V, R: Reclaim, S> RawMap<K, V, R, S> {
    /// An empty map of `shards` shards (see [`shard_count`]) whose first rebuilds make room
    /// for `capacity` entries in all.
    pub(crate) fn with_capacity_hasher_and_shards(
        capacity: usize,
        hash_builder: S,
        shards: usize,
    ) -> Self {
        let n = shard_count(shards);
        let per_shard = capacity.div_ceil(n);
        RawMap {
            root: AtomicPtr::new(Root::publish(
                (0..n).map(|_| ReadOnly::publish(HashTable::new())),
            )),
            mask: n - 1,
            shards: (0..n)
                .map(|_| Shard::new(per_shard, bound::dead_min(n)))
                .collect(),
            reservations: Reservations::default(),
            hits: HitCounter::default(),
            present: LenCounter::default(),
            hash_builder,
            reclaim: R::default(),
            _owns: PhantomData,
        }
    }

    /// The number of shards.
    pub(crate) fn shards(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn hasher(&self) -> &S {
        &self.hash_builder
    }

    /// The number of keys with a value, from the writers' counter (see `LenCounter`).
    pub(crate) fn len_estimate(&self) -> usize {
        self.present.total()
    }

    /// Protects the current thread's reads of this map (see [`Reclaim::pin`]).
    #[inline]
    pub(crate) fn pin(&self) -> R::Guard<'_> {
        self.reclaim.pin()
    }

    /// Protects the current thread's lookups of this map (see [`Reclaim::pin_reads`]): only
    /// the loads of [`read`](Self::read) and `Entry::state`, and what they lead to, which is
    /// all a lookup reads. Writes must use [`pin`](Self::pin).
    #[inline]
    pub(crate) fn pin_reads(&self) -> R::Guard<'_> {
        self.reclaim.pin_reads()
    }

    /// The current root, borrowed for as long as `guard`.
    #[inline(always)]
    fn root<'g>(&'g self, guard: &'g R::Guard<'_>) -> &'g Root<K, V, R> {
        let _ = guard;
        // `READ_ORDERING`: one of the loads a guard from `pin_reads` protects (`Reclaim`'s
        // *Protection*).
        let ptr = self.root.load(R::READ_ORDERING);
        // SAFETY: `root` is never null, and a replaced root is retired, so it outlives every
        // guard that could have loaded it, including `guard` (`Reclaim`'s *Protection* covers
        // this load, made with `READ_ORDERING` while a guard of `pin` or `pin_reads` lives).
        unsafe { &*ptr }
    }

    /// The shard of `hash`.
    #[inline(always)]
    fn shard_of(&self, hash: u64) -> usize {
        shard_index(hash, self.mask)
    }

    /// Shard `shard`'s current read table, borrowed for as long as `guard`.
    #[inline(always)]
    fn read<'g>(&'g self, guard: &'g R::Guard<'_>, shard: usize) -> &'g ReadOnly<K, V, R> {
        // SAFETY: the root is borrowed under `guard`; `shard` is below the shard count, as
        // `shard_of` and the loops over shards make it.
        unsafe { self.root(guard).read(shard) }
    }

    /// Counters of hits, misses, promotions and rebuilds, and the entries held now.
    pub(crate) fn stats(&self) -> Stats {
        let guard = self.pin();
        let mut stats = Stats {
            read_hits: self.hits.total(),
            ..Stats::default()
        };
        for shard in 0..self.shards.len() {
            let locked = self.lock(&guard, shard);
            let held = locked.count_entries();
            let dirty = &locked.dirty().stats;
            stats.compactions += dirty.compactions;
            stats.entries += held.entries;
            stats.dead_entries += held.dead;
            stats.misses += dirty.misses;
            stats.promotions += dirty.promotions;
            stats.dirty_rebuilds += dirty.dirty_rebuilds;
            stats.expunged += dirty.expunged;
            stats.unexpunged += dirty.unexpunged;
        }
        stats
    }

    /// With exclusive access: unpublishes every entry (leaving the map empty and usable, under
    /// a new root) and returns each once, for the caller to free or take apart.
    fn take_entries(&mut self) -> Vec<entry::EntryPtr<K, V, R>> {
        let n = self.shards.len();
        let empty = Root::publish((0..n).map(|_| ReadOnly::publish(HashTable::new())));
        // `swap` rather than `get_mut`: loom's atomics have no `get_mut`.
        // SAFETY: exclusive access: no guard of this map is alive, and `root` is never null;
        // the old root is unpublished, and its first `n` slots hold its tables (`Root`).
        let root = unsafe { Box::from_raw(self.root.swap(empty, Relaxed)) };
        let mut entries = Vec::new();
        for (index, shard) in self.shards.iter_mut().enumerate() {
            // SAFETY: as above: each table is unpublished with the root, and freed here once.
            let read = unsafe { Box::from_raw(root.table(index)) };
            entries.append(&mut shard.dirty.get_mut().unlink_all(&read));
        }
        entries
    }

    /// With exclusive access: takes every key with a value out of the map, with its value,
    /// dropping the keys of deleted entries (all of them, even if one's `Drop` panics: the
    /// first panic is left in `drops`). The map is left empty and usable.
    pub(crate) fn take_items(&mut self, drops: &mut DropAll) -> Vec<(K, crate::Owned<V, R>)> {
        self.take_entries()
            .into_iter()
            .filter_map(|entry| {
                // SAFETY: `take_entries` unlinked each entry and lists it once; we own the map.
                let (key, value) = unsafe { Entry::into_parts(entry) };
                match value {
                    Some(value) => Some((key, value)),
                    None => {
                        drops.run(|| drop(key));
                        None
                    }
                }
            })
            .collect()
    }
}

/// Drops every key and value, even if some `Drop` panics: the first such panic then resumes
/// from the map's drop, after everything else is dropped, and the strategy (a field, dropped
/// next) still frees what it holds. If the map is dropped while its thread is already unwinding,
/// such panics are dropped instead (resuming one would abort).
impl<K, V, R: Reclaim, S> Drop for RawMap<K, V, R, S> {
    fn drop(&mut self) {
        let mut drops = DropAll::new();
        let entries = self.take_entries();
        // Nothing allocates from the arenas any more: their chunks now go as their last slots
        // do.
        for shard in self.shards.iter_mut() {
            shard.dirty.get_mut().arena.close();
        }
        let entries = entries.into_iter().map(entry::EntryPtr::as_non_null);
        // SAFETY: each entry is listed once (invariant 2) and no thread can reach it.
        unsafe { Entry::free_batch(entries, false, &mut drops) };
        // SAFETY: `take_entries` left an unshared root of empty, unshared read tables in place
        // (the first `shards` slots).
        let root = unsafe { Box::from_raw(self.root.load(Relaxed)) };
        for index in 0..self.shards.len() {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(root.table(index)) });
        }
        drops.finish();
    }
}

impl<K: Hash + Eq, V, R: Reclaim, S: BuildHasher> RawMap<K, V, R, S> {
    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hash_builder.hash_one(key)
    }

    /// Go's `Load`, up to reading the entry's value pointer.
    ///
    /// `inline(always)`: this is the read path, and with four callers (`load`, the pinned and
    /// owned views, `contains_key`) LLVM stops inlining it, which costs a call and about nine
    /// instructions per load (callgrind, `LoadMostlyHits`).
    #[inline(always)]
    fn load_ptr<Q>(&self, guard: &R::Guard<'_>, key: &Q) -> Option<NonNull<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let read = self.read(guard, self.shard_of(hash));
        let entry = match read.find(hash, key) {
            Some(entry) => {
                self.hits.hit();
                entry
            }
            None if !read.amended() => return None,
            None => self.find_slow(guard, hash, key)?,
        };
        entry.load()
    }

    /// `key`'s value, borrowed for as long as `guard`, which came from this map's `pin`.
    #[inline]
    pub(crate) fn get<'g, Q>(&'g self, guard: &'g R::Guard<'_>, key: &Q) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let value = self.load_ptr(guard, key)?;
        // SAFETY: read under `guard`, which lives for 'g.
        Some(unsafe { value.as_ref() })
    }

    /// Whether `key` has a value (no value handle is made).
    #[inline]
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.pin_reads();
        self.load_ptr(&guard, key).is_some()
    }

    /// Go's `Load`: the value as the strategy's handle.
    #[inline]
    pub(crate) fn load<Q>(&self, key: &Q) -> Option<R::Ref<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.pin_reads();
        let value = self.load_ptr(&guard, key)?;
        // SAFETY: `value` was read under `guard` and came from `alloc` (or is an inline value,
        // which lives as long as its entry, so as long as `guard` protects it).
        Some(unsafe { R::make_ref(guard, value) })
    }

    /// `key`'s value as an owned copy that holds no guard
    /// ([`CloneOwned`](crate::reclaim::CloneOwned): a clone of `V`, or a new share of its `Arc`).
    #[inline]
    pub(crate) fn load_owned<Q>(&self, key: &Q) -> Option<crate::Owned<V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        R::Stored<V>: crate::reclaim::CloneOwned<V>,
    {
        let guard = self.pin_reads();
        let value = self.load_ptr(&guard, key)?;
        // SAFETY: `value` came from `alloc` (`Stored::into_raw`, or an inline value for `Box`)
        // and was read under `guard`, which keeps it alive until the end of this call.
        Some(unsafe { <R::Stored<V> as crate::reclaim::CloneOwned<V>>::clone_owned(value) })
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
    /// issue 40999); the delete count does: see the *Memory* section of `SyncMap`.
    #[cold]
    fn find_slow<'g, Q>(
        &'g self,
        guard: &'g R::Guard<'_>,
        hash: u64,
        key: &Q,
    ) -> Option<table::Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let mut locked = self.lock(guard, self.shard_of(hash));
        if let Some(entry) = locked.find_in_read(hash, key) {
            return Some(entry);
        }
        if !locked.read().amended() {
            return None;
        }
        let found = locked.find_in_dirty(hash, key);
        locked.miss();
        found
    }

    /// Locates `key`'s entry as Go's `LoadAndDelete` and `CompareAndDelete` do: read first, then
    /// (if read is amended) dirty under the lock, counting a miss.
    #[inline]
    fn locate<'g, Q>(
        &'g self,
        guard: &'g R::Guard<'_>,
        hash: u64,
        key: &Q,
    ) -> Option<table::Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let read = self.read(guard, self.shard_of(hash));
        match read.find(hash, key) {
            Some(entry) => Some(entry),
            None if !read.amended() => None,
            None => self.find_slow(guard, hash, key),
        }
    }

    /// Counts present entries, stopping at `limit`: in each shard, in dirty if read is amended
    /// (dirty then holds every live entry of the shard), otherwise in read. Does not promote.
    pub(crate) fn count_present(&self, limit: usize) -> usize {
        let guard = self.pin();
        let mut count = 0;
        for shard in 0..self.shards.len() {
            if count >= limit {
                break;
            }
            count += self.count_present_in(&guard, shard, limit - count);
        }
        count
    }

    /// [`count_present`](Self::count_present) in one shard.
    fn count_present_in(&self, guard: &R::Guard<'_>, shard: usize, limit: usize) -> usize {
        let read = self.read(guard, shard);
        if read.amended() {
            let locked = self.lock(guard, shard);
            if locked.dirty().exists() {
                return count_present(locked.dirty().entries(locked.read()), limit);
            }
            // Cleared and not yet rebuilt since we looked: read is current again.
            drop(locked);
            return count_present(self.read(guard, shard).entries(), limit);
        }
        count_present(read.entries(), limit)
    }
}

/// Counts the present entries among `entries`, stopping at `limit`.
#[inline]
fn count_present<'a, K: 'a, V: 'a, R: Reclaim + 'a>(
    entries: impl Iterator<Item = table::Linked<'a, K, V, R>>,
    limit: usize,
) -> usize {
    entries.filter(|e| e.load().is_some()).take(limit).count()
}

impl<K: Hash + Eq, V, R: ReclaimOwned, S: BuildHasher> RawMap<K, V, R, S> {
    /// Protection that is not tied to the current thread (see [`ReclaimOwned`]).
    pub(crate) fn pin_owned(&self) -> R::OwnedGuard<'_> {
        self.reclaim.pin_owned()
    }

    /// `key`'s value, borrowed for as long as `owned`, which came from this map's
    /// [`pin_owned`](Self::pin_owned).
    pub(crate) fn get_owned<'o, Q>(&'o self, owned: &'o R::OwnedGuard<'_>, key: &Q) -> Option<&'o V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _ = owned;
        let local = self.pin_reads();
        let value = self.load_ptr(&local, key)?;
        // SAFETY: `value` was read under `local`, pinned after `owned` was made and while it
        // lives, so by `ReclaimOwned`'s contract it stays valid until `owned` is dropped, which
        // is no sooner than the end of the borrow 'o.
        Some(unsafe { value.as_ref() })
    }
}
