//! Linearizability: many short concurrent histories on a few keys, each operation recorded with
//! its invocation and response time, checked key by key against the sequential specification
//! (Wing & Gong's search with Lowe's memoisation, as in porcupine).
//!
//! A history is linearizable only if each key's sub-history is, so checking per key is sound
//! (it may miss cross-key anomalies, which the map does not promise to avoid anyway: only
//! operations on one key are linearizable). `clear` appears in every key's sub-history.
//!
//! Checks the contract's [Atomicity](crate::ConcurrentMap#atomicity): "every operation on one key
//! is linearizable", with `clear` "ordered with each operation as a whole".

use std::{
    collections::HashSet,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::*},
};

use crate::{
    Backend, ConcurrentMap,
    util::{Rng, scaled},
};

/// One call of the map API on one key (or on all keys, for `Clear`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `load`
    Load,
    /// `store(value)`
    Store(u64),
    /// `load_or_store(value)`
    LoadOrStore(u64),
    /// `load_and_delete`
    LoadAndDelete,
    /// `delete`
    Delete,
    /// `swap(value)`
    Swap(u64),
    /// `compare_and_swap(old, new)`
    CompareAndSwap(u64, u64),
    /// `compare_and_delete(old)`
    CompareAndDelete(u64),
    /// `clear`
    Clear,
    /// `load_or_store_with(|| value)`
    LoadOrStoreWith(u64),
    /// `update(|v| v + delta)`
    Update(u64),
}

/// What a call returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// Nothing (`store`, `delete`, `clear`).
    Unit,
    /// A value or its absence (`load`, `load_and_delete`, `swap`).
    Value(Option<u64>),
    /// `load_or_store`'s value and `loaded` flag.
    Loaded(u64, bool),
    /// Whether a compare-and-swap or compare-and-delete happened.
    Done(bool),
}

impl Call {
    /// The sequential specification: the state of the key after the call, and what it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_testsuite::linearizability::{Call, Ret};
    ///
    /// assert_eq!(Call::Swap(2).apply(Some(1)), (Some(2), Ret::Value(Some(1))));
    /// assert_eq!(Call::CompareAndSwap(3, 4).apply(Some(1)), (Some(1), Ret::Done(false)));
    /// ```
    pub fn apply(self, state: Option<u64>) -> (Option<u64>, Ret) {
        match self {
            Call::Load => (state, Ret::Value(state)),
            Call::Store(v) => (Some(v), Ret::Unit),
            Call::LoadOrStore(v) | Call::LoadOrStoreWith(v) => match state {
                Some(old) => (state, Ret::Loaded(old, true)),
                None => (Some(v), Ret::Loaded(v, false)),
            },
            Call::LoadAndDelete => (None, Ret::Value(state)),
            Call::Delete | Call::Clear => (None, Ret::Unit),
            Call::Swap(v) => (Some(v), Ret::Value(state)),
            Call::CompareAndSwap(old, new) if state == Some(old) => (Some(new), Ret::Done(true)),
            Call::CompareAndSwap(..) => (state, Ret::Done(false)),
            Call::CompareAndDelete(old) if state == Some(old) => (None, Ret::Done(true)),
            Call::CompareAndDelete(_) => (state, Ret::Done(false)),
            Call::Update(delta) => {
                let new = state.map(|v| v + delta);
                (new, Ret::Value(new))
            }
        }
    }

    /// Performs the call on `map` for `key`.
    pub fn perform<M: ConcurrentMap<u64, u64>>(self, map: &M, key: u64) -> Ret {
        match self {
            Call::Load => Ret::Value(map.load(&key).map(|v| *v)),
            Call::Store(v) => {
                map.store(key, v);
                Ret::Unit
            }
            Call::LoadOrStore(v) => {
                let (value, loaded) = map.load_or_store(key, v);
                Ret::Loaded(*value, loaded)
            }
            Call::LoadAndDelete => Ret::Value(map.load_and_delete(&key).map(|v| *v)),
            Call::Delete => {
                map.delete(&key);
                Ret::Unit
            }
            Call::Swap(v) => Ret::Value(map.swap(key, v).map(|v| *v)),
            Call::CompareAndSwap(old, new) => Ret::Done(map.compare_and_swap(&key, &old, new)),
            Call::CompareAndDelete(old) => Ret::Done(map.compare_and_delete(&key, &old)),
            Call::Clear => {
                map.clear();
                Ret::Unit
            }
            Call::LoadOrStoreWith(v) => {
                let (value, loaded) = map.load_or_store_with(key, || v);
                Ret::Loaded(*value, loaded)
            }
            Call::Update(delta) => Ret::Value(map.update(&key, |v| v + delta).map(|v| *v)),
        }
    }
}

/// One completed operation of a history.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The key (ignored for `Clear`, which concerns every key).
    pub key: u64,
    /// The call.
    pub call: Call,
    /// What it returned.
    pub ret: Ret,
    /// Logical time just before the call started.
    pub invoke: u64,
    /// Logical time just after it returned (`> invoke`).
    pub response: u64,
}

/// Checks that `events` (all on one key, or `Clear`) can be ordered, consistently with real
/// time, into a sequence the specification accepts from `initial`. Returns the reason if not.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::linearizability::{Call, Event, Ret, check_key};
///
/// let store = Event { key: 0, call: Call::Store(1), ret: Ret::Unit, invoke: 0, response: 1 };
/// let load = Event { key: 0, call: Call::Load, ret: Ret::Value(None), invoke: 2, response: 3 };
/// // The load started after the store returned, so it must see the store.
/// assert!(check_key(&[store, load], None).is_err());
/// let overlapping = Event { invoke: 0, ..load };
/// assert!(check_key(&[store, overlapping], None).is_ok());
/// ```
pub fn check_key(events: &[Event], initial: Option<u64>) -> Result<(), String> {
    assert!(
        events.len() <= 64,
        "histories are limited to 64 events per key"
    );
    let full: u64 = if events.len() == 64 {
        u64::MAX
    } else {
        (1 << events.len()) - 1
    };
    let mut seen = HashSet::new();
    if search(events, full, 0, initial, &mut seen) {
        Ok(())
    } else {
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|e| e.invoke);
        Err(format!(
            "not linearizable from {initial:?}:\n{}",
            sorted
                .iter()
                .map(|e| format!(
                    "  [{:>4}, {:>4}] {:?} -> {:?}",
                    e.invoke, e.response, e.call, e.ret
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

fn search(
    events: &[Event],
    full: u64,
    done: u64,
    state: Option<u64>,
    seen: &mut HashSet<(u64, Option<u64>)>,
) -> bool {
    if done == full {
        return true;
    }
    let pending = || (0..events.len()).filter(move |i| done & (1 << i) == 0);
    // An operation can go next only if no pending operation returned before it was invoked.
    let first_response = pending()
        .map(|i| events[i].response)
        .min()
        .unwrap_or(u64::MAX);
    for i in pending() {
        let e = &events[i];
        if e.invoke > first_response {
            continue;
        }
        let (next, ret) = e.call.apply(state);
        if ret != e.ret {
            continue;
        }
        let done = done | (1 << i);
        if seen.insert((done, next)) && search(events, full, done, next, seen) {
            return true;
        }
    }
    false
}

/// Checks a whole history key by key, with each key's state before the history.
pub fn check_history(events: &[Event], initial: &[Option<u64>]) -> Result<(), String> {
    for (key, &init) in initial.iter().enumerate() {
        let mine: Vec<Event> = events
            .iter()
            .filter(|e| e.key == key as u64 || e.call == Call::Clear)
            .copied()
            .collect();
        check_key(&mine, init).map_err(|e| format!("key {key}: {e}"))?;
    }
    Ok(())
}

const KEYS: u64 = 2;
const THREADS: usize = 3;
const OPS_PER_THREAD: usize = 6;

fn random_call(rng: &mut Rng, fresh: u64, recent: &[u64]) -> Call {
    let old = if recent.is_empty() {
        fresh
    } else {
        recent[rng.below(recent.len() as u64) as usize]
    };
    match rng.below(24) {
        0..=3 => Call::Load,
        4..=6 => Call::Store(fresh),
        7..=8 => Call::LoadOrStore(fresh),
        9..=10 => Call::LoadAndDelete,
        11 => Call::Delete,
        12..=14 => Call::Swap(fresh),
        15..=16 => Call::CompareAndSwap(old, fresh),
        17..=18 => Call::CompareAndDelete(old),
        19..=20 => Call::LoadOrStoreWith(fresh),
        21..=22 => Call::Update(fresh * 10_000),
        _ => Call::Clear,
    }
}

/// Brings a fresh map into a random internal state (keys stored in dirty, promoted, deleted,
/// expunged, revived) with sequential operations, and returns the state of keys `0..KEYS`.
fn prepare<M: ConcurrentMap<u64, u64>>(map: &M, rng: &mut Rng) -> Vec<Option<u64>> {
    let mut model = vec![None; KEYS as usize];
    for step in 0..rng.below(16) {
        let key = rng.below(KEYS + 3);
        let value = 1000 + step;
        match rng.below(4) {
            0 => {
                map.store(key, value);
                if key < KEYS {
                    model[key as usize] = Some(value);
                }
            }
            1 => {
                map.delete(&key);
                if key < KEYS {
                    model[key as usize] = None;
                }
            }
            // Loads count misses and promote dirty.
            _ => {
                let _ = map.load(&key);
            }
        }
    }
    model
}

/// Many short histories: `THREADS` threads start together and each make `OPS_PER_THREAD`
/// random calls on `KEYS` keys of a map prepared in a random internal state; every history must
/// be linearizable per key. Written values are unique, so every read names the write it saw.
pub fn per_key_histories<B: Backend>() {
    let clock = AtomicU64::new(0);
    for round in 0..scaled(1500) as u64 {
        let map = B::Map::<u64, u64>::default();
        let mut rng = Rng::new(round);
        let initial = prepare(&map, &mut rng);
        let recent: Vec<u64> = initial.iter().flatten().copied().collect();
        let go = AtomicBool::new(false);
        let events: Vec<Event> = crate::watchdog::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (map, clock, go, recent) = (&map, &clock, &go, &recent);
                    let mut rng = Rng::new(round * 31 + t as u64);
                    s.spawn(move || {
                        let mut recent = recent.clone();
                        let calls: Vec<(u64, Call)> = (0..OPS_PER_THREAD)
                            .map(|i| {
                                let fresh = (t as u64 + 1) * 100 + i as u64;
                                let call = random_call(&mut rng, fresh, &recent);
                                recent.push(fresh);
                                (rng.below(KEYS), call)
                            })
                            .collect();
                        while !go.load(Acquire) {
                            std::hint::spin_loop();
                        }
                        calls
                            .into_iter()
                            .map(|(key, call)| {
                                let invoke = clock.fetch_add(1, SeqCst);
                                let ret = call.perform(map, key);
                                let response = clock.fetch_add(1, SeqCst);
                                Event {
                                    key,
                                    call,
                                    ret,
                                    invoke,
                                    response,
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            go.store(true, Release);
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        if let Err(e) = check_history(&events, &initial) {
            panic!("history {round}: {e}");
        }
        // The map must also agree with itself afterwards (quiescent state is one of the
        // linearizations' final states; cheap sanity check of len).
        let present = (0..KEYS).filter(|k| map.load(k).is_some()).count();
        let others = (KEYS..KEYS + 3).filter(|k| map.load(k).is_some()).count();
        assert_eq!(
            map.len(),
            present + others,
            "history {round}: len disagrees with loads"
        );
    }
}
