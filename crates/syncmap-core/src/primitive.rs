//! The synchronisation primitives the algorithm is written against (crate-private).
//!
//! Normally these are `std`'s atomics and `parking_lot`'s `Mutex` and `Condvar`. When the crate
//! is built with `RUSTFLAGS="--cfg loom"` they are [loom](https://docs.rs/loom)'s models
//! instead, so that `tests/loom.rs` can explore the algorithm's interleavings, up to loom's
//! preemption bound (the shape of tokio's `loom` module and crossbeam's `primitive` module).
//! Only what the core uses is here: a backend that model-checks its own protocol keeps a shim
//! of its own (`syncmap-arcswap`'s `mod sync`).

#[cfg(not(loom))]
mod imp {
    /// Shared-memory primitives: std's and `parking_lot`'s, or loom's under `cfg(loom)`.
    pub(crate) mod sync {
        /// Atomic types: std's, or loom's under `cfg(loom)`.
        pub(crate) mod atomic {
            pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
        }

        /// A mutex without poisoning, whose `lock` returns the guard directly.
        pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
        /// The guard of [`Mutex`].
        pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

        /// A condition variable whose `wait` takes and returns the guard (loom's shape).
        #[derive(Debug, Default)]
        pub(crate) struct Condvar(parking_lot::Condvar);

        impl Condvar {
            /// Blocks until notified, releasing the mutex meanwhile.
            pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0.wait(&mut guard);
                guard
            }

            /// Wakes every waiter.
            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }
}

#[cfg(loom)]
mod imp {
    /// Shared-memory primitives: loom's models.
    pub(crate) mod sync {
        /// Atomic types: loom's models.
        pub(crate) mod atomic {
            pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
        }

        /// loom's mutex, with `parking_lot`'s poison-free `lock` signature.
        #[derive(Debug)]
        pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

        /// The guard of [`Mutex`].
        pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

        impl<T: Default> Default for Mutex<T> {
            fn default() -> Self {
                Self::new(T::default())
            }
        }

        impl<T> Mutex<T> {
            /// Wraps `value`.
            pub(crate) fn new(value: T) -> Self {
                Self(loom::sync::Mutex::new(value))
            }

            /// Locks the mutex; a poisoned lock is entered anyway, as `parking_lot` does.
            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock().unwrap_or_else(|poison| poison.into_inner())
            }

            /// Returns the contents, given exclusive access.
            pub(crate) fn get_mut(&mut self) -> &mut T {
                self.0
                    .get_mut()
                    .unwrap_or_else(|poison| poison.into_inner())
            }
        }

        /// loom's condition variable, with `wait` taking and returning the guard.
        #[derive(Debug, Default)]
        pub(crate) struct Condvar(loom::sync::Condvar);

        impl Condvar {
            /// Blocks until notified, releasing the mutex meanwhile.
            pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0
                    .wait(guard)
                    .unwrap_or_else(|poison| poison.into_inner())
            }

            /// Wakes every waiter.
            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }
}

pub(crate) use imp::*;
