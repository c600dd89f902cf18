//! Iteration: [`Iter`], [`Keys`] and [`Values`] over a pinned map, with `range`'s guarantees,
//! and [`IntoIter`], which takes the map apart.

use core::{fmt, iter::FusedIterator};

use super::SyncMap;
use crate::{raw::PresentEntries, reclaim::Reclaim, unwind::DropAll};

/// An iterator over the keys and values of a pinned map, from [`Pinned::iter`](crate::Pinned::iter).
///
/// It has [`SyncMap::range`]'s guarantees: no key twice, every key present for the whole
/// iteration, concurrent changes seen or not.
///
/// # Examples
///
/// ```
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, u8, DeferToDrop> = [(1, 2)].into_iter().collect();
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
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, u8, DeferToDrop> = [(1, 2)].into_iter().collect();
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
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, u8, DeferToDrop> = [(1, 2)].into_iter().collect();
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
/// Values come as the strategy's stored pointer (`Box<V>` or `Arc<V>`), because some backends
/// hand out loaded values that may outlive the map, and an owned `V` cannot be taken from them.
///
/// # Examples
///
/// ```
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, u8, DeferToDrop> = [(1, 2)].into_iter().collect();
/// let (key, value): (u8, Box<u8>) = map.into_iter().next().unwrap();
/// assert_eq!((key, *value), (1, 2));
/// ```
pub struct IntoIter<K, V, R: Reclaim> {
    items: std::vec::IntoIter<(K, R::Stored<V>)>,
}

impl<K, V, R: Reclaim> Iterator for IntoIter<K, V, R> {
    type Item = (K, R::Stored<V>);

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
    type Item = (K, R::Stored<V>);
    type IntoIter = IntoIter<K, V, R>;

    /// Takes every key and value out of the map.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
    ///
    /// let map: SyncMap<u32, String, DeferToDrop> = (0..3).map(|i| (i, i.to_string())).collect();
    /// let mut pairs: Vec<(u32, String)> = map.into_iter().map(|(k, v)| (k, *v)).collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(0, "0".into()), (1, "1".into()), (2, "2".into())]);
    /// ```
    fn into_iter(mut self) -> IntoIter<K, V, R> {
        // The keys of deleted entries are dropped here; if one's `Drop` panics, the rest are
        // still dropped and the panic resumes once the iterator is built, which then drops
        // every pair while unwinding.
        let mut drops = DropAll::new();
        let items = self.raw.take_items(&mut drops);
        let iter = IntoIter {
            items: items.into_iter(),
        };
        drops.finish();
        iter
    }
}
