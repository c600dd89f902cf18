//! The Rust peers of `syncmap` behind [`ConcurrentMap`], so that the conformance suite
//! (`syncmap-testsuite`) runs over them: [`DashMapPeer`], [`PapayaPeer`], [`SccPeer`], and the
//! maps a user writes first, [`RwLockHashMap`] and [`MutexHashMap`]. Not published.
//!
//! Each adapter maps Go's `sync.Map` API onto the peer's own calls, as a user of that peer
//! would, and does not make up for what the peer does not promise: where the peer holds a lock
//! while user code runs, the adapter does too; where its `clear` keeps capacity, so does the
//! adapter's. Where the API forces a choice, the adapter's docs say which call it makes.
//! `cargo xtask suite-peers` runs the whole suite over each and writes `docs/PEERS.md`.
//!
//! # Examples
//!
//! ```
//! use syncmap_core::ConcurrentMap;
//! use syncmap_peers::DashMapPeer;
//!
//! let map: DashMapPeer<u32, u32> = DashMapPeer::default();
//! map.store(1, 10);
//! assert_eq!(map.swap(1, 11).as_deref(), Some(&10));
//! assert_eq!(map.load(&1).as_deref(), Some(&11));
//! ```

use core::{borrow::Borrow, fmt, hash::Hash, ops::Deref, ptr::NonNull};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
};

use syncmap_core::ConcurrentMap;

/// A value handed out by an adapter: borrowed under the peer's guard, or owned (a value the
/// peer gave back, or a clone).
pub enum Loaded<G, V> {
    /// The peer's own handle (which may hold a lock, for dashmap).
    Guard(G),
    /// A value the peer returned by value.
    Owned(V),
}

impl<G: Deref<Target = V>, V> Deref for Loaded<G, V> {
    type Target = V;

    fn deref(&self) -> &V {
        match self {
            Loaded::Guard(guard) => guard,
            Loaded::Owned(value) => value,
        }
    }
}

impl<G, V> fmt::Debug for Loaded<G, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Loaded::Guard(_) => "Loaded::Guard(..)",
            Loaded::Owned(_) => "Loaded::Owned(..)",
        })
    }
}

/// A value the peer returned by value, or a clone of one.
#[derive(Debug)]
pub struct Owned<V>(pub V);

impl<V> Deref for Owned<V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------------

/// [`dashmap::DashMap`]: a sharded `HashMap` behind one reader-writer lock per shard.
///
/// Loads return dashmap's own `Ref`, which holds its shard's read lock while it lives; `range` is
/// dashmap's `iter`, which holds each shard's read lock while the callback runs on its entries;
/// `load_or_store_with` and `update` run their closure under the shard's write lock (dashmap's
/// `entry().or_insert_with` and `get_mut`). `swap` is `insert` (which returns the previous
/// value), compare-and-swap compares and replaces under `get_mut`, compare-and-delete is
/// `remove_if`.
pub struct DashMapPeer<K: Eq + Hash, V>(pub dashmap::DashMap<K, V>);

impl<K: Eq + Hash, V> Default for DashMapPeer<K, V> {
    fn default() -> Self {
        DashMapPeer(dashmap::DashMap::new())
    }
}

impl<K: Eq + Hash, V> fmt::Debug for DashMapPeer<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashMapPeer").finish_non_exhaustive()
    }
}

type DashRef<'a, K, V> = Loaded<dashmap::mapref::one::Ref<'a, K, V>, V>;

impl<K: Eq + Hash, V> ConcurrentMap<K, V> for DashMapPeer<K, V> {
    type Ref<'a>
        = DashRef<'a, K, V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<DashRef<'_, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(key).map(Loaded::Guard)
    }

    fn store(&self, key: K, value: V) {
        self.0.insert(key, value);
    }

    fn load_or_store(&self, key: K, value: V) -> (DashRef<'_, K, V>, bool) {
        match self.0.entry(key) {
            dashmap::Entry::Occupied(entry) => {
                let found = entry.into_ref().downgrade();
                drop(value);
                (Loaded::Guard(found), true)
            }
            dashmap::Entry::Vacant(entry) => {
                (Loaded::Guard(entry.insert(value).downgrade()), false)
            }
        }
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (DashRef<'_, K, V>, bool)
    where
        F: FnOnce() -> V,
    {
        match self.0.entry(key) {
            dashmap::Entry::Occupied(entry) => (Loaded::Guard(entry.into_ref().downgrade()), true),
            dashmap::Entry::Vacant(entry) => (Loaded::Guard(entry.insert(f()).downgrade()), false),
        }
    }

    fn update<Q, F>(&self, key: &Q, mut f: F) -> Option<DashRef<'_, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let mut slot = self.0.get_mut(key)?;
        let new = f(&slot);
        *slot = new;
        Some(Loaded::Guard(slot.downgrade()))
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<DashRef<'_, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.remove(key).map(|(_, value)| Loaded::Owned(value))
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.remove(key);
    }

    fn swap(&self, key: K, value: V) -> Option<DashRef<'_, K, V>> {
        self.0.insert(key, value).map(Loaded::Owned)
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        match self.0.get_mut(key) {
            Some(mut slot) if *slot == *old => {
                *slot = new;
                true
            }
            _ => false,
        }
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.0.remove_if(key, |_, value| value == old).is_some()
    }

    fn range<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        for entry in self.0.iter() {
            if !f(entry.key(), entry.value()) {
                break;
            }
        }
    }

    fn clear(&self) {
        self.0.clear();
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

// ---------------------------------------------------------------------------------------------

/// [`papaya::HashMap`]: a lock-free table with seize's memory reclamation.
///
/// Loads return the value under a papaya guard that the handle owns. `swap` is papaya's
/// `insert` (which returns the previous value); `load_or_store` is `try_insert`;
/// `load_or_store_with` is `try_insert_with` (papaya's "compute if absent" that reports whether
/// it inserted); `update` is papaya's `update`; compare-and-swap is `compute` that inserts a
/// clone of the new value if the current one equals `old` (papaya's closure may run more than
/// once, so it cannot move the new value in: hence `V: Clone`); compare-and-delete is
/// `remove_if`. `update` and `compute` take the key by value, so the adapter clones the stored
/// key (hence `K: Clone`).
pub struct PapayaPeer<K, V>(pub papaya::HashMap<K, V>);

impl<K, V> Default for PapayaPeer<K, V> {
    fn default() -> Self {
        PapayaPeer(papaya::HashMap::new())
    }
}

impl<K, V> fmt::Debug for PapayaPeer<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PapayaPeer").finish_non_exhaustive()
    }
}

/// A value of a [`PapayaPeer`], kept alive by the papaya guard this handle owns.
pub struct PapayaRef<'a, V> {
    value: NonNull<V>,
    _guard: papaya::LocalGuard<'a>,
}

impl<V> Deref for PapayaRef<'_, V> {
    type Target = V;

    fn deref(&self) -> &V {
        // SAFETY: `value` came from a reference that papaya handed out under `_guard`; papaya
        // frees a value only once every guard that could reach it is dropped, and this handle
        // owns the guard (moving a guard does not end its protection).
        unsafe { self.value.as_ref() }
    }
}

impl<V> fmt::Debug for PapayaRef<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PapayaRef(..)")
    }
}

impl<K: Hash + Eq + Clone + Send + Sync, V: Clone + Send + Sync> ConcurrentMap<K, V>
    for PapayaPeer<K, V>
{
    type Ref<'a>
        = PapayaRef<'a, V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<PapayaRef<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.0.guard();
        let value = NonNull::from(self.0.get(key, &guard)?);
        Some(PapayaRef {
            value,
            _guard: guard,
        })
    }

    fn store(&self, key: K, value: V) {
        self.0.pin().insert(key, value);
    }

    fn load_or_store(&self, key: K, value: V) -> (PapayaRef<'_, V>, bool) {
        let guard = self.0.guard();
        let (value, loaded) = match self.0.try_insert(key, value, &guard) {
            Ok(inserted) => (NonNull::from(inserted), false),
            Err(occupied) => (NonNull::from(occupied.current), true),
        };
        (
            PapayaRef {
                value,
                _guard: guard,
            },
            loaded,
        )
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (PapayaRef<'_, V>, bool)
    where
        F: FnOnce() -> V,
    {
        let guard = self.0.guard();
        let (value, loaded) = match self.0.try_insert_with(key, f, &guard) {
            Ok(inserted) => (NonNull::from(inserted), false),
            Err(current) => (NonNull::from(current), true),
        };
        (
            PapayaRef {
                value,
                _guard: guard,
            },
            loaded,
        )
    }

    fn update<Q, F>(&self, key: &Q, f: F) -> Option<PapayaRef<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let guard = self.0.guard();
        let (stored, _) = self.0.get_key_value(key, &guard)?;
        // papaya's `update` takes an `Fn` (it may call it more than once); ours is `FnMut`.
        let f = core::cell::RefCell::new(f);
        let value = NonNull::from(self.0.update(
            stored.clone(),
            |v| (f.borrow_mut())(v),
            &guard,
        )?);
        Some(PapayaRef {
            value,
            _guard: guard,
        })
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<PapayaRef<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.0.guard();
        let value = NonNull::from(self.0.remove(key, &guard)?);
        Some(PapayaRef {
            value,
            _guard: guard,
        })
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.pin().remove(key);
    }

    fn swap(&self, key: K, value: V) -> Option<PapayaRef<'_, V>> {
        let guard = self.0.guard();
        let old = self.0.insert(key, value, &guard).map(NonNull::from)?;
        Some(PapayaRef {
            value: old,
            _guard: guard,
        })
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        let guard = self.0.guard();
        let Some((stored, _)) = self.0.get_key_value(key, &guard) else {
            return false;
        };
        let result = self.0.compute(
            stored.clone(),
            |entry| match entry {
                Some((_, current)) if current == old => papaya::Operation::Insert(new.clone()),
                _ => papaya::Operation::Abort(()),
            },
            &guard,
        );
        matches!(result, papaya::Compute::Updated { .. })
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        matches!(
            self.0.pin().remove_if(key, |_, value| value == old),
            Ok(Some(_))
        )
    }

    fn range<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = self.0.guard();
        for (key, value) in self.0.iter(&guard) {
            if !f(key, value) {
                break;
            }
        }
    }

    fn clear(&self) {
        self.0.pin().clear();
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

// ---------------------------------------------------------------------------------------------

/// [`scc::HashMap`]: buckets with their own locks, readers that take none.
///
/// scc has no handle to a stored value that holds no lock (`get_sync` returns an entry that
/// holds its bucket's lock), so loads are `read_sync` with a clone of the value (hence
/// `V: Clone`), as a user who keeps the value beyond the read does. `store` and `swap` are
/// `upsert_sync` (which returns the previous value); `load_or_store`, `load_or_store_with` are
/// `entry_sync` (the closure runs under the bucket's lock); `update` and compare-and-swap are
/// `update_sync`; compare-and-delete is `remove_if_sync`; `range` is `iter_sync`; `clear` is
/// `clear_sync`.
pub struct SccPeer<K: Eq + Hash, V>(pub scc::HashMap<K, V>);

impl<K: Eq + Hash, V> Default for SccPeer<K, V> {
    fn default() -> Self {
        SccPeer(scc::HashMap::new())
    }
}

impl<K: Eq + Hash, V> fmt::Debug for SccPeer<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SccPeer").finish_non_exhaustive()
    }
}

type SccRef<V> = Owned<V>;

impl<K: Eq + Hash, V: Clone> ConcurrentMap<K, V> for SccPeer<K, V> {
    type Ref<'a>
        = SccRef<V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<SccRef<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.read_sync(key, |_, value| value.clone()).map(Owned)
    }

    fn store(&self, key: K, value: V) {
        self.0.upsert_sync(key, value);
    }

    fn load_or_store(&self, key: K, value: V) -> (SccRef<V>, bool) {
        match self.0.entry_sync(key) {
            scc::hash_map::Entry::Occupied(entry) => {
                let found = entry.get().clone();
                drop(entry);
                drop(value);
                (Owned(found), true)
            }
            scc::hash_map::Entry::Vacant(entry) => {
                let stored = entry.insert_entry(value).get().clone();
                (Owned(stored), false)
            }
        }
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (SccRef<V>, bool)
    where
        F: FnOnce() -> V,
    {
        match self.0.entry_sync(key) {
            scc::hash_map::Entry::Occupied(entry) => (Owned(entry.get().clone()), true),
            scc::hash_map::Entry::Vacant(entry) => {
                (Owned(entry.insert_entry(f()).get().clone()), false)
            }
        }
    }

    fn update<Q, F>(&self, key: &Q, mut f: F) -> Option<SccRef<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.0
            .update_sync(key, |_, value| {
                *value = f(value);
                value.clone()
            })
            .map(Owned)
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<SccRef<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.remove_sync(key).map(|(_, value)| Owned(value))
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.remove_sync(key);
    }

    fn swap(&self, key: K, value: V) -> Option<SccRef<V>> {
        self.0.upsert_sync(key, value).map(Owned)
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.0
            .update_sync(key, |_, value| {
                if *value == *old {
                    *value = new;
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false)
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.0.remove_if_sync(key, |value| *value == *old).is_some()
    }

    fn range<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.0.iter_sync(f);
    }

    fn clear(&self) {
        self.0.clear_sync();
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

// ---------------------------------------------------------------------------------------------

/// The map a user writes first: `RwLock<HashMap<K, Arc<V>>>`, each method the obvious one.
///
/// Loads clone the value's `Arc` (so a loaded value outlives the lock); `range` iterates the
/// table under the read lock and calls the callback there; `load_or_store_with` and `update`
/// run their closure under the write lock; `clear` is `HashMap::clear`; a panic under the lock
/// poisons it, and every later call unwraps the poison (panics), as `.unwrap()` on a std lock
/// does. Compare with the suite README's `LockMap`, the same design done so that it passes.
pub struct RwLockHashMap<K, V>(pub RwLock<HashMap<K, Arc<V>>>);

/// The same as [`RwLockHashMap`] behind a `Mutex`: a load inside a `range` callback deadlocks
/// too, not only a write.
pub struct MutexHashMap<K, V>(pub Mutex<HashMap<K, Arc<V>>>);

macro_rules! locked_hashmap {
    ($map:ident, $read:ident, $write:ident) => {
        impl<K, V> Default for $map<K, V> {
            fn default() -> Self {
                $map(Default::default())
            }
        }

        impl<K, V> fmt::Debug for $map<K, V> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($map)).finish_non_exhaustive()
            }
        }

        impl<K: Hash + Eq, V> ConcurrentMap<K, V> for $map<K, V> {
            type Ref<'a>
                = Arc<V>
            where
                Self: 'a;

            fn load<Q>(&self, key: &Q) -> Option<Arc<V>>
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                self.0.$read().unwrap().get(key).cloned()
            }

            fn store(&self, key: K, value: V) {
                self.0.$write().unwrap().insert(key, Arc::new(value));
            }

            fn load_or_store(&self, key: K, value: V) -> (Arc<V>, bool) {
                use std::collections::hash_map::Entry;
                match self.0.$write().unwrap().entry(key) {
                    Entry::Occupied(entry) => (Arc::clone(entry.get()), true),
                    Entry::Vacant(entry) => (Arc::clone(entry.insert(Arc::new(value))), false),
                }
            }

            fn load_or_store_with<F>(&self, key: K, f: F) -> (Arc<V>, bool)
            where
                F: FnOnce() -> V,
            {
                use std::collections::hash_map::Entry;
                match self.0.$write().unwrap().entry(key) {
                    Entry::Occupied(entry) => (Arc::clone(entry.get()), true),
                    Entry::Vacant(entry) => (Arc::clone(entry.insert(Arc::new(f()))), false),
                }
            }

            fn update<Q, F>(&self, key: &Q, mut f: F) -> Option<Arc<V>>
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
                F: FnMut(&V) -> V,
            {
                let mut table = self.0.$write().unwrap();
                let slot = table.get_mut(key)?;
                *slot = Arc::new(f(slot));
                Some(Arc::clone(slot))
            }

            fn load_and_delete<Q>(&self, key: &Q) -> Option<Arc<V>>
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                self.0.$write().unwrap().remove(key)
            }

            fn delete<Q>(&self, key: &Q)
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                self.0.$write().unwrap().remove(key);
            }

            fn swap(&self, key: K, value: V) -> Option<Arc<V>> {
                self.0.$write().unwrap().insert(key, Arc::new(value))
            }

            fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
                V: PartialEq,
            {
                let mut table = self.0.$write().unwrap();
                match table.get_mut(key) {
                    Some(slot) if **slot == *old => {
                        *slot = Arc::new(new);
                        true
                    }
                    _ => false,
                }
            }

            fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
            where
                K: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
                V: PartialEq,
            {
                let mut table = self.0.$write().unwrap();
                if table.get(key).is_some_and(|value| **value == *old) {
                    table.remove(key);
                    return true;
                }
                false
            }

            fn range<F>(&self, mut f: F)
            where
                F: FnMut(&K, &V) -> bool,
            {
                for (key, value) in self.0.$read().unwrap().iter() {
                    if !f(key, value) {
                        break;
                    }
                }
            }

            fn clear(&self) {
                self.0.$write().unwrap().clear();
            }

            fn len(&self) -> usize {
                self.0.$read().unwrap().len()
            }
        }
    };
}

locked_hashmap!(RwLockHashMap, read, write);
locked_hashmap!(MutexHashMap, lock, lock);
