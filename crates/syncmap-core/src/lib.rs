//! Go's `sync.Map` for Rust: the read/dirty/miss-promotion algorithm, written once and generic
//! over a memory-reclamation strategy.
//!
//! Most users want a backend crate, not this one: `syncmap-epoch` (crossbeam-epoch, the default
//! choice, and seize as `syncmap_epoch::seize` with the `seize` feature) or `syncmap-arcswap`
//! (values live in `Arc`s: `load_owned` returns an `Arc<V>` that may cross threads and
//! `.await`). Each is a
//! [`Reclaim`] strategy plus aliases of [`SyncMap`].
//!
//! # Contents
//!
//! * [`ConcurrentMap`]: the API (Go's `Load`, `Store`, `LoadOrStore`, `LoadAndDelete`, `Delete`,
//!   `Swap`, `CompareAndSwap`, `CompareAndDelete`, `Range`, `Clear`, plus `len`).
//! * [`SyncMap`]: the algorithm, with its design and invariants in its docs.
//! * [`Reclaim`]: the contract a backend implements; [`reclaim::DeferToDrop`] is the simplest.
//! * [`Stats`]: hits, misses, promotions and rebuilds, to tell whether a workload suits the map.
//! * [`Admits`]: whether a strategy takes borrowed keys and values; [`ReclaimOwned`] and
//!   [`PinnedOwned`]: a `Send` pinned view, for strategies with owned guards.
//! * [`Ref`] and [`Owned`]: short names for what loads and `into_iter` give under a strategy.
//!
//! Every Go-named method is also found in rustdoc's search under its std, dashmap and papaya
//! names (`insert`, `get`, `remove`, `entry`, `get_or_insert_with`, `compare_exchange`, ...);
//! the workspace README has the whole table.
//!
//! # When to use it
//!
//! As Go's documentation says: when a key is written once and read many times (caches that only
//! grow), or when threads read, write and overwrite disjoint sets of keys. Then reads take no
//! lock and write no shared memory. Workloads that keep adding new keys pay an O(n) rebuild per
//! promotion (spread over the operations that follow it, never paid by one); a sharded or
//! lock-free table suits them better.
//!
//! # Consistency
//!
//! Operations on one key are linearizable. [`SyncMap::range`] is not a snapshot (see there).
//! [`SyncMap::len`] is exact when no write is in flight.
//!
//! # Examples
//!
//! ```
//! use std::thread;
//! use syncmap_core::{SyncMap, reclaim::DeferToDrop};
//!
//! let map: SyncMap<u32, String, DeferToDrop> = SyncMap::new();
//! thread::scope(|s| {
//!     for t in 0..4 {
//!         let map = &map;
//!         s.spawn(move || map.store(t, format!("thread {t}")));
//!     }
//! });
//! assert_eq!(map.len(), 4);
//! assert_eq!(map.load(&2).as_deref().map(String::as_str), Some("thread 2"));
//! ```
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`, whose example runs as a doc test (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod map;
mod names;
mod primitive;
mod raw;
pub mod reclaim;
mod stats;
mod sync_map;
pub mod unwind;

pub use map::ConcurrentMap;
pub use names::{Owned, Ref};
pub use reclaim::{Admits, Reclaim, ReclaimOwned, Retire};
pub use stats::Stats;
pub use sync_map::{IntoIter, Iter, Keys, Pinned, PinnedOwned, SyncMap, Values};

/// The constant of [`SyncMap`]'s memory bound: once quiescent, a map with `n` live keys holds
/// at most `2 * n + ENTRY_SLACK` entries, whatever its shard count (about 100 for one shard and
/// 7 for each shard of more, measured up to 64 shards: see [`SyncMap`]'s *Memory* docs). The
/// conformance suites of the backends check it (`syncmap_testsuite::Backend::ENTRY_SLACK`).
pub const ENTRY_SLACK: usize = 128 + 8 * raw::MAX_SHARDS;
