//! The conformance suite over the algorithm with the reference strategy, `DeferToDrop` (which
//! frees retired memory only when the map is dropped).
#![cfg(not(loom))]

syncmap_testsuite::conformance_tests!(defer_to_drop, <K, V> syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop>, {
    const FREES_BEFORE_DROP: bool = false;
    const ENTRY_SLACK: usize = syncmap_core::ENTRY_SLACK;
    fn unsharded<K: syncmap_testsuite::Key, V: syncmap_testsuite::Value>() -> Self::Map<K, V> {
        <Self::Map<K, V>>::with_capacity_hasher_and_shards(0, Default::default(), 1)
    }
});
