//! The async compute-once tests (`tests/support/compute_async.rs`) on `DeferToDrop`.

#[path = "support/compute_async.rs"]
#[macro_use]
mod support;

compute_async_tests!(<K, V> syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop>);
