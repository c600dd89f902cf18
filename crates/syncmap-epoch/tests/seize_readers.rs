//! Readers of the seize backend racing writers that retire what they read, sized so that Miri
//! runs it in about a minute (`cargo xtask miri`); `cargo test` runs it too.
//!
//! Every value carries a check word derived from its id, and counts its drops: a reader that
//! dereferences a value already reclaimed sees a torn check word or a drop count (and Miri
//! reports the use-after-free itself). Writers overwrite and delete a few keys well past seize's
//! batch of 32 retirements per thread, so batches are reclaimed while the readers run.

use std::{
    sync::atomic::{AtomicBool, AtomicU8, Ordering::SeqCst},
    thread,
};

use syncmap_epoch::seize::SyncMap;

/// Retirements per writer: a few of seize's per-thread batches.
const WRITES: usize = 256;
const WRITERS: usize = 2;
const KEYS: usize = 4;

/// Drops per value id (the file's only test uses them).
static DROPS: [AtomicU8; WRITERS * WRITES] = [const { AtomicU8::new(0) }; WRITERS * WRITES];

/// A value that knows its id and checks it has not been dropped.
struct Checked {
    id: usize,
    check: usize,
}

impl Checked {
    fn new(id: usize) -> Self {
        Checked { id, check: !id }
    }

    fn assert_intact(&self) {
        assert_eq!(self.check, !self.id, "read a freed or torn value");
        assert_eq!(DROPS[self.id].load(SeqCst), 0, "read a dropped value");
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        assert_eq!(self.check, !self.id, "dropped a freed value");
        DROPS[self.id].fetch_add(1, SeqCst);
    }
}

#[test]
fn readers_never_see_reclaimed_values() {
    let map: SyncMap<usize, Checked> = SyncMap::new();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (map, done) = (&map, &done);
        // One reader per call (a guard per `load`), one through a pinned view and its iterator.
        s.spawn(move || {
            while !done.load(SeqCst) {
                for key in 0..KEYS {
                    if let Some(value) = map.load(&key) {
                        value.assert_intact();
                    }
                }
            }
        });
        s.spawn(move || {
            while !done.load(SeqCst) {
                let pinned = map.pin();
                for (_, value) in pinned.iter() {
                    value.assert_intact();
                }
            }
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn(move || {
                    for i in 0..WRITES {
                        let id = w * WRITES + i;
                        let key = id % KEYS;
                        match i % 4 {
                            0 => drop(map.swap(key, Checked::new(id))),
                            1 => {
                                map.store(key, Checked::new(id));
                                if let Some(old) = map.load_and_delete(&key) {
                                    old.assert_intact();
                                }
                            }
                            _ => map.store(key, Checked::new(id)),
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, SeqCst);
    });
    drop(map);
    for (id, count) in DROPS.iter().enumerate() {
        assert_eq!(count.load(SeqCst), 1, "value {id} dropped {count:?} times");
    }
}
