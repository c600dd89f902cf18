//! [`SyncMap::load_owned`]: a load whose result holds no guard and borrows nothing (arc-swap's
//! `load_full`).

use core::{
    borrow::Borrow,
    hash::{BuildHasher, Hash},
};

use super::SyncMap;
use crate::{Admits, Owned, reclaim::CloneOwned};

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns an owned copy of `key`'s value, which holds no guard and does not borrow the
    /// map: on the arc-swap backend a new share of the value's `Arc<V>` (arc-swap's
    /// `load_full`: it may be held across `.await`, sent to another thread, and outlive the
    /// map); on the backends that keep values in `Box`es, a clone of `V`, as
    /// [`load_cloned`](Self::load_cloned) gives. The same [`Owned`] type that
    /// [`load_or_store_with_async`](Self::load_or_store_with_async) returns.
    ///
    /// [`load`](Self::load) is cheaper when the value is used and dropped on the spot: on
    /// arc-swap it writes no reference count, where this takes one (a write to the value's
    /// cache line, contended when threads load the same key).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, String> = SyncMap::new();
    /// map.store(1, "one".to_string());
    /// let owned: String = map.load_owned(&1).unwrap(); // a `Box` backend: a clone
    /// drop(map);
    /// assert_eq!(owned, "one");
    /// ```
    #[inline]
    #[doc(alias("load_full", "into_arc", "get_arc"))]
    pub fn load_owned<Q>(&self, key: &Q) -> Option<Owned<V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        R::Stored<V>: CloneOwned<V>,
    {
        self.raw.load_owned(key)
    }
}
