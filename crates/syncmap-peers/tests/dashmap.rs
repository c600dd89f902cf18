//! The conformance suite over dashmap (`cargo xtask suite-peers`; not run by `cargo test`).

syncmap_testsuite::conformance_tests!(suite, <K, V> syncmap_peers::DashMapPeer<K, V>);
