//! What a slow compute-once closure holds back: issue 20's measurement, on every backend.
//!
//! ```text
//! cargo run --release -p syncmap-benches --bin compute_hold
//! ```
//!
//! A 1,000-key map of 1 KiB values. One thread calls `load_or_store_with` on a new key with a
//! closure that sleeps 2 s (a slow fetch), while another thread overwrites the 1,000 keys for
//! 1.5 s; the heap is sampled after every round of overwrites. The same run without the slow
//! closure is the baseline. A map that keeps a guard pinned while the closure runs frees nothing
//! the overwrites retire, and its heap grows with every round; one that holds nothing stays at
//! its live set in both runs. Prints a markdown table: the peak heap above the filled map's
//! during the overwrites, and the overwrite rate.

use std::{
    thread,
    time::{Duration, Instant},
};

use syncmap_core::ConcurrentMap;
use syncmap_testsuite::alloc::{CountingAlloc, live_bytes, require_installed};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const KEYS: u64 = 1_000;
const VALUE_BYTES: usize = 1024;
const CLOSURE: Duration = Duration::from_secs(2);
const OVERWRITES: Duration = Duration::from_millis(1500);

/// One run: the peak heap above the filled map's while overwriting, and overwrites per second.
fn measure<M>(slow_closure: bool) -> (f64, f64)
where
    M: ConcurrentMap<u64, Vec<u8>> + Default + Sync,
{
    let base = live_bytes();
    let map = M::default();
    for k in 0..KEYS {
        map.store(k, vec![0; VALUE_BYTES]);
    }
    let filled = live_bytes() - base;
    let (mut peak, mut writes) = (0_isize, 0_u64);
    thread::scope(|s| {
        if slow_closure {
            s.spawn(|| {
                map.load_or_store_with(KEYS, || {
                    thread::sleep(CLOSURE);
                    vec![1; VALUE_BYTES]
                });
            });
            // Let the closure start before the overwrites do.
            thread::sleep(Duration::from_millis(100));
        }
        let start = Instant::now();
        let mut round = 0_u8;
        while start.elapsed() < OVERWRITES {
            round = round.wrapping_add(1);
            for k in 0..KEYS {
                map.store(k, vec![round; VALUE_BYTES]);
            }
            writes += KEYS;
            peak = peak.max(live_bytes() - base - filled);
        }
    });
    let secs = OVERWRITES.as_secs_f64();
    (peak as f64 / f64::from(1 << 20), writes as f64 / secs / 1e6)
}

fn row<M>(name: &str)
where
    M: ConcurrentMap<u64, Vec<u8>> + Default + Sync,
{
    let (quiet_peak, quiet_rate) = measure::<M>(false);
    let (slow_peak, slow_rate) = measure::<M>(true);
    println!("| {name} | {quiet_peak:.1} | {slow_peak:.1} | {quiet_rate:.2} | {slow_rate:.2} |");
}

fn main() {
    require_installed();
    println!(
        "| backend | peak extra heap, MiB (no slow closure) | with a 2 s closure | \
         overwrites, M/s (no slow closure) | with the closure |"
    );
    println!("|---|---|---|---|---|");
    row::<syncmap_epoch::SyncMap<u64, Vec<u8>>>("epoch");
    row::<syncmap_epoch::seize::SyncMap<u64, Vec<u8>>>("seize");
    row::<syncmap_arcswap::SyncMap<u64, Vec<u8>>>("arc-swap");
}
