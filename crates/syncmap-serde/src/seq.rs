//! `#[serde(with = "syncmap_serde::seq")]`: a live map as a field, written as a sequence of
//! `[key, value]` pairs.
//!
//! Use it when keys are not strings or integers and the format is JSON (whose object keys must be
//! strings). Same guarantees as [`crate::map`]: each key once, a value the key had during the
//! copy, a length that matches the pairs written; reading back refuses repeated keys.
//!
//! # Examples
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use syncmap_epoch::SyncMap;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Grid {
//!     #[serde(with = "syncmap_serde::seq")]
//!     cells: SyncMap<(i32, i32), char>,
//! }
//!
//! let grid = Grid { cells: SyncMap::new() };
//! grid.cells.store((0, -1), 'x');
//! let json = serde_json::to_string(&grid).unwrap();
//! assert_eq!(json, r#"{"cells":[[[0,-1],"x"]]}"#);
//!
//! let back: Grid = serde_json::from_str(&json).unwrap();
//! assert_eq!(back.cells.load(&(0, -1)).as_deref(), Some(&'x'));
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use syncmap_core::ConcurrentMap;

use crate::{
    Snapshot,
    de::{Fresh, SeqVisitor},
};

/// Writes a live map as a sequence of `(key, value)` pairs, through a [`Snapshot`].
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let map: SyncMap<u8, u8> = [(1, 2)].into_iter().collect();
/// let mut out = Vec::new();
/// syncmap_serde::seq::serialize(&map, &mut serde_json::Serializer::new(&mut out)).unwrap();
/// assert_eq!(out, b"[[1,2]]");
/// ```
pub fn serialize<M, K, V, S>(map: &M, serializer: S) -> Result<S::Ok, S::Error>
where
    M: ConcurrentMap<K, V>,
    K: Serialize + Clone,
    V: Serialize + Clone,
    S: Serializer,
{
    let snapshot = Snapshot::of(map);
    serializer.collect_seq(snapshot.iter().map(|(key, value)| (key, value)))
}

/// Reads a sequence of `(key, value)` pairs into a fresh map of type `M`; a repeated key is an
/// error.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
///
/// let mut de = serde_json::Deserializer::from_str("[[1,2],[3,4]]");
/// let map: SyncMap<u8, u8> = syncmap_serde::seq::deserialize(&mut de).unwrap();
/// assert_eq!(map.len(), 2);
///
/// let mut de = serde_json::Deserializer::from_str("[[1,2],[1,4]]");
/// let err = syncmap_serde::seq::deserialize::<SyncMap<u8, u8>, _, _, _>(&mut de).unwrap_err();
/// assert!(err.to_string().starts_with("duplicate key"));
/// ```
pub fn deserialize<'de, M, K, V, D>(deserializer: D) -> Result<M, D::Error>
where
    M: ConcurrentMap<K, V> + Default,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let Fresh(map) = deserializer.deserialize_seq(SeqVisitor::<Fresh<M>, K, V>::new())?;
    Ok(map)
}
