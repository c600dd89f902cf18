//! The conformance suite over `RwLock<HashMap<K, Arc<V>>>` written the obvious way
//! (`cargo xtask suite-peers`; not run by `cargo test`).

syncmap_testsuite::conformance_tests!(suite, <K, V> syncmap_peers::RwLockHashMap<K, V>);
