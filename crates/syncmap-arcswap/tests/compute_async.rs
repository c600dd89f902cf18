//! The async compute-once tests (`syncmap-core/tests/support/compute_async.rs`) on the arc-swap
//! backend, whose async compute-once returns `Arc<V>`.

#[path = "../../syncmap-core/tests/support/compute_async.rs"]
#[macro_use]
mod support;

compute_async_tests!(<K, V> syncmap_arcswap::SyncMap<K, V>);
