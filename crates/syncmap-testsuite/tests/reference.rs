//! The suite accepts a correct map: the whole conformance suite over [`RwLockMap`].

use syncmap_testsuite::reference::RwLockMap;

syncmap_testsuite::conformance_tests!(rwlock_map, <K, V> RwLockMap<K, V>);
