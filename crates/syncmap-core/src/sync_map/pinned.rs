//! [`Pinned`]: a map together with a guard, whose loads and iterators borrow from the guard.

use core::{
    borrow::Borrow,
    fmt,
    hash::{BuildHasher, Hash},
};
use std::hash::RandomState;

use super::{
    SyncMap,
    iter::{Iter, Keys, Values},
};
use crate::{Admits, reclaim::Reclaim};

/// A pinned view of a map: loads return plain references that live as long as the pin.
///
/// Created by [`SyncMap::pin`]. While it lives, memory retired by any thread is kept, so hold it
/// for a batch of reads, not forever.
///
/// # Examples
///
/// ```
/// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
/// let map: SyncMap<&str, u32> = [("a", 1), ("b", 2)].into_iter().collect();
/// let pinned = map.pin();
/// let (a, b) = (pinned.load("a").unwrap(), pinned.load("b").unwrap());
/// assert_eq!(a + b, 3);
/// ```
pub struct Pinned<'m, K, V, R: Reclaim, S = RandomState> {
    pub(super) map: &'m SyncMap<K, V, R, S>,
    /// From the raw map's `pin`: the raw layer's lookups take it as the proof that what they
    /// return lives.
    pub(super) guard: R::Guard<'m>,
}

impl<K, V, R: Reclaim, S> fmt::Debug for Pinned<'_, K, V, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}

impl<'m, K, V, R: Reclaim, S> Pinned<'m, K, V, R, S> {
    /// Pins `map`.
    pub(super) fn new(map: &'m SyncMap<K, V, R, S>) -> Self {
        Pinned {
            map,
            guard: map.raw.pin_reads(),
        }
    }

    /// The map this view pins.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u8, u8> = SyncMap::new();
    /// let pinned = map.pin();
    /// pinned.map().store(1, 1);
    /// assert_eq!(pinned.load(&1), Some(&1));
    /// ```
    pub fn map(&self) -> &SyncMap<K, V, R, S> {
        self.map
    }
}

impl<K, V, R, S> Pinned<'_, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns a reference to `key`'s value, valid as long as the pin.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// let pinned = map.pin();
    /// let a: &u32 = pinned.load("a").unwrap();
    /// map.store("a", 2); // `a` still points at the old value
    /// assert_eq!((*a, *pinned.load("a").unwrap()), (1, 2));
    /// ```
    #[inline]
    #[doc(alias = "get")]
    pub fn load<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.raw.get(&self.guard, key)
    }

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
        Iter::new(self.map.raw.present_entries(&self.guard))
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
        self.map.raw.par_entries(&self.guard)
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
