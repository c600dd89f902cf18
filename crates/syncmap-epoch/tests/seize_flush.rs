//! A `clear` of 32 keys or more on the seize backend is freed once the readers leave, without
//! later writes, even when more threads are active in the map's collector than the clearing
//! thread's batch holds retirements, and the clearing thread exits right after: seize hands a
//! batch over only with at least one retirement per active thread, so the backend pads a
//! flushed batch (`SeizeReclaim::flush`). Without the padding, the cleared keys and values
//! stayed in the exited thread's batch until the map was dropped.

use std::{
    sync::{
        Arc, Barrier,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    thread,
};

use syncmap_epoch::seize::SyncMap;

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

const KEYS: u64 = 1_000;
const READERS: usize = 4;

#[test]
fn a_clear_is_freed_while_other_threads_are_active_and_the_clearer_exits() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = SyncMap::new();
    for k in 0..KEYS {
        map.store(k, Counted(drops.clone()));
    }
    map.range(|_, _| true); // promoted: the clear retires one read table with every entry
    let pinned = Barrier::new(READERS + 1);
    let cleared = Barrier::new(READERS + 1);
    thread::scope(|s| {
        for _ in 0..READERS {
            s.spawn(|| {
                // Active in the collector while the clear flushes.
                let pin = map.pin();
                pinned.wait();
                cleared.wait();
                drop(pin);
            });
        }
        s.spawn(|| {
            pinned.wait();
            map.clear();
            cleared.wait();
            // The clearing thread exits here, with whatever its batch still holds.
        });
    });
    assert_eq!(
        drops.load(SeqCst),
        KEYS as usize,
        "every cleared value is freed once the readers have left, with no later write"
    );
    drop(map);
    assert_eq!(drops.load(SeqCst), KEYS as usize);
}
