//! The tables of entries: the published [`ReadOnly`] table (dirty's is in `dirty.rs`), and
//! [`Linked`], the only way a linked entry pointer becomes a reference.

use core::{borrow::Borrow, ops::Deref, ptr::NonNull};

use hashbrown::HashTable;

use super::entry::{Entry, EntryPtr};
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
            unsafe { e.get() }.matches(hash, key)
        })
        // SAFETY: the caller's contract.
        .map(|&e| unsafe { Linked::new(e) })
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
pub(super) struct ReadOnly<K, V, R: Reclaim> {
    pub(super) table: Table<K, V, R>,
    /// True if dirty holds a key that `table` does not.
    pub(super) amended: AtomicBool,
}

impl<K, V, R: Reclaim> ReadOnly<K, V, R> {
    pub(super) fn publish(table: Table<K, V, R>) -> *mut Self {
        Box::into_raw(Box::new(ReadOnly {
            table,
            amended: AtomicBool::new(false),
        }))
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

    /// Every entry of the table, for rayon's workers.
    #[cfg(feature = "rayon")]
    pub(super) fn par_entries(
        &self,
    ) -> impl rayon::iter::ParallelIterator<Item = &Entry<K, V, R>> + '_
    where
        K: Sync,
        V: Send + Sync,
    {
        use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
        self.table.par_iter().map(|e| {
            // SAFETY: entries of a borrowed read table are alive while it is borrowed (type
            // docs), whichever thread reads them.
            unsafe { e.get() }
        })
    }
}

/// What dies with a read table: the table itself, and entries no table links any more.
pub(super) struct Garbage<K, V, R: Reclaim> {
    pub(super) read: NonNull<ReadOnly<K, V, R>>,
    pub(super) entries: Vec<EntryPtr<K, V, R>>,
}

impl<K, V, R: Reclaim> Sealed for Garbage<K, V, R> {}

impl<K, V, R: Reclaim> Retire for Garbage<K, V, R> {
    /// Frees the table and every entry, even if a key's or value's `Drop` panics; the first
    /// such panic resumes after the rest (see [`DropAll`]).
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: garbage is boxed by `replace_read_locked` and reclaimed once.
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
