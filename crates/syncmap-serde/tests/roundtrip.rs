//! Round trips through JSON and postcard, for every backend, with proptest-generated contents:
//! a snapshot, the `map` and `seq` field modules, restores into a different backend, and
//! decoding by a plain `HashMap` (the wire shape is the standard serde map).

mod common;

use std::collections::HashMap;

use common::{Item, contents, for_each_backend, strategies};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use syncmap_core::{ConcurrentMap, reclaim::DeferToDrop};
use syncmap_serde::{Snapshot, postcard};

/// Another backend to restore into, to check that snapshots cross backends.
type Other<K, V> = syncmap_core::SyncMap<K, V, DeferToDrop>;

fn live<M, K, V>(entries: &HashMap<K, V>) -> M
where
    M: ConcurrentMap<K, V> + Default,
    K: Clone,
    V: Clone,
{
    let map = M::default();
    for (k, v) in entries {
        map.store(k.clone(), v.clone());
    }
    map
}

fn snapshot_json<M>(entries: HashMap<String, Item>) -> Result<(), TestCaseError>
where
    M: ConcurrentMap<String, Item> + Default,
{
    let map: M = live(&entries);
    let json = serde_json::to_string(&Snapshot::of(&map)).unwrap();

    // The wire shape is a plain map: serde's own HashMap decoder reads it.
    let plain: HashMap<String, Item> = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(&plain, &entries);

    let back: Snapshot<String, Item> = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(back.len(), entries.len());
    let same: M = back.clone().into_map();
    let other: Other<String, Item> = back.into_map();
    prop_assert_eq!(same.len(), entries.len());
    prop_assert_eq!(&contents(&same), &entries);
    prop_assert_eq!(&contents(&other), &entries);
    Ok(())
}

fn snapshot_postcard<M>(entries: HashMap<u64, Item>) -> Result<(), TestCaseError>
where
    M: ConcurrentMap<u64, Item> + Default,
{
    let map: M = live(&entries);
    let bytes = postcard::to_vec(&Snapshot::of(&map)).unwrap();

    let plain: HashMap<u64, Item> = ::postcard::from_bytes(&bytes).unwrap();
    prop_assert_eq!(&plain, &entries);

    let back: Snapshot<u64, Item> = postcard::from_bytes(&bytes).unwrap();
    let same: M = back.clone().into_map();
    let other: Other<u64, Item> = back.into_map();
    prop_assert_eq!(&contents(&same), &entries);
    prop_assert_eq!(&contents(&other), &entries);
    Ok(())
}

/// A struct holding a live map, with `#[serde(with = "syncmap_serde::map")]`.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "M: ConcurrentMap<u64, Item>",
    deserialize = "M: ConcurrentMap<u64, Item> + Default"
))]
struct WithMap<M> {
    before: String,
    #[serde(with = "syncmap_serde::map")]
    map: M,
    after: u8,
}

fn field_map<M>(entries: HashMap<u64, Item>) -> Result<(), TestCaseError>
where
    M: ConcurrentMap<u64, Item> + Default,
{
    let holder = WithMap {
        before: "b".into(),
        map: live::<M, _, _>(&entries),
        after: 7,
    };

    let json = serde_json::to_string(&holder).unwrap();
    let back: WithMap<M> = serde_json::from_str(&json).unwrap();
    prop_assert_eq!((back.before.as_str(), back.after), ("b", 7));
    prop_assert_eq!(&contents(&back.map), &entries);

    let bytes = postcard::to_vec(&holder).unwrap();
    let back: WithMap<M> = postcard::from_bytes(&bytes).unwrap();
    prop_assert_eq!((back.before.as_str(), back.after), ("b", 7));
    prop_assert_eq!(&contents(&back.map), &entries);

    // Into another backend, through the same bytes.
    let other: WithMap<Other<u64, Item>> = postcard::from_bytes(&bytes).unwrap();
    prop_assert_eq!(&contents(&other.map), &entries);
    Ok(())
}

/// A struct holding a live map with structured keys, with `#[serde(with = "syncmap_serde::seq")]`.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "M: ConcurrentMap<(i16, String), u32>",
    deserialize = "M: ConcurrentMap<(i16, String), u32> + Default"
))]
struct WithSeq<M> {
    #[serde(with = "syncmap_serde::seq")]
    map: M,
}

fn field_seq<M>(entries: HashMap<(i16, String), u32>) -> Result<(), TestCaseError>
where
    M: ConcurrentMap<(i16, String), u32> + Default,
{
    let holder = WithSeq {
        map: live::<M, _, _>(&entries),
    };

    let json = serde_json::to_string(&holder).unwrap();
    // The wire shape is a list of pairs: a Vec of tuples reads it.
    #[derive(Deserialize)]
    struct Plain {
        map: Vec<((i16, String), u32)>,
    }
    let plain: Plain = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(plain.map.len(), entries.len());
    prop_assert_eq!(&plain.map.into_iter().collect::<HashMap<_, _>>(), &entries);

    let back: WithSeq<M> = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(&contents(&back.map), &entries);

    let bytes = postcard::to_vec(&holder).unwrap();
    let back: WithSeq<M> = postcard::from_bytes(&bytes).unwrap();
    prop_assert_eq!(&contents(&back.map), &entries);
    Ok(())
}

macro_rules! roundtrip_tests {
    ($($backend:ident => $map:ty;)*) => {$(
        mod $backend {
            use super::*;

            proptest! {
                #[test]
                fn snapshot_json_roundtrip(entries in strategies::string_keyed()) {
                    snapshot_json::<$map>(entries)?;
                }

                #[test]
                fn snapshot_postcard_roundtrip(entries in strategies::int_keyed()) {
                    snapshot_postcard::<$map>(entries)?;
                }

                #[test]
                fn map_field_roundtrip(entries in strategies::int_keyed()) {
                    field_map::<$map>(entries)?;
                }

                #[test]
                fn seq_field_roundtrip(entries in strategies::pair_keyed()) {
                    field_seq::<$map>(entries)?;
                }
            }
        }
    )*};
}

for_each_backend!(roundtrip_tests);

/// Fixed bytes, so that a change of wire format is noticed (postcard's map encoding: a varint
/// count, then each key and value).
#[test]
fn postcard_wire_format_is_stable() {
    let map: Other<u16, bool> = [(300, true)].into_iter().collect();
    let bytes = postcard::to_vec(&Snapshot::of(&map)).unwrap();
    assert_eq!(bytes, [1, 0xac, 0x02, 1]);
}

#[test]
fn sorted_snapshots_serialize_identically() {
    let a: Other<u32, u32> = (0..100).map(|i| (i, i)).collect();
    let b: Other<u32, u32> = (0..100).rev().map(|i| (i, i)).collect();
    let (mut sa, mut sb) = (Snapshot::of(&a), Snapshot::of(&b));
    sa.sort();
    sb.sort();
    assert_eq!(
        postcard::to_vec(&sa).unwrap(),
        postcard::to_vec(&sb).unwrap()
    );
    let json = serde_json::to_string(&sa).unwrap();
    assert!(json.starts_with(r#"{"0":0,"1":1,"2":2,"#), "{json}");
}
