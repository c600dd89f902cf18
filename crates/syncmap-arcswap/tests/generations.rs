//! The arc-swap strategy's own guarantees, beyond the conformance suite: a pinned reader holds
//! back every later free, and releasing it frees the whole chain of generations without
//! recursing.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering::SeqCst},
};

use syncmap_arcswap::SyncMap;

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_pinned_reader_holds_back_frees_until_it_unpins() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    map.store(0, Counted(drops.clone()));
    let pinned = map.pin();
    // Enough generations that dropping them recursively would overflow a test thread's stack.
    let overwrites = 200_000;
    for _ in 0..overwrites {
        map.store(0, Counted(drops.clone()));
    }
    assert_eq!(
        drops.load(SeqCst),
        0,
        "freed while an older reader was pinned"
    );
    drop(pinned);
    assert_eq!(
        drops.load(SeqCst),
        overwrites,
        "every replaced value is freed once unpinned"
    );
    drop(map);
    assert_eq!(drops.load(SeqCst), overwrites + 1);
}

#[test]
fn without_readers_each_replaced_value_is_freed_at_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map: SyncMap<u8, Counted> = SyncMap::new();
    for i in 0..100 {
        map.store(0, Counted(drops.clone()));
        assert_eq!(drops.load(SeqCst), i);
    }
    let held = map.load(&0).unwrap();
    map.delete(&0);
    assert_eq!(drops.load(SeqCst), 99, "a loaded Arc keeps its value");
    drop(held);
    assert_eq!(drops.load(SeqCst), 100);
}
