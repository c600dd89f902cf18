//! Memory that follows the live set: the entries and values a map holds stay O(live keys), plus
//! what a still-pinned reader can see, plus a constant per thread, whatever the operations.
//!
//! Go's `sync.Map` once broke this (Go issue 40999, fixed in Go 1.16: a key stored and deleted
//! with no loads in between stayed in the dirty map for ever); so did this project, when a tuning
//! commit stopped unlinking deleted dirty-only entries. `TestIssue40999` is ported here in four
//! variants ([`issue_40999_store_delete`], [`issue_40999_load_and_delete`],
//! [`issue_40999_compare_and_delete`], [`issue_40999_with_promotions`]), and this suite goes
//! further than Go in two checks: a map that was filled and then emptied, and then only read,
//! gives back its dead keys ([`emptied_map_follows_live_set`]; Go keeps them until the next new
//! key), and random operation sequences never leave more than `2 * live + slack` entries
//! ([`entries_bounded_by_live`]).
//!
//! Entries are counted twice where possible: by the keys still alive (drop-counting
//! [`Tracked`] keys; an entry owns its key, so a retained entry keeps one alive), which works
//! for any map whose strategy frees memory before drop; and by [`Stats::entries`] when the map
//! keeps statistics, which also covers a strategy that frees only on drop.
//!
//! Checks the contract's [Memory](crate::ConcurrentMap#memory): "once quiescent, a map with `n`
//! live keys holds O(`n`) entries".

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};

use crate::{
    Backend, ConcurrentMap, Stats,
    tracked::{Tracked, Tracker},
    util::{RECLAIM_TIMEOUT, quiesce_until, scaled},
};

/// The bound every check here enforces: entries held (or keys alive, once quiescent) at most
/// `2 * live + B::ENTRY_SLACK`.
fn bound<B: Backend>(live: usize) -> usize {
    2 * live + B::ENTRY_SLACK
}

/// Asserts the bound on `map`, which holds `live` keys: by its statistics if it keeps any, and
/// by the tracked keys still alive once quiescent if its strategy frees before drop.
fn assert_bounded<B: Backend>(
    map: &B::Map<Tracked, Tracked>,
    keys: &Tracker,
    live: usize,
    context: &str,
) {
    let limit = bound::<B>(live);
    if let Some(stats) = map.stats_if_any() {
        assert!(
            stats.entries <= limit,
            "{context}: the map holds {} entries ({} dead) for {live} live keys (bound {limit}); \
             {stats:?}",
            stats.entries,
            stats.dead_entries,
        );
        assert!(
            stats.entries >= live && stats.entries - stats.dead_entries == live,
            "{context}: stats count {} entries of which {} dead, for {live} live keys",
            stats.entries,
            stats.dead_entries
        );
    }
    if B::FREES_BEFORE_DROP {
        quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() <= limit);
        let alive = keys.live();
        assert!(
            alive <= limit,
            "{context}: {alive} keys still alive once quiescent, for {live} live keys \
             (bound {limit})"
        );
    }
}

/// How a [`churn`] deletes its key.
#[derive(Clone, Copy, Debug)]
enum DeleteBy {
    Delete,
    LoadAndDelete,
    CompareAndDelete,
}

/// The session-table workload of Go issue 40999: store key `i`, delete key `i - window`; every
/// `load_every` steps (if not zero), load the live keys, which drives misses and promotions. No
/// step calls `range`, `len` or `clear`.
fn churn<B: Backend>(by: DeleteBy, window: u64, load_every: u64) {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map = B::Map::<Tracked, Tracked>::default();
    let steps = scaled(20_000) as u64;
    for i in 0..steps {
        map.store(keys.make(i), values.make(i));
        if i >= window {
            let k = i - window;
            let deleted = match by {
                DeleteBy::Delete => {
                    map.delete(&keys.make(k));
                    true
                }
                DeleteBy::LoadAndDelete => map
                    .load_and_delete(&keys.make(k))
                    .is_some_and(|v| v.value() == k),
                DeleteBy::CompareAndDelete => {
                    map.compare_and_delete(&keys.make(k), &values.make(k))
                }
            };
            assert!(deleted, "step {i}: {by:?} of key {k} found no value");
        }
        if load_every != 0 && i % load_every == load_every - 1 {
            for k in i.saturating_sub(window - 1)..=i {
                assert_eq!(map.load(&keys.make(k)).map(|v| v.value()), Some(k));
            }
        }
        if i % 2_000 == 1_999 {
            let live = window.min(i + 1) as usize;
            assert_bounded::<B>(&map, &keys, live, &format!("{by:?}, step {i}"));
        }
    }
    drop(map);
    quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() == 0 && values.live() == 0);
    keys.assert_all_dropped_once();
    values.assert_all_dropped_once();
}

/// Go's `TestIssue40999` with `Delete`: keys stored and deleted with no loads between (so no
/// miss ever promotes dirty) must not accumulate; here with a window of 100 live keys.
pub fn issue_40999_store_delete<B: Backend>() {
    churn::<B>(DeleteBy::Delete, 1, 0);
    churn::<B>(DeleteBy::Delete, 100, 0);
}

/// [`issue_40999_store_delete`] with `load_and_delete`, the operation Go's fix changed.
pub fn issue_40999_load_and_delete<B: Backend>() {
    churn::<B>(DeleteBy::LoadAndDelete, 1, 0);
    churn::<B>(DeleteBy::LoadAndDelete, 100, 0);
}

/// [`issue_40999_store_delete`] with `compare_and_delete`, which Go (1.20 to 1.23) leaves in
/// dirty as Go 1.15's `Delete` did: Go's map keeps every such key until promotion, which this
/// workload never causes.
pub fn issue_40999_compare_and_delete<B: Backend>() {
    churn::<B>(DeleteBy::CompareAndDelete, 1, 0);
    churn::<B>(DeleteBy::CompareAndDelete, 100, 0);
}

/// [`issue_40999_store_delete`] with loads of the live keys now and then, so that dirty is
/// promoted and rebuilt while keys come and go (deleted keys are then in read, in dirty, in
/// both, or expunged).
pub fn issue_40999_with_promotions<B: Backend>() {
    churn::<B>(DeleteBy::Delete, 100, 7);
    churn::<B>(DeleteBy::LoadAndDelete, 100, 150);
    churn::<B>(DeleteBy::CompareAndDelete, 300, 40);
}

/// Beyond Go: a map filled with 10,000 keys, promoted, then emptied down to 10 keys and from then
/// on only read, holds O(10) entries, not 10,000 dead ones waiting for a new key. Checked for
/// each way of deleting, and for a map whose deletes happen while dirty exists.
pub fn emptied_map_follows_live_set<B: Backend>() {
    let n = scaled(10_000).max(1_000) as u64;
    let kept = 10;
    for (round, by) in [
        DeleteBy::Delete,
        DeleteBy::LoadAndDelete,
        DeleteBy::CompareAndDelete,
    ]
    .into_iter()
    .enumerate()
    {
        let keys = Tracker::new();
        let values = Tracker::new();
        let map = B::Map::<Tracked, Tracked>::default();
        for k in 0..n {
            map.store(keys.make(k), values.make(k));
        }
        // Promote (loads of dirty keys), and in round 1 also rebuild dirty with one more key,
        // so that the deletes below find keys in both tables.
        for k in 0..n {
            assert!(map.load(&keys.make(k)).is_some());
        }
        if round == 1 {
            map.store(keys.make(n), values.make(n));
            map.delete(&keys.make(n));
        }
        for k in kept..n {
            match by {
                DeleteBy::Delete => map.delete(&keys.make(k)),
                DeleteBy::LoadAndDelete => {
                    assert_eq!(
                        map.load_and_delete(&keys.make(k)).map(|v| v.value()),
                        Some(k)
                    )
                }
                DeleteBy::CompareAndDelete => {
                    assert!(map.compare_and_delete(&keys.make(k), &values.make(k)))
                }
            }
        }
        // Only reads from now on.
        for _ in 0..3 {
            for k in 0..n {
                assert_eq!(
                    map.load(&keys.make(k)).map(|v| v.value()),
                    (k < kept).then_some(k)
                );
            }
        }
        assert_bounded::<B>(&map, &keys, kept as usize, &format!("emptied by {by:?}"));
        drop(map);
        quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() == 0 && values.live() == 0);
        keys.assert_all_dropped_once();
        values.assert_all_dropped_once();
    }
}

/// Keys of the model-based bound: a wide range, so that dead entries can far outnumber live ones.
const WIDE_KEYS: u64 = 2048;

/// One step of [`entries_bounded_by_live`].
#[derive(Clone, Debug)]
enum Step {
    Store(u64),
    Load(u64),
    LoadOrStore(u64),
    Delete(u64),
    LoadAndDelete(u64),
    CompareAndDelete(u64),
    Swap(u64),
    /// Stores keys `start..start + len`.
    StoreSpan(u64, u64),
    /// Deletes keys `start..start + len`, in the way given by the third field (0..3).
    DeleteSpan(u64, u64, u8),
    /// Loads keys `start..start + len` (misses drive promotions).
    LoadSpan(u64, u64),
    Range,
    Clear,
}

fn step() -> impl Strategy<Value = Step> {
    let key = 0..WIDE_KEYS;
    let span = (0..WIDE_KEYS, 1..WIDE_KEYS / 2);
    prop_oneof![
        4 => key.clone().prop_map(Step::Store),
        3 => key.clone().prop_map(Step::Load),
        2 => key.clone().prop_map(Step::LoadOrStore),
        3 => key.clone().prop_map(Step::Delete),
        2 => key.clone().prop_map(Step::LoadAndDelete),
        2 => key.clone().prop_map(Step::CompareAndDelete),
        2 => key.clone().prop_map(Step::Swap),
        2 => span.clone().prop_map(|(s, l)| Step::StoreSpan(s, l)),
        2 => (span.clone(), 0..3_u8).prop_map(|((s, l), by)| Step::DeleteSpan(s, l, by)),
        2 => span.prop_map(|(s, l)| Step::LoadSpan(s, l)),
        1 => Just(Step::Range),
        1 => Just(Step::Clear),
    ]
}

/// Applies `steps` to a fresh map and a model of its key set, then checks the bound once
/// quiescent, and that every key and value is dropped once with the map.
fn check_bounded<B: Backend>(steps: &[Step]) -> Result<(), TestCaseError> {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map = B::Map::<Tracked, Tracked>::default();
    let mut live = std::collections::HashSet::new();
    let delete = |k: u64, by: u8, live: &mut std::collections::HashSet<u64>| {
        let was = live.remove(&k);
        let done = match by {
            0 => {
                map.delete(&keys.make(k));
                was
            }
            1 => map.load_and_delete(&keys.make(k)).is_some(),
            _ => map.compare_and_delete(&keys.make(k), &values.make(k)),
        };
        (done, was)
    };
    for (i, s) in steps.iter().enumerate() {
        match *s {
            Step::Store(k) | Step::Swap(k) | Step::LoadOrStore(k) => {
                match s {
                    Step::Store(_) => map.store(keys.make(k), values.make(k)),
                    Step::Swap(_) => drop(map.swap(keys.make(k), values.make(k))),
                    _ => drop(map.load_or_store(keys.make(k), values.make(k))),
                }
                live.insert(k);
            }
            Step::StoreSpan(start, len) => {
                for k in start..(start + len).min(WIDE_KEYS) {
                    map.store(keys.make(k), values.make(k));
                    live.insert(k);
                }
            }
            Step::Load(k) => {
                let got = map.load(&keys.make(k)).map(|v| v.value());
                prop_assert_eq!(got, live.contains(&k).then_some(k), "step {}", i);
            }
            Step::LoadSpan(start, len) => {
                for k in start..(start + len).min(WIDE_KEYS) {
                    prop_assert_eq!(map.load(&keys.make(k)).is_some(), live.contains(&k));
                }
            }
            Step::Delete(k) | Step::LoadAndDelete(k) | Step::CompareAndDelete(k) => {
                let by = match s {
                    Step::Delete(_) => 0,
                    Step::LoadAndDelete(_) => 1,
                    _ => 2,
                };
                let (done, was) = delete(k, by, &mut live);
                prop_assert_eq!(done, was, "step {}: {:?}", i, s);
            }
            Step::DeleteSpan(start, len, by) => {
                for k in start..(start + len).min(WIDE_KEYS) {
                    let (done, was) = delete(k, by, &mut live);
                    prop_assert_eq!(done, was, "step {}: delete {} of {:?}", i, k, s);
                }
            }
            Step::Range => map.range(|_, _| true),
            Step::Clear => {
                map.clear();
                live.clear();
            }
        }
    }
    let stats: Option<Stats> = map.stats_if_any();
    let limit = bound::<B>(live.len());
    if let Some(stats) = stats {
        prop_assert!(
            stats.entries <= limit && stats.entries - stats.dead_entries == live.len(),
            "{} entries ({} dead) for {} live keys (bound {}): {:?}",
            stats.entries,
            stats.dead_entries,
            live.len(),
            limit,
            stats
        );
    }
    if B::FREES_BEFORE_DROP {
        quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() <= limit);
        prop_assert!(
            keys.live() <= limit,
            "{} keys alive once quiescent for {} live keys (bound {})",
            keys.live(),
            live.len(),
            limit
        );
    }
    drop(map);
    quiesce_until::<B>(RECLAIM_TIMEOUT, || keys.live() == 0 && values.live() == 0);
    prop_assert!(keys.all_dropped_once() && values.all_dropped_once());
    Ok(())
}

/// Model-based: after any random sequence of stores, deletes (three ways, one key or a span),
/// loads, `range` and `clear` over 2,048 keys, and quiescence, the map holds at most
/// `2 * live + ENTRY_SLACK` entries (by its statistics and by the keys alive), and its
/// statistics count the live keys exactly.
pub fn entries_bounded_by_live<B: Backend>() {
    let config = Config {
        cases: scaled(48) as u32,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&proptest::collection::vec(step(), 1..120), |steps| {
            check_bounded::<B>(&steps)
        })
        .unwrap();
}
