//! The conformance suite over the seize backend (its own test binary: the suite installs a
//! global allocator, once per binary). seize frees retired memory in per-thread batches, so a
//! partly filled batch may wait for the map's drop: the memory checks wait for the drop.

syncmap_testsuite::conformance_tests!(seize, <K, V> syncmap_epoch::seize::SyncMap<K, V>, {
    const FREES_BEFORE_DROP: bool = false;
    const ENTRY_SLACK: usize = syncmap_core::ENTRY_SLACK;
    fn unsharded<K: syncmap_testsuite::Key, V: syncmap_testsuite::Value>() -> Self::Map<K, V> {
        <Self::Map<K, V>>::with_capacity_hasher_and_shards(0, Default::default(), 1)
    }
});
