//! Dropping many keys and values when one `Drop` panics: keep going, then panic once.
//!
//! The map drops user data in bulk: a batch of retired values, the entries a `clear` unlinks,
//! every entry at the map's drop. If one key's or value's `Drop` panics there, every other key
//! and value is still dropped exactly once, and the panic surfaces once, after the rest:
//!
//! * [`DropAll`] runs a sequence of destructors to the end, each under `catch_unwind`, keeps the
//!   first panic and resumes it when the sequence is done. Later panics of the same sequence are
//!   caught and dropped (the panic hook has reported them, as for any panic): none of them
//!   aborts the process, unlike std's `Vec`, which drops the rest of its elements *while
//!   unwinding* (so a second panicking element aborts).
//! * A collector whose batch loop is not ours (crossbeam-epoch's, seize's) calls each retired
//!   object's reclaimer on its own; [`catch_deferred`] wraps that call so that the collector's
//!   loop goes on, and keeps the panic in a per-thread slot until the strategy reaches a point
//!   where it may unwind (its `pin` or `retire`, or its drop) and calls [`resume_deferred`].
//!
//! Either way, nothing is resumed while the thread is already unwinding (when the map is dropped
//! during a panic, say): the payload is then dropped, since a panic escaping a destructor that
//! runs during unwinding would abort.

use core::{
    cell::Cell,
    mem,
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};
use std::{
    any::Any,
    panic::{self, AssertUnwindSafe},
    thread,
};

/// What a panic carries.
type Payload = Box<dyn Any + Send + 'static>;

/// Runs destructors to the end even if some of them panic; [`finish`](Self::finish) then resumes
/// the first panic.
///
/// # Examples
///
/// ```
/// use std::panic::catch_unwind;
/// use syncmap_core::unwind::DropAll;
///
/// struct Loud(bool);
/// impl Drop for Loud {
///     fn drop(&mut self) {
///         assert!(!self.0, "boom");
///     }
/// }
///
/// let items = vec![Loud(false), Loud(true), Loud(true), Loud(false)];
/// let result = catch_unwind(move || {
///     let mut drops = DropAll::new();
///     for item in items {
///         drops.run(|| drop(item));
///     }
///     drops.finish(); // every item was dropped; the first panic resumes here
/// });
/// assert!(result.is_err());
/// ```
#[derive(Default)]
#[must_use = "call `finish` to resume a panic, if any"]
pub struct DropAll {
    first: Option<Payload>,
}

impl DropAll {
    /// No destructor has run yet.
    #[inline]
    pub const fn new() -> Self {
        DropAll { first: None }
    }

    /// Runs `f` (a destructor), keeping its panic, if any, for [`finish`](Self::finish).
    #[inline]
    pub fn run(&mut self, f: impl FnOnce()) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
            self.keep(payload);
        }
    }

    #[cold]
    fn keep(&mut self, payload: Payload) {
        if self.first.is_none() {
            self.first = Some(payload);
        } else {
            discard(payload);
        }
    }

    /// Resumes the first panic of the destructors run, if any (unless the thread is already
    /// unwinding: the panic is then dropped).
    #[inline]
    pub fn finish(mut self) {
        if let Some(payload) = self.first.take() {
            resume(payload);
        }
    }
}

impl Drop for DropAll {
    fn drop(&mut self) {
        // Not finished: we are unwinding from elsewhere, so the panic kept here is dropped.
        if let Some(payload) = self.first.take() {
            discard(payload);
        }
    }
}

impl core::fmt::Debug for DropAll {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DropAll")
            .field("panicked", &self.first.is_some())
            .finish()
    }
}

/// Drops a panic that will not be resumed. A payload's own `Drop` may panic too: that panic is
/// caught, and what it carries is leaked.
#[cold]
fn discard(payload: Payload) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        mem::forget(again);
    }
}

/// Resumes `payload`, or drops it if the thread is already unwinding.
#[cold]
fn resume(payload: Payload) {
    if thread::panicking() {
        discard(payload);
    } else {
        panic::resume_unwind(payload);
    }
}

/// The first panic a collector's destructor raised on a thread and no strategy resumed yet.
struct Deferred(Cell<Option<Payload>>);

impl Drop for Deferred {
    /// The thread exits with a panic nobody resumed: drop it, and stop counting the thread.
    fn drop(&mut self) {
        if let Some(payload) = self.0.get_mut().take() {
            DEFERRED_THREADS.fetch_sub(1, Relaxed);
            discard(payload);
        }
    }
}

thread_local! {
    static DEFERRED: Deferred = const { Deferred(Cell::new(None)) };
}

/// How many threads have a panic in [`DEFERRED`]: lets [`resume_deferred`] skip the
/// thread-local access (one relaxed load of a line nobody writes in the common case).
static DEFERRED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Runs `f`, a retired object's reclaimer called from a collector's batch loop, so that a panic
/// does not escape into that loop (which would then leak the rest of its batch): the panic is
/// kept on this thread until [`resume_deferred`] (only the first one, if several are raised
/// before that; the others are dropped).
///
/// # Examples
///
/// ```
/// use syncmap_core::unwind::{catch_deferred, resume_deferred};
///
/// catch_deferred(|| panic!("a value's Drop"));
/// catch_deferred(|| {}); // the collector's loop goes on
/// let resumed = std::panic::catch_unwind(resume_deferred);
/// assert!(resumed.is_err());
/// resume_deferred(); // nothing left
/// ```
#[inline]
pub fn catch_deferred(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        defer(payload);
    }
}

#[cold]
fn defer(payload: Payload) {
    let mut payload = Some(payload);
    // `try_with` fails only while this thread's locals are being destroyed (a collector that
    // runs destructors at thread exit): no later operation could resume the panic then.
    let _ = DEFERRED.try_with(|Deferred(slot)| {
        let first = slot.take();
        if first.is_some() {
            slot.set(first);
        } else {
            slot.set(payload.take());
            DEFERRED_THREADS.fetch_add(1, Relaxed);
        }
    });
    if let Some(payload) = payload {
        discard(payload);
    }
}

/// Resumes the panic [`catch_deferred`] kept on this thread, if any (unless the thread is already
/// unwinding: it is then dropped). A strategy calls it where it may unwind.
///
/// # Examples
///
/// ```
/// syncmap_core::unwind::resume_deferred(); // no panic kept: returns
/// ```
#[inline]
pub fn resume_deferred() {
    if DEFERRED_THREADS.load(Relaxed) != 0 {
        resume_deferred_slow();
    }
}

#[cold]
fn resume_deferred_slow() {
    if let Ok(Some(payload)) = DEFERRED.try_with(|Deferred(slot)| slot.take()) {
        DEFERRED_THREADS.fetch_sub(1, Relaxed);
        resume(payload);
    }
}

/// Calls [`resume_deferred`] when dropped: the last field of a strategy whose collector (a
/// field before it) runs destructors when dropped, so that their panic surfaces at the map's
/// drop.
///
/// # Examples
///
/// ```
/// use syncmap_core::unwind::{ResumeDeferredOnDrop, catch_deferred};
///
/// let resumer = ResumeDeferredOnDrop::default();
/// catch_deferred(|| panic!("a value's Drop"));
/// assert!(std::panic::catch_unwind(move || drop(resumer)).is_err());
/// ```
#[derive(Debug, Default)]
pub struct ResumeDeferredOnDrop;

impl Drop for ResumeDeferredOnDrop {
    fn drop(&mut self) {
        resume_deferred();
    }
}
