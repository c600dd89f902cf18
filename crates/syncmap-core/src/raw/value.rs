//! A value's life, in one place, and the memory of the entries that hold values.
//!
//! 1. A value arrives as [`Incoming::Value`]: not moved yet.
//! 2. It goes to the heap as an [`Owned`] ([`alloc`], the strategy's
//!    [`Stored`](crate::Reclaim::Stored) pointer) once a slot needs its pointer; an `Owned` that
//!    is never published is freed on drop. Or, for a new key whose entry has an inline slot
//!    ([`Entry::INLINE`]), it is written into the entry's own allocation ([`WithSlot`]).
//! 3. A CAS publishes the pointer: from then on the entry's slot owns the value.
//! 4. Whoever removes it from the slot (a swap, a delete) owns it and retires it through the
//!    strategy as a [`RetiredValue`] ([`Entry::retire_removed`]); an inline value is never
//!    retired on its own (its bytes are dead until the entry is freed).
//! 5. The strategy reclaims it later: [`RetiredValue`]'s `reclaim` is [`dealloc`].
//! 6. A value still present when its entry dies is dropped with the entry
//!    ([`Entry::free`]), or moved out of it by `into_iter` ([`Entry::into_parts`]).

use core::{marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};

use super::entry::{Entry, EntryPtr, State};
use crate::{
    primitive::sync::atomic::{AtomicPtr, Ordering::*},
    reclaim::{Reclaim, Retire, StoredPtr, sealed::Sealed},
    unwind::DropAll,
};

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

/// The allocation of an entry whose values may live inline (`Entry::INLINE`): the entry, then
/// room for its key's first value. `repr(C)` puts the entry at offset 0, so a pointer to the
/// whole is a pointer to the entry.
///
/// An entry made for a new key keeps that key's first value here, and its slot points into its
/// own allocation, so a reader finds key and value in one allocation (one cache miss fewer) and
/// a new key costs one allocation, not two. Such a pointer is never retired or freed on its own:
/// when it is replaced or deleted, the bytes are simply dead (there is nothing to drop) until
/// the entry is freed, and the entry is freed only through `R` after every guard that could
/// have read it. The slot never points here again once it has left.
/// [`is_inline`](Entry::is_inline) tells the two kinds of pointer apart.
#[repr(C)]
struct WithSlot<K, V, R: Reclaim> {
    entry: Entry<K, V, R>,
    /// Initialized iff the entry was made with an inline value; never dropped (`V` has no drop
    /// glue when this type is used).
    slot: core::mem::MaybeUninit<V>,
}

/// The largest value kept inline: four words. A replaced inline value leaves its bytes unused
/// until the entry is freed, so larger values go to the heap as before.
const INLINE_MAX: usize = 4 * core::mem::size_of::<usize>();

impl<K, V, R: Reclaim> Entry<K, V, R> {
    /// Whether entries are allocated with an inline slot for the first value ([`WithSlot`]):
    /// values are boxed (their handles borrow), small, and need no `Drop`.
    pub(crate) const INLINE: bool = <R::Stored<V> as StoredPtr<V>>::UNIQUE
        && !core::mem::needs_drop::<V>()
        && core::mem::size_of::<V>() <= INLINE_MAX;

    /// A new entry holding `value` (inline if [`INLINE`](Self::INLINE) and not yet on the
    /// heap), on the heap.
    pub(crate) fn boxed(hash: u64, key: K, value: Incoming<V, R>) -> EntryPtr<K, V, R> {
        match value {
            Incoming::Value(value) if Self::INLINE => Self::allocate(hash, key, Ok(value)),
            value => Self::allocate(hash, key, Err(value.owned().into_raw().as_ptr())),
        }
    }

    /// Allocates an entry whose slot holds `value`: `Ok` a value to keep inline (only when
    /// `INLINE`), `Err` a pointer (a value from [`alloc`], or a sentinel).
    pub(super) fn allocate(hash: u64, key: K, value: Result<V, *mut V>) -> EntryPtr<K, V, R> {
        if !Self::INLINE {
            let Err(value) = value else {
                unreachable!("inline values only when INLINE")
            };
            let entry = Box::new(Entry {
                hash,
                key,
                value: AtomicPtr::new(value),
                _reclaim: PhantomData,
            });
            return EntryPtr(NonNull::from(Box::leak(entry)));
        }
        let raw = Box::into_raw(Box::<WithSlot<K, V, R>>::new_uninit()).cast::<WithSlot<K, V, R>>();
        // SAFETY: `raw` is a fresh, exclusively owned allocation of a `WithSlot`; we initialize
        // both fields through raw places before anything reads them. The slot pointer stored in
        // `value` derives from `raw`, so it may read the slot for the allocation's whole life.
        unsafe {
            let slot = (&raw mut (*raw).slot).cast::<V>();
            let value = match value {
                Ok(inline) => {
                    slot.write(inline);
                    slot
                }
                Err(ptr) => ptr,
            };
            (&raw mut (*raw).entry).write(Entry {
                hash,
                key,
                value: AtomicPtr::new(value),
                _reclaim: PhantomData,
            });
        }
        EntryPtr(NonNull::new(raw.cast::<Entry<K, V, R>>()).expect("Box pointers are non-null"))
    }

    /// Whether `value` (read from this entry's slot) is the inline first value, which lives and
    /// dies with the entry, rather than a pointer from [`alloc`].
    #[inline]
    pub(crate) fn is_inline(&self, value: NonNull<V>) -> bool {
        Self::INLINE
            && value.as_ptr().addr()
                == (self as *const Self).addr() + core::mem::offset_of!(WithSlot<K, V, R>, slot)
    }

    /// Retires a value that was just replaced or deleted from this entry, unless it is the
    /// inline value, which lives and dies with the entry.
    ///
    /// The caller unlinked `value` from this entry with a successful CAS or swap, under
    /// `guard`, which came from `reclaim.pin()`.
    #[inline]
    pub(crate) fn retire_removed(&self, reclaim: &R, guard: &R::Guard<'_>, value: NonNull<V>) {
        if self.is_inline(value) {
            return;
        }
        // SAFETY: the caller just unlinked `value` with a successful CAS or swap, so no thread
        // pinning from now on can read it, and only this thread retires it; it came from
        // `alloc`, as `RetiredValue` expects.
        unsafe { reclaim.retire(guard, value.cast::<RetiredValue<V, R>>()) }
    }

    /// Frees an entry allocated by [`allocate`](Self::allocate), dropping its present value
    /// (unless that is inline) and then its key. The memory is released first, and the key is
    /// dropped even if the value's `Drop` panics; the first panic then resumes (see
    /// [`DropAll`]).
    ///
    /// # Safety
    ///
    /// `ptr` came from `allocate`, is unreachable, and is freed once.
    pub(crate) unsafe fn free(ptr: NonNull<Self>) {
        // SAFETY: the entry is initialized and ours alone (caller's contract).
        let entry = unsafe { ptr.as_ref() };
        // An inline value has no drop glue (`INLINE`): it goes with the memory.
        let value = entry.load().filter(|v| !entry.is_inline(*v));
        // SAFETY: the key is read once; the memory is then freed without dropping it.
        let key = unsafe { core::ptr::read(&entry.key) };
        // SAFETY: the key was moved out and the value pointer taken (nothing else in the entry
        // needs dropping), and `entry` is not used again.
        unsafe { Self::dealloc_only(ptr) };
        // SAFETY: not inline, so the slot owned a value from `alloc`, released once here.
        let value = value.map(|value| unsafe { R::Stored::<V>::from_raw(value) });
        let mut drops = DropAll::new();
        drops.run(|| drop(value));
        drops.run(|| drop(key));
        drops.finish();
    }

    /// Takes an unreachable entry apart: its key, and its present value as the strategy gives
    /// it back ([`StoredPtr::Owned`]).
    ///
    /// # Safety
    ///
    /// `ptr` is unlinked from every table, no thread can reach it, and it is not reclaimed.
    pub(crate) unsafe fn into_parts(ptr: EntryPtr<K, V, R>) -> (K, Option<crate::Owned<V, R>>) {
        // SAFETY: the caller gives us the only access to a live entry.
        let entry = unsafe { ptr.get() };
        // SAFETY: the key is read once; the entry's memory is then freed without dropping it.
        let key = unsafe { core::ptr::read(&entry.key) };
        let taken = entry.value.swap(core::ptr::null_mut(), Acquire);
        let value = State::decode(taken).present().map(|value| {
            if entry.is_inline(value) {
                // SAFETY: the inline value is initialized, read once (the slot is emptied above
                // and never dropped), through the pointer made for it at allocation.
                R::Stored::<V>::owned(unsafe { core::ptr::read(value.as_ptr()) })
            } else {
                // SAFETY: the slot owned its present value, which came from `alloc`.
                unsafe { R::Stored::<V>::from_raw(value) }.into_owned()
            }
        });
        // SAFETY: the key was moved out and the value taken, so the memory goes without
        // dropping anything in it.
        unsafe { Self::dealloc_only(ptr.as_non_null()) };
        (key, value)
    }

    /// Frees an entry's memory without dropping anything in it.
    ///
    /// # Safety
    ///
    /// As for [`free`](Self::free), and the caller has moved out (or dropped) what it needed.
    unsafe fn dealloc_only(ptr: NonNull<Self>) {
        if Self::INLINE {
            // SAFETY: as in `free`; `ManuallyDrop` is `repr(transparent)`, so the layout is the
            // one allocated, and dropping the box frees memory without dropping contents.
            drop(unsafe { Box::from_raw(ptr.as_ptr().cast::<ManuallyDrop<WithSlot<K, V, R>>>()) });
        } else {
            // SAFETY: as above, for a plain entry.
            drop(unsafe { Box::from_raw(ptr.as_ptr().cast::<ManuallyDrop<Self>>()) });
        }
    }
}

impl<K, V, R: Reclaim> Drop for Entry<K, V, R> {
    fn drop(&mut self) {
        // An entry is dropped once unreachable, so its slot is ours alone; an inline value has
        // no drop glue and goes with the memory.
        if let Some(value) = self.load().filter(|v| !self.is_inline(*v)) {
            // SAFETY: not inline, so the slot owns a value from `alloc`, and the entry is
            // unreachable, so nothing else uses it.
            unsafe { dealloc::<R, V>(value) }
        }
    }
}

impl<K, V, R: Reclaim> Sealed for Entry<K, V, R> {}

impl<K, V, R: Reclaim> Retire for Entry<K, V, R> {
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: no guard can reach a reclaimed entry, but a thread holding a reservation on it
        // still may (it holds no guard): the entry is alive until one of us frees it.
        if unsafe { ptr.as_ref() }.hand_over_reserved() {
            // The reserving thread frees it when its reservation ends (`Entry`'s docs).
            return;
        }
        // SAFETY: entries are allocated by `Entry::allocate` and reclaimed once (caller's
        // contract); not reserved, so no reservation reaches it any more.
        unsafe { Self::free(ptr) }
    }
}
