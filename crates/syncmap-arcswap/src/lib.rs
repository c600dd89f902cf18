//! Go's `sync.Map` for Rust, with [arc-swap] reclamation: values live in `Arc`s, and an owned
//! `Arc<V>` is one call away.
//!
//! A concurrent hash map for read-mostly workloads: loads of keys that are already in the read
//! table take no lock. See [`syncmap_core`] for the design; this crate contributes the
//! reclamation strategy [`ArcSwapReclaim`] and the aliases [`SyncMap`] and [`Pinned`].
//!
//! Values are stored as `Arc<V>`, and the methods follow arc-swap's names for its two kinds of
//! load:
//!
//! * [`SyncMap::load`] returns an [`ArcRef`], which derefs to `V` and holds the arc-swap guard
//!   the value was read under (arc-swap's `load`, which returns a `Guard`). It writes no shared
//!   reference count, so threads loading the same key do not contend; it borrows the map, holds
//!   back reclamation while it lives, and is `!Send`: a handle to use and drop.
//! * [`SyncMap::load_owned`] (arc-swap's `load_full`), or [`ArcRef::into_arc`], returns the
//!   value's `Arc<V>`: it holds no guard, does not borrow the map, delays no reclamation, is
//!   `Send` when `V: Send + Sync`, and may be kept across an `.await`, sent to another task, or
//!   outlive the map. The price is a reference-count increment (a write to the value's cache
//!   line), which the epoch backends' loads do not pay either.
//!
//! [`SyncMap::pin`] gives plain `&V` for a batch of reads.
//!
//! The methods take Go's names (`store`, `load`, `load_and_delete`, ...); [`SyncMap`'s table of
//! std names](SyncMap#std-names) maps std's `HashMap` names (`insert`, `get`, `get_mut`,
//! `remove`, `entry`) to them, and a docs search for those lands there.
//!
//! # How memory is reclaimed
//!
//! The map's tables, entries and replaced values still need deferred freeing: a reader may be
//! looking at them when a writer unlinks them. [`ArcSwapReclaim`] keeps an `ArcSwap` of the
//! current *generation*; pinning loads it (an arc-swap guard, no shared write). A retired object
//! goes into the strategy's pending bag, which belongs to the open generation. When the bag
//! holds [`BATCH`] objects, or when the map retires a read table along with keys that died
//! (a `clear`) or a large one (it then calls [`Reclaim::flush`], so neither waits for the bag
//! to fill), the generation is
//! *closed*: it takes the bag, a new generation is published in its place, and the closed one
//! links to the new one. A generation frees its bag when it is dropped, which happens once no
//! guard holds it *and* every older generation is gone (each holds its successor). So an object
//! is freed after every reader that pinned before its generation closed, and nothing else is
//! needed to argue it.
//!
//! `tests/loom.rs` model-checks this protocol with loom (`cargo xtask loom`): under `cfg(loom)`
//! the strategy's lock and generation `Arc`s are loom's, the `ArcSwap` is replaced by a
//! lock-based stand-in with the same contract, and [`BATCH`] is 2. arc-swap's own lock-free
//! code is not part of the model.
//!
//! Why not publish the read table itself through an `ArcSwap`? Its guard would protect the
//! table, but not an entry that a reader found in the dirty table and a writer then unlinked,
//! nor a value a writer swapped out of an entry's slot: those need deferred freeing anyway. One
//! arc-swap load of the generation protects all three, and leaves the algorithm in
//! `syncmap-core` unchanged.
//!
//! Writes pay for it, in batches: each retirement (an overwrite, a delete) takes a short
//! per-map lock to push the object into the bag; every [`BATCH`]th retirement, and every
//! promotion or `clear`, also allocates a generation and swaps it in (arc-swap's swap visits
//! every thread's debt slots). So up to `BATCH - 1` replaced values may stay alive, with no
//! reader holding them, until more writes fill the bag or the map is dropped.
//!
//! # Examples
//!
//! ```
//! use std::{sync::Arc, thread};
//! use syncmap_arcswap::SyncMap;
//!
//! let config: SyncMap<String, String> = SyncMap::new();
//! config.store("mode".to_string(), "fast".to_string());
//! assert_eq!(*config.load("mode").unwrap(), "fast"); // a guard-backed `ArcRef`, no count written
//! let mode: Arc<String> = config.load_owned("mode").unwrap(); // `load_full`: an owned `Arc`
//! config.store("mode".to_string(), "safe".to_string());
//! // The handle owns its value: it can leave the thread, and outlive the map.
//! drop(config);
//! thread::spawn(move || assert_eq!(*mode, "fast")).join().unwrap();
//! ```
//!
//! An owned `Arc` can be held across an `.await` in a `Send` future (an `ArcRef` cannot: see
//! [`ArcRef`]):
//!
//! ```
//! use std::{future::Future, pin::pin, task::{Context, Poll, Waker}};
//! use syncmap_arcswap::SyncMap;
//!
//! fn assert_send<F: Future + Send>(future: F) -> F {
//!     future
//! }
//!
//! async fn yield_once() {
//!     let mut yielded = false;
//!     std::future::poll_fn(|_| if yielded { Poll::Ready(()) } else { yielded = true; Poll::Pending })
//!         .await
//! }
//!
//! let map: SyncMap<&str, Vec<u8>> = SyncMap::new();
//! map.store("blob", vec![1, 2, 3]);
//! let mut task = pin!(assert_send(async {
//!     let blob = map.load_owned("blob").unwrap();
//!     yield_once().await;
//!     blob.len()
//! }));
//! let mut cx = Context::from_waker(Waker::noop());
//! assert!(task.as_mut().poll(&mut cx).is_pending());
//! map.store("blob", Vec::new()); // the task's handle still sees the old value
//! assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(3));
//! ```
//!
//! [arc-swap]: https://docs.rs/arc-swap
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`, whose example runs as a doc test (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
mod compile_fail_tests;

use core::{fmt, mem, ptr::NonNull};
use std::{
    hash::RandomState,
    sync::{Arc, OnceLock, PoisonError},
};

pub use syncmap_core::{ConcurrentMap, Stats};
use syncmap_core::{
    Reclaim, Retire,
    reclaim::{Guarded, Retired},
    unwind::DropAll,
};

use crate::sync::{Current, Mutex, MutexGuard};

/// The synchronisation the generation protocol is written against: std's `Mutex` and `Arc` and
/// arc-swap's `ArcSwap`, or, under `cfg(loom)`, loom's `Mutex` and `Arc` and a stand-in for
/// `ArcSwap`, so that `tests/loom.rs` can model-check the protocol (arc-swap has no loom
/// support).
///
/// Values stay in `std::sync::Arc` under loom too (they are the map's `Stored` pointers): the
/// models read them only through pinned loads, whose safety rests on the generations alone.
mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    /// The current generation: arc-swap's `ArcSwap`.
    #[cfg(not(loom))]
    pub(crate) type Current<T> = arc_swap::ArcSwap<T>;

    /// What loading [`Current`] holds: a share of the generation, as arc-swap protects it.
    #[cfg(not(loom))]
    pub(crate) type Loaded<T> = arc_swap::Guard<Arc<T>>;

    /// What loading [`Current`] holds: a share of the generation.
    #[cfg(loom)]
    pub(crate) type Loaded<T> = Arc<T>;

    /// Takes `arc`'s value if this is its last share; otherwise only drops the share.
    #[cfg(not(loom))]
    pub(crate) fn into_inner<T>(arc: Arc<T>) -> Option<T> {
        Arc::into_inner(arc)
    }

    /// Takes `arc`'s value if this is its last share; otherwise only drops the share. (Unlike
    /// `into_inner`, two racing calls may both fail; the share dropped last then drops the
    /// value in the ordinary way, which is as correct, only recursive.)
    #[cfg(loom)]
    pub(crate) fn into_inner<T>(arc: Arc<T>) -> Option<T> {
        Arc::try_unwrap(arc).ok()
    }

    /// A loom-checkable stand-in for `ArcSwap`, with the part of its contract the protocol
    /// uses: `load` returns a share of the pointer stored last, and synchronises with the
    /// `swap` that stored it; `swap` returns the previous share. A lock gives both (more
    /// ordering than arc-swap's debt lists give, which the model therefore does not check).
    #[cfg(loom)]
    #[derive(Debug)]
    pub(crate) struct Current<T>(Mutex<Arc<T>>);

    #[cfg(loom)]
    impl<T> Current<T> {
        pub(crate) fn from_pointee(value: T) -> Self {
            Current(Mutex::new(Arc::new(value)))
        }

        pub(crate) fn load(&self) -> Loaded<T> {
            Arc::clone(&self.0.lock().unwrap_or_else(|poison| poison.into_inner()))
        }

        pub(crate) fn swap(&self, new: Arc<T>) -> Arc<T> {
            let mut current = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
            core::mem::replace(&mut *current, new)
        }
    }
}

/// Go's `sync.Map` whose values live in `Arc`s: [`load`](SyncMap::load) returns an [`ArcRef`]
/// (no count written), [`load_owned`](SyncMap::load_owned) the `Arc<V>`.
///
/// The method examples below name this alias `SyncMap`: they run as written after
/// `use syncmap_arcswap::SyncMap;`. [`into_iter`](IntoIterator::into_iter) yields
/// `(K, Arc<V>)`, since `Arc`s taken earlier ([`load_owned`](SyncMap::load_owned),
/// [`ArcRef::into_arc`]) may still share a value.
///
/// # std names
///
/// The methods take Go's names; std's `HashMap` names (`insert`, `get`, `get_mut`, `remove`,
/// `entry`) are doc aliases, so a search for them lands here and on these methods:
///
/// | `std::collections::HashMap` | this map |
/// |---|---|
/// | `insert(k, v)` | [`store`](SyncMap::store); [`swap`](SyncMap::swap) returns the old value |
/// | `get(&k)` | [`load`](SyncMap::load) (an [`ArcRef`]); [`load_owned`](SyncMap::load_owned) (the `Arc<V>`, arc-swap's `load_full`); [`load_cloned`](SyncMap::load_cloned) (a clone of `V`); `pin().load(&k)` (`&V`) |
/// | `get_mut(&k)`, `entry(k).and_modify(f)` | [`update`](SyncMap::update) (`f` maps the old value to the new one) |
/// | `remove(&k)` | [`load_and_delete`](SyncMap::load_and_delete), [`delete`](SyncMap::delete) |
/// | `entry(k).or_insert(v)`, `.or_insert_with(f)` | [`load_or_store`](SyncMap::load_or_store), [`load_or_store_with`](SyncMap::load_or_store_with) |
/// | `iter()` | [`range`](SyncMap::range); `pin().iter()`, `.keys()`, `.values()` |
/// | `contains_key`, `len`, `is_empty`, `clear`, `retain`, `into_iter` | the same names |
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use syncmap_arcswap::SyncMap;
///
/// let map: SyncMap<&str, u32> = SyncMap::new();
/// map.store("a", 1);
/// assert_eq!(*map.load("a").unwrap(), 1);
/// let a: Arc<u32> = map.load_owned("a").unwrap();
/// let owned: Vec<(&str, Arc<u32>)> = map.into_iter().collect();
/// assert!(Arc::ptr_eq(&owned[0].1, &a), "the consumed map gives back the shared value");
/// ```
#[doc(alias("insert", "get", "get_mut", "remove", "entry", "HashMap", "load_full"))]
pub type SyncMap<K, V, S = RandomState> = syncmap_core::SyncMap<K, V, ArcSwapReclaim, S>;

/// A pinned view of a [`SyncMap`], from [`SyncMap::pin`]: loads return `&V` without touching
/// reference counts.
///
/// # Examples
///
/// ```
/// use syncmap_arcswap::SyncMap;
///
/// let map: SyncMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
/// let pinned = map.pin();
/// assert_eq!(pinned.load(&3), Some(&3));
/// ```
///
/// Unlike the epoch backends' pins, this one is `Send` (its arc-swap guard is): a pinned view
/// may move to another thread, for example inside a `Send` future, and keep lending `&V`
/// there.
///
/// ```
/// use std::thread;
/// use syncmap_arcswap::SyncMap;
///
/// let map: SyncMap<u32, String> = (0..4).map(|i| (i, i.to_string())).collect();
/// let pinned = map.pin();
/// thread::scope(|s| {
///     s.spawn(move || assert_eq!(pinned.load(&2).map(String::as_str), Some("2")));
/// });
/// ```
pub type Pinned<'m, K, V, S = RandomState> = syncmap_core::Pinned<'m, K, V, ArcSwapReclaim, S>;

/// A loaded value: derefs to `V`, and keeps it alive by holding the arc-swap guard the map
/// read it under, so that [`SyncMap::load`] writes no reference count. [`into_arc`](Self::into_arc)
/// turns it into the value's `Arc<V>`; [`SyncMap::load_owned`] loads that `Arc` directly
/// (arc-swap's `load_full`). The handle that `swap`, `load_and_delete`, `load_or_store` and
/// the other handle-returning methods give back as well.
///
/// It borrows the map, and is neither `Send` nor `Sync`. Like an arc-swap `Guard`, it is meant
/// to be short-lived: it holds the map's generation, so while it lives nothing that the map
/// retires is freed (every value overwritten or deleted meanwhile stays allocated), and each
/// thread has only a few of arc-swap's fast debt slots, beyond which loads fall back to a
/// reference count on the generation. Use [`into_arc`](Self::into_arc) or
/// [`SyncMap::load_owned`] for a value that must be kept.
///
/// # Holding a value across `.await`, or sending it to a thread
///
/// An `ArcRef` held across an `.await` would hold back the map's reclamation for as long as the
/// task sleeps, so it is `!Send` (arc-swap's own guard would allow it; a [`Pinned`] view, which
/// one asks for in order to hold a guard, is `Send`): a future that must be `Send` (a spawned
/// task) does not compile with one alive across an `.await`. rustc 1.95 says, for an `ArcRef<String>` named `name`:
///
/// ```text
/// error: future cannot be sent between threads safely
///    |
///    = help: within `impl Future<Output = usize>`, the trait `Send` is not implemented for `NonNull<String>`
/// note: future is not `Send` as this value is used across an await
///    |
///  6 |     let name = map.load(&1);
///    |         ---- has type `Option<ArcRef<'_, String>>` which is not `Send`
///  7 |     std::future::ready(()).await;
///    |                            ^^^^^ await occurs here, with `name` maybe used later
/// ```
///
/// ```compile_fail,E0277
/// use syncmap_arcswap::SyncMap;
///
/// async fn handle(map: &SyncMap<u32, String>) -> usize {
///     let name = map.load(&1);
///     std::future::ready(()).await;
///     name.map_or(0, |n| n.len())
/// }
///
/// fn assert_send<T: Send>(_: T) {}
/// let map = SyncMap::new();
/// assert_send(handle(&map));
/// ```
///
/// The way out is an owned `Arc<V>`: [`SyncMap::load_owned`] (`load_full` in arc-swap's
/// terms) or `map.load(k)?.into_arc()`. It holds no guard, is `Send` when `V: Send + Sync`, and
/// may outlive the map:
///
/// ```
/// use std::sync::Arc;
/// use syncmap_arcswap::SyncMap;
///
/// async fn handle(map: &SyncMap<u32, String>) -> usize {
///     let name: Option<Arc<String>> = map.load_owned(&1); // no guard held from here on
///     std::future::ready(()).await;
///     name.map_or(0, |n| n.len())
/// }
///
/// fn assert_send<T: Send>(_: T) {}
/// let map = SyncMap::new();
/// map.store(1, "one".to_string());
/// assert_send(handle(&map));
/// ```
///
/// # Examples
///
/// ```
/// use std::{sync::Arc, thread};
/// use syncmap_arcswap::{ArcRef, SyncMap};
///
/// let map: SyncMap<&str, String> = SyncMap::new();
/// map.store("k", "old".to_string());
/// let old: ArcRef<'_, String> = map.load("k").unwrap();
/// map.store("k", "new".to_string());
/// assert_eq!(old.as_str(), "old"); // the handle keeps the replaced value alive
/// let old: Arc<String> = old.into_arc(); // now owned: it may leave the thread
/// drop(map);
/// thread::spawn(move || assert_eq!(*old, "old")).join().unwrap();
/// ```
#[doc(alias("Ref", "Guard", "load_full", "into_arc"))]
pub struct ArcRef<'a, T> {
    /// The value and the guard it was read under.
    ///
    /// Invariant: the value pointer came from `Arc::into_raw` (the map's `Stored`, an `Arc`),
    /// and the map's own strong count, or a later owner's, is alive while the guard lives.
    inner: Guarded<'a, Guard, T>,
}

impl<T> ArcRef<'_, T> {
    /// Turns the handle into the value's `Arc<T>`: takes a new strong count (a write to the
    /// value's count, which the handle avoided) and releases the guard. The result holds no
    /// guard and does not borrow the map: it may cross threads and `.await`s and outlive the
    /// map. [`SyncMap::load_owned`] does the same in one call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use syncmap_arcswap::SyncMap;
    ///
    /// let map: SyncMap<u8, Vec<u8>> = SyncMap::new();
    /// map.store(1, vec![1, 2]);
    /// let shared: Arc<Vec<u8>> = map.load(&1).unwrap().into_arc();
    /// drop(map);
    /// assert_eq!(*shared, [1, 2]);
    /// ```
    #[inline]
    #[must_use]
    #[doc(alias("load_full", "into_inner", "to_arc"))]
    pub fn into_arc(self) -> Arc<T> {
        let ptr: *const T = &*self.inner;
        // SAFETY: the field's invariant: `ptr` came from `Arc::into_raw`, and a strong count is
        // alive while `self.inner`'s guard lives, which it does until the end of this function,
        // after the new count is taken.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }
}

impl<T> core::ops::Deref for ArcRef<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> AsRef<T> for ArcRef<'_, T> {
    #[inline]
    fn as_ref(&self) -> &T {
        &self.inner
    }
}

impl<T> core::borrow::Borrow<T> for ArcRef<'_, T> {
    #[inline]
    fn borrow(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for ArcRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for ArcRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// How many retired objects the open generation collects before it is closed (unless
/// [`Reclaim::flush`] closes it earlier).
///
/// Closing costs an allocation and an `ArcSwap::swap`, which visits every thread's debt slots;
/// batching spreads that over this many retirements. It also bounds what a quiet map keeps
/// alive beyond its readers: at most `BATCH - 1` retired objects, freed when the map is dropped
/// if no write fills the bag before.
///
/// Under `cfg(loom)` it is 2, so that the models close generations in a few steps.
pub const BATCH: usize = if cfg!(loom) { 2 } else { 64 };

/// The arc-swap reclamation strategy: values live in `Arc`s, and retired objects are freed by
/// generations published through an `ArcSwap` (see the [crate docs](crate)).
///
/// # Invariants
///
/// * `current` is the open generation: it has no successor and nothing closed in it. The
///   objects retired while it is open are in `pending`, which holds fewer than [`BATCH`] of
///   them between calls.
/// * Objects enter `pending`, and generations are closed (swapped out of `current`), only with
///   the `pending` lock held; so every object in a closed generation's bag was retired before
///   the swap that closed it, and generations are closed in the order they were published.
/// * A closed generation holds the bag that was pending when it was closed (possibly empty
///   only at the strategy's drop) and a link to the generation published in its place.
///
/// # Examples
///
/// ```
/// use syncmap_arcswap::ArcSwapReclaim;
///
/// // The strategy is usually named only through the `SyncMap` alias:
/// let map: syncmap_core::SyncMap<u8, u8, ArcSwapReclaim> = syncmap_core::SyncMap::new();
/// map.store(1, 2);
/// assert_eq!(*map.load(&1).unwrap(), 2);
/// ```
pub struct ArcSwapReclaim {
    current: Current<Generation>,
    /// The objects retired while `current` is open. Its lock also serialises the closing of
    /// generations, so that each closed generation is linked to its successor before that
    /// successor can be closed in turn.
    pending: Mutex<Vec<Retired>>,
}

impl Default for ArcSwapReclaim {
    fn default() -> Self {
        ArcSwapReclaim {
            current: Current::from_pointee(Generation::default()),
            pending: Mutex::new(Vec::with_capacity(BATCH)),
        }
    }
}

impl fmt::Debug for ArcSwapReclaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArcSwapReclaim").finish_non_exhaustive()
    }
}

impl ArcSwapReclaim {
    /// Closes the open generation: hands it the pending bag, publishes a fresh generation, and
    /// links the closed one to it. Returns the closed generation, to be dropped by the caller
    /// *after* releasing the lock.
    ///
    /// `pending` is the guard of `self.pending` (the lock the invariants require).
    #[cold]
    fn close_locked(&self, pending: &mut Vec<Retired>) -> sync::Arc<Generation> {
        let retired = mem::replace(pending, Vec::with_capacity(BATCH));
        let next = sync::Arc::new(Generation::default());
        let closed = self.current.swap(sync::Arc::clone(&next));
        let fresh = closed
            .closed
            .set(Closed {
                retired,
                next: Some(next),
            })
            .is_ok();
        assert!(fresh, "the open generation was already closed");
        closed
    }

    /// Locks `pending`, ignoring poison: no code panics while holding it with the bag in a
    /// state other than consistent (a push, a `mem::replace`, an allocation failure aborts).
    fn lock_pending(&self) -> MutexGuard<'_, Vec<Retired>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ArcSwapReclaim {
    fn drop(&mut self) {
        // Hand what is still pending to the open generation, as a closing would, but with no
        // successor. It is freed when the last share of that generation goes: here, when
        // `current` is dropped just after this, since the map has dropped its guards (a stray
        // guard from a direct `pin` would only delay it).
        let retired = mem::take(
            self.pending
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if retired.is_empty() {
            return;
        }
        let open = self.current.load();
        let fresh = open
            .closed
            .set(Closed {
                retired,
                next: None,
            })
            .is_ok();
        assert!(fresh, "the open generation was already closed");
    }
}

/// The protection of one thread's reads: a share of the generation that was current when it
/// was made. Obtained from [`Reclaim::pin`]; the map makes and drops these itself.
///
/// # Examples
///
/// ```
/// use syncmap_arcswap::{ArcSwapReclaim, Guard};
/// use syncmap_core::Reclaim;
///
/// let reclaim = ArcSwapReclaim::default();
/// let guard: Guard = reclaim.pin();
/// drop(guard);
/// ```
pub struct Guard {
    /// Held, not read: a share of the generation, released on drop.
    _generation: sync::Loaded<Generation>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

/// An epoch of the map's life, between two closings.
#[derive(Default)]
struct Generation {
    /// Set once, when this generation stops being current (or when the strategy is dropped).
    closed: OnceLock<Closed>,
}

/// What a generation holds once it is closed.
struct Closed {
    /// The objects retired while this generation was open; safe to free when it is dropped.
    retired: Vec<Retired>,
    /// The generation published in its place, kept alive until this one is dropped (`None`
    /// only for the generation that was open when the strategy was dropped).
    next: Option<sync::Arc<Generation>>,
}

impl Closed {
    /// Frees the bag and returns the successor. A reclaimer that panics (a user's `Drop`) does
    /// not stop the others: its panic is kept in `drops`.
    ///
    /// # Safety
    ///
    /// The generation this came from is being dropped: no guard holds it and every older
    /// generation is gone.
    unsafe fn reclaim(self, drops: &mut DropAll) -> Option<sync::Arc<Generation>> {
        for retired in self.retired {
            // SAFETY: our caller's contract: the generation is dropped only when no guard
            // holds it and every older generation has been dropped (each keeps its successor
            // alive), so every guard that may have observed an object of its bag is gone (see
            // the `unsafe impl Reclaim`); and each bag is reclaimed once, with its generation.
            drops.run(|| unsafe { retired.reclaim() });
        }
        self.next
    }
}

impl Drop for Generation {
    /// Frees this generation's bag and those of the successors it was the last owner of. If
    /// reclaimers panic, every other object of those bags is still freed, and the first panic
    /// resumes at the end (from the drop of the guard or strategy that dropped the generation),
    /// unless the thread is already unwinding.
    fn drop(&mut self) {
        let Some(closed) = self.closed.take() else {
            return;
        };
        let mut drops = DropAll::new();
        // SAFETY: this generation is being dropped (see `Closed::reclaim`).
        let mut next = unsafe { closed.reclaim(&mut drops) };
        // Release the chain of successors this generation was the last owner of, in a loop
        // rather than by recursive drops.
        while let Some(generation) = next {
            next = sync::into_inner(generation)
                .and_then(|mut generation| generation.closed.take())
                .and_then(|closed| {
                    // SAFETY: we held the last reference to that generation, so it is being
                    // dropped, and its predecessor (this chain) is gone.
                    unsafe { closed.reclaim(&mut drops) }
                });
        }
        drops.finish();
    }
}

// SAFETY:
// 1. Protection. A reader's guard holds the generation G it loaded (arc-swap loads the pointer
//    with SeqCst) in `pin`. `retire(ptr)` runs after the map's store that unlinked `ptr`, and
//    pushes `ptr` into `pending` under its lock; the generation C that was open then is closed
//    later by a swap made under the same lock, so the push (and with it the unlinking store)
//    happens-before that swap and every later one. If G is C or older, `ptr` is freed only when
//    C is dropped, which waits for G (older generations own their successors) and so for the
//    guard. If G is newer than C, it was published by the swap that closed C or a later one;
//    the guard's load read that publication and synchronised with it, so every load the reader
//    makes after `pin` sees the unlinking store (or a later one) and cannot observe `ptr`.
// 2. Exactly once. Each retired object is pushed once into `pending`, which moves whole into
//    exactly one generation (`close_locked`, or the strategy's drop); a generation is dropped
//    once and reclaims its bag once. The strategy's drop hands the last bag to the open
//    generation and releases it, and with it the chain, once the last guard is gone (the map
//    drops all its guards before itself).
// 3. Values are `Arc<T>` (`Stored`). `make_ref` returns an `ArcRef` that keeps the guard the
//    pointer was read under, so by item 1 the value outlives the handle; the handle borrows the
//    map (`'a`), so it never outlives the strategy either. `ArcRef::into_arc` takes a new strong
//    count while that guard keeps the map's own count alive, so the `Arc<T>` it returns owns its
//    share; a map moved away from such `Arc`s needs `Arc<V>: Send`, which `Stored<V> = Arc<V>`
//    reports.
// 4. `pin` (an arc-swap load), `retire` and `flush` (lock, push, and at times allocate and
//    swap) do not unwind short of OOM. Reclaimers (user `Drop`s) run only where a generation is
//    dropped, never with `pending` locked (a reclaimer may re-enter the map), and never in
//    `retire` or `flush`: the caller's guard holds the generation they close or an older one,
//    which keeps it alive, so the share they drop (after unlocking) is never the last. They
//    run when a guard is dropped, which the map does outside its lock, or at the strategy's
//    drop; a panicking one does not stop the others (`Generation`'s drop), and its panic
//    resumes once they have run, from that drop.
unsafe impl Reclaim for ArcSwapReclaim {
    type Guard<'a> = Guard;
    type Ref<'a, T: 'a> = ArcRef<'a, T>;
    type Stored<T> = Arc<T>;

    #[inline]
    fn pin(&self) -> Guard {
        Guard {
            _generation: self.current.load(),
        }
    }

    #[inline]
    unsafe fn retire<T: Retire>(&self, _guard: &Guard, ptr: NonNull<T>) {
        // SAFETY: forwarded from our caller, `retire`'s contract.
        let retired = unsafe { Retired::new(ptr) };
        let closed = {
            let mut pending = self.lock_pending();
            pending.push(retired);
            if pending.len() < BATCH {
                return;
            }
            self.close_locked(&mut pending)
        };
        // Our caller's guard holds this generation or an older one, so this never frees it;
        // the last guard to let go does. Dropped outside the lock regardless.
        drop(closed);
    }

    fn flush(&self, _guard: &Guard) {
        let closed = {
            let mut pending = self.lock_pending();
            if pending.is_empty() {
                return;
            }
            self.close_locked(&mut pending)
        };
        // As in `retire`: never the last share while the caller's guard lives.
        drop(closed);
    }

    #[inline]
    unsafe fn make_ref<'a, T: 'a>(guard: Guard, ptr: NonNull<T>) -> ArcRef<'a, T> {
        // SAFETY: `ptr` came from `Arc::into_raw` (our `Stored`) and was read under `guard`,
        // which the handle keeps: the value stays alive while the guard lives, because the
        // generation holding its retirement cannot be freed before. That generation is the
        // guard's or a newer one (one closed before the guard's load was closed after the store
        // that unlinked `ptr`, so the read would not have found it: item 1 below), and a
        // generation is freed only after every older one, including the guard's. So the map's
        // own strong count is not given up (by `Arc::from_raw`, in a reclaimer) while the handle
        // lives, which is also `ArcRef`'s invariant; `'a` borrows the map.
        let inner = unsafe { Guarded::new(guard, ptr) };
        ArcRef { inner }
    }
}

// SAFETY: every retired object is in a generation's bag, or pending; the strategy's drop hands
// the pending ones to the open generation, and dropping `current` then frees the chain, since
// every guard lives inside a call of the map or in a `Pinned` or `ArcRef` borrowing it (an
// `Arc<V>` from `into_arc` or `load_owned` holds no guard). So nothing is reclaimed after the
// strategy's drop, and borrowed keys and values are sound; an `Arc<V>` that outlives the map
// is bounded by `V`'s own lifetime.
unsafe impl<T> syncmap_core::Admits<T> for ArcSwapReclaim {}
