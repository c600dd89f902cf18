//! The state behind the mutex, [`Dirty`], and how its O(n) work is spread over operations.
//!
//! Go's design does two things in one operation that are O(n): it rebuilds dirty from read
//! (`dirtyLocked`, on the first new key after a promotion) and, like any hash table, it grows
//! the dirty table by rehashing all of it. On a map of millions of keys either one stalls the
//! operation that triggers it, and every writer waiting for the lock, for tens to hundreds of
//! milliseconds. Here both are a [`Backlog`]: the new table is allocated at once, and the entries
//! are moved into it [`STEP_BUCKETS`] buckets at a time by the locked operations that follow
//! (each insert into dirty and each miss; during a compaction, also every checked delete: see
//! `bound.rs`). Nothing a caller can observe changes: lookups in dirty also search the backlog,
//! promotion waits until the backlog is empty (a miss moves it along), and the operations that
//! are O(n) anyway (`range`'s promotion, `clear`) finish or drop it.

use core::{borrow::Borrow, ptr::NonNull};
use std::collections::BTreeSet;

use hashbrown::HashTable;

use super::{
    arena::{ARENA_MIN_ENTRIES, Arena},
    entry::{Entry, EntryPtr, State},
    table::{
        Dies, DirtyEntries, Entries, INLINE_DEAD, Linked, ReadOnly, Table, bucket_entries,
        entry_hash, find, links,
    },
    token::Locked,
};
use crate::{reclaim::Reclaim, stats::LockedStats};

/// Buckets visited per step of a backlog: each step moves at most this many entries.
///
/// A step runs before every insert into dirty, so a table needs spare room for one insert per
/// step until its backlog is done: `buckets / STEP_BUCKETS` entries. A grown table has its old
/// capacity spare (`7/8` of the old table's buckets), and a rebuilt one is allocated with that
/// much room beyond read's length.
/// Under loom, one bucket per step, so that models interleave with a rebuild in progress.
const STEP_BUCKETS: usize = if cfg!(loom) { 1 } else { 16 };

/// Buckets a delete visits per step of a compaction (see `bound.rs`): enough for a compaction
/// (two walks of tables of at most about `4.6` buckets per entry held) to end within a
/// fiftieth of the entries held in deletes, so that few deletes take the lock.
/// Under loom, two buckets (see [`STEP_BUCKETS`]).
pub(super) const COMPACT_STEP_BUCKETS: usize = if cfg!(loom) { 2 } else { 512 };

/// Tables with fewer buckets than this grow, and are rebuilt, at once: copying a few hundred
/// pointers costs less than searching two tables for a while. Zero under loom (see
/// [`STEP_BUCKETS`]).
pub(super) const INCREMENTAL_MIN_BUCKETS: usize = if cfg!(loom) { 0 } else { 512 };

/// Entries that belong to dirty but are not linked from its table yet.
///
/// # Invariants
///
/// * `Grow`: every entry of `old` is in dirty. Those in buckets before `next` are linked from
///   the table too; those from `next` on are linked from `old` only.
/// * `Rebuild`: dirty is being rebuilt from the read table at address `of`, the published one
///   for as long as the backlog exists (promotion finishes the backlog first; `clear` drops
///   it). Entries of read in buckets before `next` are in the table or expunged
///   (listed in the graveyard); those from `next` on are neither, and count as in dirty.
enum Backlog<K, V, R: Reclaim> {
    Idle,
    Grow { old: Table<K, V, R>, next: usize },
    Rebuild { of: usize, next: usize },
}

/// The largest capacity of a table that a `clear` leaves behind, emptied, for the next rebuild
/// (see [`Dirty::take_for_clear`]): small, so that keeping it costs next to no memory.
const SPARE_MAX_CAPACITY: usize = 32;

/// The state behind the mutex: Go's `dirty` and `misses`, and what this design adds.
///
/// Its methods are written for the lock holder, against the current read table (which the
/// lock keeps published): a borrow of `Dirty` is only had under the lock, or with exclusive
/// access to the map (`RawMap`'s drop), which is why it holds the map's [`Locked`] proof.
///
/// # Invariants
///
/// * If `table` is `None` (dirty does not exist), the backlog is idle and the graveyard empty.
/// * `Dirty` values exist only as the contents of a map's dirty mutex (see [`new`](Self::new)).
pub(super) struct Dirty<K, V, R: Reclaim> {
    /// Go's `m.dirty`, or `None` where Go's is nil.
    table: Option<Table<K, V, R>>,
    backlog: Backlog<K, V, R>,
    /// Lookups that fell through to dirty since the last promotion.
    pub(super) misses: usize,
    /// Entries the last rebuild expunged (`RawMap`'s invariant 2).
    pub(super) graveyard: Vec<EntryPtr<K, V, R>>,
    /// The addresses of the graveyard entries relinked into dirty since (by a store of their
    /// key): what a promotion must not free. A set, kept as they come (O(log n) each), so that a
    /// promotion hands the graveyard over without visiting its entries or sorting anything
    /// (see [`take_expunged`](Self::take_expunged)).
    revived: BTreeSet<usize>,
    /// The delete total (`RawMap::deletes`) when the rebuild that made this dirty began: every
    /// entry of dirty that is dead was deleted since (the bound of `bound.rs`).
    pub(super) rebuilt_at: u64,
    /// An empty table a `clear` left behind, for the next rebuild to use instead of allocating
    /// one (`HashTable::new()`, which has no allocation, if there is none). Never links an entry.
    spare: Table<K, V, R>,
    /// The capacity asked for at construction, used by the first rebuild only.
    capacity_hint: usize,
    pub(super) stats: LockedStats,
    /// Where new entries of a large map come from (`arena.rs`).
    pub(super) arena: Arena,
    /// The proof of holding the lock, lent to whoever borrows `Dirty` (see the invariants).
    locked: Locked<'static>,
}

/// The entries a map holds, counted under the lock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    /// Entries linked from either table (each once).
    pub(crate) entries: usize,
    /// Of those, entries for deleted keys (deleted or expunged).
    pub(crate) dead: usize,
}

/// An address: the one `Backlog::Rebuild` records, to check in debug builds that the read
/// table a lock holder passes is the one being copied, and revived entries' (`Dirty::revived`).
fn address<T>(read: *const T) -> usize {
    read.addr()
}

impl<K, V, R: Reclaim> Dirty<K, V, R> {
    /// # Safety
    ///
    /// The result is put straight into a map's dirty mutex, as its contents: its [`Locked`]
    /// proof then speaks for that mutex (the type's invariants).
    pub(super) unsafe fn new(capacity_hint: usize) -> Self {
        Dirty {
            table: None,
            backlog: Backlog::Idle,
            misses: 0,
            graveyard: Vec::new(),
            revived: BTreeSet::new(),
            rebuilt_at: 0,
            spare: HashTable::new(),
            capacity_hint,
            stats: LockedStats::default(),
            arena: Arena::new(Entry::<K, V, R>::LAYOUT),
            // SAFETY: the caller's contract: this value lives in the map's dirty mutex, and
            // lends the proof only through borrows of itself, which only the lock holder (or the
            // map's exclusive owner) has.
            locked: unsafe { Locked::new() },
        }
    }

    /// The proof of holding the lock, for as long as `self` is borrowed.
    #[inline]
    pub(super) fn locked(&self) -> &Locked<'_> {
        &self.locked
    }

    /// The arena for a new entry, once the map is large enough to use one
    /// ([`ARENA_MIN_ENTRIES`]); `read` is the current read table.
    #[inline]
    pub(super) fn arena(&mut self, read: &ReadOnly<K, V, R>) -> Option<&mut Arena> {
        let large = self.table_len().max(read.table.len()) >= ARENA_MIN_ENTRIES;
        (Entry::<K, V, R>::IN_ARENA && large).then_some(&mut self.arena)
    }

    /// Whether dirty exists (Go's `m.dirty != nil`).
    #[inline]
    pub(super) fn exists(&self) -> bool {
        self.table.is_some()
    }

    /// Whether entries are still to be moved into the table.
    #[inline]
    pub(super) fn has_backlog(&self) -> bool {
        !matches!(self.backlog, Backlog::Idle)
    }

    /// Entries linked from the table (all of dirty's when there is no backlog).
    #[inline]
    pub(super) fn table_len(&self) -> usize {
        self.table.as_ref().map_or(0, HashTable::len)
    }

    /// `key`'s entry, if dirty has it and read does not (callers look in read first: the
    /// entries a rebuild has yet to visit are found there); borrowed for as long as `guard`.
    ///
    /// `&self` is borrowed under the lock, and `guard` came from the map's `pin`.
    #[inline]
    pub(super) fn find<'g, Q>(
        &self,
        guard: &'g R::Guard<'_>,
        hash: u64,
        key: &Q,
    ) -> Option<Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let _ = guard;
        // The argument for both lookups: an entry leaves dirty (its table, or the old table of
        // a growth) only to be retired through `R` (at a `clear`) or to become part of read (at
        // a promotion), from which it is retired in turn; so an entry linked from dirty while
        // `guard` lives stays alive for as long as `guard` does.
        // SAFETY: the argument above.
        if let Some(found) = unsafe { find(self.table.as_ref()?, hash, key) } {
            return Some(found);
        }
        match &self.backlog {
            // SAFETY: the argument above.
            Backlog::Grow { old, .. } => unsafe { find(old, hash, key) },
            _ => None,
        }
    }

    /// Whether dirty links the entry at `ptr` (cached hash `hash`) from its table or a grown
    /// table's old allocation. Entries a rebuild has yet to visit are in read, which callers
    /// check first, as for [`find`](Self::find).
    pub(super) fn links(&self, hash: u64, ptr: NonNull<Entry<K, V, R>>) -> bool {
        self.table.as_ref().is_some_and(|t| links(t, hash, ptr))
            || matches!(&self.backlog, Backlog::Grow { old, .. } if links(old, hash, ptr))
    }

    /// Every entry of dirty, once (none if it does not exist), borrowed under the lock; `read`
    /// is the current read table.
    pub(super) fn entries<'a>(
        &'a self,
        read: &'a ReadOnly<K, V, R>,
    ) -> impl Iterator<Item = Linked<'a, K, V, R>> + 'a {
        // Entries of `old` before `next` are also in the table, hence skipped (`Backlog`'s
        // invariants).
        let table = self.table.iter().flat_map(|t| {
            // SAFETY: `&self` is borrowed under the lock (or with exclusive access), which
            // keeps dirty's entries linked, and linked entries are alive.
            unsafe { Entries::new(t) }
        });
        let backlog = match &self.backlog {
            Backlog::Idle => None,
            Backlog::Grow { old, next } => {
                // SAFETY: as for the table: `old`'s entries are dirty's, linked and alive.
                Some(unsafe { bucket_entries(old, *next..old.num_buckets()) })
            }
            Backlog::Rebuild { of, next } => {
                debug_assert_eq!(*of, address(read), "a rebuild outlived its read table");
                // SAFETY: read's entries are alive while it is borrowed (`ReadOnly`'s docs).
                Some(unsafe { bucket_entries(&read.table, *next..read.table.num_buckets()) })
            }
        };
        table.chain(backlog.into_iter().flatten())
    }

    /// Empties the graveyard for a promotion: returns what dies with it, the graveyard's
    /// entries still expunged, and how many that is. O(1), where filtering the graveyard would
    /// be O(n): its own vector goes whole (so that a large graveyard's memory goes with the
    /// promotion instead of staying behind), with the set of entries revived since, which are
    /// in the promoted table, to be skipped when it is reclaimed.
    pub(super) fn take_expunged(&mut self) -> (Dies<K, V, R>, usize) {
        let dead = core::mem::take(&mut self.graveyard);
        let revived = core::mem::take(&mut self.revived);
        let count = dead.len() - revived.len();
        if revived.is_empty() {
            return (Dies::Listed(dead), count);
        }
        (
            Dies::ListedExcept {
                dead,
                revived: std::sync::Arc::new(revived),
            },
            count,
        )
    }

    /// Records that `entry`, expunged by the last rebuild, was relinked into dirty (it is
    /// still in the graveyard, and must not die with the next promotion).
    pub(super) fn revived(&mut self, entry: EntryPtr<K, V, R>) {
        let fresh = self.revived.insert(address(entry.as_non_null().as_ptr()));
        debug_assert!(fresh, "an entry revived twice from one graveyard");
        self.stats.unexpunged += 1;
    }

    /// The graveyard's entries, borrowed under the lock.
    pub(super) fn graveyard(&self) -> impl Iterator<Item = Linked<'_, K, V, R>> + '_ {
        self.graveyard.iter().map(|&e| {
            // SAFETY: graveyard entries are linked from the current read table (invariant 2),
            // which the lock (held while `&self` is borrowed) keeps published.
            unsafe { Linked::new(e) }
        })
    }

    /// Go's `dirtyLocked`: makes dirty from `read` (which is current, under the lock), unless
    /// dirty exists. The table is allocated now; read's entries are copied by the steps of
    /// the backlog this starts (at once for a small table). Copies pointers with their cached
    /// hashes: no `Hash`, no `Eq`, no allocation per entry. `deletes` is the map's delete total
    /// now (see [`rebuilt_at`](Self::rebuilt_at)).
    pub(super) fn rebuild(&mut self, read: &ReadOnly<K, V, R>, deletes: u64) {
        if self.table.is_some() {
            return;
        }
        debug_assert!(
            self.graveyard.is_empty() && self.revived.is_empty(),
            "graveyard outlived its dirty table"
        );
        self.rebuilt_at = deletes;
        let len = read.table.len();
        // Room for read's entries and one insert per step until the backlog is done, so that
        // the table never grows while it is being filled (`STEP_BUCKETS`); and one more for the
        // new key whose insert asked for the rebuild, so that after a `clear` (read empty) the
        // table is allocated here, not by that insert's resize path.
        let steps = read.table.num_buckets().div_ceil(STEP_BUCKETS);
        let capacity = (len + steps + 1).max(core::mem::take(&mut self.capacity_hint));
        let spare = core::mem::take(&mut self.spare);
        self.table = Some(if spare.capacity() >= capacity {
            spare
        } else {
            HashTable::with_capacity(capacity)
        });
        self.stats.dirty_rebuilds += 1;
        if len == 0 {
            // Nothing to copy (as after a `clear`): no backlog.
            return;
        }
        self.backlog = Backlog::Rebuild {
            of: address(read),
            next: 0,
        };
        if read.table.num_buckets() < INCREMENTAL_MIN_BUCKETS {
            self.finish(read);
        }
    }

    /// Links `entry`, whose cached hash is `hash`, into dirty, which exists; first moves the
    /// backlog one step on, and starts growing the table if it is full.
    #[inline]
    pub(super) fn insert(&mut self, read: &ReadOnly<K, V, R>, hash: u64, entry: EntryPtr<K, V, R>) {
        self.step(read);
        let table = self
            .table
            .as_ref()
            .expect("dirty exists when an entry is linked");
        if table.len() == table.capacity() && table.num_buckets() >= INCREMENTAL_MIN_BUCKETS {
            self.grow(read);
        }
        self.table
            .as_mut()
            .expect("dirty exists when an entry is linked")
            .insert_unique(hash, entry, entry_hash);
    }

    /// Replaces the full table with one twice its capacity, and makes the old one the backlog.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, read: &ReadOnly<K, V, R>) {
        // The spare room of every table (`STEP_BUCKETS`) means its backlog is done by now;
        // should it not be, finishing it is correct, only slow.
        debug_assert!(
            !self.has_backlog(),
            "a table filled up before its backlog was done"
        );
        self.finish(read);
        let table = self.table.as_mut().expect("dirty exists when it grows");
        let capacity = table.capacity();
        let old = core::mem::replace(table, HashTable::with_capacity(2 * capacity));
        self.backlog = Backlog::Grow { old, next: 0 };
    }

    /// Links a new entry into dirty, as [`insert`](Self::insert), and borrows it for as long
    /// as `guard`, which came from the map's `pin`.
    pub(super) fn insert_new<'g>(
        &mut self,
        guard: &'g R::Guard<'_>,
        read: &ReadOnly<K, V, R>,
        hash: u64,
        entry: EntryPtr<K, V, R>,
    ) -> Linked<'g, K, V, R> {
        let _ = guard;
        self.insert(read, hash, entry);
        // SAFETY: the entry is now linked from dirty while `guard` lives, so it stays alive for
        // as long as `guard` does (the argument of `find`).
        unsafe { Linked::new(entry) }
    }

    /// Moves the backlog one step on: up to [`STEP_BUCKETS`] buckets of the old table (or of
    /// read, expunging its deleted entries as Go's `dirtyLocked` does).
    #[inline]
    pub(super) fn step(&mut self, read: &ReadOnly<K, V, R>) {
        if self.has_backlog() {
            self.advance(read, STEP_BUCKETS);
        }
    }

    /// Moves the backlog on by up to `buckets` buckets, as [`step`](Self::step) does.
    pub(super) fn step_by(&mut self, read: &ReadOnly<K, V, R>, buckets: usize) {
        if self.has_backlog() {
            self.advance(read, buckets);
        }
    }

    /// Moves the whole backlog into the table.
    fn finish(&mut self, read: &ReadOnly<K, V, R>) {
        self.advance(read, usize::MAX);
    }

    #[inline(never)]
    fn advance(&mut self, read: &ReadOnly<K, V, R>, buckets: usize) {
        let Some(table) = self.table.as_mut() else {
            return;
        };
        let done = match &mut self.backlog {
            Backlog::Idle => return,
            Backlog::Grow { old, next } => {
                let end = old.num_buckets().min(next.saturating_add(buckets));
                test_visits(end - *next);
                for i in *next..end {
                    if let Some(&e) = old.get_bucket(i) {
                        table.insert_unique(entry_hash(&e), e, entry_hash);
                    }
                }
                *next = end;
                end == old.num_buckets()
            }
            Backlog::Rebuild { of, next } => {
                debug_assert_eq!(*of, address(read), "a rebuild outlived its read table");
                let end = read.table.num_buckets().min(next.saturating_add(buckets));
                test_visits(end - *next);
                for entry in read.entries_in(*next..end) {
                    if entry.try_expunge_locked(&self.locked) {
                        self.graveyard.push(entry.ptr());
                        self.stats.expunged += 1;
                    } else {
                        table.insert_unique(entry.hash, entry.ptr(), entry_hash);
                    }
                }
                *next = end;
                end == read.table.num_buckets()
            }
        };
        if done {
            self.backlog = Backlog::Idle;
        }
    }

    /// Finishes the backlog and takes the table, leaving dirty nonexistent (the graveyard is
    /// the caller's to empty).
    pub(super) fn take_table(&mut self, read: &ReadOnly<K, V, R>) -> Option<Table<K, V, R>> {
        self.finish(read);
        self.table.take()
    }

    /// Every entry of dirty once (as [`entries`](Self::entries)), in a vector sized for them
    /// all; `read` is the current read table.
    pub(super) fn entry_ptrs(&self, read: &ReadOnly<K, V, R>) -> Vec<EntryPtr<K, V, R>> {
        let Some(table) = self.table.as_ref() else {
            return Vec::new();
        };
        if !self.has_backlog() {
            // The common case, as one exact-size copy.
            return table.iter().copied().collect();
        }
        let backlog = match &self.backlog {
            Backlog::Grow { old, .. } => old.len(),
            _ => read.table.len(),
        };
        let mut all = Vec::with_capacity(table.len() + backlog);
        all.extend(self.entries(read).map(Linked::ptr));
        all
    }

    /// Takes dirty's entries for a `clear`, which is about to replace `read` (the current read
    /// table), leaving dirty nonexistent: finishes a growth first, and returns with the entries
    /// the first bucket of `read` that a rebuild in progress has not visited (`usize::MAX` if
    /// none): the entries of `read` from there on are dirty's too (`Backlog`'s invariants),
    /// though not in the table. Dirty exists.
    ///
    /// A small table's entries are listed inline, and the table stays behind, emptied, as the
    /// spare of the next rebuild; a larger table goes with its entries.
    fn take_for_clear(&mut self, read: &ReadOnly<K, V, R>) -> (DirtyEntries<K, V, R>, usize) {
        if matches!(self.backlog, Backlog::Grow { .. }) {
            self.finish(read);
        }
        let read_from = match self.backlog {
            Backlog::Rebuild { of, next } => {
                debug_assert_eq!(of, address(read), "a rebuild outlived its read table");
                next
            }
            Backlog::Idle | Backlog::Grow { .. } => usize::MAX,
        };
        let mut table = self
            .table
            .take()
            .expect("dirty exists at a clear that takes it");
        let entries = if table.len() <= INLINE_DEAD && table.capacity() <= SPARE_MAX_CAPACITY {
            let mut inline = [None; INLINE_DEAD];
            for (slot, &entry) in inline.iter_mut().zip(table.iter()) {
                *slot = Some(entry);
            }
            table.clear();
            self.spare = table;
            DirtyEntries::Inline(inline)
        } else {
            DirtyEntries::Table(table)
        };
        self.reset();
        (entries, read_from)
    }

    /// Counts the entries held and the dead ones among them: every entry of dirty plus the
    /// graveyard entries still expunged, if dirty exists (invariant 2); every entry of read
    /// otherwise. `read` is the current read table. O(n).
    pub(super) fn count_entries(&self, read: &ReadOnly<K, V, R>) -> Held {
        /// The entries, and the deleted ones among them, in one pass.
        fn count<'a, K: 'a, V: 'a, R: Reclaim + 'a>(
            entries: impl Iterator<Item = Linked<'a, K, V, R>>,
        ) -> Held {
            entries.inspect(|_| test_visits(1)).fold(
                Held {
                    entries: 0,
                    dead: 0,
                },
                |held, e| Held {
                    entries: held.entries + 1,
                    dead: held.dead + usize::from(matches!(e.state(), State::Deleted)),
                },
            )
        }
        if self.exists() {
            let expunged = self
                .graveyard()
                .filter(|e| e.is_expunged(&self.locked))
                .count();
            let held = count(self.entries(read));
            Held {
                entries: held.entries + expunged,
                dead: held.dead + expunged,
            }
        } else {
            count(read.entries())
        }
    }

    /// Empties dirty and returns every entry of read and dirty once (invariants 2 and 3):
    /// `read` is the current read table.
    pub(super) fn unlink_all(&mut self, read: &ReadOnly<K, V, R>) -> Vec<EntryPtr<K, V, R>> {
        let all = if self.exists() {
            let mut all = self.entry_ptrs(read);
            all.extend(
                read.entries()
                    .filter(|e| e.is_expunged(&self.locked))
                    .map(Linked::ptr),
            );
            all
        } else {
            read.table.iter().copied().collect()
        };
        self.reset();
        all
    }

    /// Empties dirty for a `clear`, which is about to replace `read` (the current read table):
    /// returns what dies with `read`, how many entries that is, and how many of them are
    /// present. Collects no list: dirty's table goes whole (see `Dies::Cleared`).
    pub(super) fn unlink_for_clear(
        &mut self,
        read: &ReadOnly<K, V, R>,
    ) -> (Dies<K, V, R>, usize, usize) {
        let present = |e: &Linked<'_, K, V, R>| usize::from(e.load().is_some());
        if !self.exists() {
            // Invariant 3: read holds every entry, none expunged.
            let present = read.entries().map(|e| present(&e)).sum();
            self.reset();
            return (Dies::All, read.table.len(), present);
        }
        let (mut dead, mut live) = (0, 0);
        for entry in self.entries(read) {
            dead += 1;
            live += present(&entry);
        }
        // Read's other entries are the expunged ones, which the graveyard lists (invariant 2).
        dead += self
            .graveyard()
            .filter(|e| e.is_expunged(&self.locked))
            .count();
        let (entries, read_from) = self.take_for_clear(read);
        (
            Dies::Cleared {
                dirty: entries,
                read_from,
            },
            dead,
            live,
        )
    }

    /// Makes dirty nonexistent, dropping its table, backlog, graveyard and misses; the caller
    /// has taken every entry it needs (see [`unlink_all`](Self::unlink_all)).
    fn reset(&mut self) {
        self.table = None;
        self.backlog = Backlog::Idle;
        self.graveyard = Vec::new();
        self.revived = BTreeSet::new();
        self.misses = 0;
    }
}

/// What a unit test counts: the buckets and entries the lock holder visits (backlog steps,
/// counts, graveyard filters), on this thread, so that a test can check that no single call
/// visits O(n) of them. Compiled out of every other build.
#[cfg(all(test, not(loom)))]
pub(super) mod visits {
    use std::cell::Cell;

    std::thread_local! {
        static VISITS: Cell<usize> = const { Cell::new(0) };
    }

    pub(in crate::raw) fn add(n: usize) {
        VISITS.with(|v| v.set(v.get() + n));
    }

    /// The visits counted on this thread since the last call, and starts counting again.
    pub(in crate::raw) fn take() -> usize {
        VISITS.with(|v| v.replace(0))
    }
}

/// Counts `n` visits for the `visits` module (nothing outside unit tests).
#[inline(always)]
pub(super) fn test_visits(n: usize) {
    #[cfg(all(test, not(loom)))]
    visits::add(n);
    let _ = n;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use core::{borrow::Borrow, hash::Hash};
    use std::{
        collections::HashMap,
        hash::RandomState,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering::Relaxed},
        },
    };

    use hashbrown::HashTable;

    use super::{Backlog, INCREMENTAL_MIN_BUCKETS, INLINE_DEAD, STEP_BUCKETS};
    use crate::{raw::RawMap, reclaim::DeferToDrop};

    /// The maps these tests use: `u64` values, keys that a `u64` looks up.
    type Map<K> = RawMap<K, u64, DeferToDrop, RandomState>;
    type Raw = Map<u64>;

    /// Dirty's table, as the lock holder sees it.
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Shape {
        len: usize,
        buckets: usize,
        growing: bool,
        rebuilding: bool,
    }

    fn shape<K>(map: &Map<K>) -> Shape {
        let dirty = map.shards[0].dirty.lock();
        Shape {
            len: dirty.table_len(),
            buckets: dirty.table.as_ref().map_or(0, |t| t.num_buckets()),
            growing: matches!(dirty.backlog, Backlog::Grow { .. }),
            rebuilding: matches!(dirty.backlog, Backlog::Rebuild { .. }),
        }
    }

    /// Stores `key` and checks that the store linked its own entry and at most one step of the
    /// backlog's: never a whole table at once (once tables are large enough to be incremental).
    fn store_checked(map: &Raw, key: u64, value: u64) -> Shape {
        let before = shape(map);
        map.store(key, value);
        let after = shape(map);
        if after.buckets != before.buckets && before.buckets >= INCREMENTAL_MIN_BUCKETS {
            assert!(
                after.growing,
                "a large table grew at once: {before:?} -> {after:?}"
            );
            assert_eq!(after.len, 1, "a new table starts with the new entry only");
        } else if before.len > 0 {
            let linked = after.len - before.len;
            assert!(
                linked <= 1 + STEP_BUCKETS,
                "one store linked {linked} entries: {before:?} -> {after:?}"
            );
        }
        after
    }

    /// Counts misses until dirty is promoted, as a read workload would.
    fn promote<K: Hash + Eq + Borrow<u64>>(map: &Map<K>) {
        while map.shards[0].dirty.lock().exists() {
            assert!(map.load(&u64::MAX).is_none());
        }
    }

    fn check(map: &Raw, model: &HashMap<u64, u64>, keys: core::ops::Range<u64>) {
        for k in keys {
            assert_eq!(map.load(&k).copied(), model.get(&k).copied(), "key {k}");
        }
        assert_eq!(map.count_present(usize::MAX), model.len());
        let stats = map.stats();
        assert_eq!(stats.entries - stats.dead_entries, model.len(), "{stats:?}");
    }

    #[test]
    fn a_large_table_grows_a_step_per_insert_and_loses_nothing() {
        let map = Raw::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        let mut model = HashMap::new();
        let mut growths = 0;
        let mut was_growing = false;
        for k in 0..200_000 {
            let after = store_checked(&map, k, k);
            model.insert(k, k);
            growths += usize::from(after.growing && !was_growing);
            was_growing = after.growing;
            if after.growing && k % 64 == 0 {
                // A key stored long ago is likely still in the old table only.
                let old = k / 3;
                assert_eq!(map.load(&old).copied(), Some(old));
            }
        }
        assert!(growths >= 5, "only {growths} incremental growths");
        check(&map, &model, 0..200_000);
        promote(&map);
        check(&map, &model, 0..200_000);
    }

    #[test]
    fn a_promotion_takes_the_graveyards_memory_with_it() {
        // A rebuild that reaches many deleted keys fills the graveyard; the promotion after it
        // must not keep the graveyard's allocation (an emptied map would hold it for good: the
        // memory bench's emptied state once kept 4.3 bytes per original entry so).
        let map = Raw::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        for k in 0..10_000 {
            map.store(k, k);
        }
        promote(&map);
        for k in 0..2_000 {
            map.delete(&k); // a fifth: below the compaction threshold
        }
        map.store(10_000, 0); // starts a rebuild, which the misses below carry out
        promote(&map);
        let stats = map.stats();
        assert_eq!(stats.expunged, 2_000, "{stats:?}");
        assert_eq!(map.shards[0].dirty.lock().graveyard.capacity(), 0);
    }

    #[test]
    fn a_rebuild_visits_a_step_per_insert_and_keeps_gos_semantics() {
        const N: u64 = 20_000;
        let map = Raw::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        let mut model = HashMap::new();
        for k in 0..N {
            map.store(k, k);
            model.insert(k, k);
        }
        promote(&map);
        // Deleted keys, fewer than a quarter (no compaction): the rebuild must expunge those
        // still deleted when it reaches them.
        for k in (0..N).step_by(8) {
            map.delete(&k);
            model.remove(&k);
        }
        let first = store_checked(&map, N, N);
        model.insert(N, N);
        assert!(first.rebuilding, "{first:?}");
        assert!(first.len <= 1 + STEP_BUCKETS, "{first:?}");
        // While the rebuild runs: revive deleted keys (lock-free if not visited yet, relinked
        // if already expunged), delete live ones, and store new keys.
        for k in (0..N).step_by(8).take(500) {
            map.store(k, k + 1);
            model.insert(k, k + 1);
        }
        for k in (1..N).step_by(8) {
            assert_eq!(map.load_and_delete(&k).copied(), Some(k));
            model.remove(&k);
        }
        let mut rebuilding = true;
        for k in N + 1..N + 5_000 {
            rebuilding &= store_checked(&map, k, k).rebuilding;
            model.insert(k, k);
        }
        assert!(!rebuilding, "the rebuild never finished");
        check(&map, &model, 0..N + 5_000);
        let stats = map.stats();
        assert!(stats.expunged > 0, "{stats:?}");
        promote(&map);
        check(&map, &model, 0..N + 5_000);
    }

    /// A key that counts its drops, to check that a `clear` frees every entry exactly once.
    struct Counted(u64, Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, Relaxed);
        }
    }
    impl PartialEq for Counted {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }
    impl Eq for Counted {}
    impl Hash for Counted {
        fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
            self.0.hash(state);
        }
    }
    impl Borrow<u64> for Counted {
        fn borrow(&self) -> &u64 {
            &self.0
        }
    }

    type Counting = Map<Counted>;

    /// Clears `map` (holding `keys` keys, `live` of them present) while its backlog is in
    /// progress, and checks that the map is empty and usable, and that every key it held is
    /// dropped exactly once, by the map's drop (a leak or a double free would miscount).
    fn clear_and_count(map: Counting, drops: &Arc<AtomicUsize>, keys: usize, live: usize) {
        let before = drops.load(Relaxed);
        assert_eq!(map.count_present(usize::MAX), live);
        assert_eq!(map.len_estimate(), live);
        map.clear();
        assert_eq!(map.len_estimate(), 0);
        assert_eq!(map.count_present(usize::MAX), 0);
        assert!(map.load(&0).is_none());
        let stats = map.stats();
        assert_eq!((stats.entries, stats.dead_entries), (0, 0), "{stats:?}");
        map.store(Counted(7, drops.clone()), 7);
        assert_eq!(map.load(&7).copied(), Some(7));
        assert_eq!(drops.load(Relaxed), before);
        drop(map);
        let after = drops.load(Relaxed);
        assert_eq!(after - before, keys + 1);
    }

    #[test]
    fn a_clear_during_a_rebuild_frees_every_entry_once() {
        const N: u64 = 20_000;
        let drops = Arc::default();
        let map = Counting::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        let key = |k| Counted(k, Arc::clone(&drops));
        for k in 0..N {
            map.store(key(k), k);
        }
        promote(&map);
        for k in (0..N).step_by(8) {
            map.delete(&k);
        }
        // A rebuild that has expunged some deleted entries (graveyard), not visited others,
        // and relinked a few it expunged.
        for k in N..N + 300 {
            map.store(key(k), k);
        }
        for k in (0..N).step_by(8).take(100) {
            map.store(key(k), k);
        }
        assert!(map.stats().expunged > 0);
        let shape = shape(&map);
        assert!(
            shape.rebuilding && !shape.growing,
            "still rebuilding: {shape:?}"
        );
        // Stores of keys that existed dropped the unused new keys: N + 300 keys remain made,
        // plus the 100 extra made for revived keys and dropped at once.
        let made = (N + 300 + 100) as usize;
        let dropped = drops.load(Relaxed);
        let live = (N + 300) as usize - (N as usize).div_ceil(8) + 100;
        clear_and_count(map, &drops, made - dropped, live);
        assert_eq!(drops.load(Relaxed), made + 1);
    }

    #[test]
    fn a_clear_during_a_growth_frees_every_entry_once() {
        let drops = Arc::default();
        let map = Counting::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        let mut k = 0;
        while !(k > 2 * INCREMENTAL_MIN_BUCKETS as u64 && shape(&map).growing) {
            map.store(Counted(k, Arc::clone(&drops)), k);
            k += 1;
        }
        // A few more, so that the growth is under way but not done.
        for k in k..k + 3 {
            map.store(Counted(k, Arc::clone(&drops)), k);
        }
        let shape = shape(&map);
        assert!(
            shape.growing && !shape.rebuilding,
            "still growing: {shape:?}"
        );
        map.delete(&1);
        let keys = k as usize + 3;
        clear_and_count(map, &drops, keys, keys - 1);
    }

    #[test]
    fn a_clear_of_a_small_dirty_lists_its_entries_inline_and_keeps_its_table() {
        let drops = Arc::default();
        let map = Counting::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
        let key = |k| Counted(k, Arc::clone(&drops));
        for k in 0..8 {
            map.store(key(k), k);
        }
        promote(&map);
        for k in 0..6 {
            map.delete(&k);
        }
        // The rebuild expunges keys 0 to 5; key 0 is then relinked, so that dirty holds four
        // entries (0, 6, 7, 100) and read two expunged ones more than dirty's.
        map.store(key(100), 100);
        map.store(key(0), 1);
        let stats = map.stats();
        assert_eq!((stats.expunged, stats.unexpunged), (6, 1), "{stats:?}");
        assert_eq!(map.shards[0].dirty.lock().table_len(), INLINE_DEAD);
        let dropped = drops.load(Relaxed); // the unused key 0
        let table = map.shards[0]
            .dirty
            .lock()
            .table
            .as_ref()
            .map(HashTable::allocation_size);
        map.clear();
        assert_eq!(map.len_estimate(), 0);
        map.store(key(5), 5);
        let dirty = map.shards[0].dirty.lock();
        assert_eq!(dirty.table.as_ref().map(HashTable::allocation_size), table);
        drop(dirty);
        assert_eq!(map.load(&5).copied(), Some(5));
        assert!(map.load(&0).is_none());
        drop(map);
        // Keys 0 to 7, 100 and 5, each dropped once: the clear's nine (four inline, five
        // expunged in read) and the last store's.
        assert_eq!(drops.load(Relaxed) - dropped, 10);
    }
}
