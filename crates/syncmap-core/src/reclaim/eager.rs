//! [`Eager`]: a test-only strategy that reclaims everything retired as soon as no guard is
//! alive, the strictest timing a strategy may choose, so that unit tests meet reclamation that
//! `DeferToDrop` (which frees nothing before the map's drop) never performs. It also counts
//! the guards alive, for tests of what is pinned when.

use core::ptr::NonNull;
use std::sync::Mutex;

use super::{Admits, Guarded, Reclaim, Retire, Retired};

/// What one [`Eager`] family (`ID`) shares: guards alive and pointers awaiting reclamation.
struct State {
    pinned: usize,
    retired: Vec<Retired>,
}

/// One state per `ID`, so that tests running in parallel do not share counts.
static STATES: [Mutex<State>; 8] = [const {
    Mutex::new(State {
        pinned: 0,
        retired: Vec::new(),
    })
}; 8];

/// Reclaims each retired pointer when the number of guards alive (of every map using this
/// `ID`) drops to zero; the rest at its drop. A test uses its own `ID` for one map at a time.
#[derive(Debug, Default)]
pub(crate) struct Eager<const ID: usize>;

impl<const ID: usize> Eager<ID> {
    /// Guards alive now.
    pub(crate) fn pinned() -> usize {
        STATES[ID].lock().unwrap().pinned
    }

    /// Reclaims `retired`, outside the lock (a reclaimer may use the map).
    fn reclaim(retired: Vec<Retired>) {
        for retired in retired {
            // SAFETY: taken when no guard was alive, under the lock that every `pin` takes: any
            // guard that could have read the pointer was dropped before, and guards pinned
            // since see the store that unlinked it (it was retired after that store).
            unsafe { retired.reclaim() }
        }
    }
}

/// A guard of [`Eager`]: counted while it lives.
#[derive(Debug)]
pub(crate) struct EagerGuard<const ID: usize>(());

impl<const ID: usize> Drop for EagerGuard<ID> {
    fn drop(&mut self) {
        let retired = {
            let mut state = STATES[ID].lock().unwrap();
            state.pinned -= 1;
            if state.pinned > 0 {
                return;
            }
            core::mem::take(&mut state.retired)
        };
        Eager::<ID>::reclaim(retired);
    }
}

// SAFETY:
// 1. Protection: a pointer is reclaimed only once the count of live guards, kept under a mutex
//    that `pin`, guard drops and `retire` all take, has dropped to zero after its retirement;
//    every guard pinned before the retirement was dropped by then, and a guard pinned after it
//    took the mutex after `retire` released it, so its loads see the unlinking store.
// 2. Exactly once: each retired pointer is in `retired` once, taken out once.
// 3. `Box` values and guarded handles, as `DeferToDrop`.
// 4. `pin` and `retire` do not unwind (the mutex is never poisoned: nothing panics under it).
unsafe impl<const ID: usize> Reclaim for Eager<ID> {
    type Guard<'a> = EagerGuard<ID>;
    type Ref<'a, T: 'a> = Guarded<'a, EagerGuard<ID>, T>;
    type Stored<T> = Box<T>;

    fn pin(&self) -> EagerGuard<ID> {
        STATES[ID].lock().unwrap().pinned += 1;
        EagerGuard(())
    }

    unsafe fn retire<T: Retire>(&self, _guard: &EagerGuard<ID>, ptr: NonNull<T>) {
        // SAFETY: forwarded from our caller, `retire`'s contract.
        let retired = unsafe { Retired::new(ptr) };
        STATES[ID].lock().unwrap().retired.push(retired);
    }

    unsafe fn make_ref<'a, T: 'a>(guard: EagerGuard<ID>, ptr: NonNull<T>) -> Self::Ref<'a, T> {
        // SAFETY: the caller's contract: `ptr` was read under `guard`, which the handle keeps.
        unsafe { Guarded::new(guard, ptr) }
    }
}

impl<const ID: usize> Drop for Eager<ID> {
    fn drop(&mut self) {
        // The map drops its guards before its strategy.
        let retired = core::mem::take(&mut STATES[ID].lock().unwrap().retired);
        Self::reclaim(retired);
    }
}

// SAFETY: everything retired is reclaimed by the strategy's drop at the latest.
unsafe impl<T, const ID: usize> Admits<T> for Eager<ID> {}
