//! Memory that follows the live set: deletes are counted, and once dead entries may outnumber
//! live ones, the map counts them under the lock and compacts (see `SyncMap`'s *Memory* docs).

use hashbrown::HashTable;

use super::{
    RawMap,
    dirty::Held,
    locked::LockedMap,
    table::{Dies, ReadOnly, Table, entry_hash},
};
use crate::{primitive::sync::atomic::Ordering::Relaxed, reclaim::Reclaim};

/// The fewest dead entries worth a compaction: below this, dead entries are left for a rebuild
/// or promotion to drop. Part of the memory bound's constant (`2 * DEAD_MIN` entries).
const DEAD_MIN: usize = if cfg!(loom) { 2 } else { 32 };

impl<K, V, R: Reclaim, S> RawMap<K, V, R, S> {
    /// Counts one delete (present or reserved → deleted) made under `guard`; every
    /// [`CHECK_EVERY`](crate::stats::DeleteCounter::CHECK_EVERY)th delete of a stripe checks whether a count is due.
    #[inline]
    pub(super) fn count_delete(&self, guard: &R::Guard<'_>) {
        self.present.removed(1);
        if self.deletes.deleted() {
            self.check_dead(guard);
        }
    }

    /// Counts a delete without checking: for a cancelled reservation, which has no guard at
    /// hand; the next checked delete accounts for it.
    pub(super) fn count_delete_unchecked(&self) {
        self.deletes.deleted();
    }

    /// If enough deletes happened since the last count, counts the entries under the lock and
    /// compacts when at least a quarter of them (and [`DEAD_MIN`]) are dead; then sets the
    /// delete total at which the next count is due.
    ///
    /// Why this bounds memory (with only deletes between counts: stores and promotions only
    /// lower the dead count): a count that does not compact leaves `dead < max(DEAD_MIN,
    /// entries / 4)`; the next is due after `max(DEAD_MIN, live - dead) / 2` more deletes, each
    /// moving one entry from live to dead, so `dead - live` stays below about `DEAD_MIN` until
    /// then, plus what each stripe adds before it checks. And why it is amortised O(1): a count
    /// that does not compact costs O(entries) after at least `entries / 4` deletes (or new
    /// keys, which grew the table); a compaction costs O(entries) and drops at least
    /// `entries / 4` dead entries, each made by a delete since the last compaction.
    #[cold]
    fn check_dead(&self, guard: &R::Guard<'_>) {
        if self.deletes.total() < self.next_dead_check.load(Relaxed) {
            return;
        }
        let mut locked = self.lock(guard);
        // Another thread may have counted while we waited for the lock.
        if self.deletes.total() < self.next_dead_check.load(Relaxed) {
            return;
        }
        let held = locked.count_entries();
        let live = held.entries - held.dead;
        let dead = if held.dead >= DEAD_MIN && 4 * held.dead >= held.entries {
            locked.compact();
            0
        } else {
            held.dead
        };
        let gap = DEAD_MIN.max(live.saturating_sub(dead)) / 2;
        self.next_dead_check
            .store(self.deletes.total() + gap as u64, Relaxed);
    }
}

impl<K, V, R: Reclaim, S> LockedMap<'_, '_, K, V, R, S> {
    /// Makes the next check due at once: after a `clear`, the gap set by the last check (half
    /// the live keys of a map that is now empty) no longer bounds the dead entries of the keys
    /// stored from now on.
    pub(super) fn restart_dead_checks(&self) {
        let map = self.map();
        map.next_dead_check.store(map.deletes.total(), Relaxed);
    }

    /// Counts the entries held and the dead ones among them (see [`Dirty::count_entries`]).
    ///
    /// [`Dirty::count_entries`]: super::dirty::Dirty::count_entries
    pub(super) fn count_entries(&self) -> Held {
        self.dirty().count_entries(self.read())
    }

    /// Drops every dead entry: promotes dirty if it exists (freeing the graveyard's entries
    /// still expunged), then expunges each deleted entry of read, publishes a read table of the
    /// others and retires the old one with the expunged entries.
    ///
    /// A store racing with the expunge either revives the entry first (which is then kept) or
    /// finds it expunged and takes the lock, after which the key is new: as after a rebuild and
    /// a promotion, which is what this is, done at once.
    fn compact(&mut self) {
        if self.dirty().exists() {
            self.promote();
        }
        // Invariant 3 now holds: no dirty table, no expunged entry in read.
        let read = self.read();
        let mut live: Table<K, V, R> = HashTable::with_capacity(read.table.len() / 2);
        let mut dead = Vec::new();
        for entry in read.entries() {
            if entry.try_expunge_locked(self.locked()) {
                dead.push(entry.ptr());
            } else {
                live.insert_unique(entry.hash, entry.ptr(), entry_hash);
            }
        }
        live.shrink_to_fit(entry_hash);
        let dirty = self.dirty_mut();
        dirty.misses = 0;
        dirty.stats.compactions += 1;
        let count = dead.len();
        self.replace_read(ReadOnly::publish(live), Dies::Listed(dead), count);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{SyncMap, reclaim::DeferToDrop};

    type Map = SyncMap<u64, u64, DeferToDrop>;

    #[test]
    fn deleting_most_keys_of_read_compacts_without_new_keys() {
        let map = Map::new();
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
        let map = Map::new();
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
        let map = Map::new();
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

    use super::DEAD_MIN;
}
