//! The dirty-map mutex, the [`Locked`] proof of holding it, and everything done under it:
//! misses and promotion, rebuilding dirty, relinking expunged entries, replacing read.

use core::{borrow::Borrow, marker::PhantomData, ptr::NonNull};

use super::{
    RawMap,
    dirty::Dirty,
    entry::EntryPtr,
    table::{Dies, Linked, ReadOnly},
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

    /// Go's `missLocked`: counts a miss and promotes dirty once misses reach its size. A miss
    /// also moves dirty's backlog a step on, and promotion waits until it is done, so that a
    /// promotion never has to finish it (see `dirty.rs`).
    pub(super) fn miss_locked(
        &self,
        dirty: &mut Dirty<K, V, R>,
        guard: &R::Guard<'_>,
        locked: &Locked<'_>,
    ) {
        dirty.misses += 1;
        dirty.stats.misses += 1;
        dirty.step(self.read(guard), locked);
        if dirty.has_backlog() || dirty.misses < dirty.table_len() {
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
        let Some(table) = dirty.take_table(self.read(guard), locked) else {
            debug_assert!(false, "promotion without a dirty table");
            return;
        };
        let dead = dirty.take_expunged(locked);
        dirty.misses = 0;
        dirty.stats.promotions += 1;
        let count = dead.len();
        self.replace_read_locked(
            ReadOnly::publish(table),
            Dies::Listed(dead),
            count,
            guard,
            locked,
        );
    }

    /// Publishes `new` as the read table and retires the old one along with the entries that
    /// `dies` names (`dead` of them).
    pub(super) fn replace_read_locked(
        &self,
        new: *mut ReadOnly<K, V, R>,
        dies: Dies<K, V, R>,
        dead: usize,
        guard: &R::Guard<'_>,
        _locked: &Locked<'_>,
    ) {
        let old = NonNull::new(self.read.swap(new, AcqRel)).expect("read is never null");
        // SAFETY: `old` was published until the swap and is retired only below; `guard`
        // protects it meanwhile.
        let size = unsafe { old.as_ref() }.table.capacity() + dead;
        // SAFETY: `old` is unpublished, and only this lock holder retires it (the next one
        // finds `new` in `read`).
        unsafe { ReadOnly::set_dies(old, dies) };
        // SAFETY: the old table is unpublished, and the entries `dies` names are linked from no
        // table (invariant 2 and the callers); lock-holders only reach tables through `read`,
        // which now points elsewhere. The table is `Send` because the map's keys and values are.
        unsafe { self.reclaim.retire(guard, old) }
        // Start a batch's reclamation early when keys and values died here (a `clear`, a
        // compaction, or entries expunged at the last rebuild: at least the strategy's
        // `FLUSH_MIN_DEAD`), or when the table is large; a small map promoted or cleared over
        // and over would otherwise pay a flush each time.
        if size >= FLUSH_MIN_SIZE || dead >= R::FLUSH_MIN_DEAD.max(1) {
            self.reclaim.flush(guard);
        }
    }

    /// Empties dirty and returns every entry of read and dirty once (invariants 2 and 3):
    /// `read` is the current read table.
    pub(super) fn unlink_all_locked(
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        locked: &Locked<'_>,
    ) -> Vec<EntryPtr<K, V, R>> {
        let all = if dirty.exists() {
            let mut all = dirty.entry_ptrs(read);
            all.extend(
                read.entries()
                    .filter(|e| e.is_expunged(locked))
                    .map(Linked::ptr),
            );
            all
        } else {
            read.table.iter().copied().collect()
        };
        dirty.reset();
        all
    }

    /// Empties dirty for a `clear`, which is about to replace `read` (the current read table):
    /// returns what dies with `read`, how many entries that is, and how many of them are
    /// present. Collects no list: dirty's table goes whole (see `Dies::Cleared`).
    pub(super) fn unlink_for_clear_locked(
        dirty: &mut Dirty<K, V, R>,
        read: &ReadOnly<K, V, R>,
        locked: &Locked<'_>,
    ) -> (Dies<K, V, R>, usize, usize) {
        let present = |e: &Linked<'_, K, V, R>| usize::from(e.load().is_some());
        if !dirty.exists() {
            // Invariant 3: read holds every entry, none expunged.
            let present = read.entries().map(|e| present(&e)).sum();
            dirty.reset();
            return (Dies::All, read.table.len(), present);
        }
        let (mut dead, mut live) = (0, 0);
        for entry in dirty.entries(read) {
            dead += 1;
            live += present(&entry);
        }
        // Read's other entries are the expunged ones, which the graveyard lists (invariant 2).
        dead += dirty.graveyard().filter(|e| e.is_expunged(locked)).count();
        let (entries, read_from) = dirty.take_for_clear(read, locked);
        (
            Dies::Cleared {
                dirty: entries,
                read_from,
            },
            dead,
            live,
        )
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
                dirty.insert(read, entry.hash, entry.ptr(), locked);
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
            dirty.rebuild(read, locked);
            read.amended.store(true, Release);
        }
        dirty.insert_new(guard, read, hash, entry, locked)
    }
}
