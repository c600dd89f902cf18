//! [`ReclaimOwned`]: an optional capability of a strategy, guards that are not tied to a
//! thread (for [`SyncMap::pin_owned`](crate::SyncMap::pin_owned)).

use super::Reclaim;

/// A strategy that can also hand out guards that are not tied to a thread (papaya's and seize's
/// `OwnedGuard`), for [`SyncMap::pin_owned`](crate::SyncMap::pin_owned).
///
/// # Safety
///
/// Besides [`Reclaim`]'s contract: while an owned guard `o` from [`pin_owned`](Self::pin_owned)
/// lives, a pointer that any thread read under a guard from [`Reclaim::pin`] or
/// [`Reclaim::pin_reads`] (with the loads each protects), pinned after `o` was made (in
/// happens-before order, e.g. after `o` was moved to that thread), is reclaimed only after `o`
/// is dropped, as if it had been read under `o` itself. `pin_owned` does not unwind.
pub unsafe trait ReclaimOwned: Reclaim {
    /// A guard that may be sent to, and shared with, other threads.
    type OwnedGuard<'a>: Send + Sync
    where
        Self: 'a;

    /// Enters a protected region that is not tied to the current thread.
    fn pin_owned(&self) -> Self::OwnedGuard<'_>;
}
