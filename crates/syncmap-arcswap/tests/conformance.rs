//! The conformance suite over the arc-swap backend. Retirements are freed in batches of
//! `syncmap_arcswap::BATCH` (or at a flush, which every promotion and `clear` makes), so once
//! quiescent a live map may still hold its last, partly filled batch: the suite allows that many
//! values (`PENDING_LIMIT`) and no more. `tests/generations.rs` checks batches and flushes
//! themselves.

syncmap_testsuite::conformance_tests!(arcswap, <K, V> syncmap_arcswap::SyncMap<K, V>, {
    const PENDING_LIMIT: usize = syncmap_arcswap::BATCH - 1;
    const ENTRY_SLACK: usize = syncmap_core::ENTRY_SLACK;
    fn unsharded<K: syncmap_testsuite::Key, V: syncmap_testsuite::Value>() -> Self::Map<K, V> {
        <Self::Map<K, V>>::with_capacity_hasher_and_shards(0, Default::default(), 1)
    }
});
