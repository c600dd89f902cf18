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
    fn load<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Sets the value for `key`.
    fn store(&self, key: K, value: V);

    /// Returns the existing value for `key` and `true` if present; otherwise stores `value` and
    /// returns it with `false`.
    fn load_or_store(&self, key: K, value: V) -> (Self::Ref<'_>, bool);

    /// Deletes the value for `key`, returning the previous value if any.
    fn load_and_delete<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Deletes the value for `key`.
    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Stores `value` for `key` and returns the previous value, if any.
    fn swap(&self, key: K, value: V) -> Option<Self::Ref<'_>>;

    /// Stores `new` for `key` if the stored value equals `old`; returns whether it did. A missing
    /// key never compares equal.
    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Deletes `key` if its value equals `old`; returns whether it did. A missing key never
    /// compares equal.
    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Calls `f` on each key and value until it returns `false`.
    ///
    /// Not a snapshot: no key is visited twice; a key present for the whole call is visited;
    /// concurrent changes may or may not be seen. `f` may call any method of the map.
    fn range<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool;

    /// Deletes every entry.
    fn clear(&self);

    /// The number of keys with a value: exact whenever no write is in flight.
    fn len(&self) -> usize;

    /// Whether the map holds no value: exact whenever no write is in flight.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
