//! Compute-once insertion: `load_or_store_with` reserves its key's entry while its closure
//! runs, and writers of that key wait in [`Reservations`] until the reservation ends.

use core::{
    cell::RefCell,
    hash::{BuildHasher, Hash},
    ptr::NonNull,
};

use super::{
    RawMap,
    entry::{Entry, Reserve},
    value::Owned,
};
use crate::{
    primitive::sync::{Condvar, Mutex},
    reclaim::Reclaim,
};

/// The waiting room of writers that found a key reserved.
#[derive(Default)]
pub(super) struct Reservations {
    lock: Mutex<()>,
    ended: Condvar,
}

impl Reservations {
    /// Blocks until no thread holds a reservation on `entry`, which the caller found under a
    /// guard it still holds.
    #[cold]
    pub(super) fn wait<K, V, R: Reclaim>(&self, entry: &Entry<K, V, R>) {
        // Waiting for a reservation this thread holds would never end. No lock is held here.
        assert!(
            !reserved_by_this_thread(entry),
            "a `load_or_store_with` closure wrote the key it is computing (store, swap, \
             load_or_store or load_or_store_with of the same key on the same map), which would \
             wait for the closure itself forever"
        );
        let mut waiting = self.lock.lock();
        // The reserving thread changes the state before taking this lock to notify, so a
        // reservation seen here, under the lock, is always followed by a notification.
        while entry.is_reserved() {
            waiting = self.ended.wait(waiting);
        }
    }

    /// Wakes the threads waiting for a reservation to end; the caller has just ended one.
    fn notify(&self) {
        let _waiting = self.lock.lock();
        self.ended.notify_all();
    }
}

/// Ends a reservation if the closure computing its value unwinds: the entry goes back to
/// *deleted* and the waiting writers are woken, so nothing is inserted and nobody hangs.
struct CancelOnUnwind<'a, K, V, R: Reclaim, S> {
    map: &'a RawMap<K, V, R, S>,
    entry: &'a Entry<K, V, R>,
}

impl<K, V, R: Reclaim, S> Drop for CancelOnUnwind<'_, K, V, R, S> {
    fn drop(&mut self) {
        self.entry.cancel_reserved();
        self.map.count_delete_unchecked();
        self.map.reservations.notify();
    }
}

#[cfg(not(loom))]
std::thread_local! {
    /// The addresses of the entries this thread holds a reservation on, innermost last (a
    /// closure computing one key may insert others with `load_or_store_with`).
    static RESERVED_HERE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[cfg(loom)]
loom::thread_local! {
    // As above, per loom thread (loom runs its threads on one OS thread).
    static RESERVED_HERE: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

/// Records, while it lives, that this thread holds the reservation on an entry, so that a
/// write of the same key from inside the closure computing it panics rather than waiting for
/// itself ([`reserved_by_this_thread`]).
struct ReservedHere(usize);

impl ReservedHere {
    fn new<K, V, R: Reclaim>(entry: &Entry<K, V, R>) -> Self {
        let address = (&raw const *entry).addr();
        // Without the thread-local (a thread being torn down), the re-entry goes undetected.
        let _ = RESERVED_HERE.try_with(|here| here.borrow_mut().push(address));
        ReservedHere(address)
    }
}

impl Drop for ReservedHere {
    fn drop(&mut self) {
        let _ = RESERVED_HERE.try_with(|here| {
            let mut here = here.borrow_mut();
            if let Some(i) = here.iter().rposition(|&a| a == self.0) {
                here.remove(i);
            }
        });
    }
}

/// Whether this thread holds the reservation on `entry`. A recorded address is that of an
/// entry this thread reserved and has not yet published or cancelled; the guard it holds
/// meanwhile keeps that entry allocated, so no other entry can have its address.
fn reserved_by_this_thread<K, V, R: Reclaim>(entry: &Entry<K, V, R>) -> bool {
    let address = (&raw const *entry).addr();
    RESERVED_HERE
        .try_with(|here| here.borrow().contains(&address))
        .unwrap_or(false)
}

impl<K: Hash + Eq, V, R: Reclaim, S: BuildHasher> RawMap<K, V, R, S> {
    /// `key`'s value and `true` if present; otherwise reserves the key, computes the value
    /// with `f`, stores it and returns it with `false`.
    pub(crate) fn load_or_store_with<F>(&self, key: K, f: F) -> (R::Ref<'_, V>, bool)
    where
        F: FnOnce() -> V,
    {
        let hash = self.hash(&key);
        let guard = self.pin();
        let mut key = Some(key);
        let entry = loop {
            let k = key
                .as_ref()
                .expect("the key is kept until a new entry takes it");
            let read = self.read(&guard);
            if let Some(entry) = read.find(hash, k) {
                match entry.try_reserve() {
                    Reserve::Loaded(actual) => {
                        // SAFETY: read under `guard`.
                        return (unsafe { R::make_ref(guard, actual) }, true);
                    }
                    Reserve::Reserved => break entry.get(),
                    Reserve::Busy => {
                        self.reservations.wait(&entry);
                        continue;
                    }
                    Reserve::Expunged => {}
                }
            }
            let (mut dirty, locked) = self.lock();
            let read = self.read(&guard);
            let Some((entry, dirty_only)) =
                self.entry_for_write_locked(&mut dirty, read, &guard, hash, k, &locked)
            else {
                let entry = Entry::boxed_reserved(hash, key.take().expect("still ours"));
                break self
                    .insert_new_locked(&mut dirty, read, &guard, hash, entry, &locked)
                    .get();
            };
            let found = entry.try_reserve();
            if dirty_only {
                self.miss_locked(&mut dirty, &guard, &locked);
            }
            drop(dirty);
            match found {
                Reserve::Loaded(actual) => {
                    // SAFETY: read under `guard`.
                    return (unsafe { R::make_ref(guard, actual) }, true);
                }
                Reserve::Reserved => break entry.get(),
                Reserve::Busy => self.reservations.wait(&entry),
                Reserve::Expunged => unreachable!("unexpunged under the lock"),
            }
        };
        let value = self.compute_reserved(entry, f);
        // SAFETY: published into an entry found under `guard`.
        (unsafe { R::make_ref(guard, value) }, false)
    }

    /// Runs `f` for a reservation this thread holds on `entry`, publishes the result and wakes
    /// the waiters; cancels the reservation if `f` unwinds.
    fn compute_reserved<F>(&self, entry: &Entry<K, V, R>, f: F) -> NonNull<V>
    where
        F: FnOnce() -> V,
    {
        let _here = ReservedHere::new(entry);
        let cancel = CancelOnUnwind { map: self, entry };
        let value = Owned::<V, R>::new(f());
        core::mem::forget(cancel);
        let value = entry.publish_reserved(value);
        self.present.added();
        self.reservations.notify();
        value
    }
}
