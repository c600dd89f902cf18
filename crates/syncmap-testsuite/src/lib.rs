#![doc = include_str!("../README.md")]
//!
//! ## What it checks
//!
//! * [`model`]: long random operation sequences against a `HashMap` model (proptest, with
//!   shrinking), sized so that promotions, dirty rebuilds, expunges and unexpunges all happen
//!   (asserted through [`ConcurrentMap::stats_if_any`] when the map has statistics).
//! * [`go`]: Go's own `sync.Map` tests (`sync/map_test.go`, Go 1.19 to 1.27) and those of
//!   `internal/sync/hashtriemap_test.go`, re-expressed; the module's docs list every Go test
//!   and where it is ported (`TestIssue40999` is in [`bounds`]).
//! * [`linearizability`]: short concurrent histories on few keys, recorded with invocation and
//!   response times, checked per key against the sequential specification (Wing & Gong search).
//! * [`bounds`]: memory follows the live set: Go's `TestIssue40999` (store and delete with no
//!   loads), maps emptied and then only read, and a model-based bound on entries per live key.
//! * [`memory`]: every key and value dropped exactly once; a map of 1,000,000 entries gives its
//!   memory back once cleared and quiescent; a slow `load_or_store_with` closure, and a writer
//!   waiting for it, hold back no memory that other threads' overwrites retire; `range`
//!   allocates nothing.
//! * [`panic_safety`]: a panicking `Hash`, `Eq`, `Clone` or `Drop` of a key or value, or a
//!   panicking callback, leaves the map usable and consistent and leaks nothing.
//!
//! Every check can fail: `tests/wrong_maps.rs` builds deliberately wrong maps from
//! [`reference::RwLockMap`] and asserts that the suite rejects each one.
//!
//! No check hangs: [`conformance_tests!`] runs each test under the [`watchdog`], which fails a
//! test still running after 60 s (`SYNCMAP_SUITE_WATCHDOG_SECS`) with a message naming what it
//! was waiting on and the likely cause, while the other tests go on.
//!
//! ## Backend hooks
//!
//! The suite is generic test bodies (`fn test<B: Backend>()`) plus one macro,
//! [`conformance_tests!`], that expands them into `#[test]` functions for one map type.
//! Backend-specific knowledge stays out of the test bodies: it lives in the [`Backend`]
//! implementation the macro writes, whose items the caller may override (for example
//! [`Backend::quiesce`], which crossbeam-epoch implements by flushing its collector).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod alloc;
pub mod bounds;
pub mod go;
pub mod linearizability;
pub mod memory;
pub mod model;
pub mod panic_safety;
pub mod reference;
pub mod tracked;
pub mod util;
pub mod watchdog;

use core::hash::Hash;

pub use syncmap_core::{ConcurrentMap, Stats};

/// What every key type of the suite is: hashable, comparable, cloneable, printable,
/// shareable.
///
/// The suite's keys (`u64`, `String`, [`Tracked`](tracked::Tracked), the
/// [`go`] keys) all have every bound here, so a map whose [`ConcurrentMap`] implementation
/// asks any of them of `K` (`Clone`, to copy keys out of a lock so that `range` calls its
/// callback with no lock held, say) can be tested. A map that clones keys or values tells the
/// suite with [`Backend::CLONES`].
pub trait Key: Hash + Eq + Clone + core::fmt::Debug + Send + Sync + 'static {}
impl<T: Hash + Eq + Clone + core::fmt::Debug + Send + Sync + 'static> Key for T {}

/// What every value type of the suite is: comparable, cloneable, printable, shareable.
///
/// As for [`Key`]: every value type of the suite has these bounds, so that a map whose
/// implementation asks any of them of `V` can be tested.
pub trait Value: PartialEq + Clone + core::fmt::Debug + Send + Sync + 'static {}
impl<T: PartialEq + Clone + core::fmt::Debug + Send + Sync + 'static> Value for T {}

/// A map implementation under test: a family of map types, one per key and value type, plus the
/// hooks the generic bodies need.
///
/// [`conformance_tests!`] writes the implementation; its optional block overrides the provided
/// items.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::{Backend, Key, Value};
///
/// struct Reference;
/// impl Backend for Reference {
///     type Map<K: Key, V: Value> = syncmap_testsuite::reference::RwLockMap<K, V>;
/// }
/// syncmap_testsuite::go::compare_and_swap_missing_key::<Reference>();
/// ```
pub trait Backend: 'static {
    /// The map type for keys `K` and values `V`.
    type Map<K: Key, V: Value>: ConcurrentMap<K, V> + Default + Send + Sync;

    /// A map for the test that checks Go's internal events step by step
    /// ([`model::sequential_drives_every_internal_path`]): one whose statistics count them as Go's
    /// single `sync.Map` would, which for a map split into shards means a map of one shard. The
    /// default is [`Default::default`].
    fn unsharded<K: Key, V: Value>() -> Self::Map<K, V> {
        Default::default()
    }

    /// Helps deferred reclamation along; called repeatedly (with short sleeps) by tests that
    /// wait for drops or freed memory. The default does nothing.
    fn quiesce() {}

    /// Whether memory retired while the map is alive (replaced values, cleared entries) is freed
    /// before the map is dropped, once [`quiesce`](Self::quiesce) has run enough. False for a
    /// strategy that keeps everything until drop (`DeferToDrop`); the memory checks then wait for
    /// the drop instead.
    const FREES_BEFORE_DROP: bool = true;

    /// How many retired values the strategy may still hold once quiescent, while the map lives:
    /// a strategy that frees retirements in batches keeps its last, partly filled batch until
    /// the batch fills or the map flushes it (at a promotion or a `clear`). Zero by default:
    /// everything retired is freed once [`quiesce`](Self::quiesce) has run enough.
    const PENDING_LIMIT: usize = 0;

    /// The constant of the memory bound that [`bounds`] enforces: once quiescent, a map with `n`
    /// live keys holds at most `2 * n + ENTRY_SLACK` entries. The default, 128, leaves room for
    /// a map that compacts its dead entries lazily (amortised over deletes) on a few threads.
    const ENTRY_SLACK: usize = 128;

    /// Whether the map may clone keys or values: true for an implementation bounded by
    /// `K: Clone` or `V: Clone` (one that copies entries out of its lock in `range`, say). False
    /// by default: [`panic_safety::never_clones`] then checks that the map never clones, with
    /// keys and values whose `Clone` panics; if true, it runs the same operations with
    /// cloneable ones and checks that every clone is dropped.
    const CLONES: bool = false;
}

/// Expands the whole conformance suite into `#[test]` functions, in a module `$name`, for the map
/// type `$map` written over the type parameters `<K, V>`.
///
/// The optional block holds items of the generated [`Backend`] implementation (such as
/// `fn quiesce()` or `const FREES_BEFORE_DROP: bool = false;`).
///
/// The macro also installs [`alloc::CountingAlloc`] as the test binary's global allocator (the
/// allocation checks need it), so invoke it once per test binary (one `tests/*.rs` file).
///
/// Each test runs under the [`watchdog`]: a test still running at its deadline fails, naming
/// what it was waiting on, and the other tests go on.
///
/// # Examples
///
/// In `tests/conformance.rs` of a crate whose map frees memory only when dropped:
///
/// ```no_run
/// syncmap_testsuite::conformance_tests!(
///     defer_to_drop,
///     <K, V> syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop>,
///     { const FREES_BEFORE_DROP: bool = false; }
/// );
/// # fn main() {}
/// ```
///
/// For a backend with a global collector, `quiesce` helps it along (the epoch backend's line):
///
/// ```text
/// syncmap_testsuite::conformance_tests!(epoch, <K, V> syncmap_epoch::SyncMap<K, V>, {
///     fn quiesce() { crossbeam_epoch::pin().flush(); }
/// });
/// ```
///
/// A third party's own map (here the suite's reference map):
///
/// ```no_run
/// use syncmap_testsuite::reference::RwLockMap;
///
/// syncmap_testsuite::conformance_tests!(rwlock_map, <K, V> RwLockMap<K, V>);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, <$k:ident, $v:ident> $map:ty $(, { $($item:tt)* })? $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// The map family under test.
            pub struct Backend;

            impl $crate::Backend for Backend {
                type Map<$k: $crate::Key, $v: $crate::Value> = $map;
                $($($item)*)?
            }

            #[global_allocator]
            static ALLOC: $crate::alloc::CountingAlloc = $crate::alloc::CountingAlloc::new();

            $crate::__conformance_test_fns!(Backend;
                model::sequential_u64,
                model::sequential_drives_every_internal_path,
                model::borrowed_lookups,
                go::concurrent_range,
                go::range_nested_call,
                go::compare_and_swap_missing_key,
                go::concurrent_clear,
                go::concurrent_load_or_store_one_winner,
                go::concurrent_cas_counters,
                go::concurrent_compare_and_delete_once,
                go::concurrent_load_and_delete_once,
                go::concurrent_swap_no_lost_value,
                go::concurrent_store_delete_readers,
                go::concurrent_load_or_store_with_runs_once,
                go::load_or_store_with_panic_releases_waiters,
                go::concurrent_update_counters,
                go::load_or_store_with_vs_writers,
                linearizability::per_key_histories,
                memory::drops_exactly_once_sequential,
                memory::drops_exactly_once_concurrent,
                memory::range_allocates_nothing,
                memory::clear_frees_without_later_writes,
                bounds::issue_40999_store_delete,
                bounds::issue_40999_load_and_delete,
                bounds::issue_40999_compare_and_delete,
                bounds::issue_40999_with_promotions,
                bounds::emptied_map_follows_live_set,
                bounds::entries_bounded_by_live,
                panic_safety::panicking_hash,
                panic_safety::panicking_eq,
                panic_safety::panicking_drop,
                panic_safety::panicking_drop_of_a_retired_value,
                panic_safety::panicking_drop_at_clear,
                panic_safety::panicking_drop_at_map_drop,
                panic_safety::panicking_callback,
                panic_safety::panicking_compute_and_update,
                panic_safety::never_clones,
                go::hash_trie_map,
                go::hash_trie_map_bad_hash,
                go::hash_trie_map_trunc_hash,
                go::concurrent_cache,
                go::empty_map_operations_allocate_nothing,
            );

            #[test]
            fn clear_returns_memory() {
                const TEST: &str = concat!(module_path!(), "::clear_returns_memory");
                $crate::watchdog::run(TEST, || {
                    $crate::memory::clear_returns_memory::<Backend>(TEST)
                });
            }

            #[test]
            fn compute_holds_nothing_back() {
                const TEST: &str = concat!(module_path!(), "::compute_holds_nothing_back");
                $crate::watchdog::run(TEST, || {
                    $crate::memory::compute_holds_nothing_back::<Backend>(TEST)
                });
            }
        }
    };
}

/// Implementation detail of [`conformance_tests!`]: one `#[test]` per body, named after it.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ($backend:ident; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $crate::watchdog::run(
                    concat!(module_path!(), "::", stringify!($test)),
                    $crate::$module::$test::<$backend>,
                );
            }
        )*
    };
}
