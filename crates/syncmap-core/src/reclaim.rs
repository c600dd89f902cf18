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
//! [`DeferToDrop`] is the smallest sound strategy: it frees nothing until the map is dropped. It
//! is the reference the conformance suite and the loom models run against.

use core::{fmt, ops::Deref, ptr::NonNull};

use crate::primitive::sync::{
    Mutex,
    atomic::{AtomicPtr, Ordering},
};

/// A memory-reclamation strategy for [`SyncMap`](crate::SyncMap).
///
/// The map allocates three kinds of shared objects: the read table, the entries, and the values.
/// Readers reach them without taking a lock, inside a *guard* obtained from [`pin`](Self::pin).
/// A writer that makes an object unreachable passes it to [`retire`](Self::retire); the strategy
/// calls [`Retire::reclaim`] on it later. Values are allocated by the strategy itself
/// ([`alloc`](Self::alloc)), so that a backend can store them as `Box<V>` or as `Arc<V>`, and hand
/// them out as the cheapest handle it has ([`Ref`](Self::Ref)).
///
/// # Safety
///
/// An implementation must guarantee, for every `guard` returned by `pin` and every `ptr` passed
/// to `retire` while `guard` was alive:
///
/// 1. **Protection.** `reclaim` is not called on `ptr` until `guard` (and every guard created
///    before the `retire` call, on any thread) has been dropped. A pointer read by
///    [`protect`](Self::protect) under `guard` stays dereferenceable while `guard` lives, if it was
///    reachable when it was read.
/// 2. **Exactly once.** Every retired pointer is eventually reclaimed exactly once: at the latest
///    when the strategy value itself is dropped, or (for a strategy sharing a global collector)
///    some time after, on any thread. The map relies on this to drop every key and value exactly
///    once, and bounds `K` and `V` by `Send + 'static` for it.
/// 3. **Allocation.** [`alloc`](Self::alloc), [`dealloc`](Self::dealloc) and
///    [`make_ref`](Self::make_ref) agree on one representation: `dealloc` and `make_ref` accept
///    exactly the pointers `alloc` returned, `dealloc` drops the value once, and a
///    [`Ref`](Self::Ref) derefs to the value `ptr` points at for as long as it lives, even after
///    the pointer is retired and the guard it was made from would have expired.
/// 4. **No unwinding** from `pin`, `protect` or `retire`: the map calls them between steps
///    that must not be separated.
pub unsafe trait Reclaim: Default + Send + Sync {
    /// Protection of the current thread: shared pointers read while it lives stay valid.
    type Guard<'a>
    where
        Self: 'a;

    /// The handle that [`SyncMap::load`](crate::SyncMap::load) returns: derefs to the value and
    /// keeps it alive (by owning a guard, or by owning a reference count).
    type Ref<'a, T: 'a>: Deref<Target = T>
    where
        Self: 'a;

    /// Enters a protected region on the current thread.
    fn pin(&self) -> Self::Guard<'_>;

    /// Reads a shared pointer under `guard`.
    ///
    /// The default is a plain load: enough for epoch-based schemes, where pinning is the whole
    /// protection. Hazard-pointer-like schemes override it.
    #[inline]
    fn protect<T>(&self, guard: &Self::Guard<'_>, ptr: &AtomicPtr<T>, order: Ordering) -> *mut T {
        let _ = guard;
        ptr.load(order)
    }

    /// Schedules `T::reclaim(ptr)` for when no guard that may have read `ptr` is alive.
    ///
    /// # Safety
    ///
    /// `ptr` must be unreachable for any thread that pins after this call, must not be retired
    /// twice, and must be valid to reclaim on any thread (`T: Send`) at any later time.
    unsafe fn retire<T: Retire>(&self, guard: &Self::Guard<'_>, ptr: NonNull<T>);

    /// Moves `value` to the heap in the representation this strategy hands out.
    #[inline]
    fn alloc<T>(value: T) -> NonNull<T> {
        NonNull::from(Box::leak(Box::new(value)))
    }

    /// Drops a value allocated by [`alloc`](Self::alloc).
    ///
    /// # Safety
    ///
    /// `ptr` came from `alloc` of the same strategy, and nothing will use it again (apart from
    /// [`Ref`](Self::Ref)s made from it, which must keep the value alive on their own).
    #[inline]
    unsafe fn dealloc<T>(ptr: NonNull<T>) {
        // SAFETY: the caller passes a pointer from `alloc`, which is `Box::leak`, exactly once.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }

    /// Turns a protected value pointer into the handle `load` returns, consuming `guard`.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`alloc`](Self::alloc) and was read under `guard`, so it is still valid.
    unsafe fn make_ref<'a, T: 'a>(guard: Self::Guard<'a>, ptr: NonNull<T>) -> Self::Ref<'a, T>;
}

/// An object the map retires: the strategy calls [`reclaim`](Self::reclaim) on it later.
///
/// Only `syncmap-core` implements this trait (it is sealed); strategies call it.
pub trait Retire: sealed::Sealed {
    /// Destroys the object and frees its memory.
    ///
    /// # Safety
    ///
    /// `ptr` was passed to [`Reclaim::retire`] and no guard that could have read it is alive.
    /// It is called at most once per retired pointer.
    unsafe fn reclaim(ptr: NonNull<Self>);
}

pub(crate) mod sealed {
    /// Seals [`Retire`](super::Retire): the map decides what is retired and how it is freed.
    pub trait Sealed {}
}

/// A strategy that frees nothing while the map is alive: every retired object is kept until the
/// map is dropped.
///
/// Sound without any concurrency reasoning, and therefore the reference strategy for the
/// conformance suite and the loom models. Memory grows with every overwrite and delete, so it
/// suits tests and short-lived maps, not production caches.
///
/// # Examples
///
/// ```
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<&str, u32, DeferToDrop> = SyncMap::new();
/// map.store("a", 1);
/// map.store("a", 2); // the old value 1 is kept until `map` is dropped
/// assert_eq!(*map.load("a").unwrap(), 2);
/// ```
#[derive(Default)]
pub struct DeferToDrop {
    retired: Mutex<Vec<Deferred>>,
}

impl fmt::Debug for DeferToDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferToDrop")
            .field("retired", &self.retired.lock().len())
            .finish()
    }
}

/// A type-erased retired pointer and the function that frees it.
struct Deferred {
    ptr: NonNull<()>,
    reclaim: unsafe fn(NonNull<()>),
}

// SAFETY: `Reclaim::retire`'s contract makes every retired object `Send`.
unsafe impl Send for Deferred {}

/// Frees one retired `T` behind an erased pointer.
///
/// # Safety
///
/// `ptr` is a retired `NonNull<T>` being reclaimed for the only time.
unsafe fn reclaim_erased<T: Retire>(ptr: NonNull<()>) {
    // SAFETY: the caller's contract, forwarded.
    unsafe { T::reclaim(ptr.cast::<T>()) }
}

// SAFETY: (1) nothing is reclaimed before the strategy is dropped, which happens after the map is
// dropped, so after every guard (they borrow the map). (2) `Drop` reclaims each retired pointer
// once. (3) the default `alloc`/`dealloc` pair; `Ref` is a plain reference, valid while the map is
// borrowed, which is at least as long as nothing is freed. (4) nothing here unwinds except on OOM.
unsafe impl Reclaim for DeferToDrop {
    type Guard<'a> = ();
    type Ref<'a, T: 'a> = &'a T;

    #[inline]
    fn pin(&self) -> Self::Guard<'_> {}

    unsafe fn retire<T: Retire>(&self, _guard: &(), ptr: NonNull<T>) {
        self.retired.lock().push(Deferred {
            ptr: ptr.cast(),
            reclaim: reclaim_erased::<T>,
        });
    }

    #[inline]
    unsafe fn make_ref<'a, T: 'a>(_guard: (), ptr: NonNull<T>) -> &'a T {
        // SAFETY: nothing this strategy is given is freed before it is dropped, and the map (which
        // owns it) outlives 'a.
        unsafe { ptr.as_ref() }
    }
}

impl Drop for DeferToDrop {
    fn drop(&mut self) {
        for deferred in core::mem::take(self.retired.get_mut()) {
            // SAFETY: the map is gone, so no guard is alive; each pointer was retired once.
            unsafe { (deferred.reclaim)(deferred.ptr) }
        }
    }
}
