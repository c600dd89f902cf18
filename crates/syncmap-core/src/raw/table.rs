//! The tables of entries: the published [`ReadOnly`] table (dirty's is in `dirty.rs`), and
//! [`Linked`], the only way a linked entry pointer becomes a reference.

use core::{borrow::Borrow, cell::UnsafeCell, ops::Deref, ptr::NonNull};

use hashbrown::HashTable;

use super::entry::{Entry, EntryPtr, State};
use crate::{
    primitive::sync::atomic::{AtomicBool, Ordering::*},
    reclaim::{Reclaim, Retire, sealed::Sealed},
    unwind::DropAll,
};

/// A hash table of entry pointers, keyed by their cached hashes.
pub(super) type Table<K, V, R> = HashTable<EntryPtr<K, V, R>>;

/// An entry linked from a table, borrowed for `'g`, during which it is known to be alive (a
/// guard, the dirty lock or exclusive access keeps it so), together with its pointer.
pub(crate) struct Linked<'g, K, V, R: Reclaim> {
    ptr: EntryPtr<K, V, R>,
    entry: &'g Entry<K, V, R>,
}

impl<K, V, R: Reclaim> Clone for Linked<'_, K, V, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V, R: Reclaim> Copy for Linked<'_, K, V, R> {}

impl<'g, K, V, R: Reclaim> Linked<'g, K, V, R> {
    /// Borrows a linked entry for `'g`.
    ///
    /// # Safety
    ///
    /// The entry `ptr` points at stays alive for `'g`.
    #[inline]
    pub(super) unsafe fn new(ptr: EntryPtr<K, V, R>) -> Self {
        Linked {
            ptr,
            // SAFETY: the caller's contract.
            entry: unsafe { ptr.get() },
        }
    }

    /// The entry's pointer, to link it into another table or list.
    #[inline]
    pub(super) fn ptr(self) -> EntryPtr<K, V, R> {
        self.ptr
    }

    /// The entry, for all of `'g`.
    #[inline]
    pub(crate) fn get(self) -> &'g Entry<K, V, R> {
        self.entry
    }
}

impl<K, V, R: Reclaim> Deref for Linked<'_, K, V, R> {
    type Target = Entry<K, V, R>;

    #[inline]
    fn deref(&self) -> &Entry<K, V, R> {
        self.entry
    }
}

/// Looks `key` up among `table`'s entries.
///
/// # Safety
///
/// Every entry linked from `table` stays alive for `'g`.
#[inline]
pub(super) unsafe fn find<'g, K, V, R, Q>(
    table: &Table<K, V, R>,
    hash: u64,
    key: &Q,
) -> Option<Linked<'g, K, V, R>>
where
    R: Reclaim,
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    table
        .find(hash, |e| {
            // SAFETY: the caller's contract: linked entries are alive (for 'g, so now).
            unsafe { e.get() }.matches(key)
        })
        // SAFETY: the caller's contract.
        .map(|&e| unsafe { Linked::new(e) })
}

/// Whether `table` links the entry at `ptr`, found by its cached `hash` and compared by address
/// (no `Eq`: the entry is known, not its key). Reads only the table, never an entry.
#[inline]
pub(super) fn links<K, V, R: Reclaim>(
    table: &Table<K, V, R>,
    hash: u64,
    ptr: NonNull<Entry<K, V, R>>,
) -> bool {
    table.find(hash, |e| e.as_non_null() == ptr).is_some()
}

/// The entries of a table, borrowed for `'g`.
pub(crate) struct Entries<'g, K, V, R: Reclaim>(hashbrown::hash_table::Iter<'g, EntryPtr<K, V, R>>);

impl<'g, K, V, R: Reclaim> Entries<'g, K, V, R> {
    /// Borrows every entry of `table`.
    ///
    /// # Safety
    ///
    /// Every entry linked from `table` stays alive for `'g`.
    #[inline]
    pub(super) unsafe fn new(table: &'g Table<K, V, R>) -> Self {
        Entries(table.iter())
    }
}

/// The entries in `buckets` of `table` (a range of bucket indices), borrowed for `'g`.
///
/// # Safety
///
/// Every entry linked from `table` stays alive for `'g`.
#[inline]
pub(super) unsafe fn bucket_entries<'g, K, V, R: Reclaim>(
    table: &'g Table<K, V, R>,
    buckets: core::ops::Range<usize>,
) -> impl Iterator<Item = Linked<'g, K, V, R>> + 'g {
    buckets.filter_map(move |i| {
        // SAFETY: the caller's contract.
        table.get_bucket(i).map(|&e| unsafe { Linked::new(e) })
    })
}

impl<'g, K, V, R: Reclaim> Iterator for Entries<'g, K, V, R> {
    type Item = Linked<'g, K, V, R>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `new`'s contract: the table's entries are alive for 'g.
        self.0.next().map(|&e| unsafe { Linked::new(e) })
    }
}

/// The cached-hash hasher for tables of entries: rebuilding and growing never call `Hash`.
#[inline]
pub(super) fn entry_hash<K, V, R: Reclaim>(e: &EntryPtr<K, V, R>) -> u64 {
    // SAFETY: hashbrown calls this only on entries linked from the table being built or grown,
    // which the caller holds under the lock (or owns), so they are alive.
    unsafe { e.get() }.hash
}

/// A published read table: immutable but for `amended`, which only goes from false to true.
///
/// A `&'g ReadOnly` is lent only by `RawMap::read`, for as long as a guard lives (or under
/// exclusive access to the map), and an entry linked from a read table is retired no earlier
/// than the table itself is unpublished: so its entries are alive for `'g`.
///
/// An unpublished table is itself what the map retires (see [`Retire`] below), together with
/// the entries that die with it, recorded in `dies` by `LockedMap::replace_read`: one allocation
/// per replaced table, not a table and a separate box of garbage.
pub(super) struct ReadOnly<K, V, R: Reclaim> {
    pub(super) table: Table<K, V, R>,
    /// True if dirty holds a key that `table` does not.
    pub(super) amended: AtomicBool,
    /// What dies with this table: [`Dies::Nothing`] while it is published; written once, by
    /// the lock holder that unpublished it and before it is retired. Readers never touch it.
    dies: UnsafeCell<Dies<K, V, R>>,
}

/// The entries that die with a retired read table, besides the table itself.
pub(super) enum Dies<K, V, R: Reclaim> {
    /// None: the table is still published.
    Nothing,
    /// Exactly these entries (perhaps none), linked from no table any more (a promotion's
    /// graveyard, when no entry of it was revived).
    Listed(Vec<EntryPtr<K, V, R>>),
    /// The entries of `dead` whose addresses are not in `revived` (a subset of `dead`'s): a
    /// promotion's graveyard, less the entries a store relinked into the promoted table.
    /// Membership is decided by address alone: a revived entry is never read here.
    ListedExcept {
        dead: Vec<EntryPtr<K, V, R>>,
        revived: std::sync::Arc<std::collections::BTreeSet<usize>>,
    },
    /// A `clear` of a map without dirty: every entry of the retired table.
    All,
    /// A `clear` of a map with dirty: every entry of `dirty` (its table's), and the
    /// entries of the retired table that are expunged or in a bucket from `read_from` on (those
    /// a rebuild of `dirty` had not visited yet: `Backlog::Rebuild`'s `next`). By invariant 2,
    /// the other entries of the retired table are in `dirty`, so this lists each entry once.
    ///
    /// Which entries are expunged is read at reclamation: after the `clear`, no lock holder
    /// reaches the retired table (only the current one), and nothing enters or leaves
    /// *expunged* without the lock, so the answer is the one the `clear` would have got.
    Cleared {
        dirty: DirtyEntries<K, V, R>,
        read_from: usize,
    },
}

/// The most entries of dirty that a `clear` lists inline, in the retired read table itself.
pub(super) const INLINE_DEAD: usize = 4;

/// The entries dirty held at a `clear` (those linked from its table, once a growth is done).
pub(super) enum DirtyEntries<K, V, R: Reclaim> {
    /// Dirty's table, taken whole.
    Table(Table<K, V, R>),
    /// At most [`INLINE_DEAD`] entries, listed here so that dirty can keep its table, emptied,
    /// for the next rebuild (see `Dirty::take_for_clear`): a small map cleared and refilled over
    /// and over then allocates no table.
    Inline([Option<EntryPtr<K, V, R>>; INLINE_DEAD]),
}

impl<K, V, R: Reclaim> DirtyEntries<K, V, R> {
    /// The entries, each once.
    fn into_entries(self) -> impl Iterator<Item = EntryPtr<K, V, R>> {
        let (table, inline) = match self {
            DirtyEntries::Table(table) => (table, [None; INLINE_DEAD]),
            DirtyEntries::Inline(inline) => (HashTable::new(), inline),
        };
        table.into_iter().chain(inline.into_iter().flatten())
    }
}

/// The entries of a retired read table that die with it at a `clear` of a map with dirty
/// ([`Dies::Cleared`]): those expunged, and those in buckets from `read_from` on.
///
/// # Safety
///
/// The table's entries are alive while the iterator is used (each is read for its state).
unsafe fn cleared_in_read<K, V, R: Reclaim>(
    table: &Table<K, V, R>,
    read_from: usize,
) -> impl Iterator<Item = NonNull<Entry<K, V, R>>> + '_ {
    (0..table.num_buckets()).filter_map(move |i| {
        let &entry = table.get_bucket(i)?;
        // SAFETY: the caller's contract.
        let expunged = matches!(unsafe { entry.get() }.state(), State::Expunged);
        (i >= read_from || expunged).then(|| entry.as_non_null())
    })
}

impl<K, V, R: Reclaim> Dies<K, V, R> {
    /// What a `clear`'s `dies` names (`All` or `Cleared`, of the retired `table`), as a list,
    /// so that a large one can be retired in pieces (`LockedMap::replace_read`); other kinds
    /// are returned as they are. Called under the lock, which keeps every entry of `table`
    /// alive and their *expunged* states fixed.
    pub(super) fn listed(self, table: &Table<K, V, R>) -> Self {
        match self {
            Dies::All => Dies::Listed(table.iter().copied().collect()),
            Dies::Cleared { dirty, read_from } => {
                // SAFETY: the lock keeps `table`'s entries alive (see above).
                let read = unsafe { cleared_in_read(table, read_from) };
                let mut list: Vec<_> = read.map(EntryPtr).collect();
                list.extend(dirty.into_entries());
                Dies::Listed(list)
            }
            dies => dies,
        }
    }
}

impl<K, V, R: Reclaim> ReadOnly<K, V, R> {
    pub(super) fn publish(table: Table<K, V, R>) -> *mut Self {
        Box::into_raw(Box::new(ReadOnly {
            table,
            amended: AtomicBool::new(false),
            dies: UnsafeCell::new(Dies::Nothing),
        }))
    }

    /// Records what dies with this table, which the caller (holding its shard's lock) has
    /// just unpublished, or is about to, and will retire.
    ///
    /// # Safety
    ///
    /// `this` points at a table that is not retired yet, that the caller is the only one to
    /// retire, and whose `dies` nobody else writes or reads until it is reclaimed (readers and
    /// lock holders never touch it).
    pub(super) unsafe fn set_dies(this: NonNull<Self>, dies: Dies<K, V, R>) {
        // SAFETY: the caller's contract: we are the only ones to access `dies` now (readers
        // still holding the table only read `table` and `amended`), and `this` is alive (not
        // retired yet). The strategy's retire publishes the write to whoever reclaims it.
        unsafe { *(*this.as_ptr()).dies.get() = dies }
    }

    /// Takes back what [`set_dies`](Self::set_dies) recorded, leaving [`Dies::Nothing`].
    ///
    /// # Safety
    ///
    /// As for `set_dies`.
    pub(super) unsafe fn take_dies(this: NonNull<Self>) -> Dies<K, V, R> {
        // SAFETY: as in `set_dies`.
        unsafe { core::mem::replace(&mut *(*this.as_ptr()).dies.get(), Dies::Nothing) }
    }

    /// True if neither this table nor dirty has a key: what a `clear` need not replace.
    #[inline]
    pub(super) fn holds_nothing(&self) -> bool {
        self.table.is_empty() && !self.amended()
    }

    #[inline]
    pub(super) fn amended(&self) -> bool {
        self.amended.load(Acquire)
    }

    /// `key`'s entry, if read has it.
    #[inline]
    pub(super) fn find<'g, Q>(&'g self, hash: u64, key: &Q) -> Option<Linked<'g, K, V, R>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // SAFETY: entries of a borrowed read table are alive while it is borrowed (type docs).
        unsafe { find(&self.table, hash, key) }
    }

    /// Whether this table links the entry at `ptr`, whose cached hash is `hash`.
    #[inline]
    pub(super) fn links(&self, hash: u64, ptr: NonNull<Entry<K, V, R>>) -> bool {
        links(&self.table, hash, ptr)
    }

    /// Every entry of the table.
    #[inline]
    pub(super) fn entries(&self) -> Entries<'_, K, V, R> {
        // SAFETY: entries of a borrowed read table are alive while it is borrowed (type docs).
        unsafe { Entries::new(&self.table) }
    }

    /// The entries in `buckets` of the table (a range of bucket indices).
    #[inline]
    pub(super) fn entries_in(
        &self,
        buckets: core::ops::Range<usize>,
    ) -> impl Iterator<Item = Linked<'_, K, V, R>> + '_ {
        // SAFETY: entries of a borrowed read table are alive while it is borrowed (type docs).
        unsafe { bucket_entries(&self.table, buckets) }
    }
}

impl<K, V, R: Reclaim> Sealed for ReadOnly<K, V, R> {}

impl<K, V, R: Reclaim> Retire for ReadOnly<K, V, R> {
    /// Frees the table and every entry that dies with it, even if a key's or value's `Drop`
    /// panics; the first such panic resumes after the rest (see [`DropAll`]).
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: the table was boxed by `publish`, unpublished and retired by
        // `LockedMap::replace_read`, and is reclaimed once; no guard can reach it any more.
        let ReadOnly { table, dies, .. } = *unsafe { Box::from_raw(ptr.as_ptr()) };
        let mut drops = DropAll::new();
        match dies.into_inner() {
            Dies::Nothing => {}
            Dies::Listed(entries) => {
                let entries = entries.into_iter().map(EntryPtr::as_non_null);
                // SAFETY: `Dies`' docs: each entry reclaimed here is linked from no live table
                // and listed once, and nothing else frees it.
                unsafe { Entry::free_batch(entries, true, &mut drops) };
            }
            Dies::ListedExcept { dead, revived } => {
                let entries = dead
                    .into_iter()
                    .map(EntryPtr::as_non_null)
                    .filter(|e| !revived.contains(&e.as_ptr().addr()));
                // SAFETY: as above; the revived entries, linked again, are skipped.
                unsafe { Entry::free_batch(entries, true, &mut drops) };
            }
            Dies::All => {
                let entries = table.iter().map(|e| e.as_non_null());
                // SAFETY: as above.
                unsafe { Entry::free_batch(entries, true, &mut drops) };
            }
            Dies::Cleared { dirty, read_from } => {
                // Read's entries first: the state of one that does not die here is read while
                // `dirty`, which holds it, still keeps it alive.
                // (In one batch, read's first: an entry is freed only after the batch has
                // taken every entry before it, so every read entry's state is read before any
                // entry of dirty is freed.)
                // SAFETY: entries of the retired table are alive until freed here (`Dies::
                // Cleared`), and none is freed twice.
                let read = unsafe { cleared_in_read(&table, read_from) };
                match dirty {
                    DirtyEntries::Inline(dirty) => {
                        let dirty = dirty.into_iter().flatten().map(EntryPtr::as_non_null);
                        // SAFETY: as above.
                        unsafe { Entry::free_batch(read.chain(dirty), true, &mut drops) };
                    }
                    DirtyEntries::Table(dirty) => {
                        let dirty = dirty.into_iter().map(EntryPtr::as_non_null);
                        // SAFETY: as above.
                        unsafe { Entry::free_batch(read.chain(dirty), true, &mut drops) };
                    }
                }
            }
        }
        drop(table);
        drops.finish();
    }
}
