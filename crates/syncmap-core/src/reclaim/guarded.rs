//! [`Guarded`]: the [`Reclaim::Ref`](super::Reclaim::Ref) of guard-based strategies, a value
//! pointer with the guard that keeps it alive.

use core::{fmt, marker::PhantomData, ops::Deref, ptr::NonNull};

/// A [`Reclaim::Ref`](super::Reclaim::Ref) for guard-based strategies: a value pointer together with the guard it
/// was read under, which keeps the value alive.
///
/// Epoch strategies use it as `type Ref<'a, T: 'a> = Guarded<'a, Self::Guard<'a>, T>`. It holds
/// a guard, so it delays reclamation (of every map sharing the collector) while it lives; it is
/// `Send` or `Sync` only if the guard and `T` are (epoch guards are neither).
///
/// # Invariant
///
/// `value` points at a `T` that stays valid while `guard` lives and for at most `'a`.
///
/// # Examples
///
/// ```
/// use syncmap_core::reclaim::Guarded;
///
/// // A guard-based backend hands `Guarded` out from `load`; this one is built by hand.
/// let value = 7_u32;
/// // SAFETY: `value` is a live local that outlives the handle, so even the unit guard suffices.
/// let handle: Guarded<'_, (), u32> = unsafe { Guarded::new((), (&value).into()) };
/// assert_eq!(*handle, 7);
/// ```
pub struct Guarded<'a, G, T> {
    value: NonNull<T>,
    guard: G,
    _borrow: PhantomData<&'a T>,
}

impl<'a, G, T> Guarded<'a, G, T> {
    /// Pairs `value` with the guard that protects it.
    ///
    /// # Safety
    ///
    /// `value` points at a `T` that stays valid while `guard` lives and for `'a` (as is the case
    /// for a pointer read under `guard` from a map borrowed for `'a`, by [`Reclaim`](super::Reclaim)'s
    /// *Protection*), and nothing mutates it meanwhile.
    #[inline]
    pub unsafe fn new(guard: G, value: NonNull<T>) -> Self {
        Guarded {
            value,
            guard,
            _borrow: PhantomData,
        }
    }

    /// The guard this handle holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_core::reclaim::Guarded;
    ///
    /// let value = 1_u8;
    /// // SAFETY: `value` outlives the handle.
    /// let handle = unsafe { Guarded::<(), u8>::new((), (&value).into()) };
    /// let () = *handle.guard();
    /// ```
    #[inline]
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<G, T> Deref for Guarded<'_, G, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the type's invariant: `value` is valid while `self.guard` lives, and we own it.
        unsafe { self.value.as_ref() }
    }
}

impl<G, T: fmt::Debug> fmt::Debug for Guarded<'_, G, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<G, T: fmt::Display> fmt::Display for Guarded<'_, G, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
