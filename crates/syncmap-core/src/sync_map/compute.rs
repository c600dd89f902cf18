//! Beyond Go's API: compute-once insertion, in-place update, owned reads and `retain`.

use core::{
    borrow::Borrow,
    convert::Infallible,
    future::Future,
    hash::{BuildHasher, Hash},
};

use super::SyncMap;
use crate::{Admits, Owned, Ref, reclaim::CloneOwned};

impl<K, V, R, S> SyncMap<K, V, R, S>
where
    K: Hash + Eq + Send,
    V: Send,
    R: Admits<(K, V)>,
    S: BuildHasher,
{
    /// Returns `key`'s value if present (`true`); otherwise computes it with `f`, stores it and
    /// returns it (`false`).
    ///
    /// `f` runs at most once per insertion of the key, even when many threads race to insert
    /// the same absent key: one of them *reserves* the key and runs its `f`; the others wait for
    /// the result and return it with `true`. No map-wide lock is held while `f` runs, so other
    /// keys are loaded and stored meanwhile; loads of this key see it absent until `f` returns.
    /// Stores, swaps and load-or-stores of this key wait for `f` to finish.
    ///
    /// **Nothing is held while `f` runs, nor while a thread waits for it**: no lock and no
    /// guard, so a slow `f` (a network fetch) delays the reclamation of nothing that other
    /// threads replace or delete meanwhile, on any backend. A guard is taken again only to
    /// publish the value. (The fallible and async forms below hold nothing either.)
    ///
    /// If `f` panics, nothing is inserted, the waiting threads wake up (one of them then runs
    /// its own closure), and the panic propagates to the caller.
    ///
    /// A [`clear`](Self::clear) while `f` runs does not cancel the reservation, and removes the
    /// key: `f`'s value is returned with `false` (stored), but the key is absent when the call
    /// returns, and no other thread ever sees that value. This is linearizable: the insertion
    /// takes effect just before the clear, and the clear removes it; loads of the key made
    /// while `f` ran, which saw it absent, are ordered before the insertion (they overlap this
    /// call). A delete of the key while `f` runs finds it absent and does nothing.
    ///
    /// # Panics
    ///
    /// Propagates a panic of `f`. Panics if `f` stores, swaps, load-or-stores or
    /// `load_or_store_with`s the same key on this map: such a write waits for the key's
    /// reservation to end, which is `f` itself, so it would otherwise deadlock. The write
    /// panics, and the panic propagates out of `f` and this call, as above. Other keys of the
    /// same map, including their `load_or_store_with`, may be written from `f`; a cycle
    /// through two threads (each computing a key the other's closure writes) is not detected
    /// and deadlocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{sync::atomic::{AtomicUsize, Ordering}, thread};
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let map: SyncMap<&str, String> = SyncMap::new();
    /// let calls = AtomicUsize::new(0);
    /// thread::scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| {
    ///             let (value, _loaded) = map.load_or_store_with("config", || {
    ///                 calls.fetch_add(1, Ordering::SeqCst);
    ///                 "expensive".to_string()
    ///             });
    ///             assert_eq!(value.as_str(), "expensive");
    ///         });
    ///     }
    /// });
    /// assert_eq!(calls.load(Ordering::SeqCst), 1);
    /// ```
    #[doc(alias("entry", "get_or_insert_with", "or_insert_with", "compute_if_absent"))]
    pub fn load_or_store_with<F>(&self, key: K, f: F) -> (Ref<'_, V, R>, bool)
    where
        F: FnOnce() -> V,
    {
        self.raw.load_or_store_with(key, f)
    }

    /// [`load_or_store_with`](Self::load_or_store_with) for an `f` that may fail: returns
    /// `key`'s value if present (`true`); otherwise computes it with `f` and, if `f` returns
    /// `Ok`, stores it and returns it (`false`).
    ///
    /// If `f` returns `Err`, nothing is stored and the error goes to this caller only: the
    /// threads waiting for the key wake up, and one of them runs its own closure (as after a
    /// panic). Like moka's `try_get_with`, but an error is not shared with the waiters: each
    /// caller sees the outcome of its own closure or a stored value. Everything else, and what
    /// is held while `f` runs (nothing), is as for `load_or_store_with`.
    ///
    /// # Errors
    ///
    /// `f`'s error, when this caller's `f` ran and failed.
    ///
    /// # Panics
    ///
    /// As [`load_or_store_with`](Self::load_or_store_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let ports: SyncMap<&str, u16> = SyncMap::new();
    /// let parsed = ports.try_load_or_store_with("http", || "80".parse::<u16>());
    /// assert_eq!(parsed.map(|(port, loaded)| (*port, loaded)), Ok((80, false)));
    ///
    /// let failed = ports.try_load_or_store_with("ftp", || "twenty-one".parse::<u16>());
    /// assert!(failed.is_err());
    /// assert!(ports.load("ftp").is_none(), "nothing stored on `Err`");
    /// ```
    #[doc(alias("try_get_with", "try_get_or_insert_with", "get_or_try_insert_with"))]
    pub fn try_load_or_store_with<F, E>(&self, key: K, f: F) -> Result<(Ref<'_, V, R>, bool), E>
    where
        F: FnOnce() -> Result<V, E>,
    {
        self.raw.try_load_or_store_with(key, f)
    }

    /// The async form of [`load_or_store_with`](Self::load_or_store_with): returns `key`'s
    /// value if present (`true`); otherwise awaits `f()` once, stores its output and returns it
    /// (`false`). The tasks that find the key being computed `.await` a notification instead
    /// of blocking their runtime thread, and return the value once it is stored.
    ///
    /// Returns the value as [`Owned<V, R>`](crate::Owned), which holds no guard and so may be
    /// kept across later `.await`s and sent to other tasks: **a clone of `V`** on the epoch and
    /// seize backends (hence `V: Clone` there: store an `Arc<T>` to make the clone cheap), and
    /// the **`Arc<V>`** on the arc-swap backend (what its `load_owned` returns). The future is
    /// `Send` when `K`, `V`, `F` and `f`'s future are, and needs no particular runtime.
    ///
    /// Nothing is held while `f`'s future runs or while a task waits: no lock, no guard. The
    /// computing task's reservation is ended by dropping its future, so this is cancel-safe:
    /// if the computing task is dropped (aborted, or a `select!` picked another branch) at any
    /// `.await`, nothing is stored and a waiting task takes over with its own `f`; a dropped
    /// waiting task leaves no trace. If `f`'s future panics, nothing is stored and the waiters
    /// take over once the panicking future is dropped (as runtimes do with a panicked task).
    ///
    /// # Panics
    ///
    /// Propagates a panic of `f` or its future. Panics if `f`'s future, while being polled,
    /// writes (or `load_or_store_with`s, in either form) the key it is computing on this map,
    /// which would wait for itself; a write of the key from *another* task simply waits (a
    /// blocking `store` blocks its thread until the value is stored).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// async fn fetch(url: &str) -> Arc<String> {
    ///     Arc::new(format!("contents of {url}")) // a slow download, say
    /// }
    ///
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) { return out; }
    /// #     }
    /// # }
    /// let pages: SyncMap<&str, Arc<String>> = SyncMap::new();
    /// block_on(async {
    ///     let (page, loaded) = pages.load_or_store_with_async("a.example", || fetch("a.example")).await;
    ///     assert_eq!((page.as_str(), loaded), ("contents of a.example", false));
    ///     let (again, loaded) = pages.load_or_store_with_async("a.example", || fetch("a.example")).await;
    ///     assert!(Arc::ptr_eq(&page, &again) && loaded);
    /// });
    /// ```
    #[doc(alias(
        "get_with",
        "get_or_insert_with",
        "get_or_insert_with_async",
        "or_insert_with",
        "get_or_init",
        "compute_if_absent",
        "entry"
    ))]
    pub async fn load_or_store_with_async<F, Fut>(&self, key: K, f: F) -> (Owned<V, R>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
        R::Stored<V>: CloneOwned<V>,
    {
        let f = || async { Ok::<V, Infallible>(f().await) };
        match self.try_load_or_store_with_async(key, f).await {
            Ok(found) => found,
            Err(never) => match never {},
        }
    }

    /// The async form of [`try_load_or_store_with`](Self::try_load_or_store_with): as
    /// [`load_or_store_with_async`](Self::load_or_store_with_async), but `f`'s future returns a
    /// `Result`; on `Err` nothing is stored, the error goes to this caller, and a waiting task
    /// takes over with its own `f`.
    ///
    /// # Errors
    ///
    /// `f`'s error, when this caller's `f` ran and failed.
    ///
    /// # Panics
    ///
    /// As [`load_or_store_with_async`](Self::load_or_store_with_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) { return out; }
    /// #     }
    /// # }
    /// let sizes: SyncMap<&str, u64> = SyncMap::new();
    /// block_on(async {
    ///     let failed = sizes
    ///         .try_load_or_store_with_async("missing.txt", || async { Err("not found") })
    ///         .await;
    ///     assert_eq!(failed, Err("not found"));
    ///     assert!(sizes.load("missing.txt").is_none());
    ///     let stored = sizes
    ///         .try_load_or_store_with_async("a.txt", || async { Ok::<_, &str>(512) })
    ///         .await;
    ///     assert_eq!(stored, Ok((512, false)));
    /// });
    /// ```
    #[doc(alias("try_get_with", "get_or_try_init", "try_get_or_insert_with"))]
    pub async fn try_load_or_store_with_async<F, Fut, E>(
        &self,
        key: K,
        f: F,
    ) -> Result<(Owned<V, R>, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        R::Stored<V>: CloneOwned<V>,
    {
        self.raw.try_load_or_store_with_async(key, f).await
    }

    /// Replaces `key`'s value with `f(&current)` and returns the stored value, or returns
    /// `None` (without calling `f`) if the key is absent.
    ///
    /// Lock-free for keys in the read table: a compare-and-swap loop, so `f` may run more than
    /// once when other threads update the key at the same time, and must not have side effects
    /// that matter. It never overwrites a concurrent update: each result is computed from the
    /// value it replaces.
    ///
    /// **`f` runs inside a guard**: while it runs, nothing that this map retires is freed (on
    /// the crossbeam-epoch backend, whose collector is global, nothing that any crossbeam-epoch
    /// user in the process retires). Keep `f` short.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::thread;
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    ///
    /// let hits: SyncMap<&str, u64> = SyncMap::new();
    /// hits.store("/", 0);
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| {
    ///             for _ in 0..100 {
    ///                 hits.update("/", |n| n + 1);
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(*hits.load("/").unwrap(), 400);
    /// assert!(hits.update("/missing", |n| n + 1).is_none());
    /// ```
    #[doc(alias("alter", "compute", "and_modify", "get_mut"))]
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<Ref<'_, V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.raw.update(key, f)
    }

    /// Returns a clone of `key`'s value: an owned copy that holds no guard, for any backend.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, Vec<u8>> = SyncMap::new();
    /// map.store(1, vec![1, 2, 3]);
    /// let owned: Vec<u8> = map.load_cloned(&1).unwrap();
    /// assert_eq!(owned, [1, 2, 3]);
    /// ```
    #[doc(alias("get_cloned", "get_owned"))]
    pub fn load_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let guard = self.raw.pin_reads();
        self.raw.get(&guard, key).cloned()
    }

    /// Returns an owned copy of `key`'s value, which holds no guard and does not borrow the
    /// map: on the arc-swap backend a new share of the value's `Arc<V>` (arc-swap's
    /// `load_full`: it may be held across `.await`, sent to another thread, and outlive the
    /// map); on the backends that keep values in `Box`es, a clone of `V`, as
    /// [`load_cloned`](Self::load_cloned) gives. The same [`Owned`] type that
    /// [`load_or_store_with_async`](Self::load_or_store_with_async) returns.
    ///
    /// [`load`](Self::load) is cheaper when the value is used and dropped on the spot: on
    /// arc-swap it writes no reference count, where this takes one (a write to the value's
    /// cache line, contended when threads load the same key).
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, String> = SyncMap::new();
    /// map.store(1, "one".to_string());
    /// let owned: String = map.load_owned(&1).unwrap(); // a `Box` backend: a clone
    /// drop(map);
    /// assert_eq!(owned, "one");
    /// ```
    #[inline]
    #[doc(alias("load_full", "into_arc", "get_arc"))]
    pub fn load_owned<Q>(&self, key: &Q) -> Option<Owned<V, R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        R::Stored<V>: CloneOwned<V>,
    {
        self.raw.load_owned(key)
    }

    /// Deletes every key for which `f` returns `false`.
    ///
    /// Visits keys as [`range`](Self::range) does. A key is deleted only if its value is still
    /// the one `f` judged: a concurrent store of a new value wins over the deletion.
    ///
    /// **`f` runs inside a guard**, as `range`'s does: keep it short.
    ///
    /// # Examples
    ///
    /// ```
    /// # type SyncMap<K, V, S = std::hash::RandomState> = syncmap_core::SyncMap<K, V, syncmap_core::reclaim::DeferToDrop, S>;
    /// let map: SyncMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// map.retain(|_key, value| value % 2 == 0);
    /// assert_eq!(map.len(), 5);
    /// assert!(map.load(&3).is_none());
    /// assert_eq!(map.load(&4).copied(), Some(4));
    /// ```
    pub fn retain<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.raw.retain(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::{
        panic::{AssertUnwindSafe, catch_unwind},
        sync::{
            Arc, Barrier,
            atomic::{AtomicUsize, Ordering::SeqCst},
            mpsc,
        },
        thread,
        time::Duration,
    };

    use crate::{SyncMap, reclaim::DeferToDrop};

    type Map = SyncMap<u64, u64, DeferToDrop>;

    #[test]
    fn compute_once_under_a_race_of_16_threads() {
        for round in 0..50u64 {
            let map = Map::new();
            // Some rounds race on a key read already has (deleted), others on a new key.
            if round % 2 == 0 {
                map.store(round, 0);
                map.range(|_, _| true);
                map.delete(&round);
            }
            let calls = AtomicUsize::new(0);
            let inserted = AtomicUsize::new(0);
            let start = Barrier::new(16);
            thread::scope(|s| {
                for t in 0..16u64 {
                    let (map, calls, inserted, start) = (&map, &calls, &inserted, &start);
                    s.spawn(move || {
                        start.wait();
                        let (value, loaded) = map.load_or_store_with(round, || {
                            calls.fetch_add(1, SeqCst);
                            thread::yield_now();
                            1000 + t
                        });
                        if !loaded {
                            inserted.fetch_add(1, SeqCst);
                        }
                        *value
                    });
                }
            });
            assert_eq!(calls.load(SeqCst), 1, "round {round}: f ran once");
            assert_eq!(inserted.load(SeqCst), 1, "round {round}: one insertion");
            let value = *map.load(&round).unwrap();
            assert!((1000..1016).contains(&value));
        }
    }

    #[test]
    fn a_panicking_closure_inserts_nothing_and_releases_waiters() {
        let map = Map::new();
        let (entered_tx, entered_rx) = mpsc::channel();
        thread::scope(|s| {
            let first = s.spawn(|| {
                catch_unwind(AssertUnwindSafe(|| {
                    map.load_or_store_with(7, || {
                        entered_tx.send(()).unwrap();
                        thread::sleep(Duration::from_millis(50));
                        panic!("computation failed");
                    })
                }))
                .is_err()
            });
            entered_rx.recv().unwrap();
            assert!(map.load(&7).is_none(), "a reserved key reads as absent");
            let second = s.spawn(|| {
                let (value, loaded) = map.load_or_store_with(7, || 42);
                (*value, loaded)
            });
            assert!(first.join().unwrap(), "the panic reached the caller");
            assert_eq!(
                second.join().unwrap(),
                (42, false),
                "the waiter computed its own"
            );
        });
        assert_eq!(map.load(&7).copied(), Some(42));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn writers_of_a_reserved_key_wait_and_other_keys_proceed() {
        let map = Map::new();
        map.store(1, 1);
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let stored = AtomicUsize::new(0);
        thread::scope(|s| {
            let (map, entered_tx) = (&map, &entered_tx);
            let computing = s.spawn(move || {
                map.load_or_store_with(9, move || {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    90
                })
                .1
            });
            entered_rx.recv().unwrap();
            let writer = s.spawn(|| {
                map.store(9, 99);
                stored.fetch_add(1, SeqCst);
            });
            // Other keys, new and old, are neither blocked nor blocking.
            for k in 100..200 {
                map.store(k, k);
            }
            assert_eq!(map.load(&1).copied(), Some(1));
            assert!(map.load(&9).is_none());
            thread::sleep(Duration::from_millis(20));
            assert_eq!(
                stored.load(SeqCst),
                0,
                "the store waits for the reservation"
            );
            release_tx.send(()).unwrap();
            assert!(!computing.join().unwrap(), "the reserving thread inserted");
            writer.join().unwrap();
        });
        assert_eq!(
            map.load(&9).copied(),
            Some(99),
            "the waiting store came after"
        );
        assert_eq!(map.len(), 102);
    }

    /// The panic message of a write of a key from inside its own `load_or_store_with` closure.
    const REENTRY: &str = "closure wrote the key it is computing";

    /// Runs `f` on another thread and returns its panic message, failing (rather than hanging)
    /// if it has not finished within a generous bound.
    fn panic_message_of(f: impl FnOnce() + Send + 'static) -> String {
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            let _ = done_tx.send(result);
        });
        let payload = done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("deadlocked: no panic within 60 s")
            .expect_err("no panic");
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .expect("a string message")
    }

    #[test]
    fn a_closure_writing_its_own_key_panics_instead_of_deadlocking() {
        type Write = fn(&Map);
        let writes: [(&str, Write); 4] = [
            ("store", |map| map.store(1, 2)),
            ("swap", |map| {
                let _ = map.swap(1, 2);
            }),
            ("load_or_store", |map| {
                let _ = map.load_or_store(1, 2);
            }),
            ("load_or_store_with", |map| {
                let _ = map.load_or_store_with(1, || 2);
            }),
        ];
        for (name, write) in writes {
            // A new key, and a key that read has (deleted): both reserve an entry.
            for in_read in [false, true] {
                let map = Arc::new(Map::new());
                if in_read {
                    map.store(1, 0);
                    map.range(|_, _| true);
                    map.delete(&1);
                }
                let shared = map.clone();
                let message = panic_message_of(move || {
                    shared.load_or_store_with(1, || {
                        write(&shared);
                        unreachable!("{name} returned");
                    });
                });
                assert!(message.contains(REENTRY), "{name}: {message}");
                // The reservation was cancelled: the key is absent and can be inserted.
                assert!(map.load(&1).is_none(), "{name}");
                assert_eq!(*map.load_or_store_with(1, || 7).0, 7, "{name}");
                map.store(1, 8);
                assert_eq!(map.load(&1).copied(), Some(8), "{name}");
            }
        }
    }

    #[test]
    fn a_closure_may_write_other_keys_and_reserve_them() {
        let map = Map::new();
        let (value, loaded) = map.load_or_store_with(1, || {
            let (inner, loaded) = map.load_or_store_with(2, || {
                map.store(3, 30);
                20
            });
            assert!(!loaded);
            map.swap(4, 40);
            *inner / 2
        });
        assert_eq!((*value, loaded), (10, false));
        let all: Vec<_> = (1..=4).map(|k| map.load(&k).copied()).collect();
        assert_eq!(all, [Some(10), Some(20), Some(30), Some(40)]);
        // Once a reservation ended, writing its key from another closure is fine.
        let (value, _) = map.load_or_store_with(5, || {
            map.store(1, 11);
            50
        });
        assert_eq!((*value, map.load(&1).copied()), (50, Some(11)));
    }

    #[test]
    fn a_clear_during_the_computation_leaves_the_key_absent() {
        let map = Map::new();
        map.store(2, 2);
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        thread::scope(|s| {
            let (map, entered_tx) = (&map, &entered_tx);
            let computing = s.spawn(move || {
                let (value, loaded) = map.load_or_store_with(9, move || {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    90
                });
                (*value, loaded)
            });
            entered_rx.recv().unwrap();
            map.clear();
            release_tx.send(()).unwrap();
            // Reported as stored (linearized just before the clear)...
            assert_eq!(computing.join().unwrap(), (90, false));
        });
        // ...and removed by the clear, with everything else.
        assert!(map.load(&9).is_none());
        assert!(map.load(&2).is_none());
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn update_is_atomic_and_skips_absent_keys() {
        let map = Map::new();
        let calls = AtomicUsize::new(0);
        assert!(
            map.update(&1, |v| {
                calls.fetch_add(1, SeqCst);
                v + 1
            })
            .is_none()
        );
        assert_eq!(calls.load(SeqCst), 0, "f is not called for an absent key");
        map.store(1, 0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        assert!(map.update(&1, |v| v + 1).is_some());
                    }
                });
            }
        });
        assert_eq!(map.load(&1).copied(), Some(4000));
    }

    #[test]
    fn retain_keeps_values_stored_after_the_judgement() {
        let map = Map::new();
        for k in 0..100 {
            map.store(k, k);
        }
        map.retain(|k, _| {
            if *k == 10 {
                map.store(11, 1111); // replaced after nothing judged it yet: judged as stored
                map.store(10, 1010); // replaced after being judged: the deletion must not win
            }
            *k >= 50 && *k != 10
        });
        assert_eq!(map.load(&10).copied(), Some(1010));
        assert!(map.load(&49).is_none());
        assert_eq!(map.load(&50).copied(), Some(50));
        let mut keys: Vec<u64> = map.pin().keys().copied().collect();
        keys.sort_unstable();
        let mut expected: Vec<u64> = (50..100).collect();
        expected.insert(0, 10);
        if map.load(&11).is_some() {
            expected.insert(1, 11);
        }
        assert_eq!(keys, expected);
    }
}

/// Compute-once under [`Eager`](crate::reclaim::eager::Eager), a strategy that reclaims as soon
/// as no guard is alive: what is pinned while user code runs, and a `clear` that unlinks a
/// reserved entry, which the strategy then hands over to the reserving thread.
#[cfg(all(test, not(loom)))]
mod reservations_hold_nothing {
    use std::{
        future::Future,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering::SeqCst},
            mpsc,
        },
        task::{Context, Waker},
        thread,
        time::Duration,
    };

    use crate::{SyncMap, reclaim::eager::Eager};

    /// Counts its drops; compared and hashed by its number.
    #[derive(Debug, Clone)]
    struct Counted(u64, Arc<AtomicUsize>);

    impl PartialEq for Counted {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }
    impl Eq for Counted {}
    impl std::hash::Hash for Counted {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.0.hash(state);
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn nothing_is_pinned_while_f_runs_or_writers_wait() {
        type E = Eager<0>;
        let map: SyncMap<u64, u64, E> = SyncMap::new();
        map.store(2, 2);
        let (entered_tx, entered_rx) = mpsc::channel();
        thread::scope(|s| {
            // Dropped if an assertion below fails, which ends `f` (and the scope) too.
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let map = &map;
            let computing = s.spawn(move || {
                let (v, loaded) = map.load_or_store_with(1, || {
                    entered_tx.send(E::pinned()).unwrap();
                    release_rx.recv().unwrap();
                    10
                });
                (*v, loaded)
            });
            assert_eq!(entered_rx.recv().unwrap(), 0, "pinned while f runs");
            let storer = s.spawn(move || map.store(1, 11));
            let swapper = s.spawn(move || map.swap(1, 12).map(|v| *v));
            let load_or_storer = s.spawn(move || *map.load_or_store(1, 13).0);
            // An async waiter, polled once (it registers) and then abandoned.
            let mut waiting = Box::pin(map.load_or_store_with_async(1, || async { 14 }));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
            while map.raw.waiting_writers() < 4 {
                thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(E::pinned(), 0, "pinned while four writers wait");
            drop(waiting);
            assert_eq!(
                map.raw.waiting_writers(),
                3,
                "a dropped waiter leaves no trace"
            );
            release_tx.send(()).unwrap();
            assert_eq!(computing.join().unwrap(), (10, false));
            storer.join().unwrap();
            swapper.join().unwrap();
            load_or_storer.join().unwrap();
        });
        assert_eq!(map.raw.waiting_writers(), 0);
        assert!([11, 12].contains(&*map.load(&1).unwrap()));
    }

    /// `f` clears the map: the reserved entry is unlinked and, with no guard alive, reclaimed
    /// by the strategy, which hands it to the reserving thread; the value is still returned,
    /// the key ends absent, and key and value are each dropped once.
    #[test]
    fn a_clear_while_f_runs_orphans_the_entry_which_is_freed_once() {
        type E = Eager<1>;
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = |n| Counted(n, Arc::clone(&drops));
        let map: SyncMap<Counted, Counted, E> = SyncMap::new();
        map.store(counted(1), counted(10));
        let (v, loaded) = map.load_or_store_with(counted(2), || {
            map.clear();
            assert_eq!(E::pinned(), 0);
            // Key 1 and its value were freed; the reserved entry's key (2) was not.
            assert_eq!(drops.load(SeqCst), 2, "the cleared entries were reclaimed");
            counted(20)
        });
        assert_eq!((v.0, loaded), (20, false), "f's value, returned as stored");
        assert_eq!(
            drops.load(SeqCst),
            3,
            "the orphaned entry's key is freed once"
        );
        drop(v);
        assert_eq!(drops.load(SeqCst), 4, "the value went with the last guard");
        assert!(map.load(&counted(2)).is_none(), "removed by the clear");
        assert!(map.is_empty());
        drop(map);
        // `counted` made 4 values, the lookup key one more: each dropped exactly once.
        assert_eq!(drops.load(SeqCst), 5);
    }

    /// As above, but a guard alive elsewhere delays the reclamation past the publish: the
    /// reserving thread finds the entry unlinked, ends the reservation, and the strategy frees
    /// the entry later.
    #[test]
    fn a_clear_while_f_runs_with_a_reader_pinned_frees_the_entry_later() {
        type E = Eager<2>;
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = |n| Counted(n, Arc::clone(&drops));
        let map: SyncMap<Counted, Counted, E> = SyncMap::new();
        let pinned = map.pin();
        let (v, loaded) = map.load_or_store_with(counted(2), || {
            map.clear();
            counted(20)
        });
        assert_eq!((v.0, loaded), (20, false));
        assert!(map.load(&counted(2)).is_none());
        drop(v);
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the lookup key only: the entry and the value wait for `pinned`"
        );
        drop(pinned);
        assert_eq!(
            drops.load(SeqCst),
            3,
            "the entry's key and the value, once each"
        );
    }

    /// A failing `f` after a `clear` ends an orphaned reservation: freed once, nothing stored.
    #[test]
    fn a_failing_f_after_a_clear_frees_the_orphaned_entry() {
        type E = Eager<3>;
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = |n| Counted(n, Arc::clone(&drops));
        let map: SyncMap<Counted, u64, E> = SyncMap::new();
        let failed = map.try_load_or_store_with(counted(2), || {
            map.clear();
            Err::<u64, _>("no")
        });
        assert_eq!(failed.err(), Some("no"));
        assert_eq!(drops.load(SeqCst), 1, "the key, with its orphaned entry");
        assert!(map.is_empty());
        let (v, loaded) = map.load_or_store_with(counted(2), || 7);
        assert_eq!((*v, loaded), (7, false), "the key can be inserted again");
    }

    /// A failing `f` stores nothing, and the waiting writer then goes ahead.
    #[test]
    fn a_failing_f_stores_nothing_and_releases_waiters() {
        type E = Eager<4>;
        let map: SyncMap<u64, u64, E> = SyncMap::new();
        let (entered_tx, entered_rx) = mpsc::channel();
        thread::scope(|s| {
            // Dropped if an assertion below fails, which ends `f` (and the scope) too.
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let map = &map;
            let failing = s.spawn(move || {
                map.try_load_or_store_with(1, || {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Err::<u64, _>("failed")
                })
                .map(|(v, loaded)| (*v, loaded))
            });
            entered_rx.recv().unwrap();
            let waiter = s.spawn(move || {
                let (v, loaded) = map.try_load_or_store_with(1, || Ok::<_, ()>(5)).unwrap();
                (*v, loaded)
            });
            while map.raw.waiting_writers() < 1 {
                thread::sleep(Duration::from_millis(1));
            }
            release_tx.send(()).unwrap();
            assert_eq!(failing.join().unwrap(), Err("failed"));
            assert_eq!(waiter.join().unwrap(), (5, false), "the waiter computed");
        });
        assert_eq!(map.load(&1).map(|v| *v), Some(5));
    }
}
