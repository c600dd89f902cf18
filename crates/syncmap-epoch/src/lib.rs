//! Go's `sync.Map` for Rust, with [crossbeam-epoch] memory reclamation.
//!
//! A concurrent hash map for read-mostly workloads: loads of keys that are already in the read
//! table take no lock and write no shared memory. See [`syncmap_core`] for the design; this crate
//! contributes the reclamation strategy [`EpochReclaim`] and the aliases [`SyncMap`] and
//! [`Pinned`].
//!
//! Retired memory goes to crossbeam-epoch's global collector, which frees it once every thread
//! pinned at the time has unpinned. [`SyncMap::load`] returns a [`Ref`] that holds a guard (so it
//! cannot leave its thread); [`SyncMap::pin`] gives plain `&V` for a batch of reads.
//!
//! # Examples
//!
//! ```
//! use std::thread;
//! use syncmap_epoch::SyncMap;
//!
//! let config: SyncMap<String, u64> = SyncMap::new();
//! config.store("timeout_ms".to_string(), 250);
//! thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| assert_eq!(config.load("timeout_ms").as_deref(), Some(&250)));
//!     }
//! });
//! ```
//!
//! Keys and values may hold any `Send + 'static` data; the `'static` bound exists because
//! crossbeam's global collector may drop a replaced value after the map itself is gone. The
//! seize map below frees everything when it is dropped, so it also takes borrowed keys and
//! values (see [`syncmap_core::Admits`]).
//!
//! # seize (feature `seize`)
//!
//! `seize::SyncMap` is the same map over [seize](https://docs.rs/seize) with a collector per
//! map: a map's garbage waits only for that map's readers, and is all freed when the map is
//! dropped. Its loads behave as this module's do.
//!
//! It is behind the `seize` feature, off by default: most users want one backend, the
//! crossbeam-epoch one above, and should not compile seize for it; and a default feature is hard
//! to turn off, since any crate in the graph that keeps default features turns it back on.
//! Enable it with `syncmap-epoch = { version = "0.1", features = ["seize"] }`.
//!
//! # Features
//!
//! * `seize`: the [seize] backend, `syncmap_epoch::seize` (off by default; above).
//! * `rayon`: parallel iteration over a pinned map, `map.pin().par_iter()` (off by default).
//!
//! [crossbeam-epoch]: https://docs.rs/crossbeam-epoch
//! [seize]: https://docs.rs/seize
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`, whose example runs as a doc test (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "seize")]
pub mod seize;

use core::ptr::NonNull;
use std::hash::RandomState;

use crossbeam_epoch::Guard;
pub use syncmap_core::{ConcurrentMap, Stats};
use syncmap_core::{Reclaim, Retire, reclaim::Guarded, unwind};

/// The crossbeam-epoch reclamation strategy: a marker for crossbeam's global collector.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::EpochReclaim;
///
/// // The strategy is usually named only through the `SyncMap` alias:
/// let map: syncmap_core::SyncMap<u8, u8, EpochReclaim> = syncmap_core::SyncMap::new();
/// map.store(1, 2);
/// assert_eq!(*map.load(&1).unwrap(), 2);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EpochReclaim;

/// Go's `sync.Map` with crossbeam-epoch reclamation.
///
/// The method examples below name this alias `SyncMap`: they run as written after
/// `use syncmap_epoch::SyncMap;`.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let map: SyncMap<&str, u32> = SyncMap::new();
/// map.store("a", 1);
/// assert_eq!(*map.load("a").unwrap(), 1);
/// ```
pub type SyncMap<K, V, S = RandomState> = syncmap_core::SyncMap<K, V, EpochReclaim, S>;

/// A pinned view of a [`SyncMap`], from [`SyncMap::pin`]: loads return `&V`.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let map: SyncMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
/// let pinned = map.pin();
/// assert_eq!(pinned.load(&3), Some(&3));
/// ```
pub type Pinned<'m, K, V, S = RandomState> = syncmap_core::Pinned<'m, K, V, EpochReclaim, S>;

/// A loaded value: derefs to `V` and keeps it alive by holding an epoch guard.
///
/// Holding it delays the reclamation of memory retired by every thread, so drop it soon.
/// It is neither `Send` nor `Sync` (the guard belongs to its thread).
///
/// # Holding a value across `.await`
///
/// A `Ref` alive across an `.await` makes the future `!Send` ("future cannot be sent between
/// threads safely ... `*const crossbeam_epoch::internal::Local` cannot be shared"): the guard
/// it holds is tied to its thread, and crossbeam-epoch has no guard that is not. Instead:
///
/// * copy the value out before the `.await`: [`load_cloned`](SyncMap::load_cloned), or
///   `*map.load(k)?` for `Copy` values; or end the `Ref`'s scope before the `.await`;
/// * use the seize map, [`seize::SyncMap`], whose [`pin_owned`](seize::SyncMap::pin_owned) gives
///   a `Send` view ([`seize::PinnedOwned`]) lending `&V` across `.await` (papaya's `pin_owned`);
/// * use `syncmap_arcswap::SyncMap`, whose loads return an owned `Arc<V>` that is `Send` and
///   outlives the map.
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// async fn handle(map: &SyncMap<u32, String>) -> usize {
///     let name: Option<String> = map.load_cloned(&1); // no guard held from here on
///     std::future::ready(()).await;
///     name.map_or(0, |n| n.len())
/// }
///
/// fn assert_send<T: Send>(_: T) {}
/// let map = SyncMap::new();
/// map.store(1, "one".to_string());
/// assert_send(handle(&map));
/// ```
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let map: SyncMap<&str, String> = SyncMap::new();
/// map.store("k", "old".to_string());
/// let old = map.load("k").unwrap();
/// map.store("k", "new".to_string());
/// assert_eq!(old.as_str(), "old"); // the handle keeps the replaced value alive
/// ```
pub type Ref<'a, T> = Guarded<'a, Guard, T>;

// SAFETY:
// 1. crossbeam-epoch never runs a deferred function while a guard pinned before the `defer` is
//    alive, on any thread; loads under a pinned guard are protected by that guarantee alone.
// 2. Each `retire` defers exactly one `reclaim`; the global collector runs every deferred
//    function eventually (some may run after the map is dropped, which the map's
//    `Send` bounds and `Admits<T>` for `T: 'static` only make sound).
// 3. The default `Box` allocation; `Ref` keeps the guard the pointer was read under.
// 4. `crossbeam_epoch::pin` and `defer_unchecked` do not unwind (short of OOM); deferred
//    functions run later, outside the map's critical steps, and never unwind into crossbeam's
//    batch loop (`catch_deferred`): a reclaimer's panic is resumed by the next `pin` on the
//    thread that ran it, before that operation reads or writes anything.
unsafe impl Reclaim for EpochReclaim {
    type Guard<'a> = Guard;
    type Ref<'a, T: 'a> = Ref<'a, T>;
    type Stored<T> = Box<T>;

    #[inline]
    fn pin(&self) -> Guard {
        let guard = crossbeam_epoch::pin();
        // Pinning may have run deferred reclaimers (crossbeam collects garbage from `pin`), as
        // may anything else on this thread since its last `pin` (`Guard::flush`): surface a
        // panic they raised, once the rest of their batch has been freed.
        unwind::resume_deferred();
        guard
    }

    #[inline]
    unsafe fn retire<T: Retire>(&self, guard: &Guard, ptr: NonNull<T>) {
        // SAFETY: `ptr` is unreachable for threads pinning from now on and is retired once
        // (caller's contract), so running `reclaim` after the current epoch ends is sound.
        // A reclaimer's panic must not unwind into crossbeam's batch loop, which would leak the
        // rest of the batch: it is kept for `pin` to resume.
        unsafe { guard.defer_unchecked(move || unwind::catch_deferred(|| T::reclaim(ptr))) }
    }

    /// Flushing allocates and visits the collector's shared state, so a `clear` of a map with
    /// fewer than 32 keys does not flush: such clears hold back at most 31 entries each until
    /// the batch fills (as any other retirement), while a large `clear` is freed at once.
    const FLUSH_MIN_DEAD: usize = 32;

    /// Hands this thread's bag of deferred functions to the global queue and collects what
    /// is ready, so that a `clear` (or a promotion that frees keys) is freed without waiting
    /// for 64 more retirements on this thread.
    #[inline]
    fn flush(&self, guard: &Guard) {
        guard.flush();
    }

    #[inline]
    unsafe fn make_ref<'a, T: 'a>(guard: Guard, value: NonNull<T>) -> Ref<'a, T> {
        // SAFETY: `value` was read under `guard` (caller's contract), so the epoch it may be
        // retired in cannot end while `guard` lives; the map is borrowed for `'a`.
        unsafe { Guarded::new(guard, value) }
    }
}

// SAFETY: only `'static` data: crossbeam's global collector may reclaim retired objects after
// the map (and any borrow it held) is gone, on any thread.
unsafe impl<T: 'static> syncmap_core::Admits<T> for EpochReclaim {}

/// Compile-time checks of what must *not* compile, each with a twin that does.
///
/// A map of `!Send` keys is neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_epoch::SyncMap<std::rc::Rc<u8>, u8>>();
/// ```
///
/// A map of `Send` but `!Sync` values can move between threads but not be shared:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_epoch::SyncMap<u8, std::cell::Cell<u8>>>();
/// ```
///
/// ```
/// fn is_send<T: Send>() {}
/// fn is_sync<T: Sync>() {}
/// is_send::<syncmap_epoch::SyncMap<u8, std::cell::Cell<u8>>>();
/// is_send::<syncmap_epoch::SyncMap<String, Vec<u8>>>();
/// is_sync::<syncmap_epoch::SyncMap<String, Vec<u8>>>();
/// ```
///
/// A [`Ref`] holds an epoch guard and cannot cross threads:
///
/// ```compile_fail
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || *value);
/// });
/// ```
///
/// ```
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = *map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || value);
/// });
/// ```
///
/// A future that holds a [`Ref`] across an `.await` is not `Send` (see [`Ref`] for what to do
/// instead; the twin holds a clone):
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// assert_send(async {
///     let value = map.load(&1);
///     std::future::ready(()).await;
///     value.map(|v| *v)
/// });
/// ```
///
/// ```
/// fn assert_send<T: Send>(_: T) {}
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// assert_send(async {
///     let value = map.load_cloned(&1);
///     std::future::ready(()).await;
///     value
/// });
/// ```
///
/// Keys and values must be `'static` (crossbeam may free them after the map is gone); the
/// twin, with an owned key, compiles (and the seize map, with the `seize` feature, takes the
/// borrowed one):
///
/// ```compile_fail
/// let text = String::from("a b");
/// let map: syncmap_epoch::SyncMap<&str, u32> = syncmap_epoch::SyncMap::new();
/// map.store(text.split(' ').next().unwrap(), 1);
/// ```
///
/// ```
/// let text = String::from("a b");
/// let map: syncmap_epoch::SyncMap<String, u32> = syncmap_epoch::SyncMap::new();
/// map.store(text.split(' ').next().unwrap().to_string(), 1);
/// ```
///
/// A [`Ref`] or a pinned reference cannot outlive its map:
///
/// ```compile_fail
/// let value = {
///     let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
///     map.store(1, 1);
///     map.load(&1).unwrap()
/// };
/// ```
///
/// ```compile_fail
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = {
///     let pinned = map.pin();
///     pinned.load(&1).unwrap()
/// };
/// ```
///
/// ```
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let pinned = map.pin();
/// let value = pinned.load(&1).unwrap();
/// assert_eq!(*value, 1);
/// ```
#[cfg(doctest)]
pub struct CompileFailTests;
