//! [`PinnedOwned`]: a pinned view that is `Send`, for strategies whose guards may cross threads
//! ([`ReclaimOwned`]), so that loaded references can be held across an `.await`.

use core::{
    borrow::Borrow,
    fmt,
    hash::{BuildHasher, Hash},
};
use std::hash::RandomState;

use super::SyncMap;
use crate::{Admits, reclaim::ReclaimOwned};

/// A pinned view of a map that may cross threads and `.await` points: loads return `&V` that
/// live as long as the view, and the view is `Send` and `Sync` (when the map is `Sync`).
///
/// Created by [`SyncMap::pin_owned`], for strategies that implement [`ReclaimOwned`]
/// (`syncmap_epoch::seize`). Like [`Pinned`](crate::Pinned), it holds back the reclamation of
/// what the map retires while it lives (so hold it for a batch of reads, not across a slow
/// `.await`: [`load_cloned`](SyncMap::load_cloned) or an async compute-once hold nothing); unlike it, each load also pins the current thread
/// briefly, so loads cost what [`SyncMap::load`] costs.
///
/// # Examples
///
/// ```
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// fn assert_send<T: Send>(value: T) -> T {
///     value
/// }
///
/// let map: SyncMap<&str, u32, DeferToDrop> = [("a", 1)].into_iter().collect();
/// let pinned = assert_send(map.pin_owned());
/// std::thread::scope(|s| {
///     s.spawn(move || assert_eq!(pinned.load("a"), Some(&1)));
/// });
/// ```
pub struct PinnedOwned<'m, K, V, R: ReclaimOwned, S = RandomState> {
    map: &'m SyncMap<K, V, R, S>,
    /// From the raw map's `pin_owned`: the protection of the loads made while it lives.
    guard: R::OwnedGuard<'m>,
}

impl<K, V, R: ReclaimOwned, S> fmt::Debug for PinnedOwned<'_, K, V, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedOwned").finish_non_exhaustive()
    }
}

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: ReclaimOwned + Admits<(K, V)>,
    S: BuildHasher,
{
    /// Pins the map with a guard that is not tied to the current thread, and returns a view
    /// whose loads borrow from it: the view and its `&V` may be held across an `.await` in a
    /// `Send` future, or sent to another thread. papaya calls this `pin_owned` too.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, String> = [("a", "x".to_string())].into_iter().collect();
    /// let pinned = map.pin_owned();
    /// let a: &String = pinned.load("a").unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || assert_eq!(a, "x"));
    /// });
    /// ```
    #[doc(alias("owned_guard", "enter_owned"))]
    pub fn pin_owned(&self) -> PinnedOwned<'_, K, V, R, S> {
        PinnedOwned {
            map: self,
            guard: self.raw.pin_owned(),
        }
    }
}

impl<K, V, R, S> PinnedOwned<'_, K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: ReclaimOwned + Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns a reference to `key`'s value, valid as long as the view.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = SyncMap::new();
    /// map.store("a", 1);
    /// let pinned = map.pin_owned();
    /// let a: &u32 = pinned.load("a").unwrap();
    /// map.store("a", 2); // `a` still points at the old value
    /// assert_eq!((*a, *pinned.load("a").unwrap()), (1, 2));
    /// ```
    #[doc(alias = "get")]
    pub fn load<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.raw.get_owned(&self.guard, key)
    }

    /// Whether `key` has a value.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<&str, u32> = [("a", 1)].into_iter().collect();
    /// assert!(map.pin_owned().contains_key("a"));
    /// ```
    #[doc(alias("has", "exists"))]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    /// The map this view pins.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u8, u8> = SyncMap::new();
    /// let pinned = map.pin_owned();
    /// pinned.map().store(1, 1);
    /// assert_eq!(pinned.load(&1), Some(&1));
    /// ```
    pub fn map(&self) -> &SyncMap<K, V, R, S> {
        self.map
    }
}
