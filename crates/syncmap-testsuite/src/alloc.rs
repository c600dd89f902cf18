//! [`CountingAlloc`]: the system allocator, counting allocations per thread and live bytes
//! globally.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::Cell,
    sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed},
};
use std::alloc::System;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// A global allocator that forwards to [`System`] and counts: allocations made by the current
/// thread ([`thread_allocations`]) and bytes live in the whole process ([`live_bytes`]).
///
/// [`conformance_tests!`](crate::conformance_tests) installs it; the allocation checks fail
/// with a clear message if it is not the global allocator.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::alloc::{CountingAlloc, installed};
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::new();
///
/// let v = vec![1_u8; 10];
/// assert!(installed());
/// drop(v);
/// ```
#[derive(Debug, Default)]
pub struct CountingAlloc(());

impl CountingAlloc {
    /// The allocator (a `const fn`, for a `static`).
    pub const fn new() -> Self {
        CountingAlloc(())
    }

    #[inline]
    fn count(size: usize) {
        INSTALLED.store(true, Relaxed);
        LIVE_BYTES.fetch_add(size as isize, Relaxed);
        // `try_with`: allocations during thread teardown still work, uncounted.
        let _ = THREAD_ALLOCS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counting
// touches only atomics and a const-initialised thread-local `Cell`, neither of which allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count(new_size);
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Whether [`CountingAlloc`] is the global allocator (it has counted an allocation).
pub fn installed() -> bool {
    // Make sure at least one allocation has gone through the global allocator.
    drop(std::hint::black_box(Box::new(0_u8)));
    INSTALLED.load(Relaxed)
}

/// Allocations (and reallocations) made by the current thread so far.
pub fn thread_allocations() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

/// Bytes allocated and not yet freed, by every thread of the process.
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Relaxed)
}

/// Panics unless [`CountingAlloc`] is the global allocator.
pub fn require_installed() {
    assert!(
        installed(),
        "this check needs syncmap_testsuite::alloc::CountingAlloc as the #[global_allocator] \
         (conformance_tests! installs it)"
    );
}
