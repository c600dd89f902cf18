//! `#[serde(with = "syncmap_serde::map")]`: a live map as a field, written as a serde map.
//!
//! The field is written as a [`Snapshot`] would be (a JSON object, a postcard map), with the same
//! [guarantees](Snapshot#what-a-snapshot-holds), and read back into a fresh map of the field's
//! type, which is returned only if the whole input was valid and every key was distinct.
//!
//! JSON object keys are strings: string and integer keys work; for structured keys use
//! [`crate::seq`].
//!
//! # Examples
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use syncmap_epoch::SyncMap;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Cache {
//!     version: u32,
//!     #[serde(with = "syncmap_serde::map")]
//!     entries: SyncMap<String, u64>,
//! }
//!
//! let cache = Cache { version: 1, entries: SyncMap::new() };
//! cache.entries.store("hits".to_string(), 42);
//! let json = serde_json::to_string(&cache).unwrap();
//! assert_eq!(json, r#"{"version":1,"entries":{"hits":42}}"#);
//!
//! let back: Cache = serde_json::from_str(&json).unwrap();
//! assert_eq!(back.entries.load("hits").as_deref(), Some(&42));
//!
//! let err = serde_json::from_str::<Cache>(r#"{"version":1,"entries":{"a":1,"a":2}}"#)
//!     .err()
//!     .unwrap();
//! assert!(err.to_string().starts_with("duplicate key"), "{err}");
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use syncmap_core::ConcurrentMap;

use crate::{
    Snapshot,
    de::{Fresh, MapVisitor, Source},
};

/// Writes a live map as a serde map, through a [`Snapshot`] (so keys and values are cloned
/// first, and the announced length is the number of entries written).
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let map: SyncMap<u32, bool> = [(1, true)].into_iter().collect();
/// let mut out = Vec::new();
/// syncmap_serde::map::serialize(&map, &mut serde_json::Serializer::new(&mut out)).unwrap();
/// assert_eq!(out, br#"{"1":true}"#);
/// ```
pub fn serialize<M, K, V, S>(map: &M, serializer: S) -> Result<S::Ok, S::Error>
where
    M: ConcurrentMap<K, V>,
    K: Serialize + Clone,
    V: Serialize + Clone,
    S: Serializer,
{
    Snapshot::of(map).serialize(serializer)
}

/// Reads a serde map into a fresh map of type `M`; a repeated key is an error.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let mut de = serde_json::Deserializer::from_str(r#"{"1":true}"#);
/// let map: SyncMap<u32, bool> = syncmap_serde::map::deserialize(&mut de).unwrap();
/// assert_eq!(map.load(&1).as_deref(), Some(&true));
/// ```
pub fn deserialize<'de, M, K, V, D>(deserializer: D) -> Result<M, D::Error>
where
    M: ConcurrentMap<K, V> + Default,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let Fresh(map) =
        deserializer.deserialize_map(MapVisitor::<Fresh<M>, K, V>::new(Source::Map))?;
    Ok(map)
}
