//! Two threads on one map: disjoint keys written by each, one shared key contended by both.

use std::thread;

use syncmap_epoch::SyncMap;

#[test]
fn two_threads_disjoint_and_shared_keys() {
    const N: u64 = 20_000;
    let map: SyncMap<u64, u64> = SyncMap::new();
    map.store(u64::MAX, 0); // the shared counter
    thread::scope(|s| {
        for t in 0..2u64 {
            let map = &map;
            s.spawn(move || {
                for i in 0..N {
                    let key = i * 2 + t; // thread t owns keys ≡ t (mod 2)
                    map.store(key, i);
                    assert_eq!(map.load(&key).map(|v| *v), Some(i));
                    if i % 3 == 0 {
                        assert_eq!(map.load_and_delete(&key).map(|v| *v), Some(i));
                        assert!(map.load(&key).is_none());
                    }
                    // Increment the shared counter by compare-and-swap: no lost updates.
                    loop {
                        let current = *map.load(&u64::MAX).unwrap();
                        if map.compare_and_swap(&u64::MAX, &current, current + 1) {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(map.load(&u64::MAX).map(|v| *v), Some(2 * N));
    let expected_keys = 2 * (N - N.div_ceil(3)) as usize + 1;
    assert_eq!(map.len(), expected_keys);
    let mut visited = 0;
    map.range(|k, v| {
        if *k != u64::MAX {
            assert_eq!(k / 2, *v, "key {k} holds its thread's value");
            assert_ne!(v % 3, 0, "deleted keys stay deleted");
        }
        visited += 1;
        true
    });
    assert_eq!(visited, expected_keys);
    assert!(map.stats().promotions > 0);
}
