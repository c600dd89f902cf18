//! How many heap allocations each write makes, counted by a global allocator.
//!
//! A new key whose value is small and has no `Drop` keeps that value inside its entry (one
//! allocation); other values get a box of their own (two). Replacing a value always allocates
//! the new one. The counts are per thread, so tests running in parallel do not disturb them.
#![cfg(not(loom))]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

use syncmap_core::{SyncMap, reclaim::DeferToDrop};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to `System`; the counter is a thread-local `Cell` with a
// `const` initializer, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded, with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// A map whose dirty table exists and has room, so that storing a new key allocates nothing
/// for the tables themselves: of one shard, whose dirty table every key then shares.
fn warm<V: Send + 'static>(first: V) -> SyncMap<u64, V, DeferToDrop> {
    let map = SyncMap::with_capacity_hasher_and_shards(64, Default::default(), 1);
    map.store(0, first);
    map
}

#[test]
fn a_new_key_with_a_small_plain_value_is_one_allocation() {
    let map = warm(0_u64);
    assert_eq!(allocations(|| map.store(1, 1)), 1, "store of a new key");
    assert_eq!(
        allocations(|| {
            map.load_or_store(2, 2);
        }),
        1,
        "load_or_store of a new key"
    );
    assert_eq!(*map.load(&1).unwrap(), 1);
    assert_eq!(*map.load(&2).unwrap(), 2);
}

#[test]
fn a_value_with_drop_glue_gets_its_own_box() {
    let map = warm(String::new());
    let value = String::from("a");
    assert_eq!(allocations(|| map.store(1, value)), 2);
    assert_eq!(map.load(&1).unwrap().as_str(), "a");
}

#[test]
fn a_large_value_gets_its_own_box() {
    let map = warm([0_u64; 16]);
    assert_eq!(allocations(|| map.store(1, [1; 16])), 2);
    assert_eq!(map.load(&1).unwrap()[15], 1);
}

#[test]
fn replacing_a_value_allocates_it_and_the_inline_one_stays_readable() {
    let map = warm(0_u64);
    map.store(1, 10);
    let first = map.load(&1).unwrap();
    // Promote, so that the stores below replace values in read without the lock (a store to a
    // key only dirty has counts a miss, and may promote, which allocates a read table).
    map.range(|_, _| true);
    assert_eq!(
        allocations(|| map.store(1, 11)),
        1,
        "a replacement is boxed"
    );
    // The first value was inline: still readable through the reference taken before.
    assert_eq!(*first, 10);
    assert_eq!(*map.load(&1).unwrap(), 11);
    // Deleted and stored again: the entry is reused, the value boxed.
    map.delete(&1);
    assert_eq!(allocations(|| map.store(1, 12)), 1);
    assert_eq!(*map.load(&1).unwrap(), 12);
}

#[test]
fn loading_an_existing_key_with_load_or_store_allocates_nothing() {
    let map = warm(0_u64);
    map.store(1, 1);
    // Promote, so that the key is in the read table.
    while map.stats().promotions == 0 {
        map.load(&1);
    }
    let (value, loaded) = map.load_or_store(1, 2);
    assert!(loaded);
    assert_eq!(*value, 1);
    assert_eq!(
        allocations(|| {
            map.load_or_store(1, 3);
        }),
        0
    );
}

#[test]
fn into_iter_moves_inline_and_boxed_values_out() {
    let map: SyncMap<u64, u64, DeferToDrop> = (0..100).map(|i| (i, i)).collect();
    for i in (0..100).step_by(2) {
        map.store(i, i + 1000); // every other value replaced: boxed
    }
    let mut pairs: Vec<(u64, u64)> = map.into_iter().collect();
    pairs.sort_unstable();
    let expected: Vec<(u64, u64)> = (0..100)
        .map(|i| (i, if i % 2 == 0 { i + 1000 } else { i }))
        .collect();
    assert_eq!(pairs, expected);
}

#[test]
fn clearing_a_one_key_map_allocates_only_the_new_read_table_root_and_lock_list() {
    // Go's BenchmarkClear: clear, then store one key. The clear holds every shard's lock (a
    // list of them), publishes a new (empty) read table in a new root (the array of the
    // shards' tables) and retires the old ones; the old table lists the dying entry inline:
    // no list of entries, no
    // separate box of garbage, and dirty keeps its emptied table for the next store, which then
    // allocates only its entry.
    const CYCLES: usize = 128;
    let map = warm(0_u64);
    map.clear();
    map.store(1, 1);
    let made = allocations(|| {
        for k in 0..CYCLES as u64 {
            map.clear();
            map.store(k, k);
        }
    });
    // `DeferToDrop` keeps what is retired in a `Vec`, which reallocates as it grows.
    let retired_list = CYCLES.ilog2() as usize + 2;
    assert!(
        made <= 4 * CYCLES + retired_list,
        "{made} allocations for {CYCLES} clears and stores"
    );
    assert_eq!(map.len(), 1);
    assert_eq!(*map.load(&(CYCLES as u64 - 1)).unwrap(), CYCLES as u64 - 1);
}
