//! The async compute-once tests (`syncmap-core/tests/support/compute_async.rs`) on the epoch
//! backend, and on seize with the `seize` feature.

#[path = "../../syncmap-core/tests/support/compute_async.rs"]
#[macro_use]
mod support;

mod epoch {
    compute_async_tests!(<K, V> syncmap_epoch::SyncMap<K, V>);
}

#[cfg(feature = "seize")]
mod seize {
    compute_async_tests!(<K, V> syncmap_epoch::seize::SyncMap<K, V>);
}
