//! The conformance suite over the arc-swap backend.

syncmap_testsuite::conformance_tests!(arcswap, <K, V> syncmap_arcswap::SyncMap<K, V>);
