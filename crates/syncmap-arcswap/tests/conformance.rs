//! The conformance suite over the arc-swap backend. Retirements are freed in batches of
//! `syncmap_arcswap::BATCH` (or at a flush), so a partly filled batch may wait for the map's
//! drop, and the suite's static `quiesce` cannot reach a map to flush it: the memory checks wait
//! for the drop, as for seize. `tests/generations.rs` checks what is freed before it.

syncmap_testsuite::conformance_tests!(arcswap, <K, V> syncmap_arcswap::SyncMap<K, V>, { const FREES_BEFORE_DROP: bool = false; });
