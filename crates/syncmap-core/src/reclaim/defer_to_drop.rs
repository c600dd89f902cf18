//! [`DeferToDrop`]: the smallest sound strategy, which frees nothing until the map is dropped.

use core::{fmt, ptr::NonNull};

use super::{Admits, Reclaim, ReclaimOwned, Retire, Retired};
use crate::primitive::sync::Mutex;

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
    retired: Mutex<Vec<Retired>>,
}

impl fmt::Debug for DeferToDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferToDrop")
            .field("retired", &self.retired.lock().len())
            .finish()
    }
}

// SAFETY: (1) nothing is reclaimed before the strategy is dropped, which happens after the map is
// dropped, so after every guard (they borrow the map). (2) `Drop` reclaims each retired pointer
// once. (3) `Box` storage; `Ref` is a plain reference that borrows the map, and nothing is freed
// while the map lives. (4) nothing here unwinds except on OOM.
unsafe impl Reclaim for DeferToDrop {
    type Guard<'a> = ();
    type Ref<'a, T: 'a> = &'a T;
    type Stored<T> = Box<T>;

    #[inline]
    fn pin(&self) -> Self::Guard<'_> {}

    unsafe fn retire<T: Retire>(&self, _guard: &(), ptr: NonNull<T>) {
        // SAFETY: forwarded from our caller.
        let retired = unsafe { Retired::new(ptr) };
        self.retired.lock().push(retired);
    }

    #[inline]
    unsafe fn make_ref<'a, T: 'a>(_guard: (), ptr: NonNull<T>) -> &'a T {
        // SAFETY: nothing this strategy is given is freed before it is dropped, and the map (which
        // owns it) outlives 'a.
        unsafe { ptr.as_ref() }
    }
}

impl Drop for DeferToDrop {
    /// Reclaims everything, even if a reclaimer panics (a user's `Drop`); the first panic then
    /// resumes (see [`DropAll`](crate::unwind::DropAll)).
    fn drop(&mut self) {
        let mut drops = crate::unwind::DropAll::new();
        for retired in core::mem::take(self.retired.get_mut()) {
            // SAFETY: the map is gone, so no guard is alive.
            drops.run(|| unsafe { retired.reclaim() });
        }
        drops.finish();
    }
}

// SAFETY: `DeferToDrop` reclaims nothing before it is dropped, after the map and so after every
// view borrowing it; `()` does not unwind.
unsafe impl ReclaimOwned for DeferToDrop {
    type OwnedGuard<'a> = ();

    #[inline]
    fn pin_owned(&self) {}
}

// SAFETY: `DeferToDrop` reclaims every retired object in its own drop, and nothing after.
unsafe impl<T> Admits<T> for DeferToDrop {}
