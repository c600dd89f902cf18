//! Go's `sync.Map` with [seize] memory reclamation: a second epoch-family strategy, with a
//! collector per map.
//!
//! [`SeizeReclaim`] owns a [`seize::Collector`], so each map reclaims its own garbage: memory
//! retired by one map is never held up by readers of another, and everything a map retired is
//! freed when the map is dropped (crossbeam's global collector may free it later, on any thread).
//! So keys and values need not be `'static`; they may borrow from the caller:
//!
//! ```
//! use syncmap_epoch::seize::SyncMap;
//!
//! let text = String::from("to be or not to be");
//! let counts: SyncMap<&str, usize> = SyncMap::new();
//! for word in text.split(' ') {
//!     counts.load_or_store(word, 0);
//!     counts.update(word, |n| n + 1);
//! }
//! assert_eq!(counts.load("be").as_deref(), Some(&2));
//! drop(counts); // before `text`, which it borrows
//! ```
//! Loads behave as in the crossbeam backend: [`SyncMap::load`] returns a [`Ref`] that holds a
//! guard and stays on its thread, and [`SyncMap::pin`] gives plain `&V` for a batch of reads.
//!
//! # Guards never cross maps
//!
//! A seize guard must only protect loads from the collector that made it (papaya checks this in
//! `verify`). Here no API accepts a guard: the map makes every guard itself, from its own
//! collector, inside the call that uses it, and the only guards that leave a call are inside a
//! [`Ref`] or a [`Pinned`], which borrow that same map and expose no operation taking the guard
//! back. So a guard of one map cannot reach another. `retire` also asserts it in debug builds.
//!
//! # Examples
//!
//! ```
//! use std::thread;
//! use syncmap_epoch::seize::SyncMap;
//!
//! let sessions: SyncMap<u64, String> = SyncMap::new();
//! sessions.store(7, "alice".to_string());
//! thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| assert_eq!(sessions.load(&7).as_deref().map(String::as_str), Some("alice")));
//!     }
//! });
//! ```
//!
//! [seize]: https://docs.rs/seize

use core::{ptr::NonNull, sync::atomic::Ordering};
use std::hash::RandomState;

use ::seize::{Collector, Guard as _, LocalGuard, OwnedGuard};
use syncmap_core::{Reclaim, ReclaimOwned, Retire, reclaim::Guarded, unwind};

/// The seize reclamation strategy: one [`seize::Collector`] per map.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::seize::SeizeReclaim;
///
/// // The strategy is usually named only through the `seize::SyncMap` alias:
/// let map: syncmap_core::SyncMap<u8, u8, SeizeReclaim> = syncmap_core::SyncMap::new();
/// map.store(1, 2);
/// assert_eq!(*map.load(&1).unwrap(), 2);
/// ```
#[derive(Debug)]
pub struct SeizeReclaim {
    collector: Collector,
    /// Dropped after `collector`, which runs the reclaimers left: resumes a panic they raised.
    _resume: unwind::ResumeDeferredOnDrop,
}

impl Default for SeizeReclaim {
    fn default() -> Self {
        SeizeReclaim {
            collector: Collector::new().batch_size(BATCH_SIZE),
            _resume: unwind::ResumeDeferredOnDrop,
        }
    }
}

/// Retirements a thread collects before handing them to the collector, against seize's
/// default of 32 (it raises either to the number of CPUs). Each handover issues seize's heavy
/// barrier, on Linux a `membarrier` that interrupts every other CPU running the process: with
/// batches of 32, two threads rewriting one key (Go's `SwapCollision`) spent most of their time
/// in it, 320 ns per swap against crossbeam-epoch's 81. With 128: 127 ns at 2 threads, 145 at
/// 4, and 58 (against 55) at 1; `CompareAndSwapCollision` at 2 threads 523 -> 88 ns (criterion,
/// back to back, 2 cores). 256 halved the 2-thread figures again but cost 1.5x at 1 thread. A
/// thread holds back up to this many retirements until its batch fills; a flush (a `clear` of
/// 32 keys or more, a compaction) hands them over at once (see [`FLUSH_PADDING`]).
const BATCH_SIZE: usize = 128;

/// Empty retirements added before a flush (see [`SeizeReclaim::flush`]): a flushed batch is
/// handed over whenever at most this many threads are active in the map's collector. Flushes
/// are rare (a `clear` of 32 keys or more, a compaction, a promotion that frees keys or retires
/// a large table), so the padding costs a few kilobytes of batch entries now and then.
const FLUSH_PADDING: usize = 64;

/// The reclaimer of [`FLUSH_PADDING`]'s empty retirements.
///
/// # Safety
///
/// None needed: it does nothing (`unsafe` only to match seize's reclaimer type).
unsafe fn reclaim_nothing(_: *mut u8, _: &Collector) {}

/// Orders the store that marks this thread active in the collector (in
/// [`Collector::enter`]) before the map's loads that follow, for seize's retirement barrier to
/// pair with, in [`pin`](Reclaim::pin), whose guard protects the writes' loads of any ordering.
/// See item 1 of the `Reclaim` implementation's `SAFETY` comment. Lookups
/// ([`pin_reads`](Reclaim::pin_reads)) go without it: their loads are `SeqCst`.
///
/// The same fence on every target, and the same under Miri: the Rust memory model does not order
/// a `SeqCst` store before a later acquire load, so without it a reader may read a pointer its
/// retirer already unlinked while the retirer finds the reader inactive. x86 happens to forbid
/// that outcome in hardware (the store is an `xchg`), but the compiler owes nothing to the
/// hardware: it may move the map's loads above a store whose ordering does not forbid it.
#[inline(always)]
fn protection_fence() {
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// Go's `sync.Map` with seize reclamation (a collector per map).
///
/// The method examples below name this alias `SyncMap`: they run as written after
/// `use syncmap_epoch::seize::SyncMap;`. std's `HashMap` names map to its methods as in
/// [`crate::SyncMap`'s table](crate::SyncMap#std-names) (`insert` is `store`, `get` is `load`,
/// `get_mut` is `update`, `remove` is `load_and_delete`).
///
/// # Examples
///
/// ```
/// use syncmap_epoch::seize::SyncMap;
///
/// let map: SyncMap<&str, u32> = SyncMap::new();
/// map.store("a", 1);
/// assert_eq!(*map.load("a").unwrap(), 1);
/// ```
#[doc(alias("insert", "get", "get_mut", "remove", "entry", "HashMap"))]
pub type SyncMap<K, V, S = RandomState> = syncmap_core::SyncMap<K, V, SeizeReclaim, S>;

/// A pinned view of a seize [`SyncMap`], from [`SyncMap::pin`]: loads return `&V`.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::seize::SyncMap;
///
/// let map: SyncMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
/// let pinned = map.pin();
/// assert_eq!(pinned.load(&3), Some(&3));
/// ```
pub type Pinned<'m, K, V, S = RandomState> = syncmap_core::Pinned<'m, K, V, SeizeReclaim, S>;

/// A loaded value: derefs to `V` and keeps it alive by holding a seize guard of its map.
///
/// Holding it delays the reclamation of memory the same map retires, so drop it soon. It is
/// neither `Send` nor `Sync` (the guard belongs to its thread): held across an `.await`, it makes
/// the future `!Send` ("future cannot be sent between threads safely", "the trait `Send` is not
/// implemented for `*const seize::raw::collector::Reservation`", naming it
/// `syncmap_core::reclaim::guarded::Guarded<'_, seize::guard::LocalGuard<'_>, V>`). Use
/// [`SyncMap::pin_owned`] there instead, or [`load_cloned`](SyncMap::load_cloned); see
/// [`crate::Ref`] for every way out.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::seize::SyncMap;
///
/// let map: SyncMap<&str, String> = SyncMap::new();
/// map.store("k", "old".to_string());
/// let old = map.load("k").unwrap();
/// map.store("k", "new".to_string());
/// assert_eq!(old.as_str(), "old"); // the handle keeps the replaced value alive
/// ```
#[doc(alias = "Guarded")]
pub type Ref<'a, T> = Guarded<'a, LocalGuard<'a>, T>;

/// Runs [`Retire::reclaim`] for seize. A panic (a user's `Drop`) does not unwind into seize's
/// batch loop, which would leak the rest of the batch: it is kept for the strategy to resume
/// (in this thread's next `pin` or `retire`, or the strategy's drop).
///
/// # Safety
///
/// `ptr` was retired through [`SeizeReclaim::retire`] and seize found it safe to reclaim.
unsafe fn reclaim<T: Retire>(ptr: *mut T, _collector: &Collector) {
    // SAFETY: seize passes back the non-null pointer we retired, once, after every guard that
    // could have observed it is gone (the caller's contract).
    unwind::catch_deferred(|| unsafe { T::reclaim(NonNull::new_unchecked(ptr)) });
}

// SAFETY:
// 1. `pin` enters the collector (marking the thread active: a store, then a compiler fence)
//    and then issues a `SeqCst` fence (`protection_fence`). seize's `retire` issues a heavy
//    barrier (a `SeqCst` fence, or a process-wide barrier: Linux's `membarrier`, mprotect, or
//    Windows' `FlushProcessWriteBuffers`) after the map's unlinking store and before it reads
//    which threads are active. The two barriers are ordered:
//    - if the retiring thread's comes first, every load that happens after our fence (on this
//      thread, or on a thread it handed the pin's loads to, such as a `par_iter` worker) sees
//      the unlinking store or a later one, whatever its own ordering: the memory model's rule for
//      a pair of `SeqCst` fences speaks of loads that *happen after* the second fence;
//    - if ours comes first, the retiring thread sees the marking store (sequenced before our
//      fence), so seize keeps the object until this guard (the thread's last) leaves.
//    With the process-wide barrier, seize's marking store is plain and that barrier acts as a
//    `SeqCst` fence on this thread too, at a point that the compiler fence in `enter` keeps
//    after the store; the argument is seize's own, for its protected loads. With the `SeqCst`
//    fence barrier, the marking store is `SeqCst` and the argument above is the memory model's.
//    seize's own `protect` makes each protected load `SeqCst` instead of fencing; the map's
//    writes load with acquire loads and CAS loops, which a `SeqCst` store does not order, so
//    `pin` fences on every target (crossbeam-epoch's `pin` has the same fence).
//    `pin_reads` protects as seize's `protect` does: it enters without the fence, and the
//    lookups' loads of shared pointers are `SeqCst` (`READ_ORDERING`), the loads of the read
//    table's pointer and of value slots (and pointers reached through the table, or read under
//    the map's lock, covered as the contract says). With the `SeqCst`-fence barrier (what Miri
//    runs): the marking store is `SeqCst`, so it precedes each later `SeqCst` load in the single
//    total order S; a load that read a pointer older than the unlinking store is ordered before
//    that store, which happens before the heavy fence, so the load, and the marking store,
//    precede the fence in S; the retiring thread's read of the reservation after its fence then
//    cannot read a value older than the marking store: it finds this thread active. With the
//    process-wide barrier, the argument is seize's (above), and does not depend on the loads'
//    ordering; seize's `protect` makes them `SeqCst` all the same, and so do we.
//    A nested `enter` (the thread already holds a guard of this collector) stores nothing; the
//    outer guard's marking store (and, for `pin`, the fence that follows the nested enter)
//    protects every load until the last guard leaves: a `pin` inside a `pin_reads` guard (a
//    write while a `Ref` lives) fences after the outer marking store, and a `pin_reads` inside
//    a `pin` guard makes `SeqCst` loads after it.
// 2. Each `retire` hands seize exactly one pointer with `reclaim::<T>`, which seize calls once;
//    dropping the collector (with the strategy, after the map) reclaims whatever is left.
// 3. `Box` storage; a `Ref` holds the guard its value was read under and borrows the map.
// 4. `enter`, `defer_retire` and `Guard::flush` do not unwind; handing a batch over (in either
//    of the last two) may run reclaimers, whose only panics are from user `Drop`s, which
//    `reclaim` keeps out of seize's loop and `pin`, `retire` and the strategy's drop resume.
unsafe impl Reclaim for SeizeReclaim {
    type Guard<'a> = LocalGuard<'a>;
    type Ref<'a, T: 'a> = Ref<'a, T>;
    type Stored<T> = Box<T>;

    #[inline]
    fn pin(&self) -> LocalGuard<'_> {
        // A guard dropped since this thread's last `pin` may have freed a batch.
        unwind::resume_deferred();
        let guard = self.collector.enter();
        protection_fence();
        guard
    }

    /// Enters the collector without [`pin`](Reclaim::pin)'s fence: lookups' loads are `SeqCst`
    /// (`READ_ORDERING`), which is how seize's own `Guard::protect` (and papaya) protect a load.
    #[inline]
    fn pin_reads(&self) -> LocalGuard<'_> {
        unwind::resume_deferred();
        self.collector.enter()
    }

    const READ_ORDERING: Ordering = Ordering::SeqCst;

    #[inline]
    unsafe fn retire<T: Retire>(&self, guard: &LocalGuard<'_>, ptr: NonNull<T>) {
        debug_assert!(
            *guard.collector() == self.collector,
            "a guard of another map's collector"
        );
        // SAFETY: `guard` came from `self.pin()` (caller's contract, asserted above), so `ptr`
        // joins this map's collector, whose guards are the map's readers; `ptr` is unreachable
        // for threads entering from now on, is retired once, and `reclaim::<T>` is valid for it
        // at any later time on any thread (caller's contract).
        unsafe { guard.defer_retire(ptr.as_ptr(), reclaim::<T>) };
        unwind::resume_deferred();
    }

    /// Flushing allocates and visits the collector's shared state, so a `clear` of a map with
    /// fewer than 32 keys does not flush: such clears hold back at most 31 entries each until
    /// the batch fills (as any other retirement), while a large `clear` is freed at once.
    const FLUSH_MIN_DEAD: usize = 32;

    /// Hands this thread's batch to the collector, so that a `clear` or a promotion that frees
    /// keys is freed once the readers leave, without waiting for the batch to fill.
    ///
    /// seize hands a batch over only if it holds at least one retirement per thread active in
    /// the collector at that moment (it threads the batch through each one's reservation list).
    /// A `clear` retires one object (the old read table, with everything that died), so with a
    /// few threads active the batch would wait for more retirements, and if this thread exits
    /// first, for the map's drop: the soak's `clear` workload kept up to three cleared maps so
    /// (12-13 MiB) in half its runs. So the batch is first padded with 64 (`FLUSH_PADDING`) empty
    /// retirements, which seize reclaims with the batch by calling a function that does nothing.
    fn flush(&self, guard: &LocalGuard<'_>) {
        for _ in 0..FLUSH_PADDING {
            // SAFETY: a dangling pointer is reachable by no thread, and `reclaim_nothing`
            // accepts any pointer without using it, at any time, on any thread.
            unsafe { guard.defer_retire(NonNull::<u8>::dangling().as_ptr(), reclaim_nothing) };
        }
        guard.flush();
    }

    #[inline]
    unsafe fn make_ref<'a, T: 'a>(guard: LocalGuard<'a>, ptr: NonNull<T>) -> Ref<'a, T> {
        // SAFETY: `ptr` was read under `guard` (caller's contract), so by item 1 above it stays
        // valid while `guard` lives; `guard` borrows the map's collector for `'a`.
        unsafe { Guarded::new(guard, ptr) }
    }
}

// SAFETY: the collector is the strategy's own, and dropping it (in the strategy's drop, after
// the map's) reclaims everything still retired; guards borrow the map, so none outlives it.
// Nothing is reclaimed after that, so borrowed keys and values are sound.
unsafe impl<T> syncmap_core::Admits<T> for SeizeReclaim {}

/// A pinned view of a seize [`SyncMap`] that is `Send`, from [`SyncMap::pin_owned`]: it and the
/// `&V` it lends may be held across an `.await` in a `Send` future.
///
/// # Examples
///
/// ```
/// use std::{future::Future, pin::pin, task::{Context, Poll, Waker}};
/// use syncmap_epoch::seize::SyncMap;
///
/// fn assert_send<F: Future + Send>(future: F) -> F {
///     future
/// }
///
/// async fn yield_once() {
///     let mut yielded = false;
///     std::future::poll_fn(|_| if yielded { Poll::Ready(()) } else { yielded = true; Poll::Pending })
///         .await
/// }
///
/// let map: SyncMap<&str, String> = SyncMap::new();
/// map.store("user", "alice".to_string());
/// let mut task = pin!(assert_send(async {
///     let pinned = map.pin_owned();
///     let user: &String = pinned.load("user").unwrap();
///     yield_once().await;
///     user.len()
/// }));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(task.as_mut().poll(&mut cx).is_pending());
/// map.store("user", "bob".to_string()); // the task's reference still sees the old value
/// assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(5));
/// ```
pub type PinnedOwned<'m, K, V, S = RandomState> =
    syncmap_core::PinnedOwned<'m, K, V, SeizeReclaim, S>;

// SAFETY: `enter_owned` marks a reservation of its own active with the same store and light
// barrier as `enter`, and `protection_fence` completes it as in `pin` (item 1 above). A pointer
// read under a `pin_reads` guard made after the owned guard (on any thread: moving the owned
// guard there synchronizes) was read with a `SeqCst` load after the owned guard's fence. If the
// load missed the retirer's unlinking store, it precedes the retirer's heavy fence in the single
// total order S (item 1), and so does the owned guard's fence, which happens before the load;
// the retirer's read of the owned reservation after its own fence then finds it active (two
// `SeqCst` fences, the owned marking store before the first), and seize keeps the pointer until
// that reservation leaves, when the owned guard is dropped. With the process-wide barrier, the
// owned guard's fence orders its marking store before the load, as in `pin`. `enter_owned`
// does not unwind (short of OOM).
unsafe impl ReclaimOwned for SeizeReclaim {
    type OwnedGuard<'a> = OwnedGuard<'a>;

    #[inline]
    fn pin_owned(&self) -> OwnedGuard<'_> {
        let guard = self.collector.enter_owned();
        protection_fence();
        guard
    }
}
#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    };

    use super::SyncMap;

    /// A value that counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn frees_replaced_values_while_the_map_lives_and_the_rest_at_drop() {
        let drops = Arc::new(AtomicUsize::new(0));
        let map: SyncMap<u8, Counted> = SyncMap::new();
        let overwrites = 10_000;
        for _ in 0..=overwrites {
            map.store(0, Counted(drops.clone()));
        }
        let freed = drops.load(SeqCst);
        assert!(freed > 0, "nothing freed after {overwrites} overwrites");
        assert!(freed <= overwrites, "the current value was freed");
        drop(map);
        assert_eq!(
            drops.load(SeqCst),
            overwrites + 1,
            "the collector frees the rest"
        );
    }

    #[test]
    fn clear_frees_its_entries_without_later_writes() {
        let drops = Arc::new(AtomicUsize::new(0));
        let map: SyncMap<u32, Counted> = SyncMap::new();
        let n = 5_000;
        for k in 0..n {
            map.store(k, Counted(drops.clone()));
        }
        map.clear();
        // Nothing but the clear's own retirement was retired: its batch is flushed, and freed
        // once the clearing thread's guard is gone.
        assert_eq!(
            drops.load(SeqCst),
            n as usize,
            "a clear waited for later writes"
        );
        assert!(map.load(&0).is_none());
    }

    #[test]
    fn an_owned_pin_keeps_its_values_alive_on_another_thread() {
        let first_drops = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let map: SyncMap<u8, Counted> = SyncMap::new();
        map.store(0, Counted(first_drops.clone()));
        let pinned = map.pin_owned();
        let overwrites = 10_000;
        std::thread::scope(|s| {
            // The view goes to another thread, which loads through it and keeps the reference.
            let first = s
                .spawn(|| pinned.load(&0).expect("present"))
                .join()
                .unwrap();
            for _ in 0..overwrites {
                map.store(0, Counted(drops.clone()));
            }
            assert_eq!(first_drops.load(SeqCst), 0, "freed under an owned pin");
            assert!(
                Arc::ptr_eq(&first.0, &first_drops),
                "the reference still reads it"
            );
            // Another thread's view of the current value: a load through a moved view.
            s.spawn(|| assert!(pinned.load(&0).is_some()));
        });
        drop(pinned);
        for _ in 0..overwrites {
            map.store(0, Counted(drops.clone()));
        }
        assert_eq!(first_drops.load(SeqCst), 1, "freed once the view is gone");
        drop(map);
        assert_eq!(drops.load(SeqCst), 2 * overwrites);
    }

    #[test]
    fn each_map_has_its_own_collector() {
        let drops = Arc::new(AtomicUsize::new(0));
        let a: SyncMap<u8, Counted> = SyncMap::new();
        let b: SyncMap<u8, Counted> = SyncMap::new();
        // A reader pinned on `b` does not hold back `a`'s garbage.
        let pinned = b.pin();
        for _ in 0..1_000 {
            a.store(0, Counted(drops.clone()));
        }
        assert!(
            drops.load(SeqCst) > 0,
            "another map's pin held back reclamation"
        );
        drop(pinned);
    }
}
