//! The conformance suite over `syncmap_epoch::SyncMap`, as `syncmap-epoch` runs it, for the
//! baseline column of `docs/PEERS.md` (`cargo xtask suite-peers`; not run by `cargo test` here).

syncmap_testsuite::conformance_tests!(suite, <K, V> syncmap_epoch::SyncMap<K, V>, {
    fn quiesce() { crossbeam_epoch::pin().flush(); }
    const ENTRY_SLACK: usize = syncmap_core::ENTRY_SLACK;
    fn unsharded<K: syncmap_testsuite::Key, V: syncmap_testsuite::Value>() -> Self::Map<K, V> {
        <Self::Map<K, V>>::with_capacity_hasher_and_shards(0, Default::default(), 1)
    }
});
