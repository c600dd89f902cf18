//! [`Stats`]: what the map did, so a user can tell whether the workload suits the design.

use crate::primitive::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of the map's internal events, from [`SyncMap::stats`](crate::SyncMap::stats).
///
/// The design pays off when `read_hits` dwarfs `misses` and `dirty_rebuilds` is small: keys
/// written once and read many times, or disjoint key sets per thread. Many rebuilds per
/// promotion, or misses close to hits, mean a workload of new keys, where a sharded map
/// (dashmap) or a lock-free table (papaya) fits better.
///
/// # Examples
///
/// ```
/// use std::hash::RandomState;
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// // One shard: Go's design, whose counters these are (a map of several counts each
/// // shard's, and a shard promotes after at least as many misses as there are shards).
/// let map: SyncMap<u32, u32, DeferToDrop> =
///     SyncMap::with_capacity_hasher_and_shards(0, RandomState::new(), 1);
/// map.store(1, 10); // a new key: goes to the dirty map
/// assert!(map.load(&1).is_some()); // a miss: read does not have it yet; promotes (1 miss >= 1 dirty key)
/// assert!(map.load(&1).is_some()); // a read-map hit
/// let stats = map.stats();
/// assert_eq!(stats.misses, 1);
/// assert_eq!(stats.promotions, 1);
/// assert!(stats.read_hits >= 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Lookups answered by the read map without the lock (`load`, and the pinned `load`).
    ///
    /// Counted in per-thread stripes without read-modify-write instructions, so that the hit
    /// path writes no shared cache line. Two threads that share a stripe can lose each other's
    /// increments: treat this as a close lower bound, exact in single-threaded use.
    pub read_hits: u64,
    /// Lookups that fell through to the dirty map under the lock (Go's `misses`, summed over
    /// the map's life rather than reset at each promotion). Unlike Go, a store or swap of a key
    /// only the dirty map has counts one too, as `load_or_store` does in Go: a workload that
    /// keeps rewriting new keys then reaches the lock-free path.
    pub misses: u64,
    /// Times the dirty map was promoted to be the read map (O(1)).
    pub promotions: u64,
    /// Times the dirty map was rebuilt from the read map (O(n): the design's main cost, spread
    /// over the locked operations that follow the first new key, a few entries each).
    pub dirty_rebuilds: u64,
    /// Entries expunged during rebuilds: deleted keys left out of the new dirty map.
    pub expunged: u64,
    /// Expunged entries revived by a store of their key.
    pub unexpunged: u64,
    /// Compactions started: rebuilds of dirty begun because enough keys were deleted since the
    /// last rebuild that dead entries could soon outnumber live ones (see `SyncMap`'s *Memory*
    /// section): deleted keys do not wait for a new key. Each is also counted in
    /// `dirty_rebuilds`, and ends in a promotion.
    pub compactions: u64,
    /// Entries the map holds now, in either table: live keys plus `dead_entries`. Counted when
    /// `stats` is called (O(n), under the lock), not kept up to date.
    pub entries: usize,
    /// Entries held for deleted keys (deleted or expunged), waiting for a rebuild, a promotion
    /// or a compaction to drop them. `entries - dead_entries` is the number of keys with a value
    /// (or reserved by `load_or_store_with`) when no write runs concurrently.
    pub dead_entries: usize,
}

/// The counters kept under the dirty-map lock.
#[derive(Debug, Default)]
pub(crate) struct LockedStats {
    pub(crate) misses: u64,
    pub(crate) promotions: u64,
    pub(crate) dirty_rebuilds: u64,
    pub(crate) expunged: u64,
    pub(crate) unexpunged: u64,
    pub(crate) compactions: u64,
}

const STRIPES: usize = 8;

/// An atomic counter alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

/// Read-hit counters striped by thread, so that threads increment different cache lines.
#[derive(Debug, Default)]
pub(crate) struct HitCounter {
    stripes: [Padded; STRIPES],
}

/// This thread's stripe, assigned round-robin on first use.
///
/// The thread-local has a `const` initializer and no destructor, so reading it is one load
/// with no lazy-initialization check (this is on the read-hit path). Its initial value is out
/// of range, so that one comparison both finds an unassigned stripe and bounds the index: the
/// hit path is a load, a compare and the increment. The assignment stays inline: as a call
/// (even a cold one) it made the read path keep the entry in a callee-saved register, whose
/// save and restore cost every load, hit or miss, two instructions.
#[cfg(not(loom))]
#[inline]
pub(crate) fn stripe() -> usize {
    use std::{
        cell::Cell,
        sync::atomic::{AtomicUsize, Ordering},
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        let stripe = s.get();
        if stripe < STRIPES {
            stripe
        } else {
            let stripe = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(stripe);
            stripe
        }
    })
}

/// Under loom every thread shares one stripe (loom's atomics cannot live in a `thread_local!`
/// that outlives a model run, and one stripe is the worst case for the counters anyway).
#[cfg(loom)]
#[inline]
pub(crate) fn stripe() -> usize {
    0
}

impl HitCounter {
    /// Counts one hit: a load and a store to this thread's stripe, no locked instruction.
    #[inline]
    pub(crate) fn hit(&self) {
        #[cfg(not(loom))]
        {
            let cell = &self.stripes[stripe()].0;
            cell.store(cell.load(Relaxed).wrapping_add(1), Relaxed);
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.stripes.iter().map(|s| s.0.load(Relaxed)).sum()
    }
}

/// The number of present values, kept by the writers that change it (papaya keeps its length
/// the same way): `+1` when a key gets a value it did not have, `-1` when a delete takes one,
/// `-n` when `clear` unlinks `n` present values. Striped like [`HitCounter`], so writers on
/// different threads touch different cache lines; reads never touch it.
///
/// Exact whenever no write is in flight, except after a `clear` that raced with lock-free writes
/// to the entries it unlinked: such a write lands in an entry no table holds any more, and its
/// `±1` stays in the count. See `SyncMap::len_estimate`.
#[derive(Debug, Default)]
pub(crate) struct LenCounter {
    stripes: [Padded; STRIPES],
}

impl LenCounter {
    /// A key got a value.
    #[inline]
    pub(crate) fn added(&self) {
        self.stripes[stripe()].0.fetch_add(1, Relaxed);
    }

    /// `n` values were taken out.
    #[inline]
    pub(crate) fn removed(&self, n: usize) {
        self.stripes[stripe()].0.fetch_sub(n as u64, Relaxed);
    }

    /// The sum of the stripes (each wraps below zero when its thread removed values that
    /// others added), clamped at zero while writes are in flight.
    pub(crate) fn total(&self) -> usize {
        let sum = self
            .stripes
            .iter()
            .fold(0_u64, |sum, s| sum.wrapping_add(s.0.load(Relaxed)));
        usize::try_from(sum as i64).unwrap_or(0)
    }
}
