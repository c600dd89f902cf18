//! Iteration: [`Iter`], [`Keys`] and [`Values`] over a pinned map, with `range`'s guarantees,
//! and [`IntoIter`], which takes the map apart.

use core::{fmt, iter::FusedIterator};

use super::SyncMap;
use crate::{Owned, raw::PresentEntries, reclaim::Reclaim, unwind::DropAll};

/// An iterator over the keys and values of a pinned map, from [`Pinned::iter`](crate::Pinned::iter).
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

impl<'p, K, V, R: Reclaim> Iter<'p, K, V, R> {
    pub(super) fn new(inner: PresentEntries<'p, K, V, R>) -> Self {
        Iter { inner }
    }
}

impl<'p, K, V, R: Reclaim> Iterator for Iter<'p, K, V, R> {
    type Item = (&'p K, &'p V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl<K, V, R: Reclaim> FusedIterator for Iter<'_, K, V, R> {}

impl<K, V, R: Reclaim> fmt::Debug for Iter<'_, K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// An iterator over the keys of a pinned map, from [`Pinned::keys`](crate::Pinned::keys).
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// assert_eq!(map.pin().keys().collect::<Vec<_>>(), [&1]);
/// ```
pub struct Keys<'p, K, V, R: Reclaim>(pub(super) Iter<'p, K, V, R>);

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

/// An iterator over the values of a pinned map, from [`Pinned::values`](crate::Pinned::values).
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// assert_eq!(map.pin().values().collect::<Vec<_>>(), [&2]);
/// ```
pub struct Values<'p, K, V, R: Reclaim>(pub(super) Iter<'p, K, V, R>);

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

/// An owning iterator over the keys and values of a map, from `SyncMap::into_iter`.
///
/// Values come as [`Owned<V, R>`](crate::Owned): plain `V` where the strategy stores values in
/// `Box`es (syncmap-epoch, its seize map, [`DeferToDrop`](crate::reclaim::DeferToDrop)), as
/// `std`'s and dashmap's maps give them; `Arc<V>` where it stores them in `Arc`s
/// (syncmap-arcswap), because `Arc`s taken earlier (its `load_owned`) may outlive the map and
/// still share the value. Items not taken are dropped with the iterator, each once.
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
        // The keys of deleted entries are dropped here, and so is the emptied map, with what its
        // strategy still holds (entries a compaction retired, with their keys, and replaced
        // values); if one's `Drop` panics, the rest are still dropped and the panic resumes once
        // the iterator is built, which then drops every pair while unwinding. (The map must not
        // be dropped after `iter` is returned: a panic there would leak the pairs.)
        let mut drops = DropAll::new();
        let items = self.raw.take_items(&mut drops);
        let iter = IntoIter {
            items: items.into_iter(),
        };
        drops.run(move || drop(self));
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
