//! [`CloneOwned`]: an owned handle to a value the map keeps, made without a guard outliving the
//! call, for the async compute-once methods.

use core::ptr::NonNull;
use std::sync::Arc;

use super::StoredPtr;

/// A stored pointer that can hand out an owned copy of its value, holding no guard:
/// [`StoredPtr::Owned`], which is a clone of `T` for `Box<T>` (when `T: Clone`) and a new share
/// of the `Arc<T>` for `Arc<T>`.
///
/// What [`SyncMap::load_or_store_with_async`](crate::SyncMap::load_or_store_with_async) and its
/// fallible form return, since a guard-bound handle may not be held across an `.await`: on the
/// epoch and seize backends a clone of the value (wrap a costly value in an `Arc` to make it
/// cheap), on the arc-swap backend the `Arc<V>` the map stores (as `load_owned` returns it).
///
/// Sealed, like [`StoredPtr`].
pub trait CloneOwned<T>: StoredPtr<T> {
    /// An owned copy of the value at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`StoredPtr::into_raw`] of this type (or, for `Box<T>`, points at a
    /// value the map keeps inline in an entry), and the value stays alive during the call.
    unsafe fn clone_owned(ptr: NonNull<T>) -> Self::Owned;
}

impl<T: Clone> CloneOwned<T> for Box<T> {
    #[inline]
    unsafe fn clone_owned(ptr: NonNull<T>) -> T {
        // SAFETY: the caller's contract: the value is alive during the call.
        unsafe { ptr.as_ref() }.clone()
    }
}

impl<T> CloneOwned<T> for Arc<T> {
    #[inline]
    unsafe fn clone_owned(ptr: NonNull<T>) -> Arc<T> {
        // SAFETY: `ptr` came from `Arc::into_raw`, and the map's own count (which the caller's
        // contract keeps alive during the call) is not given up: a new count is taken first.
        unsafe {
            Arc::increment_strong_count(ptr.as_ptr());
            Arc::from_raw(ptr.as_ptr())
        }
    }
}
