//! The present entries of the map, as `range`, `retain` and the pinned iterators visit them.

use core::{
    hash::{BuildHasher, Hash},
    iter::FusedIterator,
    ptr::NonNull,
};

use super::{
    RawMap,
    entry::Entry,
    table::{Entries, ReadOnly},
};
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

/// The present entries of a read table, with their values' pointers.
pub(super) struct WithValues<'g, K, V, R: Reclaim> {
    entries: Entries<'g, K, V, R>,
}

impl<'g, K, V, R: Reclaim> Iterator for WithValues<'g, K, V, R> {
    type Item = (&'g Entry<K, V, R>, NonNull<V>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        for entry in self.entries.by_ref() {
            let entry = entry.get();
            if let Some(value) = entry.load() {
                return Some((entry, value));
            }
        }
        None
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
        let read = self.read_for_iteration(guard);
        PresentEntries {
            entries: WithValues {
                entries: read.entries(),
            },
        }
    }

    /// Every entry of the table `range` would visit (see
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
        use rayon::iter::ParallelIterator;

        // Rayon's workers receive this work after the pin and through rayon's queues, so every
        // load they make happens after `pin` returned: the pin protects their reads exactly as
        // it protects this thread's (`Reclaim`'s *Protection*).
        let read = self.read_for_iteration(guard);
        read.par_entries().filter_map(|entry| {
            let value = entry.load()?;
            // SAFETY: read under the pin (see above), which lives for 'g.
            Some((&entry.key, unsafe { value.as_ref() }))
        })
    }

    /// The read table to iterate, promoting dirty first if read is amended (Go's `Range`).
    fn read_for_iteration<'g>(&'g self, guard: &'g R::Guard<'_>) -> &'g ReadOnly<K, V, R> {
        let read = self.read(guard);
        if !read.amended() {
            return read;
        }
        let mut locked = self.lock(guard);
        if locked.read().amended() {
            locked.promote();
        }
        locked.into_read()
    }
}
