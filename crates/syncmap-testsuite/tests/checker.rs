//! The linearizability checker itself: it accepts histories that have a linearization and
//! rejects histories that do not.

use syncmap_testsuite::linearizability::{Call, Event, Ret, check_history, check_key};

fn event(call: Call, ret: Ret, invoke: u64, response: u64) -> Event {
    Event {
        key: 0,
        call,
        ret,
        invoke,
        response,
    }
}

#[test]
fn sequential_history_follows_the_specification() {
    let history = [
        event(Call::Store(1), Ret::Unit, 0, 1),
        event(Call::Swap(2), Ret::Value(Some(1)), 2, 3),
        event(Call::LoadOrStore(3), Ret::Loaded(2, true), 4, 5),
        event(Call::CompareAndSwap(2, 4), Ret::Done(true), 6, 7),
        event(Call::CompareAndDelete(4), Ret::Done(true), 8, 9),
        event(Call::Load, Ret::Value(None), 10, 11),
    ];
    assert!(check_key(&history, None).is_ok());
    // The same calls with one wrong answer.
    let mut wrong = history;
    wrong[5].ret = Ret::Value(Some(4));
    assert!(check_key(&wrong, None).is_err());
}

#[test]
fn two_overlapping_swaps_cannot_both_see_the_initial_value() {
    let history = [
        event(Call::Swap(10), Ret::Value(Some(1)), 0, 3),
        event(Call::Swap(20), Ret::Value(Some(1)), 1, 2),
    ];
    assert!(check_key(&history, Some(1)).is_err());
    let ordered = [
        event(Call::Swap(10), Ret::Value(Some(1)), 0, 3),
        event(Call::Swap(20), Ret::Value(Some(10)), 1, 2),
    ];
    assert!(check_key(&ordered, Some(1)).is_ok());
}

#[test]
fn real_time_order_is_respected() {
    // A load that starts after a delete returned cannot see the deleted value...
    let history = [
        event(Call::Delete, Ret::Unit, 0, 1),
        event(Call::Load, Ret::Value(Some(5)), 2, 3),
    ];
    assert!(check_key(&history, Some(5)).is_err());
    // ...but one that overlaps it can.
    let overlapping = [
        event(Call::Delete, Ret::Unit, 0, 3),
        event(Call::Load, Ret::Value(Some(5)), 1, 2),
    ];
    assert!(check_key(&overlapping, Some(5)).is_ok());
}

#[test]
fn two_load_or_stores_cannot_both_store() {
    let history = [
        event(Call::LoadOrStore(1), Ret::Loaded(1, false), 0, 3),
        event(Call::LoadOrStore(2), Ret::Loaded(2, false), 1, 2),
    ];
    assert!(check_key(&history, None).is_err());
}

#[test]
fn clear_belongs_to_every_key() {
    let history = [
        Event {
            key: 0,
            ..event(Call::Store(1), Ret::Unit, 0, 1)
        },
        Event {
            key: 1,
            ..event(Call::Store(2), Ret::Unit, 2, 3)
        },
        event(Call::Clear, Ret::Unit, 4, 5),
        Event {
            key: 1,
            ..event(Call::Load, Ret::Value(Some(2)), 6, 7)
        },
    ];
    assert!(check_history(&history, &[None, None]).is_err());
    let mut fixed = history;
    fixed[3].ret = Ret::Value(None);
    assert!(check_history(&fixed, &[None, None]).is_ok());
}
