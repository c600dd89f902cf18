//! The conformance suite over papaya (`cargo xtask suite-peers`; not run by `cargo test`).
//! The adapter clones keys and values (see `PapayaPeer`).

syncmap_testsuite::conformance_tests!(suite, <K, V> syncmap_peers::PapayaPeer<K, V>, {
    const CLONES: bool = true;
});
