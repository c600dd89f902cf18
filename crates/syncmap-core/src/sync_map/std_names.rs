//! Methods under the names `std`'s `HashMap` uses, for calls that Go's API has no word for.

use core::{
    borrow::Borrow,
    hash::{BuildHasher, Hash},
};

use super::{Pinned, SyncMap};
use crate::Admits;

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Whether `key` has a value. Takes no lock when read has the key (as [`load`](Self::load)
    /// does) and makes no value handle.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<String, u32> = SyncMap::new();
    /// map.store("a".to_string(), 1);
    /// assert!(map.contains_key("a"));
    /// assert!(!map.contains_key("b"));
    /// map.delete("a");
    /// assert!(!map.contains_key("a"));
    /// ```
    #[doc(alias("has", "exists"))]
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.raw.contains_key(key)
    }
}

impl<K, V, R, S> Pinned<'_, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Whether `key` has a value, under this pin.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = [("a", 1)].into_iter().collect();
    /// let pinned = map.pin();
    /// assert!(pinned.contains_key("a"));
    /// assert!(!pinned.contains_key("b"));
    /// ```
    #[doc(alias("has", "exists"))]
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.raw.get(&self.guard, key).is_some()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};

    type Map = SyncMap<u64, u64, DeferToDrop>;

    #[test]
    fn contains_key_follows_the_value_through_read_dirty_and_deletes() {
        let map: Map = SyncMap::new();
        assert!(!map.contains_key(&1));
        map.store(1, 10); // in dirty only
        assert!(map.contains_key(&1));
        assert!(ConcurrentMap::contains_key(&map, &1));
        map.range(|_, _| true); // promote: now in read
        assert!(map.contains_key(&1));
        assert!(map.pin().contains_key(&1));
        map.delete(&1); // deleted in read, entry still linked
        assert!(!map.contains_key(&1));
        assert!(!map.pin().contains_key(&1));
        assert!(!ConcurrentMap::contains_key(&map, &1));
        map.store(1, 11);
        assert!(map.contains_key(&1));
    }

    #[test]
    fn contains_key_takes_no_lock_on_read_hits() {
        let map: Map = (0..4).map(|k| (k, k)).collect();
        map.range(|_, _| true);
        let before = map.stats();
        for k in 0..4 {
            assert!(map.contains_key(&k));
        }
        let after = map.stats();
        assert_eq!(after.misses, before.misses, "a read hit counted a miss");
        assert_eq!(after.read_hits, before.read_hits + 4);
    }
}
