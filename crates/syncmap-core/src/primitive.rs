//! The synchronisation primitives the algorithm is written against.
//!
//! Normally these are `std`'s atomics and `Arc`, and `parking_lot`'s `Mutex`. When the crate is
//! built with `RUSTFLAGS="--cfg loom"` they are [loom](https://docs.rs/loom)'s models instead,
//! so that `tests/loom.rs` can explore every interleaving of the algorithm (the shape of tokio's
//! `loom` module and crossbeam's `primitive` module). A [`Reclaim`](crate::Reclaim)
//! implementation names [`sync::atomic::AtomicPtr`] from here, never `std`'s directly.

#[cfg(not(loom))]
mod imp {
    /// Shared-memory primitives: std's, or loom's under `cfg(loom)`.
    pub mod sync {
        pub use std::sync::Arc;

        /// Atomic types: std's, or loom's under `cfg(loom)`.
        pub mod atomic {
            pub use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
        }

        /// A mutex without poisoning, whose `lock` returns the guard directly.
        pub type Mutex<T> = parking_lot::Mutex<T>;
        /// The guard of [`Mutex`].
        pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

        /// A condition variable whose `wait` takes and returns the guard (loom's shape).
        #[derive(Debug, Default)]
        pub struct Condvar(parking_lot::Condvar);

        impl Condvar {
            /// A condition variable with no waiters.
            pub const fn new() -> Self {
                Self(parking_lot::Condvar::new())
            }

            /// Blocks until notified, releasing the mutex meanwhile.
            pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0.wait(&mut guard);
                guard
            }

            /// Wakes every waiter.
            pub fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    /// Interior mutability with loom's closure-based API.
    pub mod cell {
        /// `std::cell::UnsafeCell` with loom's `with`/`with_mut` accessors.
        #[derive(Debug)]
        pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            /// Wraps `value`.
            pub const fn new(value: T) -> Self {
                Self(std::cell::UnsafeCell::new(value))
            }

            /// Calls `f` with a shared raw pointer to the contents.
            pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                f(self.0.get())
            }

            /// Calls `f` with a mutable raw pointer to the contents.
            pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                f(self.0.get())
            }
        }
    }
}

#[cfg(loom)]
mod imp {
    /// Shared-memory primitives: loom's models.
    pub mod sync {
        pub use loom::sync::Arc;

        /// Atomic types: loom's models.
        pub mod atomic {
            pub use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
        }

        /// loom's mutex, with `parking_lot`'s poison-free `lock` signature.
        #[derive(Debug)]
        pub struct Mutex<T>(loom::sync::Mutex<T>);

        /// The guard of [`Mutex`].
        pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

        impl<T: Default> Default for Mutex<T> {
            fn default() -> Self {
                Self::new(T::default())
            }
        }

        impl<T> Mutex<T> {
            /// Wraps `value`.
            pub fn new(value: T) -> Self {
                Self(loom::sync::Mutex::new(value))
            }

            /// Locks the mutex; a poisoned lock is entered anyway, as `parking_lot` does.
            pub fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock().unwrap_or_else(|poison| poison.into_inner())
            }

            /// Returns the contents, given exclusive access.
            pub fn get_mut(&mut self) -> &mut T {
                self.0
                    .get_mut()
                    .unwrap_or_else(|poison| poison.into_inner())
            }
        }

        /// loom's condition variable, with `wait` taking and returning the guard.
        #[derive(Debug, Default)]
        pub struct Condvar(loom::sync::Condvar);

        impl Condvar {
            /// A condition variable with no waiters.
            pub fn new() -> Self {
                Self(loom::sync::Condvar::new())
            }

            /// Blocks until notified, releasing the mutex meanwhile.
            pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0
                    .wait(guard)
                    .unwrap_or_else(|poison| poison.into_inner())
            }

            /// Wakes every waiter.
            pub fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    /// Interior mutability: loom's model.
    pub mod cell {
        pub use loom::cell::UnsafeCell;
    }
}

pub use imp::*;
