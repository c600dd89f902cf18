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
//! The methods take Go's names (`store`, `load`, `load_and_delete`, ...); [`SyncMap`'s table of
//! std names](SyncMap#std-names) maps std's `HashMap` names (`insert`, `get`, `get_mut`,
//! `remove`, `entry`) to them, and a docs search for those lands there.
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

#[cfg(doctest)]
mod compile_fail_tests;
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
/// # std names
///
/// The methods take Go's names; std's `HashMap` names (`insert`, `get`, `get_mut`, `remove`,
/// `entry`) are doc aliases, so a search for them lands here and on these methods:
///
/// | `std::collections::HashMap` | this map |
/// |---|---|
/// | `insert(k, v)` | [`store`](SyncMap::store); [`swap`](SyncMap::swap) returns the old value |
/// | `get(&k)` | [`load`](SyncMap::load) (a [`Ref`]); [`load_cloned`](SyncMap::load_cloned) (a clone); `pin().load(&k)` (`&V`) |
/// | `get_mut(&k)`, `entry(k).and_modify(f)` | [`update`](SyncMap::update) (`f` maps the old value to the new one) |
/// | `remove(&k)` | [`load_and_delete`](SyncMap::load_and_delete), [`delete`](SyncMap::delete) |
/// | `entry(k).or_insert(v)`, `.or_insert_with(f)` | [`load_or_store`](SyncMap::load_or_store), [`load_or_store_with`](SyncMap::load_or_store_with) |
/// | `iter()` | [`range`](SyncMap::range); `pin().iter()`, `.keys()`, `.values()` |
/// | `contains_key`, `len`, `is_empty`, `clear`, `retain`, `into_iter` | the same names |
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
#[doc(alias("insert", "get", "get_mut", "remove", "entry", "HashMap"))]
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
/// # Holding a value across `.await`, or sending it to a thread
///
/// A `Ref` cannot leave its thread: the guard it holds is tied to the thread that pinned it, and
/// crossbeam-epoch has no guard that is not. rustc names a `Ref` by its definition,
/// `syncmap_core::reclaim::guarded::Guarded<'_, crossbeam_epoch::guard::Guard, V>`. Held across
/// an `.await` in a future that must be `Send` (a spawned task), rustc 1.95 says, for a
/// `Ref<String>` named `name`:
///
/// ```text
/// error: future cannot be sent between threads safely
///    |
///    = help: within `impl Future<Output = usize>`, the trait `Send` is not implemented for `*const crossbeam_epoch::internal::Local`
/// note: future is not `Send` as this value is used across an await
///    |
///  6 |     let name = map.load(&1);
///    |         ---- has type `Option<syncmap_core::reclaim::guarded::Guarded<'_, crossbeam_epoch::guard::Guard, String>>` which is not `Send`
///  7 |     std::future::ready(()).await;
///    |                            ^^^^^ await occurs here, with `name` maybe used later
/// ```
///
/// (and the same error again for `NonNull<String>`). Moved into a spawned thread's closure:
///
/// ```text
/// error[E0277]: `*const crossbeam_epoch::internal::Local` cannot be sent between threads safely
///    = help: within `{closure@src/main.rs:8:17: 8:24}`, the trait `Send` is not implemented for `*const crossbeam_epoch::internal::Local`
/// ```
///
/// The ways out:
///
/// * copy the value out before the `.await` or the spawn: [`load_cloned`](SyncMap::load_cloned)
///   (a clone of `V`, no guard held), or `*map.load(k)?` for `Copy` values; or end the `Ref`'s
///   scope before the `.await`;
/// * the seize map, [`seize::SyncMap`] (feature `seize`), whose
///   [`pin_owned`](seize::SyncMap::pin_owned) gives a `Send` view ([`seize::PinnedOwned`])
///   lending `&V` across `.await` (papaya's `pin_owned`); its plain `load` returns a `Ref` that
///   is not `Send` either;
/// * the arc-swap backend, `syncmap_arcswap::SyncMap` (crate `syncmap-arcswap`), whose
///   `load_owned` (arc-swap's `load_full`) returns an owned `Arc<V>` that is `Send` (when
///   `V: Send + Sync`) and outlives the map; its plain `load` holds a guard and is not `Send`
///   either.
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
#[doc(alias = "Guarded")]
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

    /// crossbeam-epoch runs at most 8 bags of 64 deferred functions per collection: pieces of
    /// 64 entries bound one collection to about 32,000 entries, about a millisecond (a `clear`
    /// of 2M keys retired whole made one later call free them all: 78-98 ms).
    const RETIRE_PIECE: usize = 64;

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
