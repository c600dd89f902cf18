//! The async compute-once tests, written once and run on every backend: each backend crate's
//! `tests/compute_async.rs` includes this file and invokes [`compute_async_tests!`] with its map
//! type. Runs on a two-worker tokio runtime (a dev-dependency only: the library needs none).

/// Expands the tests for the map type `$map`, written over `<K, V>`.
macro_rules! compute_async_tests {
    (<$k:ident, $v:ident> $map:ty) => {
        use std::{
            borrow::Borrow,
            future::pending,
            panic::AssertUnwindSafe,
            sync::{
                Arc,
                atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
                mpsc,
            },
            time::Duration,
        };

        type Map<$k, $v> = $map;

        /// How long a test may take before it is reported as hung (a blocked runtime cannot
        /// time itself out, so the test thread watches it from outside).
        const HANG: Duration = Duration::from_secs(60);

        /// Runs `test` on a fresh two-worker runtime, failing if it does not finish in time.
        fn on_two_workers<F>(what: &str, test: F)
        where
            F: std::future::Future<Output = ()> + Send + 'static,
        {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_time()
                .build()
                .expect("a tokio runtime");
            let (done_tx, done_rx) = mpsc::channel();
            let task = runtime.spawn(async move {
                let outcome = futures_catch(test).await;
                let _ = done_tx.send(outcome);
            });
            match done_rx.recv_timeout(HANG) {
                Ok(Ok(())) => {}
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => {
                    // Blocked workers would never let a normal shutdown finish.
                    runtime.shutdown_background();
                    panic!("{what}: did not finish within {HANG:?} (a worker thread blocked?)");
                }
            }
            drop(task);
            runtime.shutdown_timeout(Duration::from_secs(1));
        }

        /// Catches a panic of `future` (polled in place), as a result.
        async fn futures_catch<F: std::future::Future<Output = ()>>(
            future: F,
        ) -> std::thread::Result<()> {
            let mut future = std::pin::pin!(future);
            std::future::poll_fn(move |cx| {
                match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
                    Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
                    Err(panic) => std::task::Poll::Ready(Err(panic)),
                }
            })
            .await
        }

        /// An initialiser that must not run.
        async fn never() -> u64 {
            unreachable!("the key is present or being computed: the initialiser must not run")
        }

        fn value(v: impl Borrow<u64>) -> u64 {
            *v.borrow()
        }

        /// Spawns `n` tasks that ask for `key` with their own initialiser (`1000 + i`, at once).
        fn waiters(
            map: &Arc<Map<u64, u64>>,
            key: u64,
            n: u64,
        ) -> Vec<tokio::task::JoinHandle<(u64, bool)>> {
            (0..n)
                .map(|i| {
                    let map = Arc::clone(map);
                    tokio::spawn(async move {
                        let (v, loaded) = map
                            .load_or_store_with_async(key, || async move { 1000 + i })
                            .await;
                        (value(v), loaded)
                    })
                })
                .collect()
        }

        /// The waiters' results: exactly one computed (`false`), and all got its value.
        async fn one_computed(tasks: Vec<tokio::task::JoinHandle<(u64, bool)>>) -> u64 {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.expect("a waiter completes"));
            }
            let computed: Vec<_> = results.iter().filter(|(_, loaded)| !loaded).collect();
            assert_eq!(
                computed.len(),
                1,
                "exactly one waiter computed: {results:?}"
            );
            let winner = computed[0].0;
            assert!(
                results.iter().all(|&(v, _)| v == winner),
                "every waiter got the stored value {winner}: {results:?}"
            );
            winner
        }

        #[test]
        fn a_thousand_tasks_run_the_initialiser_once_and_block_no_worker() {
            on_two_workers("1,000 tasks racing one key", async {
                let map = Arc::new(Map::<u64, (u64, usize)>::default());
                let calls = Arc::new(AtomicUsize::new(0));
                let ticks = Arc::new(AtomicUsize::new(0));
                let stop = Arc::new(AtomicBool::new(false));
                let ticker = tokio::spawn({
                    let (ticks, stop) = (Arc::clone(&ticks), Arc::clone(&stop));
                    async move {
                        while !stop.load(SeqCst) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            ticks.fetch_add(1, SeqCst);
                        }
                    }
                });
                let computing = Arc::new(AtomicBool::new(false));
                let tasks: Vec<_> = (0..1000u64)
                    .map(|t| {
                        let (map, calls, computing, ticks) = (
                            Arc::clone(&map),
                            Arc::clone(&calls),
                            Arc::clone(&computing),
                            Arc::clone(&ticks),
                        );
                        tokio::spawn(async move {
                            let (v, loaded) = map
                                .load_or_store_with_async(7, || async move {
                                    calls.fetch_add(1, SeqCst);
                                    computing.store(true, SeqCst);
                                    let before = ticks.load(SeqCst);
                                    tokio::time::sleep(Duration::from_millis(500)).await;
                                    let during = ticks.load(SeqCst) - before;
                                    (t, during)
                                })
                                .await;
                            (value_pair(v), loaded)
                        })
                    })
                    .collect();
                let mut results = Vec::new();
                for task in tasks {
                    results.push(task.await.expect("every task completes"));
                }
                stop.store(true, SeqCst);
                ticker.await.unwrap();
                assert_eq!(calls.load(SeqCst), 1, "the initialiser ran once");
                let computed = results.iter().filter(|(_, loaded)| !loaded).count();
                assert_eq!(computed, 1, "one task stored, 999 loaded");
                let (stored, during) = results[0].0;
                assert!(
                    results.iter().all(|&((t, _), _)| t == stored),
                    "every task returned the stored value"
                );
                // 999 waiting tasks on two workers: had they blocked their threads, the ticker
                // (and the initialiser's own timer) could not have run meanwhile.
                assert!(
                    during >= 10,
                    "the ticker ticked {during} times (every 10 ms) during the 500 ms \
                     initialiser: waiting tasks blocked the runtime's workers"
                );
            });

            fn value_pair<T: Borrow<(u64, usize)>>(v: T) -> (u64, usize) {
                *v.borrow()
            }
        }

        #[test]
        fn cancelling_the_computing_task_at_each_await_lets_a_waiter_take_over() {
            // The initialiser awaits three times; the computing task is aborted at each in turn.
            for point in 0..3 {
                on_two_workers("cancellation", async move {
                    let map = Arc::new(Map::<u64, u64>::default());
                    let (reached_tx, mut reached_rx) = tokio::sync::mpsc::unbounded_channel();
                    let computing = tokio::spawn({
                        let map = Arc::clone(&map);
                        async move {
                            map.load_or_store_with_async(1, || async move {
                                for i in 0..3 {
                                    reached_tx.send(i).unwrap();
                                    if i == point {
                                        pending::<()>().await;
                                    }
                                    tokio::task::yield_now().await;
                                }
                                u64::MAX // not reached: aborted at await `point`
                            })
                            .await
                        }
                    });
                    while reached_rx.recv().await != Some(point) {}
                    let tasks = waiters(&map, 1, 16);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    assert!(map.load(&1).is_none(), "reserved: reads as absent");
                    computing.abort();
                    let aborted = computing.await.expect_err("aborted");
                    assert!(aborted.is_cancelled());
                    let winner = one_computed(tasks).await;
                    assert!((1000..1016).contains(&winner));
                    assert_eq!(map.load_cloned(&1), Some(winner));
                });
            }
        }

        #[test]
        fn cancelled_waiters_leave_no_trace() {
            on_two_workers("cancelled waiters", async {
                let map = Arc::new(Map::<u64, u64>::default());
                let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
                let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
                let computing = tokio::spawn({
                    let map = Arc::clone(&map);
                    async move {
                        let (v, loaded) = map
                            .load_or_store_with_async(3, || async move {
                                entered_tx.send(()).unwrap();
                                release_rx.await.unwrap();
                                33
                            })
                            .await;
                        (value(v), loaded)
                    }
                });
                entered_rx.await.unwrap();
                // Waiters that give up (a timeout: their futures are dropped while waiting).
                for _ in 0..32 {
                    let waited = tokio::time::timeout(
                        Duration::from_millis(1),
                        map.load_or_store_with_async(3, never),
                    )
                    .await;
                    assert!(waited.is_err(), "the key is still being computed");
                }
                let patient = waiters(&map, 3, 4);
                tokio::time::sleep(Duration::from_millis(10)).await;
                release_tx.send(()).unwrap();
                assert_eq!(computing.await.unwrap(), (33, false));
                for task in patient {
                    assert_eq!(task.await.unwrap(), (33, true));
                }
                // Dropped waiters left no registration behind: the key is writable at once.
                map.store(3, 34);
                assert_eq!(map.load_cloned(&3), Some(34));
            });
        }

        #[test]
        fn a_panicking_or_failing_initialiser_lets_a_waiter_take_over() {
            for fail in [true, false] {
                on_two_workers("panicking initialiser", async move {
                    let map = Arc::new(Map::<u64, u64>::default());
                    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
                    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
                    let computing = tokio::spawn({
                        let map = Arc::clone(&map);
                        async move {
                            map.try_load_or_store_with_async(5, || async move {
                                entered_tx.send(()).unwrap();
                                release_rx.await.unwrap();
                                if fail {
                                    return Err("fetch failed");
                                }
                                panic!("initialiser panicked");
                            })
                            .await
                            .map(|(v, loaded)| (value(v), loaded))
                        }
                    });
                    entered_rx.await.unwrap();
                    let tasks = waiters(&map, 5, 8);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    release_tx.send(()).unwrap();
                    let outcome = computing.await;
                    if fail {
                        assert_eq!(outcome.unwrap(), Err("fetch failed"));
                    } else {
                        assert!(outcome.expect_err("panicked").is_panic());
                    }
                    let winner = one_computed(tasks).await;
                    assert_eq!(map.load_cloned(&5), Some(winner));
                });
            }
        }

        #[test]
        fn a_present_key_is_returned_without_calling_the_initialiser() {
            on_two_workers("present key", async {
                let map = Arc::new(Map::<u64, u64>::default());
                map.store(9, 90);
                let (v, loaded) = map.load_or_store_with_async(9, never).await;
                assert_eq!((value(v), loaded), (90, true));
                let stored = map
                    .try_load_or_store_with_async(10, || async { Ok::<u64, ()>(100) })
                    .await
                    .map(|(v, loaded)| (value(v), loaded));
                assert_eq!(stored, Ok((100, false)));
            });
        }
    };
}
