//! [`RwLockMap`]: the simplest correct [`ConcurrentMap`], a hash table behind a reader-writer
//! lock. The suite runs against it to show that it accepts a correct map, and the deliberately
//! wrong maps of `tests/wrong_maps.rs` are built from it.

use core::{
    borrow::Borrow,
    fmt,
    hash::{BuildHasher, Hash},
};
use std::{hash::RandomState, sync::Arc};

use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::ConcurrentMap;

/// One key: its cached hash (so that growing the table never calls the user's `Hash`), the key
/// and the value, both shareable with a running `range`.
type Slot<K, V> = (u64, Arc<K>, Arc<V>);

/// A hash table behind a `RwLock`: every operation is trivially linearizable.
///
/// `load` hands out `Arc<V>`. `range` copies the entries (two reference counts each) into a
/// pooled buffer and calls the callback without the lock, so the callback may use the map; after
/// the first calls, the buffers are large enough and `range` allocates nothing.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::{ConcurrentMap, reference::RwLockMap};
///
/// let map: RwLockMap<u32, u32> = RwLockMap::default();
/// map.store(1, 10);
/// assert_eq!(map.load(&1).as_deref(), Some(&10));
/// assert_eq!(map.swap(1, 11).as_deref(), Some(&10));
/// ```
pub struct RwLockMap<K, V, S = RandomState> {
    table: RwLock<HashTable<Slot<K, V>>>,
    scratch: Mutex<Vec<Vec<Slot<K, V>>>>,
    /// Hashes of keys whose value `load_or_store_with` is computing (collisions only make a
    /// thread wait longer), so that each insertion runs its closure at most once, without
    /// holding the table lock.
    computing: Mutex<Vec<u64>>,
    computed: Condvar,
    hasher: S,
}

/// Drops a table's keys and values as a `Vec` does: if one `Drop` panics, the rest are still
/// dropped (while unwinding). A hashbrown table's own drop stops at the panicking element and
/// leaks the rest.
fn drop_slots<K, V>(table: HashTable<Slot<K, V>>) {
    drop(table.into_iter().collect::<Vec<_>>());
}

impl<K, V, S> Drop for RwLockMap<K, V, S> {
    fn drop(&mut self) {
        drop_slots(core::mem::take(self.table.get_mut()));
    }
}

/// Ends a `load_or_store_with` computation, also when the closure panics.
struct Computing<'a> {
    hashes: &'a Mutex<Vec<u64>>,
    done: &'a Condvar,
    hash: u64,
}

impl Drop for Computing<'_> {
    fn drop(&mut self) {
        let mut hashes = self.hashes.lock();
        if let Some(i) = hashes.iter().position(|&h| h == self.hash) {
            hashes.swap_remove(i);
        }
        drop(hashes);
        self.done.notify_all();
    }
}

impl<K, V, S: Default> Default for RwLockMap<K, V, S> {
    fn default() -> Self {
        RwLockMap {
            table: RwLock::new(HashTable::new()),
            scratch: Mutex::new(Vec::new()),
            computing: Mutex::new(Vec::new()),
            computed: Condvar::new(),
            hasher: S::default(),
        }
    }
}

impl<K, V, S> fmt::Debug for RwLockMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockMap")
            .field("len", &self.table.read().len())
            .finish_non_exhaustive()
    }
}

fn eq<K: Borrow<Q>, V, Q: Eq + ?Sized>(key: &Q) -> impl Fn(&Slot<K, V>) -> bool + '_ {
    move |slot| (*slot.1).borrow() == key
}

fn cached<K, V>(slot: &Slot<K, V>) -> u64 {
    slot.0
}

impl<K: Hash + Eq, V, S: BuildHasher> ConcurrentMap<K, V> for RwLockMap<K, V, S> {
    type Ref<'a>
        = Arc<V>
    where
        Self: 'a;

    fn load<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let table = self.table.read();
        table.find(hash, eq(key)).map(|slot| Arc::clone(&slot.2))
    }

    fn store(&self, key: K, value: V) {
        drop(self.swap(key, value));
    }

    fn load_or_store(&self, key: K, value: V) -> (Arc<V>, bool) {
        let hash = self.hasher.hash_one(&key);
        let mut table = self.table.write();
        if let Some(slot) = table.find(hash, eq(&key)) {
            let found = Arc::clone(&slot.2);
            drop(table);
            // Drop the unused arguments while `found` is still a local: a panicking `Drop`
            // then unwinds through it instead of leaking the return value.
            drop(key);
            drop(value);
            return (found, true);
        }
        let value = Arc::new(value);
        table.insert_unique(hash, (hash, Arc::new(key), Arc::clone(&value)), cached);
        (value, false)
    }

    fn load_or_store_with<F>(&self, key: K, f: F) -> (Arc<V>, bool)
    where
        F: FnOnce() -> V,
    {
        let hash = self.hasher.hash_one(&key);
        let mut computing = self.computing.lock();
        loop {
            if let Some(found) = self.table.read().find(hash, eq(&key)) {
                let found = Arc::clone(&found.2);
                drop(computing);
                drop(key);
                return (found, true);
            }
            if !computing.contains(&hash) {
                break;
            }
            self.computed.wait(&mut computing);
        }
        computing.push(hash);
        drop(computing);
        let _done = Computing {
            hashes: &self.computing,
            done: &self.computed,
            hash,
        };
        // No lock is held while `f` runs; a racing `store` may win, and then `load_or_store`
        // returns its value.
        self.load_or_store(key, f())
    }

    fn update<Q, F>(&self, key: &Q, mut f: F) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let hash = self.hasher.hash_one(key);
        loop {
            let current = Arc::clone(&self.table.read().find(hash, eq(key))?.2);
            // `f` runs without the lock; the result is stored only if nothing changed since.
            let new = Arc::new(f(&current));
            let mut table = self.table.write();
            let slot = table.find_mut(hash, eq(key))?;
            if Arc::ptr_eq(&slot.2, &current) {
                let old = core::mem::replace(&mut slot.2, Arc::clone(&new));
                drop(table);
                drop(old);
                return Some(new);
            }
        }
    }

    fn load_and_delete<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let mut table = self.table.write();
        let removed = table.find_entry(hash, eq(key)).ok().map(|e| e.remove().0);
        drop(table);
        removed.map(|slot| slot.2)
    }

    fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        drop(self.load_and_delete(key));
    }

    fn swap(&self, key: K, value: V) -> Option<Arc<V>> {
        let hash = self.hasher.hash_one(&key);
        let value = Arc::new(value);
        let mut table = self.table.write();
        if let Some(slot) = table.find_mut(hash, eq(&key)) {
            let old = core::mem::replace(&mut slot.2, value);
            drop(table);
            drop(key); // before the return value exists (see `load_or_store`)
            return Some(old);
        }
        table.insert_unique(hash, (hash, Arc::new(key), value), cached);
        None
    }

    fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        let hash = self.hasher.hash_one(key);
        let mut table = self.table.write();
        let Some(slot) = table.find_mut(hash, eq(key)) else {
            return false;
        };
        if *slot.2 != *old {
            return false;
        }
        let replaced = core::mem::replace(&mut slot.2, Arc::new(new));
        drop(table);
        drop(replaced);
        true
    }

    fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        let hash = self.hasher.hash_one(key);
        let mut table = self.table.write();
        let Ok(entry) = table.find_entry(hash, eq(key)) else {
            return false;
        };
        if *entry.get().2 != *old {
            return false;
        }
        let removed = entry.remove().0;
        drop(table);
        drop(removed);
        true
    }

    fn range<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        let mut buffer = self.scratch.lock().pop().unwrap_or_default();
        buffer.extend(
            self.table
                .read()
                .iter()
                .map(|(hash, key, value)| (*hash, Arc::clone(key), Arc::clone(value))),
        );
        for (_, key, value) in &buffer {
            if !f(key, value) {
                break;
            }
        }
        buffer.clear();
        self.scratch.lock().push(buffer);
    }

    fn clear(&self) {
        let old = core::mem::take(&mut *self.table.write());
        drop_slots(old);
        // Give back the range buffers sized for the old contents.
        drop(core::mem::take(&mut *self.scratch.lock()));
    }

    fn len(&self) -> usize {
        self.table.read().len()
    }
}
