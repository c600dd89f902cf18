//! The conformance suite over scc (`cargo xtask suite-peers`; not run by `cargo test`). The
//! adapter clones values (see `SccPeer`).

syncmap_testsuite::conformance_tests!(suite, <K, V> syncmap_peers::SccPeer<K, V>, {
    const CLONES: bool = true;
});
