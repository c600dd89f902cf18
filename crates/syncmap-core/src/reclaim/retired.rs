//! [`Retired`]: a retired pointer with its type erased, for strategies that keep their own
//! lists of garbage.

use core::{fmt, ptr::NonNull};

use super::Retire;

/// A retired pointer with its type erased, for strategies that keep their own lists of garbage
/// ([`DeferToDrop`](super::DeferToDrop), `syncmap-arcswap`). Dropping it without [`reclaim`](Self::reclaim) leaks.
///
/// # Examples
///
/// Only a [`Reclaim::retire`](super::Reclaim::retire) implementation has pointers to wrap:
///
/// ```
/// use core::ptr::NonNull;
/// use syncmap_core::{Retire, reclaim::Retired};
///
/// /// Garbage kept until the bag is dropped, as `DeferToDrop` does.
/// #[derive(Default)]
/// struct Bag(Vec<Retired>);
///
/// impl Bag {
///     /// Called from a strategy's `Reclaim::retire`.
///     ///
///     /// # Safety
///     ///
///     /// As for `Reclaim::retire`.
///     #[allow(dead_code)]
///     unsafe fn push<T: Retire>(&mut self, ptr: NonNull<T>) {
///         // SAFETY: forwarded from our caller, `Reclaim::retire`.
///         self.0.push(unsafe { Retired::new(ptr) });
///     }
/// }
///
/// impl Drop for Bag {
///     fn drop(&mut self) {
///         for retired in self.0.drain(..) {
///             // SAFETY: the strategy owning the bag is dropped after the map, so no guard is
///             // alive.
///             unsafe { retired.reclaim() }
///         }
///     }
/// }
/// drop(Bag::default());
/// ```
pub struct Retired {
    ptr: NonNull<()>,
    reclaim: unsafe fn(NonNull<()>),
}

// SAFETY: `Retired::new`'s contract makes the pointee reclaimable on any thread
// (`Reclaim::retire` requires it), and `Retired` offers no access to it other than `reclaim`.
unsafe impl Send for Retired {}

// SAFETY: no method takes `&Retired`, so shared references give no access to the pointee.
unsafe impl Sync for Retired {}

impl Retired {
    /// Wraps a pointer given to [`Reclaim::retire`](super::Reclaim::retire).
    ///
    /// # Safety
    ///
    /// `ptr` is a pointer the map passed to `retire`, so `retire`'s contract holds for it.
    #[inline]
    pub unsafe fn new<T: Retire>(ptr: NonNull<T>) -> Self {
        Retired {
            ptr: ptr.cast(),
            reclaim: reclaim_erased::<T>,
        }
    }

    /// Calls [`Retire::reclaim`] on the pointer.
    ///
    /// # Safety
    ///
    /// No guard that may have observed the pointer is alive ([`Reclaim`](super::Reclaim)'s *Protection*).
    #[inline]
    pub unsafe fn reclaim(self) {
        // SAFETY: `ptr` was retired as a `T` with `reclaim_erased::<T>` (`new`), it is reclaimed
        // once (`self` is consumed), and the caller says no guard can still read it.
        unsafe { (self.reclaim)(self.ptr) }
    }
}

impl fmt::Debug for Retired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retired").field("ptr", &self.ptr).finish()
    }
}

/// Frees one retired `T` behind an erased pointer.
///
/// # Safety
///
/// `ptr` is a retired `NonNull<T>` being reclaimed for the only time.
unsafe fn reclaim_erased<T: Retire>(ptr: NonNull<()>) {
    // SAFETY: the caller's contract, forwarded.
    unsafe { T::reclaim(ptr.cast::<T>()) }
}
