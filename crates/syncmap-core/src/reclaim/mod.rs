//! The backend contract: how a memory-reclamation strategy protects, publishes and retires the
//! map's shared pointers.
//!
//! The algorithm in [`SyncMap`](crate::SyncMap) never frees anything that another thread may
//! still be reading. It hands such objects to its [`Reclaim`] strategy instead, which frees them
//! once every reader that could have seen them is gone. A backend crate is one `unsafe impl
//! Reclaim` and some type aliases, the way a `parking_lot` mutex is one `unsafe impl RawMutex`
//! and an alias of `lock_api::Mutex`.
//!
//! # Implementing a backend
//!
//! 1. Write a strategy type (usually a marker, or a per-map collector) that is `Default`.
//! 2. Implement [`Reclaim`] for it, meeting the `# Safety` contract below.
//! 3. Export `pub type SyncMap<K, V, S = RandomState> = syncmap_core::SyncMap<K, V, MyReclaim, S>;`.
//!
//! A guard-based strategy stores values in `Box`es and uses [`Guarded`] as its
//! [`Ref`](Reclaim::Ref); a reference-counted one stores them in `Arc`s
//! ([`Stored`](Reclaim::Stored)), so that owned shares are one count away
//! ([`CloneOwned`], [`SyncMap::load_owned`](crate::SyncMap::load_owned)), while its `Ref` may
//! still be guard-backed (`syncmap-arcswap`'s `ArcRef`).
//!
//! [`DeferToDrop`] is the smallest sound strategy: it frees nothing until the map is dropped. It
//! is the reference the conformance suite and the loom models run against.

use core::{ops::Deref, ptr::NonNull, sync::atomic::Ordering};

mod admits;
mod clone_owned;
mod defer_to_drop;
#[cfg(all(test, not(loom)))]
pub(crate) mod eager;
mod guarded;
mod owned;
mod retired;

pub use admits::Admits;
pub use clone_owned::CloneOwned;
pub use defer_to_drop::DeferToDrop;
pub use guarded::Guarded;
pub use owned::ReclaimOwned;
pub use retired::Retired;

/// A memory-reclamation strategy for [`SyncMap`](crate::SyncMap).
///
/// The map allocates three kinds of shared objects: the read table, the entries, and the values.
/// Readers reach them without taking a lock, inside a *guard* obtained from [`pin`](Self::pin).
/// A writer that makes an object unreachable passes it to [`retire`](Self::retire) (entries go
/// with the read table they die with, or with an unpublished carrier table when many die at
/// once: see [`RETIRE_PIECE`](Self::RETIRE_PIECE)); the strategy calls [`Retire::reclaim`] on it
/// later. Values are kept in the strategy's smart pointer
/// ([`Stored`](Self::Stored)), so that a backend can store them as `Box<V>` or as `Arc<V>`, and
/// hand them out as the cheapest handle it has ([`Ref`](Self::Ref)).
///
/// Protection is a property of the guard and, for lookups, of one ordering. The map reads shared
/// pointers with ordinary atomic loads, so a strategy cannot ask for its own load operation. A
/// guard from [`pin`](Self::pin) protects loads of any ordering (the writes' acquire loads and
/// CAS loops); epoch schemes meet this with a sequentially consistent fence in `pin`
/// (crossbeam-epoch does so itself). A guard from [`pin_reads`](Self::pin_reads), which the
/// map's lookups use, need only protect the loads the map makes with
/// [`READ_ORDERING`](Self::READ_ORDERING): a strategy whose protection comes from `SeqCst` loads
/// rather than a fence at `pin` (seize's `Guard::protect`; see `syncmap_epoch::seize`) sets it to
/// `SeqCst` and leaves the fence out of `pin_reads`. A scheme that needs every protected load to
/// go through its own API (hazard pointers) does not fit this trait.
///
/// # Safety
///
/// An implementation must guarantee, for every `guard` returned by `pin` and every `ptr` passed
/// to `retire`:
///
/// 1. **Protection.** `reclaim` runs on `ptr` only after every guard that may have observed
///    `ptr` has been dropped. A guard may have observed `ptr` unless the store that unlinked it
///    (which the map performs before calling `retire`) is visible to every load made under it:
///    every load that happens after `pin` returned, on the pinning thread or on another thread
///    the guard's protection was handed to. Those include the loads of the iterators of a
///    [`Pinned`](crate::Pinned) that moved to another thread (when it is `Send`), and those of
///    `par_iter`'s workers, which start after the pin. This must hold for loads of *any*
///    ordering, including acquire loads and the failure loads of CAS loops, and for pointers
///    read from memory reached through them or under the map's lock: the map reads with plain
///    atomics, not through the strategy. In the Rust (C++20) memory model, a `SeqCst` fence
///    after the store that marks the reader active gives this for all of them; a `SeqCst`
///    marking store alone does not, since it orders no later load that is not `SeqCst` itself.
///
///    A guard from [`pin_reads`](Self::pin_reads) must meet the same obligation for a narrower
///    set of loads: the map's loads with [`READ_ORDERING`](Self::READ_ORDERING) of its root
///    (the array of its shards' read tables) and of entries' value slots, made while it lives
///    (on the pinning thread, or a thread the protection was handed to), and the pointers the
///    map reads from memory it reached through them (the root's read tables, their slots, the
///    entries they link) or under its lock.
///    Under such a guard the map makes no other load of a pointer it dereferences: its writes pin
///    with `pin`, even when a `pin_reads` guard is alive on the thread. In the memory model, a
///    `SeqCst` marking store, `SeqCst` loads (`READ_ORDERING = SeqCst`) and a `SeqCst` fence
///    between the retiring thread's unlinking store and its check of the readers give this: a
///    `SeqCst` load that missed the unlinking store precedes that fence in the single total
///    order, and so does the marking store before it. So does a heavy barrier on the retiring
///    side (`membarrier`) that acts as a fence on every thread, for loads of any ordering.
/// 2. **Exactly once.** Every retired pointer is eventually reclaimed exactly once: at the latest
///    when the strategy value itself is dropped, or (for a strategy sharing a global collector)
///    some time after, on any thread. The map relies on this to drop every key and value exactly
///    once, and bounds `K` and `V` by `Send` for it, and by whatever [`Admits`]
///    asks (`'static` for a strategy that may reclaim after its own drop).
/// 3. **Allocation.** [`make_ref`](Self::make_ref) agrees with [`Stored`](Self::Stored), which
///    the map allocates values with (`Stored::new`, then `into_raw`; freed by `from_raw`, once):
///    a [`Ref`](Self::Ref) derefs to the value `ptr` points at for as long as it lives, even after the pointer is retired and the guard it was
///    made from would have expired. A `Ref` that can outlive the borrow of its map shares the
///    value through `Stored<T>` itself (both are `Arc<T>`, say): the map is `Send` when
///    `Stored<V>` is, even while such handles live on the thread it leaves.
/// 4. **No unwinding** from `pin`, `retire` or `flush`, except by propagating a panic from a
///    [`Retire::reclaim`] they run (the `Drop` of a user's key or value). The map calls them only
///    where such a panic leaks at worst, never frees twice. A strategy that reclaims many
///    pointers at once keeps going past a panicking `reclaim` and resumes the panic after the
///    rest ([`unwind::DropAll`](crate::unwind::DropAll); [`unwind::catch_deferred`](crate::unwind::catch_deferred)
///    when the loop belongs to a collector), so that one panicking `Drop` leaks nothing else.
///
/// # Examples
///
/// A backend in three steps (as `lock_api` shows for mutexes): a strategy type, its `unsafe
/// impl`, and an alias. This one delegates to [`DeferToDrop`] and counts retirements.
///
/// ```
/// use core::ptr::NonNull;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use syncmap_core::{Reclaim, Retire, SyncMap, reclaim::DeferToDrop};
///
/// #[derive(Default)]
/// pub struct Counting {
///     inner: DeferToDrop,
///     retired: AtomicUsize,
/// }
///
/// // SAFETY: every obligation is met by `DeferToDrop`, to which each method delegates.
/// unsafe impl Reclaim for Counting {
///     type Guard<'a> = ();
///     type Ref<'a, T: 'a> = &'a T;
///     type Stored<T> = Box<T>;
///
///     fn pin(&self) {}
///
///     unsafe fn retire<T: Retire>(&self, guard: &(), ptr: NonNull<T>) {
///         self.retired.fetch_add(1, Ordering::Relaxed);
///         // SAFETY: forwarded from our caller.
///         unsafe { self.inner.retire(guard, ptr) }
///     }
///
///     unsafe fn make_ref<'a, T: 'a>(guard: (), ptr: NonNull<T>) -> &'a T {
///         // SAFETY: forwarded from our caller.
///         unsafe { DeferToDrop::make_ref(guard, ptr) }
///     }
/// }
///
/// // SAFETY: `DeferToDrop` reclaims everything in its drop, so borrowed keys and values are fine.
/// unsafe impl<T> syncmap_core::Admits<T> for Counting {}
///
/// pub type CountingMap<K, V> = SyncMap<K, V, Counting>;
///
/// let map: CountingMap<&str, u32> = CountingMap::new();
/// map.store("a", 1);
/// map.store("a", 2); // retires the value 1
/// assert_eq!(*map.load("a").unwrap(), 2);
/// ```
pub unsafe trait Reclaim: Default + Send + Sync {
    /// Protection of the current thread: shared pointers read while it lives stay valid.
    type Guard<'a>
    where
        Self: 'a;

    /// The handle that [`SyncMap::load`](crate::SyncMap::load) returns: derefs to the value and
    /// keeps it alive (by owning a guard, as [`Guarded`] does, or by owning a reference count).
    type Ref<'a, T: 'a>: Deref<Target = T>
    where
        Self: 'a;

    /// Enters a protected region on the current thread (see the contract's *Protection*). The
    /// guard protects the loads that happen after this call, on any thread.
    fn pin(&self) -> Self::Guard<'_>;

    /// Enters a protected region for the map's lookups (`load`, `contains_key`, the pinned
    /// views and their iterators, `range`): the guard need only protect the map's loads with
    /// [`READ_ORDERING`](Self::READ_ORDERING), and what it reaches through them (the
    /// contract's *Protection*). The default is [`pin`](Self::pin), which protects every load.
    ///
    /// A strategy whose protection can come from its loads' ordering instead of a fence at
    /// `pin` overrides it (and `READ_ORDERING`): seize leaves out the `SeqCst` fence here, as
    /// its own protected loads do.
    #[inline]
    fn pin_reads(&self) -> Self::Guard<'_> {
        self.pin()
    }

    /// The ordering of the map's lookup loads of shared pointers: the read table's pointer
    /// (`RawMap::read`) and an entry's value slot (`Entry::state`). `Acquire` (the default)
    /// or `SeqCst`; see [`pin_reads`](Self::pin_reads). Writes load value slots with this
    /// ordering too, though under a guard from `pin` any ordering is protected.
    const READ_ORDERING: Ordering = Ordering::Acquire;

    /// Schedules `T::reclaim(ptr)` for when no guard that may have read `ptr` is alive.
    ///
    /// # Safety
    ///
    /// `guard` came from `self.pin()` and is alive: usually on this thread, but on another one
    /// when the guard is `Send` (a `Send` [`Pinned`](crate::Pinned) whose read promoted the dirty
    /// table after it moved). `ptr` must be unreachable for any thread that pins after this
    /// call, must not be retired twice, and must be valid to reclaim on any thread (`T: Send`) at
    /// any later time.
    unsafe fn retire<T: Retire>(&self, guard: &Self::Guard<'_>, ptr: NonNull<T>);

    /// The fewest entries dying with a retired read table for which the map calls
    /// [`flush`](Self::flush) (a large table is flushed regardless). The default, 1, flushes
    /// whenever a key dies with a table; a strategy whose flush is costly (it allocates, or
    /// visits every thread) raises it so that clearing a small map does not pay for it, at the
    /// price of holding back fewer than this many entries per retirement until its batch fills.
    const FLUSH_MIN_DEAD: usize = 1;

    /// The most dead entries the map retires as one object, when many die at once (a
    /// promotion's graveyard, a large `clear`). A strategy that reclaims a bounded number of
    /// objects per call (crossbeam-epoch: at most 8 bags of 64 per collection) sets it low, so
    /// that no call it makes frees a million entries; the default, no limit, suits strategies
    /// that free a whole batch at once anyway, for which pieces only add retirements.
    const RETIRE_PIECE: usize = usize::MAX;

    /// A hint that something large was just retired (a replaced read table, with the entries
    /// that died with it): a strategy that batches retirements should start the batch's
    /// reclamation now rather than when the batch fills, so that old tables do not pile up.
    /// The default does nothing.
    ///
    /// The map calls it with its dirty lock held, right after retiring a read table together
    /// with at least [`FLUSH_MIN_DEAD`](Self::FLUSH_MIN_DEAD) entries that died with it (a
    /// `clear`, a compaction, or keys expunged at the last rebuild), or a table of at least
    /// 1,024 slots; a small table with fewer dead entries waits for the batch to fill. Like
    /// `retire`, it may run reclaimers only under item 4 of the contract.
    #[inline]
    fn flush(&self, guard: &Self::Guard<'_>) {
        let _ = guard;
    }

    /// The smart pointer the map keeps each value in: `Box<T>` for guard-based strategies, whose
    /// handles borrow the value, or `Arc<T>` for a strategy whose handles own a share of it.
    ///
    /// Besides choosing how values are allocated and freed ([`StoredPtr::new`] and
    /// [`StoredPtr::from_raw`]), it decides when the map is `Send`: the map requires
    /// `Stored<V>: Send`. A map whose loaded handles share values can move to another thread
    /// while a handle stays behind, so `V` must then be `Sync` as well, which `Arc<V>: Send` says.
    type Stored<T>: StoredPtr<T>;

    /// Turns a protected value pointer into the handle `load` returns, consuming `guard`.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`StoredPtr::into_raw`] of [`Stored`](Self::Stored) (or, when `Stored`
    /// is the value's only owner, [`StoredPtr::UNIQUE`], it may point at a value the map keeps
    /// inside an entry's allocation) and was read under `guard`, so it is still valid.
    unsafe fn make_ref<'a, T: 'a>(guard: Self::Guard<'a>, ptr: NonNull<T>) -> Self::Ref<'a, T>;
}

/// An object the map retires: the strategy calls [`reclaim`](Self::reclaim) on it later.
///
/// Only `syncmap-core` implements this trait (it is sealed); strategies call it.
pub trait Retire: sealed::Sealed {
    /// Destroys the object and frees its memory. If a user's `Drop` in it panics, everything
    /// else it owns is still dropped and freed, and then the (first) panic resumes.
    ///
    /// # Safety
    ///
    /// `ptr` was passed to [`Reclaim::retire`] and no guard that could have read it is alive.
    /// It is called at most once per retired pointer.
    unsafe fn reclaim(ptr: NonNull<Self>);
}

pub(crate) mod sealed {
    /// Seals [`Retire`](super::Retire) (the map decides what is retired and how it is freed) and
    /// [`StoredPtr`](super::StoredPtr) (`Box` and `Arc` only).
    pub trait Sealed {}
}

/// A smart pointer that [`Reclaim::Stored`] may name: `Box<T>` or `Arc<T>` (sealed).
///
/// # Examples
///
/// ```
/// use syncmap_core::reclaim::StoredPtr;
///
/// let ptr = <Box<u32> as StoredPtr<u32>>::new(5).into_raw();
/// // SAFETY: `ptr` came from `into_raw` of the same pointer type, and is used once.
/// let boxed = unsafe { <Box<u32> as StoredPtr<u32>>::from_raw(ptr) };
/// assert_eq!(*boxed, 5);
/// ```
pub trait StoredPtr<T>: Deref<Target = T> + sealed::Sealed {
    /// Whether the map is the value's only owner (`Box<T>`): handles borrow it under a guard
    /// and never own a share. Only then may a value live inside its entry's allocation rather
    /// than in a pointer of its own (see `Entry`'s inline slot), since no handle needs its own
    /// header (an `Arc`'s counts) next to the value.
    const UNIQUE: bool;

    /// Moves `value` into a new pointer.
    fn new(value: T) -> Self;

    /// Gives up the pointer's ownership as a raw pointer to the value.
    fn into_raw(self) -> NonNull<T>;

    /// Takes back the ownership `into_raw` gave up.
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw` of the same type, and each such pointer is taken back once.
    unsafe fn from_raw(ptr: NonNull<T>) -> Self;

    /// What a consumed map gives back for each value ([`IntoIter`](crate::IntoIter)): `T` for
    /// `Box<T>`, whose only owner was the map, and `Arc<T>` for `Arc<T>`, since handles loaded
    /// earlier may still share the value (they may outlive the map).
    type Owned;

    /// Unwraps the pointer into [`Owned`](Self::Owned).
    ///
    /// ```
    /// use syncmap_core::reclaim::StoredPtr;
    /// use std::sync::Arc;
    ///
    /// let unboxed: String = StoredPtr::into_owned(Box::new("a".to_string()));
    /// let shared: Arc<String> = StoredPtr::into_owned(Arc::new("b".to_string()));
    /// assert_eq!((unboxed.as_str(), shared.as_str()), ("a", "b"));
    /// ```
    fn into_owned(self) -> Self::Owned;

    /// Wraps a value that was never behind this pointer as [`Owned`](Self::Owned), as
    /// `into_owned(new(value))` would, without the round trip through the heap for `Box<T>`.
    fn owned(value: T) -> Self::Owned;
}

impl<T> sealed::Sealed for Box<T> {}

impl<T> StoredPtr<T> for Box<T> {
    const UNIQUE: bool = true;

    #[inline]
    fn new(value: T) -> Self {
        Box::new(value)
    }

    #[inline]
    fn into_raw(self) -> NonNull<T> {
        NonNull::from(Box::leak(self))
    }

    #[inline]
    unsafe fn from_raw(ptr: NonNull<T>) -> Self {
        // SAFETY: the caller's contract: `ptr` is a leaked box, taken back once.
        unsafe { Box::from_raw(ptr.as_ptr()) }
    }

    type Owned = T;

    #[inline]
    fn into_owned(self) -> T {
        *self
    }

    #[inline]
    fn owned(value: T) -> T {
        value
    }
}

impl<T> sealed::Sealed for std::sync::Arc<T> {}

impl<T> StoredPtr<T> for std::sync::Arc<T> {
    const UNIQUE: bool = false;

    #[inline]
    fn new(value: T) -> Self {
        std::sync::Arc::new(value)
    }

    #[inline]
    fn into_raw(self) -> NonNull<T> {
        NonNull::new(std::sync::Arc::into_raw(self).cast_mut()).expect("Arc pointers are non-null")
    }

    #[inline]
    unsafe fn from_raw(ptr: NonNull<T>) -> Self {
        // SAFETY: the caller's contract: `ptr` came from `Arc::into_raw` and its count is taken
        // back once.
        unsafe { std::sync::Arc::from_raw(ptr.as_ptr()) }
    }

    type Owned = std::sync::Arc<T>;

    #[inline]
    fn into_owned(self) -> std::sync::Arc<T> {
        self
    }

    #[inline]
    fn owned(value: T) -> std::sync::Arc<T> {
        std::sync::Arc::new(value)
    }
}
