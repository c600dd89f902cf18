//! Compute-once insertion: `load_or_store_with` and its fallible and async forms reserve their
//! key's entry while the user's code computes the value, and writers of that key wait in
//! [`Reservations`](super::wait::Reservations) (`wait.rs`) until the reservation ends.
//!
//! Nothing is pinned while user code runs or while anyone waits: the reserving thread (or task)
//! holds a [`Reservation`], which keeps the entry's memory alive by itself (see `Entry`'s
//! *Reservations hold no guard*), and a waiter holds a [`Ticket`], which names the entry by
//! address only. A guard is taken again to publish the value, and a lookup under it decides
//! whether the entry is still linked (then the value is published into it, as a store) or was
//! unlinked by a `clear` meanwhile (then the value is returned to the caller alone, as if
//! stored just before that `clear` and removed by it; a compaction never unlinks a reserved
//! entry).

use core::{
    future::Future,
    hash::{BuildHasher, Hash},
    mem::ManuallyDrop,
    pin::Pin,
    ptr::NonNull,
    task::{Context, Poll},
};

use super::{
    RawMap,
    entry::{Ended, Entry, Reserve},
    value::{Owned, RetiredValue},
    wait::{ReservedHere, Ticket, WaitBy},
};
use crate::reclaim::{CloneOwned, Reclaim};

/// A reservation held on an entry: the right, and the duty, to end it. Holds no guard.
///
/// Dropping it cancels the reservation (the entry goes back to *deleted*, nothing is inserted,
/// and the waiters wake up, so that one of them computes instead): so a panicking closure, an
/// initialiser that returns `Err`, and a dropped future all end it.
///
/// # Invariants
///
/// `entry` points at an entry whose slot is *reserved* (or *orphaned*, once the strategy has
/// handed the entry over), reserved by whoever made this value, and this value is the only one
/// that ends that reservation. The entry's memory is alive while it exists: nobody frees a
/// reserved entry (`Entry`'s *Reservations hold no guard*).
pub(crate) struct Reservation<'m, K, V, R: Reclaim, S> {
    map: &'m RawMap<K, V, R, S>,
    entry: NonNull<Entry<K, V, R>>,
}

// SAFETY: a reservation is a shared map and the right to end one reservation on one of its
// entries, which any thread may exercise (ending it is an atomic swap, plus at most freeing an
// orphaned entry, which sends its key to this thread: `K: Send`, as the map's `Sync` requires).
// It lends nothing out. So it may move wherever `&RawMap` may.
unsafe impl<K, V, R: Reclaim, S> Send for Reservation<'_, K, V, R, S> where RawMap<K, V, R, S>: Sync {}

impl<K, V, R: Reclaim, S> Reservation<'_, K, V, R, S> {
    fn entry(&self) -> &Entry<K, V, R> {
        // SAFETY: the invariant: the entry is alive while the reservation exists.
        unsafe { self.entry.as_ref() }
    }

    /// Ends the reservation without a value, frees the entry if the strategy handed it over,
    /// and wakes the waiters.
    fn end(&self) {
        let ended = self.entry().end_reserved();
        self.map.reservations.notify(self.entry.addr().get());
        if ended == Ended::Orphaned {
            // SAFETY: the strategy reclaimed the entry in all but memory and handed it to us
            // (`Entry::end_reserved`): it is unreachable, and only we free it, once.
            unsafe { Entry::free(self.entry) }
        }
    }
}

impl<K, V, R: Reclaim, S> Drop for Reservation<'_, K, V, R, S> {
    /// Cancels the reservation (see the type's docs).
    fn drop(&mut self) {
        let shard = self.map.shard_of(self.entry().hash);
        self.map.count_delete_unchecked(shard);
        self.end();
    }
}

/// What one attempt of a compute-once call found.
pub(crate) enum Step<'m, T, K, V, R: Reclaim, S> {
    /// The key has a value, as the caller's handle.
    Found(T),
    /// The caller reserved the key: it computes the value and publishes it.
    Mine(Reservation<'m, K, V, R, S>),
    /// Another thread or task holds the reservation: the caller waits for it to end (at once
    /// for `None`), then tries again.
    Wait(Option<Ticket>),
}

impl<K: Hash + Eq, V, R: Reclaim, S: BuildHasher> RawMap<K, V, R, S> {
    /// One attempt at `key`'s value or reservation (`hash` is its hash). `found` turns a present
    /// value, read under the guard it is given, into the caller's handle. `key` is taken only
    /// when a new entry is inserted for it. Returns with no guard held.
    pub(crate) fn reserve<'m, T>(
        &'m self,
        hash: u64,
        key: &mut Option<K>,
        by: WaitBy,
        found: impl FnOnce(R::Guard<'m>, NonNull<V>) -> T,
    ) -> Step<'m, T, K, V, R, S> {
        let guard = self.pin();
        let k = key
            .as_ref()
            .expect("the key is kept until a new entry takes it");
        let shard = self.shard_of(hash);
        let read = self.read(&guard, shard);
        if let Some(entry) = read.find(hash, k) {
            match entry.try_reserve() {
                Reserve::Loaded(actual) => return Step::Found(found(guard, actual)),
                Reserve::Reserved => {
                    return Step::Mine(self.reservation(entry.ptr().as_non_null()));
                }
                Reserve::Busy => return Step::Wait(self.reservations.register(entry.get(), by)),
                Reserve::Expunged => {}
            }
        }
        let mut locked = self.lock(&guard, shard);
        let Some((entry, dirty_only)) = locked.entry_for_write(hash, k) else {
            let entry =
                Entry::boxed_reserved(hash, key.take().expect("still ours"), locked.arena());
            let entry = locked.insert_new(hash, entry);
            return Step::Mine(self.reservation(entry.ptr().as_non_null()));
        };
        let reserved = entry.try_reserve();
        if dirty_only {
            locked.miss();
        }
        drop(locked);
        match reserved {
            Reserve::Loaded(actual) => Step::Found(found(guard, actual)),
            Reserve::Reserved => Step::Mine(self.reservation(entry.ptr().as_non_null())),
            Reserve::Busy => Step::Wait(self.reservations.register(entry.get(), by)),
            Reserve::Expunged => unreachable!("unexpunged under the lock"),
        }
    }

    /// Writers registered to wait for a reservation to end (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn waiting_writers(&self) -> usize {
        self.reservations.registered()
    }

    fn reservation(&self, entry: NonNull<Entry<K, V, R>>) -> Reservation<'_, K, V, R, S> {
        // The invariant: the caller has just reserved `entry` (`Reserve::Reserved`, or a new
        // entry made reserved), under a guard that kept it alive until now.
        Reservation { map: self, entry }
    }

    /// `key`'s value and `true` if present; otherwise reserves the key, computes the value
    /// with `f`, stores it and returns it with `false`.
    pub(crate) fn load_or_store_with<F>(&self, key: K, f: F) -> (R::Ref<'_, V>, bool)
    where
        F: FnOnce() -> V,
    {
        match self.try_load_or_store_with(key, || Ok::<V, core::convert::Infallible>(f())) {
            Ok(found) => found,
            Err(never) => match never {},
        }
    }

    /// As [`load_or_store_with`](Self::load_or_store_with), for a fallible `f`. On `Err`,
    /// nothing is stored, and the waiters wake to compute the value themselves.
    pub(crate) fn try_load_or_store_with<F, E>(
        &self,
        key: K,
        f: F,
    ) -> Result<(R::Ref<'_, V>, bool), E>
    where
        F: FnOnce() -> Result<V, E>,
    {
        let hash = self.hash(&key);
        let mut key = Some(key);
        loop {
            let found = |guard, value| {
                // SAFETY: `value` was read under `guard`.
                unsafe { R::make_ref(guard, value) }
            };
            match self.reserve(hash, &mut key, WaitBy::Thread, found) {
                Step::Found(value) => return Ok((value, true)),
                Step::Mine(reservation) => {
                    let value = {
                        let _here = ReservedHere::new(reservation.entry());
                        // If `f` unwinds or fails, dropping `reservation` cancels it.
                        f()?
                    };
                    let (guard, value) = reservation.publish(value);
                    // SAFETY: `publish` returns a value protected by `guard`.
                    return Ok((unsafe { R::make_ref(guard, value) }, false));
                }
                Step::Wait(ticket) => self.reservations.wait(ticket),
            }
        }
    }

    /// The async form of [`try_load_or_store_with`](Self::try_load_or_store_with): waiters
    /// await, and the value comes back as an owned copy ([`CloneOwned`]: a clone, or a share
    /// of an `Arc`), since no guard may cross an `.await`. Dropping the future at any await
    /// point leaves no reservation and no registration behind.
    pub(crate) async fn try_load_or_store_with_async<F, Fut, E>(
        &self,
        key: K,
        f: F,
    ) -> Result<(crate::Owned<V, R>, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        R::Stored<V>: CloneOwned<V>,
    {
        let out = |value: NonNull<V>| {
            // SAFETY: called below only with a value pointer from `R::Stored` (or an inline
            // one, for `Box`) read or published under a guard that is still alive.
            unsafe { <R::Stored<V> as CloneOwned<V>>::clone_owned(value) }
        };
        let hash = self.hash(&key);
        let mut key = Some(key);
        let mut f = Some(f);
        loop {
            let found = |guard, value| {
                let value = out(value);
                drop(guard);
                value
            };
            match self.reserve(hash, &mut key, WaitBy::Task, found) {
                Step::Found(value) => return Ok((value, true)),
                Step::Mine(reservation) => {
                    let f = f.take().expect("a reservation ends the loop");
                    // If this future is dropped while `f`'s runs, or `f`'s unwinds or fails,
                    // dropping `reservation` cancels it.
                    let future = core::pin::pin!(f());
                    let value = ComputeHere {
                        entry: reservation.entry(),
                        future,
                    }
                    .await?;
                    let (guard, value) = reservation.publish(value);
                    let value = out(value);
                    drop(guard);
                    return Ok((value, false));
                }
                Step::Wait(ticket) => self.reservations.ended(ticket).await,
            }
        }
    }
}

/// Polls an async initialiser with its reservation recorded (`wait.rs`'s `RESERVED_HERE`)
/// during each poll, so that a blocking write of its own key from inside it panics instead of
/// deadlocking the thread.
struct ComputeHere<'a, K, V, R: Reclaim, F> {
    entry: &'a Entry<K, V, R>,
    future: Pin<&'a mut F>,
}

impl<K, V, R: Reclaim, F: Future> Future for ComputeHere<'_, K, V, R, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _here = ReservedHere::new(self.entry);
        self.future.as_mut().poll(cx)
    }
}

impl<'m, K: Hash + Eq, V, R: Reclaim, S: BuildHasher> Reservation<'m, K, V, R, S> {
    /// Publishes `value` and ends the reservation: returns a guard and the value's pointer,
    /// valid while that guard lives.
    ///
    /// The entry may have been unlinked by a `clear` while the value was computed, with no
    /// guard held. So a fresh guard is taken, and the entry is looked for, by address, in the
    /// tables reachable under it: in read, or under the lock in read and dirty.
    /// * Found: it was linked when the guard could see it, so the strategy cannot reclaim it
    ///   (nor a value published into it) before the guard is dropped; the value is published
    ///   (under the lock, if found there, so that no unlinking comes between).
    /// * Not found: it was unlinked before, so it may be reclaimed at any time: the
    ///   reservation ends without a value, and `value` is retired at once under the guard,
    ///   which keeps it alive for the caller. The key stays absent: the insertion took effect
    ///   just before the `clear` that unlinked the entry, which removed it.
    fn publish(self, value: V) -> (R::Guard<'m>, NonNull<V>) {
        let map = self.map;
        let value = Owned::<V, R>::new(value);
        let this = ManuallyDrop::new(self);
        let entry = this.entry();
        let guard = map.pin();
        let hash = entry.hash;
        let shard = map.shard_of(hash);
        let value = if map.read(&guard, shard).links(hash, this.entry) {
            entry.publish_reserved(value)
        } else {
            let locked = map.lock(&guard, shard);
            if !(locked.read().links(hash, this.entry) || locked.dirty().links(hash, this.entry)) {
                drop(locked);
                this.end();
                let value = value.into_raw();
                // SAFETY: `value` came from `alloc` and was never published: no other thread
                // can reach it, and it is retired once.
                unsafe {
                    map.reclaim
                        .retire(&guard, value.cast::<RetiredValue<V, R>>())
                };
                return (guard, value);
            }
            entry.publish_reserved(value)
        };
        map.present.added();
        map.reservations.notify(this.entry.addr().get());
        (guard, value)
    }
}
