//! A tour of the map under load: writer threads store and delete disjoint keys, reader threads
//! load them, and the map's statistics show how the read/dirty design handled it.
//!
//! Run with `cargo run --release -p syncmap-epoch --example tour`.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    thread,
    time::{Duration, Instant},
};

use syncmap_epoch::SyncMap;

const KEYS: u64 = 10_000;
const WRITERS: u64 = 2;
const READERS: u64 = 2;

fn main() {
    let map: SyncMap<u64, u64> = SyncMap::new();
    let started = Instant::now();
    for key in 0..KEYS {
        map.store(key, key);
    }
    println!("stored {KEYS} keys in {:.1?}", started.elapsed());

    let stop = AtomicBool::new(false);
    let (reads, hits, writes) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    thread::scope(|s| {
        for w in 0..WRITERS {
            let (map, stop, writes) = (&map, &stop, &writes);
            s.spawn(move || {
                let mut n = 0;
                // Each writer overwrites, deletes and re-stores its own residue class of keys.
                while !stop.load(Ordering::Relaxed) {
                    let key = (n * WRITERS + w) % KEYS;
                    match n % 4 {
                        0 => map.delete(&key),
                        _ => map.store(key, n),
                    }
                    n += 1;
                }
                writes.fetch_add(n, Ordering::Relaxed);
            });
        }
        for r in 0..READERS {
            let (map, stop, reads, hits) = (&map, &stop, &reads, &hits);
            s.spawn(move || {
                let (mut n, mut found) = (0u64, 0u64);
                let pinned = map.pin();
                while !stop.load(Ordering::Relaxed) {
                    // Re-pin now and then so retired memory can be freed.
                    let pinned_again;
                    let view = if n % 4096 == 0 {
                        pinned_again = map.pin();
                        &pinned_again
                    } else {
                        &pinned
                    };
                    if view.load(&((n * 7919 + r) % KEYS)).is_some() {
                        found += 1;
                    }
                    n += 1;
                }
                reads.fetch_add(n, Ordering::Relaxed);
                hits.fetch_add(found, Ordering::Relaxed);
            });
        }
        thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = started.elapsed();
    let (reads, hits, writes) = (reads.into_inner(), hits.into_inner(), writes.into_inner());
    println!(
        "{READERS} readers: {reads} loads ({hits} found) in {elapsed:.1?}: {:.1} ns/load per thread",
        elapsed.as_nanos() as f64 * READERS as f64 / reads.max(1) as f64
    );
    println!("{WRITERS} writers: {writes} stores and deletes of their own keys");
    println!("live keys now: {}", map.len());
    println!("{:#?}", map.stats());
}
