//! [`ConcurrentMap`]: Go's whole `sync.Map` API as a Rust trait.

use core::{borrow::Borrow, hash::Hash, ops::Deref};

/// A concurrent map with Go's `sync.Map` API and semantics.
///
/// Every backend implements it, so code (and the conformance suite in `syncmap-testsuite`) can
/// be written once for all of them. Each method follows the doc comment of the Go method of the
/// same name; the differences are Rust's: keys are looked up by any borrowed form
/// (`K: Borrow<Q>`, as in `std`'s `HashMap`), values come back as [`Ref`](Self::Ref) handles, and
/// compare-and-swap compares by `V: PartialEq`.
///
/// # Examples
///
/// ```
/// use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
///
/// fn count_word<M: ConcurrentMap<String, u64>>(map: &M, word: &str) {
///     loop {
///         match map.load(word).map(|n| *n) {
///             None => {
///                 if !map.load_or_store(word.to_string(), 1).1 {
///                     return;
///                 }
///             }
///             Some(n) => {
///                 if map.compare_and_swap(word, &n, n + 1) {
///                     return;
///                 }
///             }
///         }
///     }
/// }
///
/// let map: SyncMap<String, u64, DeferToDrop> = SyncMap::new();
/// count_word(&map, "go");
/// count_word(&map, "go");
/// assert_eq!(*ConcurrentMap::load(&map, "go").unwrap(), 2);
/// ```
pub trait ConcurrentMap<K, V> {
    /// A loaded value: derefs to `V` and keeps it alive. It never holds a lock.
    type Ref<'a>: Deref<Target = V>
    where
        Self: 'a;

    /// Returns the value stored for `key`, if any.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<String, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, "a".to_string(), 1);
    /// assert_eq!(ConcurrentMap::load(&map, "a").map(|v| *v), Some(1));
    /// assert!(ConcurrentMap::load(&map, "b").is_none());
    /// ```
    #[doc(alias = "get")]
    fn load<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Whether `key` has a value. The provided implementation is `self.load(key).is_some()`;
    /// `SyncMap`'s makes no value handle.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<String, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, "a".to_string(), 1);
    /// assert!(ConcurrentMap::contains_key(&map, "a"));
    /// assert!(!ConcurrentMap::contains_key(&map, "b"));
    /// ```
    #[doc(alias("has", "exists"))]
    fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.load(key).is_some()
    }

    /// Sets the value for `key`.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, 10);
    /// ConcurrentMap::store(&map, 1, 11);
    /// assert_eq!(ConcurrentMap::load(&map, &1).map(|v| *v), Some(11));
    /// ```
    #[doc(alias("insert", "set", "put"))]
    fn store(&self, key: K, value: V);

    /// Returns the existing value for `key` and `true` if present; otherwise stores `value` and
    /// returns it with `false`.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// let (v, loaded) = ConcurrentMap::load_or_store(&map, 1, 10);
    /// assert_eq!((*v, loaded), (10, false));
    /// let (v, loaded) = ConcurrentMap::load_or_store(&map, 1, 20);
    /// assert_eq!((*v, loaded), (10, true));
    /// ```
    #[doc(alias("entry", "get_or_insert", "or_insert", "try_insert"))]
    fn load_or_store(&self, key: K, value: V) -> (Self::Ref<'_>, bool);

    /// Deletes the value for `key`, returning the previous value if any.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, 10);
    /// assert_eq!(ConcurrentMap::load_and_delete(&map, &1).map(|v| *v), Some(10));
    /// assert!(ConcurrentMap::load_and_delete(&map, &1).is_none());
    /// ```
    #[doc(alias("remove", "take"))]
    fn load_and_delete<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Deletes the value for `key`.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, 10);
    /// ConcurrentMap::delete(&map, &1);
    /// assert!(ConcurrentMap::is_empty(&map));
    /// ```
    #[doc(alias = "remove")]
    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Stores `value` for `key` and returns the previous value, if any.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// assert!(ConcurrentMap::swap(&map, 1, 10).is_none());
    /// assert_eq!(ConcurrentMap::swap(&map, 1, 11).map(|v| *v), Some(10));
    /// ```
    #[doc(alias("insert", "replace"))]
    fn swap(&self, key: K, value: V) -> Option<Self::Ref<'_>>;

    /// Stores `new` for `key` if the stored value equals `old`; returns whether it did. A missing
    /// key never compares equal.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// assert!(!ConcurrentMap::compare_and_swap(&map, &1, &0, 5), "missing keys never match");
    /// ConcurrentMap::store(&map, 1, 0);
    /// assert!(ConcurrentMap::compare_and_swap(&map, &1, &0, 5));
    /// assert!(!ConcurrentMap::compare_and_swap(&map, &1, &0, 6));
    /// ```
    #[doc(alias("compare_exchange", "cas"))]
    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Deletes `key` if its value equals `old`; returns whether it did. A missing key never
    /// compares equal.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, 10);
    /// assert!(!ConcurrentMap::compare_and_delete(&map, &1, &11));
    /// assert!(ConcurrentMap::compare_and_delete(&map, &1, &10));
    /// assert!(ConcurrentMap::is_empty(&map));
    /// ```
    #[doc(alias = "remove_if")]
    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Calls `f` on each key and value until it returns `false`.
    ///
    /// Not a snapshot: no key is visited twice; a key present for the whole call is visited;
    /// concurrent changes may or may not be seen. `f` may call any method of the map.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = (0..4).map(|i| (i, i)).collect();
    /// let mut seen = 0;
    /// ConcurrentMap::range(&map, |_, _| {
    ///     seen += 1;
    ///     seen < 2 // stop after two keys
    /// });
    /// assert_eq!(seen, 2);
    /// ```
    #[doc(alias("iter", "for_each"))]
    fn range<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool;

    /// Deletes every entry.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = (0..4).map(|i| (i, i)).collect();
    /// ConcurrentMap::clear(&map);
    /// assert_eq!(ConcurrentMap::len(&map), 0);
    /// ```
    #[doc(alias = "remove_all")]
    fn clear(&self);

    /// The number of keys with a value: exact whenever no write is in flight.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = (0..4).map(|i| (i, i)).collect();
    /// assert_eq!(ConcurrentMap::len(&map), 4);
    /// ```
    #[doc(alias("size", "count"))]
    fn len(&self) -> usize;

    /// Whether the map holds no value: exact whenever no write is in flight.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// assert!(ConcurrentMap::is_empty(&map));
    /// ```
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Beyond Go's API.

    /// Returns `key`'s value and `true` if present; otherwise computes a value with `f`, stores
    /// it and returns it with `false`.
    ///
    /// Implementations must run `f` at most once per insertion of the key, even when many
    /// threads race to insert the same absent key, must not hold a map-wide lock while `f`
    /// runs, and must insert nothing (and release any waiting threads) if `f` panics.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, String, DeferToDrop> = SyncMap::new();
    /// let (v, loaded) = ConcurrentMap::load_or_store_with(&map, 1, || "computed".to_string());
    /// assert_eq!((v.as_str(), loaded), ("computed", false));
    /// let (v, loaded) = ConcurrentMap::load_or_store_with(&map, 1, || unreachable!());
    /// assert_eq!((v.as_str(), loaded), ("computed", true));
    /// ```
    #[doc(alias("entry", "get_or_insert_with", "or_insert_with", "compute_if_absent"))]
    fn load_or_store_with<F>(&self, key: K, f: F) -> (Self::Ref<'_>, bool)
    where
        F: FnOnce() -> V;

    /// Replaces `key`'s value with `f(&current)` and returns the stored value; `None`, without
    /// calling `f`, if the key is absent. Each result is computed from the value it replaces (no
    /// concurrent update is lost), so `f` may run more than once.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, 1);
    /// assert_eq!(ConcurrentMap::update(&map, &1, |v| v * 10).map(|v| *v), Some(10));
    /// assert!(ConcurrentMap::update(&map, &2, |v| v * 10).is_none());
    /// ```
    #[doc(alias("alter", "compute", "and_modify"))]
    fn update<Q, F>(&self, key: &Q, f: F) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V;

    /// Returns a clone of `key`'s value, an owned copy that holds nothing of the map.
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, String, DeferToDrop> = SyncMap::new();
    /// ConcurrentMap::store(&map, 1, "one".to_string());
    /// let owned: String = ConcurrentMap::load_cloned(&map, &1).unwrap();
    /// assert_eq!(owned, "one");
    /// ```
    #[doc(alias("get_cloned", "get_owned"))]
    fn load_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.load(key).map(|value| V::clone(&value))
    }

    /// Deletes every key for which `f` returns `false`, visiting keys as
    /// [`range`](Self::range) does.
    ///
    /// The provided implementation deletes a rejected key only if its value still compares
    /// equal to the one `f` saw ([`compare_and_delete`](Self::compare_and_delete)).
    ///
    /// ```
    /// # use syncmap_core::{ConcurrentMap, SyncMap, reclaim::DeferToDrop};
    /// # let map: SyncMap<u32, u32, DeferToDrop> = (0..10).map(|i| (i, i)).collect();
    /// ConcurrentMap::retain(&map, |k, _| k % 2 == 0);
    /// assert_eq!(ConcurrentMap::len(&map), 5);
    /// ```
    fn retain<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
        K: Hash + Eq,
        V: PartialEq,
    {
        self.range(|key, value| {
            if !f(key, value) {
                self.compare_and_delete(key, value);
            }
            true
        });
    }
}
