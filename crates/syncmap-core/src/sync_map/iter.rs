//! Iteration: [`Iter`], [`Keys`] and [`Values`] over a pinned map, with `range`'s guarantees.

use core::{fmt, hash::BuildHasher, hash::Hash, iter::FusedIterator, ptr::NonNull};

use hashbrown::hash_table;

use super::{Pinned, ReadOnly, SyncMap};
use crate::Admits;
use crate::{
    Owned,
    entry::{Entry, EntryPtr},
    reclaim::Reclaim,
    unwind::DropAll,
};

/// The present entries of a read table, with their values, as read under a guard that lives
/// for `'g`.
pub(crate) struct PresentEntries<'g, K, V, R: Reclaim> {
    entries: hash_table::Iter<'g, EntryPtr<K, V, R>>,
}

impl<'g, K, V, R: Reclaim> Iterator for PresentEntries<'g, K, V, R> {
    type Item = (&'g Entry<K, V, R>, NonNull<V>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        for &entry in self.entries.by_ref() {
            // SAFETY: linked from a read table loaded under `guard`, which lives for 'g.
            let entry = unsafe { entry.get() };
            if let Some(value) = entry.load() {
                return Some((entry, value));
            }
        }
        None
    }
}

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// The present entries, as `range` visits them: if dirty has keys read lacks, dirty is
    /// promoted first (Go's `Range`), so that every key present for the whole iteration is in
    /// the table iterated.
    pub(crate) fn present_entries<'g>(
        &'g self,
        guard: &'g R::Guard<'_>,
    ) -> PresentEntries<'g, K, V, R> {
        PresentEntries {
            entries: self.read_for_iteration(guard).table.iter(),
        }
    }

    /// The read table to iterate, promoting dirty first if read is amended (Go's `Range`).
    fn read_for_iteration<'g>(&'g self, guard: &'g R::Guard<'_>) -> &'g ReadOnly<K, V, R> {
        let mut read = self.read(guard);
        if read.amended() {
            let (mut dirty, locked) = self.lock();
            read = self.read(guard);
            if read.amended() {
                self.promote_locked(&mut dirty, guard, &locked);
                read = self.read(guard);
            }
        }
        read
    }
}

/// An iterator over the keys and values of a pinned map, from [`Pinned::iter`].
///
/// It has [`SyncMap::range`]'s guarantees: no key twice, every key present for the whole
/// iteration, concurrent changes seen or not.
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// let pinned = map.pin();
/// for (key, value) in &pinned {
///     assert_eq!((*key, *value), (1, 2));
/// }
/// ```
pub struct Iter<'p, K, V, R: Reclaim> {
    inner: PresentEntries<'p, K, V, R>,
}

impl<'p, K, V, R: Reclaim> Iterator for Iter<'p, K, V, R> {
    type Item = (&'p K, &'p V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (entry, value) = self.inner.next()?;
        // SAFETY: read under the pin's guard, which outlives 'p.
        Some((&entry.key, unsafe { value.as_ref() }))
    }
}

impl<K, V, R: Reclaim> FusedIterator for Iter<'_, K, V, R> {}

impl<K, V, R: Reclaim> fmt::Debug for Iter<'_, K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// An iterator over the keys of a pinned map, from [`Pinned::keys`].
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// assert_eq!(map.pin().keys().collect::<Vec<_>>(), [&1]);
/// ```
pub struct Keys<'p, K, V, R: Reclaim>(Iter<'p, K, V, R>);

impl<'p, K, V, R: Reclaim> Iterator for Keys<'p, K, V, R> {
    type Item = &'p K;

    #[inline]
    fn next(&mut self) -> Option<&'p K> {
        self.0.next().map(|(k, _)| k)
    }
}

impl<K, V, R: Reclaim> FusedIterator for Keys<'_, K, V, R> {}

impl<K, V, R: Reclaim> fmt::Debug for Keys<'_, K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// An iterator over the values of a pinned map, from [`Pinned::values`].
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// assert_eq!(map.pin().values().collect::<Vec<_>>(), [&2]);
/// ```
pub struct Values<'p, K, V, R: Reclaim>(Iter<'p, K, V, R>);

impl<'p, K, V, R: Reclaim> Iterator for Values<'p, K, V, R> {
    type Item = &'p V;

    #[inline]
    fn next(&mut self) -> Option<&'p V> {
        self.0.next().map(|(_, v)| v)
    }
}

impl<K, V, R: Reclaim> FusedIterator for Values<'_, K, V, R> {}

impl<K, V, R: Reclaim> fmt::Debug for Values<'_, K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values").finish_non_exhaustive()
    }
}

impl<'m, K, V, R, S> Pinned<'m, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Iterates over the keys and values, with [`SyncMap::range`]'s guarantees; the references
    /// live as long as the pin.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (1..=3).map(|i| (i, i * 10)).collect();
    /// let pinned = map.pin();
    /// let mut pairs: Vec<(u32, u32)> = pinned.iter().map(|(k, v)| (*k, *v)).collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(1, 10), (2, 20), (3, 30)]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V, R> {
        Iter {
            inner: self.map.present_entries(&self.guard),
        }
    }

    /// Iterates over the keys, with [`SyncMap::range`]'s guarantees.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = [("a", 1), ("b", 2)].into_iter().collect();
    /// let mut keys: Vec<&str> = map.pin().keys().copied().collect();
    /// keys.sort();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, V, R> {
        Keys(self.iter())
    }

    /// Iterates over the values, with [`SyncMap::range`]'s guarantees.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = [("a", 1), ("b", 2)].into_iter().collect();
    /// assert_eq!(map.pin().values().sum::<u32>(), 3);
    /// ```
    pub fn values(&self) -> Values<'_, K, V, R> {
        Values(self.iter())
    }
}

#[cfg(feature = "rayon")]
impl<K, V, R, S> Pinned<'_, K, V, R, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Iterates over the keys and values in parallel on rayon's thread pool, with
    /// [`SyncMap::range`]'s guarantees (feature `rayon`).
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let map: SyncMap<u64, u64> = (0..10_000).map(|i| (i, i)).collect();
    /// let pinned = map.pin();
    /// let sum: u64 = pinned.par_iter().map(|(_, v)| *v).sum();
    /// assert_eq!(sum, (0..10_000).sum());
    /// ```
    pub fn par_iter(&self) -> impl rayon::iter::ParallelIterator<Item = (&K, &V)> + '_ {
        use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

        // Rayon's workers receive this work after the pin and through rayon's queues, so every
        // load they make happens after `pin` returned: the pin protects their reads exactly as
        // it protects this thread's (`Reclaim`'s *Protection*).
        let read = self.map.read_for_iteration(&self.guard);
        read.table.par_iter().filter_map(|&entry| {
            // SAFETY: linked from a read table loaded under the pin, which outlives `&self`.
            let entry = unsafe { entry.get() };
            let value = entry.load()?;
            // SAFETY: read under the pin (see above).
            Some((&entry.key, unsafe { value.as_ref() }))
        })
    }
}

impl<'p, K, V, R, S> IntoIterator for &'p Pinned<'_, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    type Item = (&'p K, &'p V);
    type IntoIter = Iter<'p, K, V, R>;

    fn into_iter(self) -> Iter<'p, K, V, R> {
        self.iter()
    }
}

/// An owning iterator over the keys and values of a map, from `SyncMap::into_iter`.
///
/// Values come as [`Owned<V, R>`](crate::Owned): plain `V` where the strategy stores values in
/// `Box`es (syncmap-epoch, its seize map, [`DeferToDrop`](crate::reclaim::DeferToDrop)), as
/// `std`'s and dashmap's maps give them; `Arc<V>` where it stores them in `Arc`s
/// (syncmap-arcswap), because handles loaded earlier may outlive the map and still share the
/// value. Items not taken are dropped with the iterator, each once.
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, String> = [(1, "one".to_string())].into_iter().collect();
/// let (key, value): (u8, String) = map.into_iter().next().unwrap();
/// assert_eq!((key, value.as_str()), (1, "one"));
/// ```
pub struct IntoIter<K, V, R: Reclaim> {
    items: std::vec::IntoIter<(K, Owned<V, R>)>,
}

impl<K, V, R: Reclaim> Iterator for IntoIter<K, V, R> {
    type Item = (K, Owned<V, R>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

/// Drops the remaining keys and values, even if some `Drop` panics: the first such panic then
/// resumes (see [`DropAll`]).
impl<K, V, R: Reclaim> Drop for IntoIter<K, V, R> {
    fn drop(&mut self) {
        let mut drops = DropAll::new();
        for item in &mut self.items {
            drops.run(|| drop(item));
        }
        drops.finish();
    }
}

impl<K, V, R: Reclaim> ExactSizeIterator for IntoIter<K, V, R> {}
impl<K, V, R: Reclaim> FusedIterator for IntoIter<K, V, R> {}

impl<K, V, R: Reclaim> fmt::Debug for IntoIter<K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.items.len())
            .finish()
    }
}

impl<K, V, R: Reclaim, S> IntoIterator for SyncMap<K, V, R, S> {
    type Item = (K, Owned<V, R>);
    type IntoIter = IntoIter<K, V, R>;

    /// Takes every key and value out of the map.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, String> = (0..3).map(|i| (i, i.to_string())).collect();
    /// let mut pairs: Vec<(u32, String)> = map.into_iter().collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(0, "0".into()), (1, "1".into()), (2, "2".into())]);
    /// ```
    fn into_iter(mut self) -> IntoIter<K, V, R> {
        // The keys of deleted entries are dropped here; if one's `Drop` panics, the rest are
        // still dropped and the panic resumes once the iterator is built, which then drops
        // every pair while unwinding.
        let mut drops = DropAll::new();
        let items = self
            .take_entries()
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
            .collect::<Vec<_>>();
        let iter = IntoIter {
            items: items.into_iter(),
        };
        drops.finish();
        iter
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    };

    use crate::{SyncMap, reclaim::DeferToDrop};

    /// A value that counts its drops.
    #[derive(Debug)]
    struct Counted(u64, Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn into_iter_gives_back_values_and_drops_the_rest_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let map: SyncMap<u64, Counted, DeferToDrop> = SyncMap::new();
        for k in 0..10 {
            map.store(k, Counted(k, drops.clone()));
        }
        map.range(|_, _| true); // some values in read, some stored after in dirty
        for k in 10..20 {
            map.store(k, Counted(k, drops.clone()));
        }
        map.delete(&3);
        assert_eq!(drops.load(SeqCst), 0, "retired values wait for the drop");
        let mut iter = map.into_iter();
        assert_eq!(iter.len(), 19);
        assert_eq!(drops.load(SeqCst), 1, "the deleted value went with its map");
        let taken: Vec<(u64, Counted)> = iter.by_ref().take(5).collect();
        for (key, value) in &taken {
            assert_eq!(*key, value.0, "each key comes with its own value");
        }
        assert_eq!(drops.load(SeqCst), 1, "taken values are owned, not dropped");
        drop(iter);
        assert_eq!(
            drops.load(SeqCst),
            1 + 14,
            "the 14 left are dropped with the iterator"
        );
        drop(taken);
        assert_eq!(drops.load(SeqCst), 20, "every value dropped exactly once");
    }
}
