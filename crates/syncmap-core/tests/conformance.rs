//! The conformance suite over the algorithm with the reference strategy, `DeferToDrop` (which
//! frees retired memory only when the map is dropped).
#![cfg(not(loom))]

syncmap_testsuite::conformance_tests!(defer_to_drop, <K, V> syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop>, { const FREES_BEFORE_DROP: bool = false; });
