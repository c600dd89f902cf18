//! [`SyncMap::len_estimate`]: the length from a counter, O(1), for metrics.

use core::hash::{BuildHasher, Hash};

use super::SyncMap;
use crate::Admits;

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// The number of keys with a value, from a counter the writers keep: O(1), takes no lock
    /// and reads no entry, so a metrics scrape of a large map stalls nobody (unlike
    /// [`len`](Self::len), which counts entries, under the map's lock while dirty exists).
    ///
    /// Equal to `len()` whenever no write is in flight, with one exception: a
    /// [`clear`](Self::clear) that races with lock-free writes (a store, delete or insert
    /// through the read table) to the entries it removes. Such a write lands in an entry that no
    /// table holds any more (it is ordered before the clear), but its `+1` or `-1` stays in the
    /// counter, so the estimate may be off by the number of such writes from then on. Use `len`
    /// where exactness matters (tests, assertions); use this for gauges.
    ///
    /// Writers pay one uncontended atomic add, on a cache line of their thread's stripe, when a
    /// key gains or loses its value; overwrites of a present value and reads pay nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (0..100).map(|i| (i, i)).collect();
    /// map.delete(&7);
    /// map.store(7, 70);
    /// map.store(1, 10); // an overwrite: no change
    /// assert_eq!(map.len_estimate(), 100);
    /// assert_eq!(map.len_estimate(), map.len());
    /// ```
    #[doc(alias("approx_len", "size_hint", "count"))]
    pub fn len_estimate(&self) -> usize {
        self.raw.len_estimate()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::thread;

    use crate::{SyncMap, reclaim::DeferToDrop};

    type Map = SyncMap<u64, u64, DeferToDrop>;

    /// A small deterministic generator, so a failure reproduces.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn the_estimate_is_exact_after_every_kind_of_write() {
        let map: Map = SyncMap::new();
        let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
        for step in 0..20_000 {
            let r = next(&mut rng);
            let (k, v) = (r % 64, r >> 32);
            match (r >> 8) % 12 {
                0 | 1 => map.store(k, v),
                2 => drop(map.swap(k, v)),
                3 => drop(map.load_or_store(k, v)),
                4 => drop(map.load_or_store_with(k, || v)),
                5 | 6 => map.delete(&k),
                7 => drop(map.load_and_delete(&k)),
                8 => {
                    let current = map.load(&k).copied().unwrap_or(v);
                    map.compare_and_delete(&k, &current);
                }
                9 => drop(map.update(&k, |c| c + 1)),
                10 if r % 97 == 0 => map.clear(),
                10 => map.retain(|key, _| key % 3 != r % 3),
                _ => drop(map.load(&k)), // misses promote
            }
            assert_eq!(map.len_estimate(), map.len(), "step {step}");
        }
    }

    #[test]
    fn the_estimate_is_exact_once_concurrent_writers_are_done() {
        let map: Map = SyncMap::new();
        thread::scope(|s| {
            for t in 0..4_u64 {
                let map = &map;
                s.spawn(move || {
                    let mut rng = 0x2545_F491_4F6C_DD1D_u64 ^ (t + 1);
                    for _ in 0..20_000 {
                        let r = next(&mut rng);
                        let k = r % 256; // keys shared by every thread
                        match (r >> 8) % 5 {
                            0 | 1 => map.store(k, r),
                            2 => drop(map.load_or_store_with(k, || r)),
                            3 => map.delete(&k),
                            _ => drop(map.load(&k)),
                        }
                    }
                });
            }
        });
        assert_eq!(map.len_estimate(), map.len());
    }
}
