//! Shared by the integration tests: the list of backends, and value types.

#![allow(dead_code, unreachable_pub)] // each test file uses its own part

use serde::{Deserialize, Serialize};

/// Calls `$tests! { name => MapType<_, _>; ... }` with every backend, one line each. A test file
/// defines `$tests` to expand a module of tests per backend.
macro_rules! for_each_backend {
    ($tests:ident) => {
        $tests! {
            defer_to_drop => syncmap_core::SyncMap<_, _, syncmap_core::reclaim::DeferToDrop>;
            epoch => syncmap_epoch::SyncMap<_, _>;
            seize => syncmap_epoch::seize::SyncMap<_, _>;
            arcswap => syncmap_arcswap::SyncMap<_, _>;
        }
    };
}
pub(crate) use for_each_backend;

/// A value with some structure: nested strings, an option, a float-free payload (so equality is
/// exact).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: u64,
    pub tags: Vec<String>,
    pub score: Option<i32>,
}

pub mod strategies {
    use std::collections::HashMap;

    use proptest::{collection, prelude::*};

    use super::Item;

    pub fn item() -> impl Strategy<Value = Item> {
        (
            any::<u64>(),
            collection::vec(any::<String>(), 0..3),
            any::<Option<i32>>(),
        )
            .prop_map(|(id, tags, score)| Item { id, tags, score })
    }

    pub fn string_keyed() -> impl Strategy<Value = HashMap<String, Item>> {
        collection::hash_map(any::<String>(), item(), 0..24)
    }

    pub fn int_keyed() -> impl Strategy<Value = HashMap<u64, Item>> {
        collection::hash_map(any::<u64>(), item(), 0..24)
    }

    pub fn pair_keyed() -> impl Strategy<Value = HashMap<(i16, String), u32>> {
        collection::hash_map((any::<i16>(), "[a-z]{0,3}"), any::<u32>(), 0..24)
    }
}

/// Every entry of a live map, as a `HashMap` (panics if `range` gave a key twice).
pub fn contents<M, K, V>(map: &M) -> std::collections::HashMap<K, V>
where
    M: syncmap_core::ConcurrentMap<K, V>,
    K: Clone + std::hash::Hash + Eq + std::fmt::Debug,
    V: Clone,
{
    let mut out = std::collections::HashMap::new();
    map.range(|k, v| {
        assert!(
            out.insert(k.clone(), v.clone()).is_none(),
            "range gave {k:?} twice"
        );
        true
    });
    out
}
