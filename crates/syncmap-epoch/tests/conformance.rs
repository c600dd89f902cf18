//! The conformance suite over the crossbeam-epoch backend; `quiesce` flushes the global collector.

syncmap_testsuite::conformance_tests!(epoch, <K, V> syncmap_epoch::SyncMap<K, V>, { fn quiesce() { crossbeam_epoch::pin().flush(); } });
