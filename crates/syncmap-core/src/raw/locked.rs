//! The dirty-map mutex, the [`Locked`] proof of holding it, and everything done under it:
//! misses and promotion, rebuilding dirty, relinking expunged entries, replacing read.

use core::{borrow::Borrow, marker::PhantomData, ptr::NonNull};

use hashbrown::HashTable;

use super::{
    RawMap,
    entry::EntryPtr,
    table::{Dirty, Garbage, Linked, ReadOnly, Table, entry_hash},
};
use crate::{
    primitive::sync::{
        MutexGuard,
        atomic::Ordering::{AcqRel, Release},
    },
    reclaim::Reclaim,
};

/// Proof that the caller holds the dirty-map lock: only [`RawMap::lock`] makes one, from its
/// `MutexGuard` (and exclusive access to the map, which stands in for the lock). Functions named
/// `*_locked` take it, as Go's do by convention.
pub(crate) struct Locked<'a>(PhantomData<&'a mut ()>);

impl Locked<'_> {
    /// # Safety
    ///
    /// The dirty-map mutex is held (or the map is exclusively borrowed) for as long as the
    /// returned proof lives.
    pub(crate) unsafe fn new() -> Self {
        Locked(PhantomData)
    }
}

/// The table capacity plus dead entries from which a retired read table is followed by a
/// [`Reclaim::flush`] hint even when no entry died with it.
const FLUSH_MIN_SIZE: usize = 1024;

impl<K, V, R: Reclaim, S> RawMap<K, V, R, S> {
    /// Takes the dirty lock, with the proof that `*_locked` functions ask for.
    pub(super) fn lock(&self) -> (MutexGuard<'_, Dirty<K, V, R>>, Locked<'_>) {
        let dirty = self.dirty.lock();
        // SAFETY: the proof lives no longer than the caller's scope, which holds the guard;
        // callers keep the `MutexGuard` alive alongside it.
        (dirty, unsafe { Locked::new() })
    }

    /// Go's `missLocked`: counts a miss and promotes dirty once misses reach its size.
    pub(super) fn miss_locked(
        &self,
        dirty: &mut Dirty<K, V, R>,
        guard: &R::Guard<'_>,
        locked: &Locked<'_>,
    ) {
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
    pub(super) fn promote_locked(
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
            .graveyard()
            .filter(|e| e.is_expunged(locked))
            .map(Linked::ptr)
            .collect();
        dirty.graveyard.clear();
        dirty.misses = 0;
        dirty.stats.promotions += 1;
        self.replace_read_locked(ReadOnly::publish(table), dead, guard, locked);
    }

    /// Publishes `new` as the read table and retires the old one along with `dead` entries.
    pub(super) fn replace_read_locked(
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
    pub(super) fn unlink_all_locked(
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
                dead.extend(
                    read.entries()
                        .filter(|e| e.is_expunged(locked))
                        .map(Linked::ptr),
                );
                dead
            }
        }
    }

    /// The common prologue of Go's locked write paths: finds `key`'s entry in read (relinking
    /// it into dirty if it was expunged) or in dirty. Returns the entry and whether it was found
    /// in dirty only, or `None` for a new key.
    pub(super) fn entry_for_write_locked<'g, Q>(
        &self,
        dirty: &mut Dirty<K, V, R>,
        read: &'g ReadOnly<K, V, R>,
        guard: &'g R::Guard<'_>,
        hash: u64,
        key: &Q,
        locked: &Locked<'_>,
    ) -> Option<(Linked<'g, K, V, R>, bool)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if let Some(entry) = read.find(hash, key) {
            if entry.unexpunge_locked(locked) {
                // An expunged entry means dirty exists and lacks it: relink it there.
                dirty.insert(entry.hash, entry.ptr());
                dirty.stats.unexpunged += 1;
            }
            Some((entry, false))
        } else {
            dirty.find(guard, hash, key).map(|entry| (entry, true))
        }
    }

    /// Links a new key's entry into dirty, first rebuilding dirty and marking read amended if
    /// this is the first new key since the last promotion; returns it, borrowed for as long as
    /// `guard`.
    pub(super) fn insert_new_locked<'g>(
        &self,
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        guard: &'g R::Guard<'_>,
        hash: u64,
        entry: EntryPtr<K, V, R>,
        locked: &Locked<'_>,
    ) -> Linked<'g, K, V, R> {
        if !read.amended() {
            Self::dirty_locked(dirty, read, locked);
            read.amended.store(true, Release);
        }
        dirty.insert_new(guard, hash, entry)
    }

    /// Go's `dirtyLocked`: builds dirty from read, expunging deleted entries. Copies pointers
    /// with their cached hashes: no `Hash`, no `Eq`, no allocation per entry.
    fn dirty_locked(dirty: &mut Dirty<K, V, R>, read: &ReadOnly<K, V, R>, locked: &Locked<'_>) {
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
        let mut table: Table<K, V, R> = HashTable::with_capacity(capacity);
        for entry in read.entries() {
            if entry.try_expunge_locked(locked) {
                dirty.graveyard.push(entry.ptr());
            } else {
                table.insert_unique(entry.hash, entry.ptr(), entry_hash);
            }
        }
        dirty.stats.expunged += dirty.graveyard.len() as u64;
        dirty.stats.dirty_rebuilds += 1;
        dirty.table = Some(table);
    }
}
