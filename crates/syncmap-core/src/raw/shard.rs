//! Shards: the map's keys split by hash into independent copies of Go's design, each with its
//! own read table, dirty lock, misses and promotions; and [`Root`], the one published array of
//! the shards' read tables, so that a `clear` replaces all of them at once.
//!
//! A key's shard is fixed by its hash ([`shard_index`]), so every operation on one key is Go's
//! algorithm on one shard, and Go's per-key guarantees hold as they are. Writers of new keys in
//! different shards take different locks; a promotion swaps one shard's slot of the root.

use core::ptr::NonNull;

use super::{dirty::Dirty, table::ReadOnly};
use crate::{
    primitive::sync::{Mutex, atomic::AtomicU64},
    reclaim::{Reclaim, Retire, sealed::Sealed},
};

/// The most shards a map has: what the root's array holds.
pub(crate) const MAX_SHARDS: usize = 64;

/// The bits of a hash that choose its shard start here: above bucket indices (the low bits) and
/// the arena's tag (bit 48, `entry.rs`), below the 7 bits hashbrown keeps in its control bytes
/// (57 to 63). An entry's cached hash, tag included, thus names the same shard as its key's
/// hash.
const SHARD_SHIFT: u32 = 51;

/// The shard of a hash, for a map of `mask + 1` shards (a power of two, at most
/// [`MAX_SHARDS`]): at most `mask`.
#[inline(always)]
pub(super) fn shard_index(hash: u64, mask: usize) -> usize {
    ((hash >> SHARD_SHIFT) as usize) & mask
}

/// The number of shards for a map asked for `shards`: a power of two from 1 to [`MAX_SHARDS`].
pub(crate) fn shard_count(shards: usize) -> usize {
    shards.clamp(1, MAX_SHARDS).next_power_of_two()
}

/// The shard count of a map that does not ask for one: four per thread the machine runs at
/// once (as dashmap's default), so that writers of new keys rarely meet at a lock; one under
/// loom, whose models are of Go's exact design unless they ask for shards. Read once per
/// process (the standard library reads it from the system on every call).
pub(crate) fn default_shards() -> usize {
    if cfg!(loom) {
        return 1;
    }
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static DEFAULT: AtomicUsize = AtomicUsize::new(0);
    match DEFAULT.load(Relaxed) {
        0 => {
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            let shards = shard_count(threads.saturating_mul(4));
            DEFAULT.store(shards, Relaxed);
            shards
        }
        shards => shards,
    }
}

/// One shard's state besides its read table: Go's `mu`, `dirty` and `misses` (in [`Dirty`]),
/// and the deletes that drive its compactions (`bound.rs`). Alone on its cache lines (128
/// bytes: two 64-byte lines, for CPUs that fetch lines in adjacent pairs): its writers take the
/// lock and count deletes; lookups that hit never touch it.
#[repr(align(128))]
pub(super) struct Shard<K, V, R: Reclaim> {
    pub(super) dirty: Mutex<Dirty<K, V, R>>,
    /// Deletes of this shard's keys so far.
    pub(super) deletes: AtomicU64,
    /// The delete total from which a compaction of this shard is due.
    pub(super) next_dead_check: AtomicU64,
    /// The fewest deletes after a rebuild's start before the next compaction is due (the
    /// map's `DEAD_MIN` split among its shards: see `bound.rs`).
    pub(super) dead_min: usize,
}

impl<K, V, R: Reclaim> Shard<K, V, R> {
    /// A shard whose first rebuild makes room for `capacity_hint` entries, and whose
    /// compactions wait for at least `dead_min` deletes.
    pub(super) fn new(capacity_hint: usize, dead_min: usize) -> Self {
        Shard {
            // SAFETY: the new `Dirty` goes straight into this shard's dirty mutex.
            dirty: Mutex::new(unsafe { Dirty::new(capacity_hint) }),
            deletes: AtomicU64::new(0),
            next_dead_check: AtomicU64::new(0),
            dead_min,
        }
    }

    /// Counts a delete; returns the shard's delete total, this one included.
    #[inline]
    pub(super) fn deleted(&self) -> u64 {
        use crate::primitive::sync::atomic::Ordering::Relaxed;
        self.deletes.fetch_add(1, Relaxed) + 1
    }

    /// Deletes of this shard's keys so far.
    #[inline]
    pub(super) fn deletes(&self) -> u64 {
        self.deletes
            .load(crate::primitive::sync::atomic::Ordering::Relaxed)
    }
}

/// The shards' read tables, published together: slot `i` is shard `i`'s. The map's read state
/// is one immutable root, replaced whole (copy on write): by a promotion, holding its shard's
/// lock, which replaces its own slot (a compare-and-swap, as promotions of other shards may
/// replace the root meanwhile), and by a `clear`, holding every shard's lock. A lookup loads
/// the root and its shard's slot; `range` iterates the tables of one root, a snapshot of the
/// read state (Go's `Range` iterates one read table).
///
/// # Invariants
///
/// Immutable once published. The slots of a map of `n` shards, `0..n`, hold read tables; the
/// others are null and never read. A replaced root is retired (its replaced table
/// separately, with what dies with it), so a reader that loaded it can still read its slots
/// and tables; the tables it shares with the new root are not freed with it.
pub(super) struct Root<K, V, R: Reclaim> {
    reads: [*mut ReadOnly<K, V, R>; MAX_SHARDS],
}

impl<K, V, R: Reclaim> Root<K, V, R> {
    /// A boxed root whose first `tables.len()` slots hold `tables`.
    pub(super) fn publish(tables: impl Iterator<Item = *mut ReadOnly<K, V, R>>) -> *mut Self {
        let mut reads = [core::ptr::null_mut(); MAX_SHARDS];
        for (slot, table) in reads.iter_mut().zip(tables) {
            *slot = table;
        }
        Box::into_raw(Box::new(Root { reads }))
    }

    /// Shard `shard`'s table, to be published or retired by the caller.
    #[inline(always)]
    pub(super) fn table(&self, shard: usize) -> *mut ReadOnly<K, V, R> {
        self.reads[shard]
    }

    /// Sets `shard`'s slot of a root not yet published, copying the others from `from`.
    pub(super) fn copy_with(&mut self, from: &Self, shard: usize, table: *mut ReadOnly<K, V, R>) {
        self.reads = from.reads;
        self.reads[shard] = table;
    }

    /// Shard `shard`'s read table, borrowed for as long as the root.
    ///
    /// # Safety
    ///
    /// `shard` is below the map's shard count, and the root is borrowed from the map under a
    /// guard (`RawMap::root`), which then protects the table too.
    #[inline(always)]
    pub(super) unsafe fn read(&self, shard: usize) -> &ReadOnly<K, V, R> {
        debug_assert!(shard < MAX_SHARDS);
        // SAFETY: `shard` is below the shard count (the caller's contract), so within the
        // array; slots below the shard count are never null (the invariants), and a replaced
        // read table is retired no sooner than the root that published it is replaced, so it
        // outlives every guard that could have loaded that root, and the guard the root is
        // borrowed under is one (`Reclaim`'s *Protection* covers the root's load, and what is
        // reached through it: its slots, the tables, their entries).
        unsafe { &**self.reads.get_unchecked(shard) }
    }
}

impl<K, V, R: Reclaim> Sealed for Root<K, V, R> {}

impl<K, V, R: Reclaim> Retire for Root<K, V, R> {
    /// Frees the root only: its tables are retired on their own, or still published.
    unsafe fn reclaim(ptr: NonNull<Self>) {
        // SAFETY: the root was boxed by `publish`, replaced and retired once (by a promotion
        // or a `clear`), and no guard can reach it any more.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn shard_bits_leave_buckets_the_tag_and_control_bytes_alone() {
        let mask = MAX_SHARDS - 1;
        assert_eq!(shard_index(u64::MAX >> 7, mask), mask);
        // Bucket bits, the arena's tag (bit 48) and the control byte bits choose no shard.
        assert_eq!(shard_index((1 << 51) - 1, mask), 0);
        assert_eq!(shard_index(0xFE00_0000_0000_0000, mask), 0);
        assert_eq!(shard_index(1 << 56, mask), MAX_SHARDS / 2);
    }

    #[test]
    fn shard_counts_are_powers_of_two_up_to_the_root() {
        let counts: Vec<usize> = [0, 1, 2, 3, 5, 16, 17, 64, 65, 1000]
            .into_iter()
            .map(shard_count)
            .collect();
        assert_eq!(counts, [1, 1, 2, 4, 8, 16, 32, 64, 64, 64]);
    }
}
