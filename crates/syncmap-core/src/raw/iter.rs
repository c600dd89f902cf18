//! The present entries of the map, as `range`, `retain` and the pinned iterators visit them.

use core::{
    hash::{BuildHasher, Hash},
    iter::FusedIterator,
    ptr::NonNull,
};

use super::{RawMap, entry::Entry, shard::Root, table::Entries};
use crate::reclaim::Reclaim;

/// The keys and values of a read table's present entries, borrowed for `'g`, the life of the
/// guard they were read under.
pub(crate) struct PresentEntries<'g, K, V, R: Reclaim> {
    entries: WithValues<'g, K, V, R>,
}

impl<'g, K, V, R: Reclaim> Iterator for PresentEntries<'g, K, V, R> {
    type Item = (&'g K, &'g V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (entry, value) = self.entries.next()?;
        // SAFETY: the value was read under the guard, which lives for 'g.
        Some((&entry.key, unsafe { value.as_ref() }))
    }
}

impl<K, V, R: Reclaim> FusedIterator for PresentEntries<'_, K, V, R> {}

impl<'g, K, V, R: Reclaim> PresentEntries<'g, K, V, R> {
    /// The entries themselves, with their value pointers.
    pub(super) fn with_entries(self) -> WithValues<'g, K, V, R> {
        self.entries
    }
}

/// The present entries of the shards' read tables, shard by shard, with their values'
/// pointers.
///
/// # Invariants
///
/// `root` was borrowed from the map under the guard that lives for `'g`; `shards` is the map's
/// shard count, and `entries` iterates shard `next - 1`'s table.
pub(super) struct WithValues<'g, K, V, R: Reclaim> {
    root: &'g Root<K, V, R>,
    shards: usize,
    next: usize,
    entries: Entries<'g, K, V, R>,
}

impl<'g, K, V, R: Reclaim> Iterator for WithValues<'g, K, V, R> {
    type Item = (&'g Entry<K, V, R>, NonNull<V>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            for entry in self.entries.by_ref() {
                let entry = entry.get();
                if let Some(value) = entry.load() {
                    return Some((entry, value));
                }
            }
            if self.next == self.shards {
                return None;
            }
            // SAFETY: the invariants: the root is borrowed under the guard, and `next` is
            // below the shard count.
            self.entries = unsafe { self.root.read(self.next) }.entries();
            self.next += 1;
        }
    }
}

impl<K, V, R: Reclaim> FusedIterator for WithValues<'_, K, V, R> {}

impl<K: Hash + Eq, V, R: Reclaim, S: BuildHasher> RawMap<K, V, R, S> {
    /// The present entries, as `range` visits them: if dirty has keys read lacks, dirty is
    /// promoted first (Go's `Range`), so that every key present for the whole iteration is in
    /// the table iterated. `guard` came from this map's `pin`.
    pub(crate) fn present_entries<'g>(
        &'g self,
        guard: &'g R::Guard<'_>,
    ) -> PresentEntries<'g, K, V, R> {
        let root = self.root_for_iteration(guard);
        PresentEntries {
            entries: WithValues {
                root,
                shards: self.shards(),
                next: 1,
                // SAFETY: `root` is borrowed under `guard`; every map has shard 0.
                entries: unsafe { root.read(0) }.entries(),
            },
        }
    }

    /// Every entry of the tables `range` would visit (see
    /// [`present_entries`](Self::present_entries)), for parallel iteration.
    #[cfg(feature = "rayon")]
    pub(crate) fn par_entries<'g>(
        &'g self,
        guard: &'g R::Guard<'_>,
    ) -> impl rayon::iter::ParallelIterator<Item = (&'g K, &'g V)> + 'g
    where
        K: Sync,
        V: Send + Sync,
    {
        use rayon::iter::{IntoParallelIterator, IntoParallelRefIterator, ParallelIterator};

        // Rayon's workers receive this work after the pin and through rayon's queues, so every
        // load they make happens after `pin` returned: the pin protects their reads exactly as
        // it protects this thread's (`Reclaim`'s *Protection*).
        let root = self.root_for_iteration(guard);
        // The shards' tables (hash tables of entry pointers, shareable when `K: Sync` and
        // `V: Send + Sync`), borrowed from the read tables for 'g.
        let tables: Vec<_> = (0..self.shards())
            // SAFETY: `root` is borrowed under `guard`, and `shard` is below the shard count.
            .map(|shard| &unsafe { root.read(shard) }.table)
            .collect();
        tables
            .into_par_iter()
            .flat_map(|table| table.par_iter())
            .filter_map(|entry| {
                // SAFETY: entries of a borrowed read table are alive while it is borrowed (see
                // `ReadOnly`), whichever thread reads them.
                let entry = unsafe { entry.get() };
                let value = entry.load()?;
                // SAFETY: read under the pin (see above), which lives for 'g.
                Some((&entry.key, unsafe { value.as_ref() }))
            })
    }

    /// The root whose tables to iterate, promoting first the dirty state of each shard whose
    /// read table is amended (Go's `Range`, shard by shard): every key present for the whole
    /// iteration is then in its shard's table in the root, whenever the iteration reaches it
    /// (a later promotion's table holds every entry of the one it replaces, and a `clear`
    /// replaces the root, not its tables).
    fn root_for_iteration<'g>(&'g self, guard: &'g R::Guard<'_>) -> &'g Root<K, V, R> {
        for shard in 0..self.shards() {
            if self.read(guard, shard).amended() {
                let mut locked = self.lock(guard, shard);
                if locked.read().amended() {
                    locked.promote();
                }
            }
        }
        self.root(guard)
    }
}
