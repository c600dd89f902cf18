//! The dirty lock, held: [`LockedMap`], the map as its lock holder sees it, and what is done
//! under the lock: misses and promotion, relinking expunged entries, linking new keys,
//! replacing read.

use core::{borrow::Borrow, ptr::NonNull};

use super::{
    RawMap,
    arena::Arena,
    dirty::Dirty,
    entry::EntryPtr,
    shard::{MAX_SHARDS, Root, Shard},
    table::{Dies, Linked, ReadOnly},
    token::Locked,
};
use crate::{
    primitive::sync::{
        MutexGuard,
        atomic::Ordering::{AcqRel, Acquire, Release},
    },
    reclaim::Reclaim,
};

/// The table capacity plus dead entries from which a retired read table is followed by a
/// [`Reclaim::flush`] hint even when no entry died with it.
const FLUSH_MIN_SIZE: usize = 1024;

/// A shard of the map with its dirty lock held: the mutex guard, the guard that `'g` reads are
/// made under (`'p` is its own lifetime), and the shard's current read table. Made by
/// [`RawMap::lock`]; unlocks when dropped. Go's `*Locked` functions are its methods.
///
/// # Invariants
///
/// `read` is the shard's published read table (only the shard's lock holders replace it,
/// invariant 1: other shards' promotions replace the root but copy this slot, and a `clear`
/// holds every shard's lock): it is read after the lock is taken, and again after each
/// replacement made through this value (and by `clear_shards`, before unlocking). The method
/// that replaces it ([`promote`](Self::promote)) takes `&mut self`, and [`read`](Self::read) lends it for a borrow of `self` only, so a table
/// read before a replacement cannot be used as the current one after it: the compiler ends its
/// borrow. Entries found in it are lent for `'g`, as the guard keeps them alive even once the
/// table is retired.
pub(super) struct LockedMap<'g, 'p, K, V, R: Reclaim + 'p, S> {
    map: &'g RawMap<K, V, R, S>,
    /// The shard's index, and the shard.
    index: usize,
    shard: &'g Shard<K, V, R>,
    dirty: MutexGuard<'g, Dirty<K, V, R>>,
    guard: &'g R::Guard<'p>,
    read: &'g ReadOnly<K, V, R>,
}

impl<K, V, R: Reclaim, S> RawMap<K, V, R, S> {
    /// Takes shard `index`'s dirty lock; `guard` came from this map's `pin`.
    #[inline]
    pub(super) fn lock<'g, 'p>(
        &'g self,
        guard: &'g R::Guard<'p>,
        index: usize,
    ) -> LockedMap<'g, 'p, K, V, R, S> {
        let shard = &self.shards[index];
        let dirty = shard.dirty.lock();
        LockedMap {
            map: self,
            index,
            shard,
            dirty,
            guard,
            read: self.read(guard, index),
        }
    }
}

impl<'g, 'p, K, V, R: Reclaim, S> LockedMap<'g, 'p, K, V, R, S> {
    /// The shard whose lock is held.
    #[inline]
    pub(super) fn shard(&self) -> &'g Shard<K, V, R> {
        self.shard
    }

    /// The current read table, for as long as `self` is borrowed (see the invariants).
    #[inline]
    pub(super) fn read(&self) -> &ReadOnly<K, V, R> {
        self.read
    }

    /// The state behind the lock.
    #[inline]
    pub(super) fn dirty(&self) -> &Dirty<K, V, R> {
        &self.dirty
    }

    /// The state behind the lock, to change.
    #[inline]
    pub(super) fn dirty_mut(&mut self) -> &mut Dirty<K, V, R> {
        &mut self.dirty
    }

    /// The proof of holding the lock, for the `*_locked` methods of entries.
    #[inline]
    pub(super) fn locked(&self) -> &Locked<'_> {
        self.dirty.locked()
    }

    /// `key`'s entry in the current read table, borrowed for `'g`.
    #[inline]
    pub(super) fn find_in_read<Q>(&self, hash: u64, key: &Q) -> Option<Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.read.find(hash, key)
    }

    /// `key`'s entry in dirty, if read does not have it, borrowed for `'g`.
    #[inline]
    pub(super) fn find_in_dirty<Q>(&self, hash: u64, key: &Q) -> Option<Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.dirty.find(self.guard, hash, key)
    }

    /// Go's `missLocked`: counts a miss and promotes dirty once misses reach its size, or the
    /// number of shards if that is larger (one shard: Go's rule). A miss also moves dirty's
    /// backlog a step on, and promotion waits until it is done, so that a promotion never has
    /// to finish it (see `dirty.rs`).
    ///
    /// The floor: a promotion has a fixed cost (a new root, the old one and the old table
    /// retired, and the next new key's rebuild allocates a table), which Go's rule amortises
    /// over as many misses as dirty holds keys. A map's keys split among `n` shards make each
    /// dirty `n` times smaller, and a shard of a few keys would promote after every miss or
    /// two (Go's `SwapMostlyMisses`, a new key stored and deleted per operation: one promotion
    /// per operation on eight shards, against one per 16 on one, and 2.6x the time): with the
    /// floor, a map of `n` shards promotes no more often than one shard holding a few keys.
    pub(super) fn miss(&mut self) {
        let dirty = &mut *self.dirty;
        dirty.misses += 1;
        dirty.stats.misses += 1;
        dirty.step(self.read);
        if dirty.has_backlog() || dirty.misses < dirty.table_len().max(self.map.shards()) {
            return;
        }
        self.promote();
    }

    /// Starts a rebuild of dirty from read if dirty does not exist, *without* marking read
    /// amended: such a dirty holds no key that read lacks until a new key amends it (a
    /// compaction, `bound.rs`). True if it started one.
    pub(super) fn rebuild_unamended(&mut self) -> bool {
        if self.dirty.exists() {
            return false;
        }
        self.dirty.rebuild(self.read, self.shard.deletes());
        true
    }

    /// Moves dirty's backlog on by up to `buckets` buckets; true if none is left.
    pub(super) fn step_by(&mut self, buckets: usize) -> bool {
        self.dirty.step_by(self.read, buckets);
        !self.dirty.has_backlog()
    }

    /// Makes dirty the new read table (O(1)) and retires the old one, with the graveyard
    /// entries that were not revived; sets when the next compaction is due (`bound.rs`).
    pub(super) fn promote(&mut self) {
        self.read = promote(self.map, self.index, &mut self.dirty, self.guard, self.read);
    }

    /// Empties dirty for a `clear`, which is about to replace the read table: returns what
    /// dies with it, how many entries that is, and how many of them are present (see
    /// [`Dirty::unlink_for_clear`]).
    pub(super) fn unlink_for_clear(&mut self) -> (Dies<K, V, R>, usize, usize) {
        self.dirty.unlink_for_clear(self.read)
    }

    /// The common prologue of Go's locked write paths: finds `key`'s entry in read (relinking
    /// it into dirty if it was expunged) or in dirty. Returns the entry, borrowed for `'g`, and
    /// whether it was found in dirty only, or `None` for a new key.
    #[inline]
    pub(super) fn entry_for_write<Q>(
        &mut self,
        hash: u64,
        key: &Q,
    ) -> Option<(Linked<'g, K, V, R>, bool)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let read = self.read;
        if let Some(entry) = read.find(hash, key) {
            if entry.unexpunge_locked(self.dirty.locked()) {
                // An expunged entry means dirty exists and lacks it: relink it there.
                self.dirty.insert(read, entry.hash, entry.ptr());
                self.dirty.revived(entry.ptr());
            }
            Some((entry, false))
        } else {
            self.dirty
                .find(self.guard, hash, key)
                .map(|entry| (entry, true))
        }
    }

    /// The arena a new entry comes from, if the map is large enough for one.
    #[inline]
    pub(super) fn arena(&mut self) -> Option<&mut Arena> {
        self.dirty.arena(self.read)
    }

    /// Links a new key's entry into dirty, first rebuilding dirty and marking read amended if
    /// this is the first new key since the last promotion; returns it, borrowed for `'g`.
    #[inline]
    pub(super) fn insert_new(
        &mut self,
        hash: u64,
        entry: EntryPtr<K, V, R>,
    ) -> Linked<'g, K, V, R> {
        let read = self.read;
        if !read.amended() {
            self.dirty.rebuild(read, self.shard.deletes());
            read.amended.store(true, Release);
        }
        self.dirty.insert_new(self.guard, read, hash, entry)
    }
}

// `promote` and `replace_read` on the lock holder's parts rather than on `&mut LockedMap`: a
// call that borrows the whole value keeps it in memory in its callers (`find_slow`, through
// `miss`), which cost about an instruction a call (callgrind, `AdversarialDelete`). Each
// returns the new read table.

/// [`LockedMap::promote`], of shard `index`: `read` is its current read table.
fn promote<'g, K, V, R: Reclaim, S>(
    map: &'g RawMap<K, V, R, S>,
    index: usize,
    dirty: &mut Dirty<K, V, R>,
    guard: &'g R::Guard<'_>,
    read: &ReadOnly<K, V, R>,
) -> &'g ReadOnly<K, V, R> {
    let Some(table) = dirty.take_table(read) else {
        debug_assert!(false, "promotion without a dirty table");
        return map.read(guard, index);
    };
    let (dead, count) = dirty.take_expunged();
    dirty.misses = 0;
    dirty.stats.promotions += 1;
    map.shards[index].compaction_due_after(dirty.rebuilt_at, table.len());
    replace_read(map, index, guard, ReadOnly::publish(table), dead, count)
}

/// Publishes `new` as shard `index`'s read table, by the holder of its lock, and retires the
/// old one along with the entries that `dies` names (`dead` of them), and the old root.
fn replace_read<'g, K, V, R: Reclaim, S>(
    map: &'g RawMap<K, V, R, S>,
    index: usize,
    guard: &'g R::Guard<'_>,
    new: *mut ReadOnly<K, V, R>,
    dies: Dies<K, V, R>,
    dead: usize,
) -> &'g ReadOnly<K, V, R> {
    let root = Root::publish(core::iter::empty());
    let mut current = map.root.load(Acquire);
    let old_root = loop {
        // SAFETY: `current` is the published root, or was: roots are retired, and `guard`
        // protects it; `root` is ours, unpublished.
        unsafe { (*root).copy_with(&*current, index, new) };
        // A promotion of another shard may have replaced the root since we loaded it; only
        // lock holders of this shard replace its slot, and no `clear` runs while we hold it.
        match map.root.compare_exchange(current, root, AcqRel, Acquire) {
            Ok(old) => break old,
            Err(now) => current = now,
        }
    };
    // SAFETY: the old root was published until the swap; `guard` protects it.
    let old = unsafe { &*old_root }.table(index);
    let old = NonNull::new(old).expect("a shard's read table is never null");
    // SAFETY: `old` was published (in the old root) until the swap, and only this lock holder
    // retires it (the next one finds `new` in the new root).
    unsafe { retire_read(map, guard, old, dies, dead) };
    // SAFETY: the old root is unpublished, and retired only here; its other tables are still
    // published in the new root (`Root` frees the array only).
    unsafe {
        map.reclaim
            .retire(guard, NonNull::new(old_root).expect("never null"))
    };
    map.read(guard, index)
}

/// Retires `old`, a read table just unpublished, with what dies with it (`dead` entries),
/// and hints the strategy to reclaim soon if that is a lot.
///
/// # Safety
///
/// `old` is unpublished (no lock holder can reach it any more) and retired only here; the
/// caller holds the lock of its shard (or of every shard); the entries `dies` names are linked
/// from no table (invariant 2 and the callers).
unsafe fn retire_read<K, V, R: Reclaim, S>(
    map: &RawMap<K, V, R, S>,
    guard: &R::Guard<'_>,
    old: NonNull<ReadOnly<K, V, R>>,
    dies: Dies<K, V, R>,
    dead: usize,
) {
    // SAFETY: `old` is retired only below; `guard` protects it meanwhile.
    let size = unsafe { old.as_ref() }.table.capacity() + dead;
    let dies = if dead >= CLEAR_LISTED_MIN && dead > retire_piece::<R>() {
        // A large `clear`: listed (O(n), as the `clear` is anyway), to be retired in pieces.
        // SAFETY: as above: `old` is alive, and we hold the lock.
        dies.listed(&unsafe { old.as_ref() }.table)
    } else {
        dies
    };
    let dies = retire_in_chunks(map, guard, dies);
    // SAFETY: `old` is unpublished, and only this caller retires it.
    unsafe { ReadOnly::set_dies(old, dies) };
    // SAFETY: the old table is unpublished, and the entries `dies` names are linked from no
    // table (the caller's contract); lock-holders only reach tables through the root, which
    // now points elsewhere. The table is `Send` because the map's keys and values are.
    unsafe { map.reclaim.retire(guard, old) }
    // Start a batch's reclamation early when keys and values died here (a `clear`, or
    // entries expunged at the last rebuild, a compaction's among them: at least the strategy's
    // `FLUSH_MIN_DEAD`), or when the table is large; a small map promoted or cleared over
    // and over would otherwise pay a flush each time.
    if size >= FLUSH_MIN_SIZE || dead >= R::FLUSH_MIN_DEAD.max(1) {
        map.reclaim.flush(guard);
    }
}

/// Go's `Clear`, holding every shard's lock (`locks`, one per shard in shard order): each shard
/// that has an entry or a dirty state is emptied, and a new root, with new empty tables for
/// those shards, replaces the old one in one atomic swap, so that the `clear` takes effect for
/// every key at once (a lookup after it finds no key that was present before it, in any
/// shard). Each old table is then retired with what dies with it, and the old root on its own.
/// Returns how many present entries were removed.
pub(super) fn clear_shards<'g, K, V, R: Reclaim, S>(
    map: &'g RawMap<K, V, R, S>,
    guard: &'g R::Guard<'_>,
    locks: &mut [LockedMap<'g, '_, K, V, R, S>],
) -> usize {
    let mut present = 0;
    // The shards cleared (a bit each), and how many entries die with each one's old table;
    // what dies is recorded in the old table itself until it is retired.
    let mut cleared = 0_u64;
    let mut dead = [0_usize; MAX_SHARDS];
    let new = Root::publish(locks.iter_mut().map(|locked| {
        let read = locked.read();
        if read.holds_nothing() {
            // Kept in the new root: only the old root goes.
            return core::ptr::from_ref(read).cast_mut();
        }
        let old = NonNull::from(read);
        let (dies, count, live) = locked.unlink_for_clear();
        locked.restart_dead_checks();
        present += live;
        // SAFETY: `old` is the shard's published table, which only this lock holder retires
        // (below); nobody else touches its `dies`.
        unsafe { ReadOnly::set_dies(old, dies) };
        cleared |= 1 << locked.index;
        dead[locked.index] = count;
        ReadOnly::publish(hashbrown::HashTable::new())
    }));
    let old_root = map.root.swap(new, AcqRel);
    while cleared != 0 {
        let index = cleared.trailing_zeros() as usize;
        cleared &= cleared - 1;
        // SAFETY: the old root was published until the swap; `guard` protects it.
        let old = NonNull::new(unsafe { &*old_root }.table(index)).expect("never null");
        // SAFETY: `old` was its shard's table in the old root, now unpublished (the new root
        // has a new table in its slot, and lock holders reach tables only through the root);
        // it is retired only here, under every shard's lock; `unlink_for_clear` unlinked what
        // its `dies` names.
        unsafe {
            let dies = ReadOnly::take_dies(old);
            retire_read(map, guard, old, dies, dead[index]);
        }
    }
    // The lock holders' read tables are the new root's: refresh them (the invariants) before
    // they unlock.
    for locked in locks.iter_mut() {
        locked.read = map.read(guard, locked.index);
    }
    // SAFETY: the old root is unpublished, and retired only here (every shard's lock is held).
    // Its tables were retired above (or are still published in the new root): `Root` frees
    // the array only.
    unsafe {
        map.reclaim
            .retire(guard, NonNull::new(old_root).expect("never null"))
    }
    present
}

/// The most listed dead entries retired as one object: the strategy's
/// [`Reclaim::RETIRE_PIECE`] (crossbeam-epoch reclaims a bounded number of objects per call, so
/// a promotion's graveyard of a million entries, retired whole, would be freed by one unlucky
/// call; in pieces of 64, such a call frees at most 32,768). Under loom, one, so that models
/// retire several pieces.
fn retire_piece<R: Reclaim>() -> usize {
    if cfg!(loom) {
        1
    } else {
        R::RETIRE_PIECE.max(1)
    }
}

/// The fewest entries a `clear` must unlink to have them listed and retired in pieces (see
/// [`retire_piece`]) rather than with the retired table whole, when the strategy asks for
/// pieces: above this, freeing them in one call would take crossbeam-epoch over half a
/// millisecond, while listing costs a `Vec` and a carrier per piece. Under loom, every `clear`.
const CLEAR_LISTED_MIN: usize = if cfg!(loom) { 1 } else { 16 * 1024 };

/// Retires all but the first [`retire_piece`] entries of a listed `dies` in pieces of that
/// many, each carried by an empty, never published read table; returns what is left to die with
/// the retired read table itself. `dies` names entries linked from no table (`replace_read`'s
/// callers).
fn retire_in_chunks<K, V, R: Reclaim, S>(
    map: &RawMap<K, V, R, S>,
    guard: &R::Guard<'_>,
    dies: Dies<K, V, R>,
) -> Dies<K, V, R> {
    let piece = retire_piece::<R>();
    let (mut dead, revived) = match dies {
        Dies::Listed(dead) if dead.len() > piece => (dead, None),
        Dies::ListedExcept { dead, revived } if dead.len() > piece => (dead, Some(revived)),
        dies => return dies,
    };
    for chunk in dead[piece..].chunks(piece) {
        let piece = match &revived {
            None => Dies::Listed(chunk.to_vec()),
            Some(revived) => Dies::ListedExcept {
                dead: chunk.to_vec(),
                revived: revived.clone(),
            },
        };
        let carrier = NonNull::new(ReadOnly::publish(hashbrown::HashTable::new()))
            .expect("a box is never null");
        // SAFETY: the carrier was never published, and only this call retires it.
        unsafe { ReadOnly::set_dies(carrier, piece) };
        // SAFETY: the carrier is unshared; the entries its `dies` names are linked from no table
        // (the caller's contract) and are listed in no other piece. `Send` as in `replace_read`.
        unsafe { map.reclaim.retire(guard, carrier) }
    }
    dead.truncate(piece);
    match revived {
        None => Dies::Listed(dead),
        Some(revived) => Dies::ListedExcept { dead, revived },
    }
}
