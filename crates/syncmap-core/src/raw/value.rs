//! A value's life, in one place. It imports nothing from `raw/`: the entries that hold values
//! (and the inline slot of a new key's first value) are `entry.rs`'s.
//!
//! 1. A value arrives as [`Incoming::Value`]: not moved yet.
//! 2. It goes to the heap as an [`Owned`] ([`alloc`], the strategy's
//!    [`Stored`](crate::Reclaim::Stored) pointer) once a slot needs its pointer; an `Owned` that
//!    is never published is freed on drop. Or, for a new key whose entry has an inline slot
//!    ([`Entry::INLINE`](super::entry::Entry::INLINE)), it is written into the entry's own
//!    allocation (`entry.rs`'s `WithSlot`).
//! 3. A CAS publishes the pointer: from then on the entry's slot owns the value.
//! 4. Whoever removes it from the slot (a swap, a delete) owns it and retires it through the
//!    strategy as a [`RetiredValue`]
//!    ([`Entry::retire_removed`](super::entry::Entry::retire_removed)); an inline value is never
//!    retired on its own (its bytes are dead until the entry is freed).
//! 5. The strategy reclaims it later: [`RetiredValue`]'s `reclaim` is [`dealloc`].
//! 6. A value still present when its entry dies is dropped with the entry
//!    ([`Entry::free`](super::entry::Entry::free)), or moved out of it by `into_iter`
//!    ([`Entry::into_parts`](super::entry::Entry::into_parts)).

use core::{marker::PhantomData, ptr::NonNull};

use crate::reclaim::{Reclaim, Retire, StoredPtr, sealed::Sealed};

/// Moves `value` to the heap as the strategy's stored pointer and gives up its ownership.
#[inline]
pub(crate) fn alloc<R: Reclaim, T>(value: T) -> NonNull<T> {
    R::Stored::<T>::new(value).into_raw()
}

/// Takes back the ownership that [`alloc`] gave up, and drops it (the value itself, unless a
/// loaded handle shares it).
///
/// # Safety
///
/// `ptr` came from `alloc::<R, T>`, and nothing will use it again (apart from
/// [`Ref`](crate::Reclaim::Ref)s made from it, which keep the value alive on their own).
#[inline]
pub(crate) unsafe fn dealloc<R: Reclaim, T>(ptr: NonNull<T>) {
    // SAFETY: the caller passes a pointer from `alloc`, which is `Stored::into_raw`, once.
    drop(unsafe { R::Stored::<T>::from_raw(ptr) });
}

/// A value on its way into the map: moved to the heap only once a slot needs a pointer to it,
/// so that a new key's entry can keep it inline.
pub(crate) enum Incoming<V, R: Reclaim> {
    /// Not moved yet.
    Value(V),
    /// Already on the heap (a lock-free attempt needed its pointer and failed).
    Owned(Owned<V, R>),
}

impl<V, R: Reclaim> Incoming<V, R> {
    /// The value on the heap, moving it there if needed.
    #[inline]
    pub(crate) fn owned(self) -> Owned<V, R> {
        match self {
            Incoming::Value(value) => Owned::new(value),
            Incoming::Owned(owned) => owned,
        }
    }
}

/// A value allocated by [`alloc`] and not yet published: freed on drop (so a panic between
/// allocation and publication leaks nothing).
pub(crate) struct Owned<V, R: Reclaim> {
    ptr: NonNull<V>,
    _marker: PhantomData<(V, R)>,
}

impl<V, R: Reclaim> Owned<V, R> {
    pub(crate) fn new(value: V) -> Self {
        Owned {
            ptr: alloc::<R, V>(value),
            _marker: PhantomData,
        }
    }

    #[inline]
    pub(super) fn as_ptr(&self) -> *mut V {
        self.ptr.as_ptr()
    }

    /// Hands ownership to whoever stored the pointer.
    #[inline]
    pub(crate) fn into_raw(self) -> NonNull<V> {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }
}

impl<V, R: Reclaim> Drop for Owned<V, R> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc` and was never published.
        unsafe { dealloc::<R, V>(self.ptr) }
    }
}

/// A retired value: `V` behind the pointer [`alloc`] returned, freed with [`dealloc`].
#[repr(transparent)]
pub(crate) struct RetiredValue<V, R: Reclaim>(V, PhantomData<R>);

impl<V, R: Reclaim> Sealed for RetiredValue<V, R> {}

impl<V, R: Reclaim> Retire for RetiredValue<V, R> {
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: `RetiredValue` is `repr(transparent)` over `V`, the pointer came from
        // `alloc`, and it is reclaimed once.
        unsafe { dealloc::<R, V>(ptr.cast::<V>()) }
    }
}
