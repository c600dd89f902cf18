//! [`ConcurrentMap`]: Go's whole `sync.Map` API as a Rust trait, and its implementation for
//! [`SyncMap`], which forwards to the inherent methods (where each is documented).

use core::{
    borrow::Borrow,
    hash::{BuildHasher, Hash},
    ops::Deref,
};

use crate::{Admits, Stats, SyncMap};

/// A concurrent map with Go's `sync.Map` API and semantics.
///
/// Every backend implements it, so code (and the conformance suite in `syncmap-testsuite`) can
/// be written once for all of them. Each method follows the doc comment of the Go method of the
/// same name; the differences are Rust's: keys are looked up by any borrowed form
/// (`K: Borrow<Q>`, as in `std`'s `HashMap`), values come back as [`Ref`](Self::Ref) handles, and
/// compare-and-swap compares by `V: PartialEq`.
///
/// # Contract
///
/// What every implementation promises, beyond each method's own docs. The conformance suite
/// (`syncmap-testsuite`) checks each of these sentences; its modules link to the ones they check.
///
/// ## Atomicity
///
/// Every operation on one key is linearizable: it takes effect at one instant between its call
/// and its return, and the answers of a concurrent history are those of some sequential order
/// that respects real time. Run alone, the map answers as a `HashMap` would, call by call. In
/// particular, of racing [`load_or_store`](Self::load_or_store)s of an absent key exactly one
/// stores, and every caller gets the stored value; racing
/// [`compare_and_swap`](Self::compare_and_swap)s, [`compare_and_delete`](Self::compare_and_delete)s
/// and [`load_and_delete`](Self::load_and_delete)s of one value succeed once; no
/// [`swap`](Self::swap) or [`update`](Self::update) loses a value. No guarantee spans two keys
/// (a [`range`](Self::range) is not a snapshot), except that [`clear`](Self::clear) is ordered
/// with each operation as a whole.
///
/// ## Callbacks
///
/// The callbacks of [`range`](Self::range), [`retain`](Self::retain) and
/// [`update`](Self::update) may call any method of the map, on any key, nested to any depth:
/// the map holds no lock while they run. So may the closure of
/// [`load_or_store_with`](Self::load_or_store_with), on other keys than the one it computes (a
/// write of its own key cannot wait for itself: [`SyncMap`] panics there). A map that holds a
/// lock while a `range` callback runs deadlocks when the callback writes; the suite's watchdog
/// reports it.
///
/// ## Panics
///
/// A panic in user code, a key's `Hash` or `Eq`, a value's `PartialEq`, a callback, or a key's
/// or value's `Drop`, propagates to the caller and leaves the map consistent and usable by
/// every thread: no lock is left poisoned or held, no waiting thread is left blocked, no key or
/// value leaks, and the map's contents are those before or after the interrupted operation.
/// Where the map drops keys and values in bulk (at [`clear`](Self::clear), at the map's drop,
/// when a deferred strategy frees retired values), a panicking `Drop` costs only that value:
/// every other one is still dropped exactly once, and the panic surfaces once.
///
/// ## Drops and clones
///
/// Every key and value handed to the map is dropped exactly once: the unused arguments of an
/// operation (the key of a `store` to a present key, the value of a `load_or_store` that
/// loads, the new value of a failed `compare_and_swap`) before it returns, the others once they
/// leave the map and no [`Ref`](Self::Ref) holds them. A strategy may defer these drops, but
/// frees them while the map lives (at most a bounded batch stays pending) unless it documents
/// that it frees only when dropped. The map never clones a key or a value, unless its
/// implementation asks `K: Clone` or `V: Clone`.
///
/// ## Memory
///
/// Memory follows the live set: once quiescent, a map with `n` live keys holds O(`n`) entries
/// (the suite allows `2 * n` plus a constant), whatever sequence of operations led there,
/// including keys stored and deleted with no loads between (Go's issue 40999). A
/// [`clear`](Self::clear)ed map gives its memory back (beyond a constant), with no later write
/// needed.
///
/// User code that runs for long holds nothing back: while the closure of
/// [`load_or_store_with`](Self::load_or_store_with) runs, and while other threads wait for
/// it, memory that other threads' writes retire is freed as usual (no guard, pin or lock is
/// held across the closure).
///
/// ## Allocation
///
/// After a first call (which may set up per-thread state), [`range`](Self::range) and
/// [`load`](Self::load)s of present keys allocate nothing. On an empty map, `clear`, `range`,
/// and `load`, `load_and_delete`, `delete`, `compare_and_swap` and `compare_and_delete` of a
/// missing key allocate nothing.
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

    /// Go's `Load`: the value stored for `key`, if any. Of a present key, after a first call,
    /// it allocates nothing. See [`SyncMap::load`].
    #[doc(alias = "get")]
    fn load<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Whether `key` has a value. See [`SyncMap::contains_key`]. The provided implementation is
    /// `self.load(key).is_some()`.
    #[doc(alias("has", "exists"))]
    fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.load(key).is_some()
    }

    /// Go's `Store`: sets the value for `key`. See [`SyncMap::store`].
    #[doc(alias("insert", "set", "put"))]
    fn store(&self, key: K, value: V);

    /// Go's `LoadOrStore`: the existing value and `true`, or `value`, stored, and `false`. See
    /// [`SyncMap::load_or_store`].
    #[doc(alias("entry", "get_or_insert", "or_insert", "try_insert"))]
    fn load_or_store(&self, key: K, value: V) -> (Self::Ref<'_>, bool);

    /// Go's `LoadAndDelete`: deletes `key`'s value and returns it. See
    /// [`SyncMap::load_and_delete`].
    #[doc(alias("remove", "take"))]
    fn load_and_delete<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Go's `Delete`: deletes `key`'s value. See [`SyncMap::delete`].
    #[doc(alias = "remove")]
    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    /// Go's `Swap`: stores `value` and returns the previous value. See [`SyncMap::swap`].
    #[doc(alias("insert", "replace"))]
    fn swap(&self, key: K, value: V) -> Option<Self::Ref<'_>>;

    /// Go's `CompareAndSwap`: stores `new` if the value equals `old` (a missing key never
    /// does, whether never stored, deleted or cleared); returns whether it did. A failed
    /// compare-and-swap drops `new` before it returns. See [`SyncMap::compare_and_swap`].
    #[doc(alias("compare_exchange", "cas"))]
    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Go's `CompareAndDelete`: deletes `key` if its value equals `old` (a missing key never
    /// does); returns whether it did: of racing calls for one value, one succeeds. See
    /// [`SyncMap::compare_and_delete`].
    #[doc(alias = "remove_if")]
    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq;

    /// Go's `Range`: calls `f` on each key and value until it returns `false`. See
    /// [`SyncMap::range`].
    ///
    /// Not a snapshot: every key present for the whole call is visited exactly once, with a
    /// value stored for it during the call; keys stored or deleted meanwhile may or may not be
    /// visited, never twice. `f` may call any method of the map, and a key it deletes is gone
    /// when `range` returns ([Callbacks](Self#callbacks)). A panic in `f` propagates and leaves
    /// the map usable ([Panics](Self#panics)). After the first calls, `range` allocates nothing
    /// ([Allocation](Self#allocation)).
    #[doc(alias("iter", "for_each"))]
    fn range<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool;

    /// Go's `Clear`: deletes every entry. See [`SyncMap::clear`].
    ///
    /// Ordered with every concurrent operation as a whole: a reader never sees part of a clear.
    /// The cleared map gives its memory back (beyond a constant) with no later write needed, and
    /// is usable at once ([Memory](Self#memory)); entries whose `Drop` panics cost only
    /// themselves ([Panics](Self#panics)). A clear of an empty map allocates nothing.
    #[doc(alias = "remove_all")]
    fn clear(&self);

    /// The number of keys with a value, exact whenever no write is in flight (so it agrees
    /// with `load`s then). See [`SyncMap::len`].
    #[doc(alias("size", "count"))]
    fn len(&self) -> usize;

    /// Whether the map holds no value, exact whenever no write is in flight. See
    /// [`SyncMap::is_empty`].
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Beyond Go's API.

    /// `key`'s value and `true`, or a value computed by `f`, stored, and `false`. See
    /// [`SyncMap::load_or_store_with`].
    ///
    /// Implementations must run `f` at most once per insertion of the key, even when many
    /// threads race to insert the same absent key, must not hold a map-wide lock while `f`
    /// runs, and must insert nothing (and release any waiting threads) if `f` panics. The value
    /// being computed is not visible to loads until stored. Neither the computing thread nor a
    /// waiting one may hold back reclamation while `f` runs (the trait's *Memory* section).
    #[doc(alias("entry", "get_or_insert_with", "or_insert_with", "compute_if_absent"))]
    fn load_or_store_with<F>(&self, key: K, f: F) -> (Self::Ref<'_>, bool)
    where
        F: FnOnce() -> V;

    /// Replaces `key`'s value with `f(&current)`, losing no concurrent update (so `f` may run
    /// more than once); `None`, without calling `f`, if the key is absent. A panic in `f`
    /// changes nothing. See [`SyncMap::update`].
    #[doc(alias("alter", "compute", "and_modify", "get_mut"))]
    fn update<Q, F>(&self, key: &Q, f: F) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V;

    /// A clone of `key`'s value, holding nothing of the map. See [`SyncMap::load_cloned`].
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
    /// [`range`](Self::range) does. See [`SyncMap::retain`].
    ///
    /// The provided implementation deletes a rejected key only if its value still compares
    /// equal to the one `f` saw ([`compare_and_delete`](Self::compare_and_delete)).
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

    /// The counters of a map built on Go's read and dirty tables (promotions, dirty rebuilds,
    /// expunges, entries held), or `None`, the provided implementation, for a map that keeps
    /// none. See [`SyncMap::stats`].
    ///
    /// Only tests use it: `syncmap-testsuite` checks, when a map has them, that its random
    /// sequences reached every internal path and that the entries held follow the live set.
    fn stats_if_any(&self) -> Option<Stats> {
        None
    }
}

/// Forwards each method to [`SyncMap`]'s inherent method of the same name.
impl<K, V, R, S> ConcurrentMap<K, V> for SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    type Ref<'a>
        = R::Ref<'a, V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        SyncMap::load(self, key)
    }

    fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        SyncMap::contains_key(self, key)
    }

    fn store(&self, key: K, value: V) {
        SyncMap::store(self, key, value)
    }

    fn load_or_store(&self, key: K, value: V) -> (Self::Ref<'_>, bool) {
        SyncMap::load_or_store(self, key, value)
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        SyncMap::load_and_delete(self, key)
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        SyncMap::delete(self, key)
    }

    fn swap(&self, key: K, value: V) -> Option<Self::Ref<'_>> {
        SyncMap::swap(self, key, value)
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        SyncMap::compare_and_swap(self, key, old, new)
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        SyncMap::compare_and_delete(self, key, old)
    }

    fn range<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        SyncMap::range(self, f)
    }

    fn clear(&self) {
        SyncMap::clear(self)
    }

    fn len(&self) -> usize {
        SyncMap::len(self)
    }

    fn is_empty(&self) -> bool {
        SyncMap::is_empty(self)
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (Self::Ref<'_>, bool)
    where
        F: FnOnce() -> V,
    {
        SyncMap::load_or_store_with(self, key, f)
    }

    fn update<Q, F>(&self, key: &Q, f: F) -> Option<Self::Ref<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        SyncMap::update(self, key, f)
    }

    fn load_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        SyncMap::load_cloned(self, key)
    }

    fn retain<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
        K: Hash + Eq,
        V: PartialEq,
    {
        SyncMap::retain(self, f)
    }

    fn stats_if_any(&self) -> Option<Stats> {
        Some(SyncMap::stats(self))
    }
}
