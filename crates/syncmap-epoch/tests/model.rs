//! Model-based test: random operation sequences applied to the map and to a `Mutex<HashMap>`
//! reference must give the same answers, and the runs must drive the map through promotions,
//! expunges and unexpunges (checked through `stats()`).

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use proptest::{prelude::*, test_runner::TestRunner};
use syncmap_epoch::SyncMap;

#[derive(Clone, Debug)]
enum Op {
    Load(u8),
    Store(u8, u8),
    LoadOrStore(u8, u8),
    LoadAndDelete(u8),
    Delete(u8),
    Swap(u8, u8),
    CompareAndSwap(u8, u8, u8),
    CompareAndDelete(u8, u8),
    Range,
    Len,
    Clear,
}

/// Few keys and few values, so that operations collide and compare-and-swaps succeed often;
/// loads dominate, so that misses reach the dirty size and promote.
fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..12;
    let v = 0u8..3;
    prop_oneof![
        8 => k.clone().prop_map(Op::Load),
        3 => (k.clone(), v.clone()).prop_map(|(k, v)| Op::Store(k, v)),
        2 => (k.clone(), v.clone()).prop_map(|(k, v)| Op::LoadOrStore(k, v)),
        2 => k.clone().prop_map(Op::LoadAndDelete),
        2 => k.clone().prop_map(Op::Delete),
        2 => (k.clone(), v.clone()).prop_map(|(k, v)| Op::Swap(k, v)),
        2 => (k.clone(), v.clone(), v.clone()).prop_map(|(k, o, n)| Op::CompareAndSwap(k, o, n)),
        2 => (k.clone(), v.clone()).prop_map(|(k, o)| Op::CompareAndDelete(k, o)),
        1 => Just(Op::Range),
        1 => Just(Op::Len),
        1 => Just(Op::Clear),
    ]
}

/// The reference: Go's specification of each operation over a locked `HashMap`.
#[derive(Default)]
struct Reference(Mutex<HashMap<u8, u8>>);

/// What an operation returned, comparable between map and reference.
#[derive(Debug, PartialEq)]
enum Answer {
    Value(Option<u8>),
    Loaded(u8, bool),
    Flag(bool),
    Entries(Vec<(u8, u8)>),
    Len(usize),
    Unit,
}

impl Reference {
    fn apply(&self, op: &Op) -> Answer {
        let mut m = self.0.lock().unwrap();
        match *op {
            Op::Load(k) => Answer::Value(m.get(&k).copied()),
            Op::Store(k, v) => {
                m.insert(k, v);
                Answer::Unit
            }
            Op::LoadOrStore(k, v) => match m.get(&k) {
                Some(&old) => Answer::Loaded(old, true),
                None => {
                    m.insert(k, v);
                    Answer::Loaded(v, false)
                }
            },
            Op::LoadAndDelete(k) => Answer::Value(m.remove(&k)),
            Op::Delete(k) => {
                m.remove(&k);
                Answer::Unit
            }
            Op::Swap(k, v) => Answer::Value(m.insert(k, v)),
            Op::CompareAndSwap(k, old, new) => Answer::Flag(match m.get_mut(&k) {
                Some(v) if *v == old => {
                    *v = new;
                    true
                }
                _ => false,
            }),
            Op::CompareAndDelete(k, old) => Answer::Flag(if m.get(&k) == Some(&old) {
                m.remove(&k);
                true
            } else {
                false
            }),
            Op::Range => {
                let mut entries: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
                entries.sort_unstable();
                Answer::Entries(entries)
            }
            Op::Len => Answer::Len(m.len()),
            Op::Clear => {
                m.clear();
                Answer::Unit
            }
        }
    }
}

fn apply(map: &SyncMap<u8, u8>, op: &Op) -> Answer {
    match *op {
        Op::Load(k) => Answer::Value(map.load(&k).map(|v| *v)),
        Op::Store(k, v) => {
            map.store(k, v);
            Answer::Unit
        }
        Op::LoadOrStore(k, v) => {
            let (actual, loaded) = map.load_or_store(k, v);
            Answer::Loaded(*actual, loaded)
        }
        Op::LoadAndDelete(k) => Answer::Value(map.load_and_delete(&k).map(|v| *v)),
        Op::Delete(k) => {
            map.delete(&k);
            Answer::Unit
        }
        Op::Swap(k, v) => Answer::Value(map.swap(k, v).map(|v| *v)),
        Op::CompareAndSwap(k, old, new) => Answer::Flag(map.compare_and_swap(&k, &old, new)),
        Op::CompareAndDelete(k, old) => Answer::Flag(map.compare_and_delete(&k, &old)),
        Op::Range => {
            let mut entries = Vec::new();
            map.range(|k, v| {
                entries.push((*k, *v));
                true
            });
            let sorted = {
                let mut e = entries.clone();
                e.sort_unstable();
                e
            };
            let mut keys: Vec<_> = sorted.iter().map(|(k, _)| *k).collect();
            keys.dedup();
            assert_eq!(keys.len(), entries.len(), "range visited a key twice");
            Answer::Entries(sorted)
        }
        Op::Len => Answer::Len(map.len()),
        Op::Clear => {
            map.clear();
            Answer::Unit
        }
    }
}

#[test]
fn matches_reference_and_drives_every_state() {
    static PROMOTIONS: AtomicU64 = AtomicU64::new(0);
    static REBUILDS: AtomicU64 = AtomicU64::new(0);
    static EXPUNGED: AtomicU64 = AtomicU64::new(0);
    static UNEXPUNGED: AtomicU64 = AtomicU64::new(0);

    let mut runner = TestRunner::new(ProptestConfig::with_cases(256));
    let result = runner.run(&prop::collection::vec(op(), 1..400), |ops| {
        let map = SyncMap::new();
        let reference = Reference::default();
        for (i, op) in ops.iter().enumerate() {
            let (got, want) = (apply(&map, op), reference.apply(op));
            prop_assert_eq!(got, want, "op #{} {:?}", i, op);
        }
        prop_assert_eq!(
            apply(&map, &Op::Range),
            reference.apply(&Op::Range),
            "final contents"
        );
        let stats = map.stats();
        PROMOTIONS.fetch_add(stats.promotions, Ordering::Relaxed);
        REBUILDS.fetch_add(stats.dirty_rebuilds, Ordering::Relaxed);
        EXPUNGED.fetch_add(stats.expunged, Ordering::Relaxed);
        UNEXPUNGED.fetch_add(stats.unexpunged, Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let (promotions, rebuilds, expunged, unexpunged) = (
        PROMOTIONS.load(Ordering::Relaxed),
        REBUILDS.load(Ordering::Relaxed),
        EXPUNGED.load(Ordering::Relaxed),
        UNEXPUNGED.load(Ordering::Relaxed),
    );
    println!(
        "model runs drove {promotions} promotions, {rebuilds} dirty rebuilds, \
         {expunged} expunges, {unexpunged} unexpunges"
    );
    assert!(promotions > 0, "no promotion was exercised");
    assert!(rebuilds > 0, "no dirty rebuild was exercised");
    assert!(expunged > 0, "no expunge was exercised");
    assert!(unexpunged > 0, "no unexpunge was exercised");
}
