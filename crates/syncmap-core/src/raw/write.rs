//! Go's write paths, each a lock-free attempt on read and, failing that, a locked one: swap
//! (and store), load-or-store, the deletes, compare-and-swap, clear; and the lock-free update.

use core::{
    borrow::Borrow,
    hash::{BuildHasher, Hash},
    ptr::NonNull,
};

use super::{
    RawMap,
    entry::{Entry, LoadOrStore},
    locked::clear_shards,
    value::Incoming,
    wait::{Ticket, WaitBy},
};
use crate::reclaim::Reclaim;

/// A write that found its key reserved by `load_or_store_with`: the key and value it gives
/// back, and its registration to wait (with no guard held) for the reservation to end.
struct Blocked<K, V, R: Reclaim> {
    key: K,
    new: Incoming<V, R>,
    ticket: Option<Ticket>,
}

impl<K: Hash + Eq, V, R: Reclaim, S: BuildHasher> RawMap<K, V, R, S> {
    /// Go's `Store`.
    pub(crate) fn store(&self, key: K, value: V) {
        self.swap_waiting(key, value);
    }

    /// Go's `Swap`: the previous value as the strategy's handle.
    pub(crate) fn swap(&self, key: K, value: V) -> Option<R::Ref<'_, V>> {
        let (guard, previous) = self.swap_waiting(key, value);
        // SAFETY: `previous` was unlinked and retired under `guard`, which is still alive.
        Some(unsafe { R::make_ref(guard, previous?) })
    }

    /// Go's `Swap`, waiting out a `load_or_store_with` reservation of the key with no guard
    /// held. Returns the guard the swap was made under and the previous value, retired under it.
    fn swap_waiting(&self, key: K, value: V) -> (R::Guard<'_>, Option<NonNull<V>>) {
        self.unblocked(key, value, Self::swap_ptr)
    }

    /// Runs a write `attempt` under a fresh guard until no `load_or_store_with` reservation of
    /// the key blocks it, waiting for each one with no guard held. Returns the last attempt's
    /// guard and result.
    fn unblocked<T>(
        &self,
        key: K,
        value: V,
        attempt: impl Fn(&Self, &R::Guard<'_>, u64, K, Incoming<V, R>) -> Result<T, Blocked<K, V, R>>,
    ) -> (R::Guard<'_>, T) {
        let hash = self.hash(&key);
        let (mut key, mut new) = (key, Incoming::Value(value));
        loop {
            let guard = self.pin();
            match attempt(self, &guard, hash, key, new) {
                Ok(done) => return (guard, done),
                Err(blocked) => {
                    drop(guard);
                    self.reservations.wait(blocked.ticket);
                    (key, new) = (blocked.key, blocked.new);
                }
            }
        }
    }

    /// Go's `Swap`. Retires the previous value (before the unused key can be dropped, so a
    /// panicking `Drop` of `K` leaks nothing) and returns its pointer; or, if the key is
    /// reserved, registers to wait and gives key and value back.
    fn swap_ptr(
        &self,
        guard: &R::Guard<'_>,
        hash: u64,
        key: K,
        mut new: Incoming<V, R>,
    ) -> Result<Option<NonNull<V>>, Blocked<K, V, R>> {
        let shard = self.shard_of(hash);
        let read = self.read(guard, shard);
        if let Some(entry) = read.find(hash, &key) {
            match entry.try_swap(new.owned()) {
                Ok(previous) => return Ok(self.retire_previous(guard, &entry, previous)),
                Err(back) => new = Incoming::Owned(back),
            }
        }
        let mut locked = self.lock(guard, shard);
        let Some((entry, dirty_only)) = locked.entry_for_write(hash, &key) else {
            let entry = Entry::boxed(hash, key, new, locked.arena());
            locked.insert_new(hash, entry);
            self.present.added();
            return Ok(None);
        };
        let swapped = entry.swap_locked(new.owned(), locked.locked());
        if dirty_only {
            // Unlike Go's `Swap`, count a miss, as `LoadOrStore` does: a workload that keeps
            // rewriting keys only dirty has would otherwise take the lock on every call,
            // never promoting them to the lock-free path.
            locked.miss();
        }
        drop(locked);
        match swapped {
            Ok(previous) => Ok(self.retire_previous(guard, &entry, previous)),
            Err(back) => Err(Blocked {
                ticket: self.reservations.register(entry.get(), WaitBy::Thread),
                key,
                new: Incoming::Owned(back),
            }),
        }
    }

    /// Retires `previous`, the value a swap just replaced in `entry`, if there was one (else the
    /// key gained a value, which the length counter counts), and returns it.
    #[inline]
    fn retire_previous(
        &self,
        guard: &R::Guard<'_>,
        entry: &Entry<K, V, R>,
        previous: Option<NonNull<V>>,
    ) -> Option<NonNull<V>> {
        if previous.is_none() {
            self.present.added();
        }
        if let Some(previous) = previous {
            entry.retire_removed(&self.reclaim, guard, previous);
        }
        previous
    }

    /// Go's `LoadOrStore`: the value found or stored, as the strategy's handle, and whether it
    /// was found. Waits out a `load_or_store_with` reservation of the key with no guard held.
    pub(crate) fn load_or_store(&self, key: K, value: V) -> (R::Ref<'_, V>, bool) {
        let (guard, (actual, loaded)) = self.unblocked(key, value, Self::load_or_store_ptr);
        // SAFETY: `actual` is linked (or was, and is retired) and was read under `guard`.
        (unsafe { R::make_ref(guard, actual) }, loaded)
    }

    /// Go's `LoadOrStore`; or, if the key is reserved, registers to wait and gives key and
    /// value back.
    fn load_or_store_ptr(
        &self,
        guard: &R::Guard<'_>,
        hash: u64,
        key: K,
        mut new: Incoming<V, R>,
    ) -> Result<(NonNull<V>, bool), Blocked<K, V, R>> {
        let shard = self.shard_of(hash);
        let read = self.read(guard, shard);
        if let Some(entry) = read.find(hash, &key) {
            match entry.try_load_or_store(new) {
                LoadOrStore::Loaded(actual, _unused) => return Ok((actual, true)),
                LoadOrStore::Stored(actual) => {
                    self.present.added();
                    return Ok((actual, false));
                }
                LoadOrStore::Expunged(back) => new = back,
                LoadOrStore::Reserved(back) => {
                    return Err(Blocked {
                        ticket: self.reservations.register(entry.get(), WaitBy::Thread),
                        key,
                        new: back,
                    });
                }
            }
        }
        let mut locked = self.lock(guard, shard);
        let Some((entry, dirty_only)) = locked.entry_for_write(hash, &key) else {
            let entry = Entry::boxed(hash, key, new, locked.arena());
            let actual = locked
                .insert_new(hash, entry)
                .load()
                .expect("a new entry is present");
            self.present.added();
            return Ok((actual, false));
        };
        let outcome = entry.try_load_or_store(new);
        if dirty_only {
            locked.miss();
        }
        drop(locked);
        match outcome {
            LoadOrStore::Loaded(actual, _unused) => Ok((actual, true)),
            LoadOrStore::Stored(actual) => {
                self.present.added();
                Ok((actual, false))
            }
            LoadOrStore::Reserved(back) => Err(Blocked {
                ticket: self.reservations.register(entry.get(), WaitBy::Thread),
                key,
                new: back,
            }),
            LoadOrStore::Expunged(_) => {
                unreachable!("only lock holders expunge, and we held it after unexpunging")
            }
        }
    }

    /// Go's `LoadAndDelete`: the removed value as the strategy's handle.
    pub(crate) fn load_and_delete<Q>(&self, key: &Q) -> Option<R::Ref<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.pin();
        let removed = self.delete_if(&guard, key, |_| true)?;
        // SAFETY: `removed` was retired under `guard`, which is still alive.
        Some(unsafe { R::make_ref(guard, removed) })
    }

    /// Go's `Delete`.
    pub(crate) fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.pin();
        self.delete_if(&guard, key, |_| true);
    }

    /// Go's `CompareAndDelete`.
    pub(crate) fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        let guard = self.pin();
        // Go leaves the entry in dirty here: the comparison may fail, and a deleted entry is
        // expunged at the next rebuild anyway.
        self.delete_if(&guard, key, |value| value == old).is_some()
    }

    /// Deletes `key`'s value if `matches` accepts it; retires and returns it.
    #[inline]
    fn delete_if<Q>(
        &self,
        guard: &R::Guard<'_>,
        key: &Q,
        matches: impl Fn(&V) -> bool,
    ) -> Option<NonNull<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let entry = self.locate(guard, hash, key)?;
        // SAFETY: `entry` was found under `guard`, which protects its values.
        let removed = unsafe { entry.delete_if(matches) }?;
        entry.retire_removed(&self.reclaim, guard, removed);
        self.count_delete(guard, self.shard_of(hash));
        Some(removed)
    }

    /// Go's `CompareAndSwap`.
    pub(crate) fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        let hash = self.hash(key);
        let guard = self.pin();
        let shard = self.shard_of(hash);
        let read = self.read(&guard, shard);
        let attempt = |entry: &Entry<K, V, R>| {
            // SAFETY: the callers below found `entry` under `guard`, which protects its values.
            unsafe { entry.try_compare_and_swap(old, new) }
        };
        let replaced = if let Some(entry) = read.find(hash, key) {
            attempt(&entry).map(|replaced| (entry, replaced))
        } else if !read.amended() {
            None
        } else {
            let mut locked = self.lock(&guard, shard);
            if let Some(entry) = locked.find_in_read(hash, key) {
                attempt(&entry).map(|replaced| (entry, replaced))
            } else if let Some(entry) = locked.find_in_dirty(hash, key) {
                let replaced = attempt(&entry).map(|replaced| (entry, replaced));
                // The key set did not change; count a miss so that a workload of such calls
                // eventually promotes dirty and moves to the fast path (as Go does).
                locked.miss();
                replaced
            } else {
                None
            }
        };
        match replaced {
            Some((entry, old)) => {
                entry.retire_removed(&self.reclaim, &guard, old);
                true
            }
            None => false,
        }
    }

    /// Go's `Clear`: takes every shard's lock, in shard order, and replaces the root (see
    /// [`clear_shards`]).
    pub(crate) fn clear(&self) {
        let guard = self.pin();
        if (0..self.shards()).all(|shard| self.read(&guard, shard).holds_nothing()) {
            return;
        }
        let mut locks = Vec::with_capacity(self.shards());
        locks.extend((0..self.shards()).map(|shard| self.lock(&guard, shard)));
        if locks.iter().all(|locked| locked.read().holds_nothing()) {
            return;
        }
        let present = clear_shards(self, &guard, &mut locks);
        self.present.removed(present);
    }

    /// Replaces `key`'s value with `f(&current)` by CAS; the stored value as the strategy's
    /// handle, or `None` if the key is absent.
    pub(crate) fn update<Q, F>(&self, key: &Q, f: F) -> Option<R::Ref<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let hash = self.hash(key);
        let guard = self.pin();
        let entry = self.locate(&guard, hash, key)?;
        // SAFETY: `entry` was found under `guard`, which protects its values.
        let (replaced, stored) = unsafe { entry.try_update(f) }?;
        entry.retire_removed(&self.reclaim, &guard, replaced);
        // SAFETY: `stored` was published under `guard`.
        Some(unsafe { R::make_ref(guard, stored) })
    }

    /// Deletes every key for which `f` returns `false`, if its value is still the one judged.
    pub(crate) fn retain<F>(&self, mut f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = self.pin();
        for (entry, value) in self.present_entries(&guard).with_entries() {
            // SAFETY: the value was read under `guard`.
            if !f(&entry.key, unsafe { value.as_ref() }) && entry.delete_exact(value) {
                entry.retire_removed(&self.reclaim, &guard, value);
                self.count_delete(&guard, self.shard_of(entry.hash));
            }
        }
    }
}
