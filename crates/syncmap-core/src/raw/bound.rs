//! Memory that follows the live set, a step at a time: deletes are counted, and once dead
//! entries could outnumber live ones the map *compacts*, spreading the work over the deletes
//! that follow (see `SyncMap`'s *Memory* docs).
//!
//! A compaction is a rebuild of dirty from read followed by a promotion, the same two steps
//! Go's design takes after a new key, done without one: the rebuild expunges every entry it
//! finds deleted into the graveyard (`dirty.rs`, [`COMPACT_STEP_BUCKETS`] buckets a step), and
//! the promotion (O(1): the graveyard goes whole, see `Dirty::take_expunged`) retires those
//! still expunged. The rebuild does not mark read amended, as dirty gains no key read lacks:
//! loads of absent keys stay lock-free. If dirty exists when a compaction is due, it is
//! promoted first (once its backlog is done), and the next steps rebuild from the new read.
//!
//! # The bound
//!
//! Each dirty records the delete total when its rebuild began (`Dirty::rebuilt_at`, `d_s`).
//! The rebuild visits every entry of read and expunges those deleted then, and every other
//! entry of dirty is new; so once it is promoted, each dead entry, and each entry that dies
//! after, is one delete counted since `d_s` (deletes of one entry count once each time it goes
//! from live to dead): `D + F <= Δ`, where `D` is the dead entries held, `F` the entries freed
//! since the promotion and `Δ` the deletes since `d_s`. With `H_p` the entries the promoted
//! table held and `N` the new entries since, `H = H_p + N - F`, so `H <= 2 * (H - D) + c`
//! (at most twice the live entries, plus `c`) holds while `2 * Δ <= H_p + c`.
//!
//! The promotion therefore makes the next compaction due after `max(dead_min, H_p / 4)`
//! deletes since `d_s` ([`Shard::compaction_due_after`]; see [`dead_min`]). From then on every delete of the shard takes the lock and moves the
//! compaction [`COMPACT_STEP_BUCKETS`] buckets on. Its two walks (the backlog of a dirty that
//! exists, then read) cover tables of at most about `2.3` buckets per entry of capacity, which
//! is at most twice the entries held at the last promotion (`H_p + N`, and a promotion drops at
//! most half of them, by the bound): about `9 * H_p` buckets, so it is promoted within
//! `H_p / 56` more deletes, `Δ` having stayed below `H_p / 4 + H_p / 56 < H_p / 2`; the new
//! promotion starts the argument again. For small tables (fewer than 512 buckets, rebuilt at
//! once) `Δ` stays below `dead_min` plus one, which with `2 * Δ` gives `c` (about `2 *
//! dead_min` plus a table's worth of entries a step leaves to the next).
//!
//! Everything here is per shard: each shard counts its own deletes (one counter on the shard's
//! cache lines, so checking whether a compaction is due costs a load beside the count), and its
//! compactions, dead entries and bound are its own. The map's bound is the sum of its shards':
//! at most twice the live entries, plus `c` for each shard (`dead_min` is [`DEAD_MIN`] for one
//! shard and [`DEAD_MIN_SHARDED`] for each of several). When deletes stop, `Δ` does: a compaction left
//! pending by the last delete needs nothing more to drive it (a read-only map keeps the bound
//! as it is).
//!
//! One exception, for small tables: a compaction due on a read table of fewer than 512 buckets
//! and no dirty first counts its dead entries (no more work than a step), and if fewer than
//! `DEAD_MIN` are dead (keys deleted and stored again), starts no rebuild; it takes the count
//! as the deletes since a rebuild begun now (`d_s` = the delete total less the dead entries,
//! which keeps `D <= Δ`), so the next compaction is due `gap` deletes later. Without it, a
//! delete-then-store cycle on a few keys would rebuild and promote its table every
//! `DEAD_MIN` deletes (`LoadAndDeleteCollision`: +12% instructions per operation).
//!
//! Why it is amortised O(1), and no call is O(n): compaction work is done only by steps, each
//! [`COMPACT_STEP_BUCKETS`] buckets for one checked delete (or `STEP_BUCKETS` for an insert or
//! a miss, as before), or a count of a small table, and a promotion is O(1) (the graveyard is
//! handed over whole, with the set of entries revived from it, each inserted there by the store
//! that revived it). The entries held are never counted on a write path, only the promoted
//! table's length is needed. The costs left are the new table's allocation (O(n) bytes zeroed,
//! once per compaction), the retirement of the dead entries (in pieces of 64 on crossbeam-epoch,
//! `Reclaim::RETIRE_PIECE`: a few words per entry) and the strategy's later reclamation of them.

use super::{
    RawMap,
    dirty::{COMPACT_STEP_BUCKETS, Held, INCREMENTAL_MIN_BUCKETS, test_visits},
    entry::State,
    locked::LockedMap,
    shard::Shard,
};
use crate::{primitive::sync::atomic::Ordering::Relaxed, reclaim::Reclaim};

/// The fewest deletes after a rebuild's start before the next compaction is due, in a map of
/// one shard: below this, dead entries are left for a rebuild or promotion to drop. Part of the
/// memory bound's constant, which is the sum of the shards'.
const DEAD_MIN: usize = if cfg!(loom) { 2 } else { 32 };

/// [`DEAD_MIN`] of each shard of a map of several. Not split further: a compaction has a fixed
/// cost (it ends in a promotion: a new root and table, two retirements, a rebuild's table), and
/// a shard of a few keys whose compaction were due every 4 deletes would compact every few
/// operations (Go's `SwapMostlyMisses`, a new key stored and deleted per operation, on eight
/// shards: a promotion every other operation at 4, one per 8 at 16, one per 16 on one shard
/// at 32). So the bound's constant grows with the shards: about 100 for one, about 7 per
/// shard for many (`the_bound_constant_with_shards`).
const DEAD_MIN_SHARDED: usize = if cfg!(loom) { 2 } else { 16 };

/// The fewest deletes after a rebuild's start before a compaction of one of `shards` shards
/// is due.
pub(super) fn dead_min(shards: usize) -> usize {
    (DEAD_MIN / shards).max(DEAD_MIN_SHARDED)
}

impl<K, V, R: Reclaim, S> RawMap<K, V, R, S> {
    /// Counts one delete (present or reserved → deleted) of a key of shard `shard`, made under
    /// `guard`; if a compaction of the shard is due, moves it a step on.
    #[inline]
    pub(super) fn count_delete(&self, guard: &R::Guard<'_>, shard: usize) {
        self.present.removed(1);
        let shard_ref = &self.shards[shard];
        let total = shard_ref.deleted();
        if shard_ref.compaction_due_at(total) {
            self.check_dead(guard, shard);
        }
    }

    /// Counts a delete of a key of shard `shard` without checking: for a cancelled
    /// reservation, which has no guard at hand; the shard's next checked delete accounts for
    /// it.
    pub(super) fn count_delete_unchecked(&self, shard: usize) {
        self.shards[shard].deleted();
    }

    /// If a compaction of shard `shard` is due, moves it a step on under the lock (see the
    /// module docs).
    #[cold]
    fn check_dead(&self, guard: &R::Guard<'_>, shard: usize) {
        let mut locked = self.lock(guard, shard);
        // A promotion may have moved the next compaction while we waited for the lock.
        if !locked.shard().compaction_due() {
            return;
        }
        locked.compact_step();
    }
}

impl<K, V, R: Reclaim> Shard<K, V, R> {
    /// By the lock holder, at a promotion (the promoted dirty's rebuild began at delete total
    /// `rebuilt_at`, and its table holds `held` entries) or after counting a small table: the
    /// next compaction is due [`gap`](Self::gap)`(held)` deletes after `rebuilt_at` (see the module docs).
    pub(super) fn compaction_due_after(&self, rebuilt_at: u64, held: usize) {
        self.next_dead_check
            .store(rebuilt_at + self.gap(held), Relaxed);
    }

    /// Deletes after a rebuild's start at which a compaction is due, for a promoted table of
    /// `held` entries.
    fn gap(&self, held: usize) -> u64 {
        self.dead_min.max(held / 4) as u64
    }

    /// Whether the deletes have reached the next compaction.
    fn compaction_due(&self) -> bool {
        self.compaction_due_at(self.deletes())
    }

    /// Whether a delete total of `total` has reached the next compaction (the total a delete
    /// just counted: no second load of the count on the delete path).
    #[inline]
    fn compaction_due_at(&self, total: u64) -> bool {
        total >= self.next_dead_check.load(Relaxed)
    }
}

impl<K, V, R: Reclaim, S> LockedMap<'_, '_, K, V, R, S> {
    /// After a `clear` (the map is empty, nothing is dead): the next compaction is due
    /// [`DEAD_MIN`] deletes from now, as if a rebuild of an empty table began now.
    pub(super) fn restart_dead_checks(&self) {
        let shard = self.shard();
        shard.compaction_due_after(shard.deletes(), 0);
    }

    /// Counts the entries held and the dead ones among them (see [`Dirty::count_entries`]).
    /// O(n): for `stats` only, never on a write path.
    ///
    /// [`Dirty::count_entries`]: super::dirty::Dirty::count_entries
    pub(super) fn count_entries(&self) -> Held {
        self.dirty().count_entries(self.read())
    }

    /// One step of a compaction: starts it (a rebuild of dirty from read, unamended) if dirty
    /// does not exist (unless a small table has few dead entries: see the module docs), moves
    /// dirty's backlog [`COMPACT_STEP_BUCKETS`] buckets on, and promotes once the backlog is
    /// done. The promotion makes the next compaction due from this rebuild's start
    /// (`compaction_due_after`); if dirty existed already (rebuilt before the compaction was
    /// due), that is at once, and the next checked delete starts the rebuild.
    ///
    /// A store racing with the rebuild either revives an entry before it is visited (which is
    /// then kept) or finds it expunged and takes the lock to relink it, as after any rebuild.
    fn compact_step(&mut self) {
        if !self.dirty().exists() && self.read().table.num_buckets() < INCREMENTAL_MIN_BUCKETS {
            // A small read table (a rebuild would copy it at once) is counted first, as cheap as
            // a step: if few of its entries are dead (keys deleted and stored again, as in a
            // delete-then-store cycle), a compaction would copy it for nothing. The dead
            // entries counted are then as if deleted since a rebuild just begun, which keeps
            // the bound's argument.
            let read = self.read();
            let dead = read
                .entries()
                .inspect(|_| test_visits(1))
                .filter(|e| matches!(e.state(), State::Deleted))
                .count();
            if dead < self.shard().dead_min {
                let shard = self.shard();
                let base = shard.deletes().saturating_sub(dead as u64);
                shard.compaction_due_after(base, read.table.len());
                return;
            }
        }
        if self.rebuild_unamended() {
            self.dirty_mut().stats.compactions += 1;
        }
        if self.step_by(COMPACT_STEP_BUCKETS) {
            self.promote();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{SyncMap, reclaim::DeferToDrop};

    type Map = SyncMap<u64, u64, DeferToDrop>;

    /// A map of one shard, whose bound's constant the tests check.
    fn one_shard() -> Map {
        Map::with_capacity_hasher_and_shards(0, std::hash::RandomState::new(), 1)
    }

    #[test]
    fn deleting_most_keys_of_read_compacts_without_new_keys() {
        let map = one_shard();
        for k in 0..1000 {
            map.store(k, k);
        }
        map.range(|_, _| true); // promote
        for k in 10..1000 {
            map.delete(&k);
        }
        let stats = map.stats();
        assert!(stats.compactions >= 1, "{stats:?}");
        assert!(stats.entries <= 2 * 10 + 2 * DEAD_MIN + 16, "{stats:?}");
        assert_eq!(stats.entries - stats.dead_entries, 10, "{stats:?}");
        for k in 0..1000 {
            assert_eq!(map.load(&k).copied(), (k < 10).then_some(k));
        }
        assert_eq!(map.len(), 10);
    }

    #[test]
    fn a_store_after_compaction_revives_nothing_dropped() {
        let map = one_shard();
        for k in 0..200 {
            map.store(k, k);
        }
        map.range(|_, _| true);
        for k in 0..200 {
            map.delete(&k);
        }
        assert!(map.stats().compactions >= 1);
        for k in 0..200 {
            map.store(k, k + 1);
        }
        for k in 0..200 {
            assert_eq!(map.load(&k).copied(), Some(k + 1));
        }
        let stats = map.stats();
        assert_eq!((stats.entries - stats.dead_entries, map.len()), (200, 200));
    }

    #[test]
    fn a_clear_restarts_the_dead_entry_checks() {
        // A large map sets a large gap before the next check; after a clear, a smaller map
        // emptied by deletes must still compact (the minimal case proptest found).
        let map = one_shard();
        for k in 0..2000 {
            map.store(k, k);
        }
        map.range(|_, _| true);
        for k in 0..40 {
            map.delete(&k); // one count: few dead, next check ~980 deletes away
        }
        map.clear();
        for k in 0..600 {
            map.store(k, k);
        }
        for k in 0..400 {
            assert_eq!(map.load_and_delete(&k).copied(), Some(k));
        }
        let stats = map.stats();
        assert!(stats.entries <= 2 * 200 + 2 * DEAD_MIN + 16, "{stats:?}");
    }

    #[test]
    fn the_bound_constant_with_shards() {
        // The constant of the bound is the sum of the shards': a map emptied by deletes to 10
        // keys holds at most 148 entries on up to 8 shards (the suite's default bound, 2 * 10 +
        // 128), and at most 10 per shard more on 64 (the slack our backends' suites allow).
        for (shards, slack) in [(1, 128), (8, 128), (64, crate::ENTRY_SLACK)] {
            let map =
                Map::with_capacity_hasher_and_shards(0, std::hash::RandomState::new(), shards);
            for k in 0..10_000 {
                map.store(k, k);
            }
            map.range(|_, _| true);
            for k in 10..10_000 {
                map.delete(&k);
            }
            let stats = map.stats();
            assert_eq!(
                stats.entries - stats.dead_entries,
                10,
                "{shards} shards: {stats:?}"
            );
            assert!(
                stats.entries <= 2 * 10 + slack,
                "{shards} shards: {} entries for 10 live keys; {stats:?}",
                stats.entries
            );
        }
    }

    /// The maps of the step-counting tests: a raw map, whose dirty state a test can see.
    type Raw = crate::raw::RawMap<u64, u64, DeferToDrop, std::hash::RandomState>;

    /// Counts misses until dirty is promoted, as a read workload would.
    fn promote(map: &Raw) {
        while map.shards[0].dirty.lock().exists() {
            assert!(map.load(&u64::MAX).is_none());
        }
    }

    /// Asserts the memory bound (as the suite's `bounds.rs` does) for `live` keys.
    fn assert_bound(map: &Raw, live: usize) {
        let stats = map.stats();
        assert_eq!(stats.entries - stats.dead_entries, live, "{stats:?}");
        assert!(stats.entries <= 2 * live + 128, "{live} live: {stats:?}");
    }

    /// A raw map of one shard holding keys `0..n`, promoted.
    fn promoted_keys(n: u64) -> Raw {
        let map = Raw::with_capacity_hasher_and_shards(0, std::hash::RandomState::new(), 1);
        for k in 0..n {
            map.store(k, k);
        }
        promote(&map);
        map
    }

    #[test]
    fn no_delete_visits_more_than_a_step_and_memory_follows_the_live_set() {
        // Issue 22, target 5: a delete used to count every entry (and then compact them all)
        // in one call; now no call visits more than one step's buckets, and the entries held
        // still follow the live set, deleting the keys of a large promoted map one by one.
        const N: u64 = 200_000;
        let map = promoted_keys(N);
        visits::take();
        let mut worst = 0;
        for k in 0..N {
            map.delete(&k);
            worst = worst.max(visits::take());
            if k % 4_999 == 0 {
                assert_bound(&map, (N - k - 1) as usize);
                visits::take();
            }
        }
        assert!(
            worst <= COMPACT_STEP_BUCKETS,
            "one delete visited {worst} buckets or entries"
        );
        assert!(map.stats().compactions >= 5, "{:?}", map.stats());
        assert_bound(&map, 0);
        for k in (0..N).step_by(97) {
            assert!(map.load(&k).is_none());
        }
    }

    #[test]
    fn stores_that_revive_keys_during_a_compaction_keep_them() {
        // Deletes drive compactions while stores revive keys deleted a while ago: some before
        // the rebuild reaches them, some after it expunged them (relinked: the promotion must
        // not free them, and they are skipped without being read when it is reclaimed).
        const N: u64 = 40_000;
        let map = promoted_keys(N);
        let mut live: std::collections::BTreeSet<u64> = (0..N).collect();
        let mut worst = 0;
        visits::take();
        for k in 0..N {
            map.delete(&k);
            live.remove(&k);
            if k % 3 == 0 && k >= 500 {
                map.store(k - 500, k);
                live.insert(k - 500);
            }
            worst = worst.max(visits::take());
        }
        let stats = map.stats();
        assert!(stats.promotions >= 5 && stats.unexpunged > 0, "{stats:?}");
        assert_bound(&map, live.len());
        for k in 0..N {
            assert_eq!(map.load(&k).is_some(), live.contains(&k), "key {k}");
        }
        promote(&map);
        assert!(
            worst <= COMPACT_STEP_BUCKETS + STEP_BUCKETS_BOUND,
            "one call visited {worst} buckets or entries"
        );
    }

    /// What a store may visit besides a compaction's step: one rebuild or growth step.
    const STEP_BUCKETS_BOUND: usize = 64;

    use super::{COMPACT_STEP_BUCKETS, DEAD_MIN};
    use crate::raw::dirty::visits;
}
