//! The conformance suite over the crossbeam-epoch backend; `quiesce` flushes the global collector.

syncmap_testsuite::conformance_tests!(epoch, <K, V> syncmap_epoch::SyncMap<K, V>, {
    fn quiesce() {
        crossbeam_epoch::pin().flush();
    }
    const ENTRY_SLACK: usize = syncmap_core::ENTRY_SLACK;
    fn unsharded<K: syncmap_testsuite::Key, V: syncmap_testsuite::Value>() -> Self::Map<K, V> {
        <Self::Map<K, V>>::with_capacity_hasher_and_shards(0, Default::default(), 1)
    }
});
