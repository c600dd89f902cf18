//! [`Snapshot`]: an owned copy of a live map's entries, serializable, restorable into any
//! backend.

use core::{
    fmt,
    hash::{BuildHasher, Hash},
    slice,
};
use std::{hash::RandomState, vec};

use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeMap};
use syncmap_core::ConcurrentMap;

use crate::de::{MapVisitor, Sink, Source};

/// An owned copy of the entries of a live [`ConcurrentMap`], taken with [`Snapshot::of`].
///
/// It serializes as a serde map (a JSON object, a postcard map), the same shape as a
/// `HashMap<K, V>`, and restores into a fresh map of any backend with
/// [`Snapshot::into_map`]: take it from an epoch map, restore it into an arc-swap map.
///
/// # What a snapshot holds
///
/// A snapshot is taken by one [`ConcurrentMap::range`] call, which is not atomic. If other threads
/// write while it is taken:
///
/// * each key appears **at most once**;
/// * a key's value is **some value that key had during the call**; a key that had a value for
///   the whole call is present; a key added or deleted during the call may or may not be;
/// * the snapshot as a whole need not equal the map at any one instant (two keys written one
///   after the other may be seen as new and old);
/// * the entry count a serializer is told is the number of entries it is then given: the count is
///   taken from the copied entries, never from [`ConcurrentMap::len`] (which can disagree with a
///   concurrent iteration).
///
/// Deserializing is strict: a repeated key, a wrong type, truncated or trailing input (the format
/// decides what it can detect; see the [crate docs](crate#bad-input)) is an error, and no
/// partial snapshot is returned.
///
/// The order of entries is the order `range` visited them (or the order in the input); it carries
/// no meaning. [`Snapshot::sort`] makes output deterministic, say for diffable files.
///
/// # Examples
///
/// ```
/// use syncmap_epoch::SyncMap;
/// use syncmap_serde::Snapshot;
///
/// let live: SyncMap<String, u32> = [("a".to_string(), 1), ("b".to_string(), 2)].into_iter().collect();
/// let mut snapshot = Snapshot::of(&live);
/// snapshot.sort();
/// let json = serde_json::to_string(&snapshot).unwrap();
/// assert_eq!(json, r#"{"a":1,"b":2}"#);
///
/// let back: Snapshot<String, u32> = serde_json::from_str(&json).unwrap();
/// let restored: SyncMap<String, u32> = back.into_map();
/// assert_eq!(restored.load("b").as_deref(), Some(&2));
/// ```
#[derive(Clone)]
pub struct Snapshot<K, V> {
    /// Entries with pairwise distinct keys.
    entries: Vec<(K, V)>,
}

impl<K, V> Snapshot<K, V> {
    /// Copies every entry of `map` (one [`ConcurrentMap::range`] call, cloning each key and value).
    ///
    /// See [what a snapshot holds](Snapshot#what-a-snapshot-holds) when other threads write
    /// meanwhile. The map is not locked: a concurrent write to one key never waits for the copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, &str> = SyncMap::new();
    /// live.store(7, "seven");
    /// let snapshot = Snapshot::of(&live);
    /// live.store(7, "changed later");
    /// assert_eq!(snapshot.entries(), &[(7, "seven")]);
    /// ```
    pub fn of<M>(map: &M) -> Self
    where
        M: ConcurrentMap<K, V>,
        K: Clone,
        V: Clone,
    {
        // No `map.len()`, not even as a capacity hint: it is a separate pass over the map.
        let mut entries = Vec::new();
        map.range(|key, value| {
            entries.push((key.clone(), value.clone()));
            true
        });
        Self { entries }
    }

    /// Stores every entry into a new, empty map of any backend, and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
    /// use syncmap_serde::Snapshot;
    ///
    /// let from: syncmap_epoch::SyncMap<u8, u8> = (0..3).map(|i| (i, i * 2)).collect();
    /// // Restored into a different backend:
    /// let to: SyncMap<u8, u8, DeferToDrop> = Snapshot::of(&from).into_map();
    /// assert_eq!(to.len(), 3);
    /// assert_eq!(to.load(&2).as_deref(), Some(&4));
    /// ```
    pub fn into_map<M>(self) -> M
    where
        M: ConcurrentMap<K, V> + Default,
    {
        let map = M::default();
        for (key, value) in self.entries {
            map.store(key, value);
        }
        map
    }

    /// The entries, each key once, in no particular order (unless [sorted](Self::sort)).
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, u32> = (1..=3).map(|i| (i, i * i)).collect();
    /// let total: u32 = Snapshot::of(&live).entries().iter().map(|(_, v)| v).sum();
    /// assert_eq!(total, 1 + 4 + 9);
    /// ```
    pub fn entries(&self) -> &[(K, V)] {
        &self.entries
    }

    /// The entries as a vector, each key once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<&str, u32> = [("x", 1)].into_iter().collect();
    /// let plain: HashMap<&str, u32> = Snapshot::of(&live).into_entries().into_iter().collect();
    /// assert_eq!(plain["x"], 1);
    /// ```
    pub fn into_entries(self) -> Vec<(K, V)> {
        self.entries
    }

    /// The number of entries.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, u32> = (0..5).map(|i| (i, i)).collect();
    /// assert_eq!(Snapshot::of(&live).len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the snapshot has no entry.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, u32> = SyncMap::new();
    /// assert!(Snapshot::of(&live).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An iterator over `&(key, value)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, u32> = [(1, 10)].into_iter().collect();
    /// let snapshot = Snapshot::of(&live);
    /// assert_eq!(snapshot.iter().next(), Some(&(1, 10)));
    /// ```
    pub fn iter(&self) -> slice::Iter<'_, (K, V)> {
        self.entries.iter()
    }

    /// Sorts the entries by key, so that serializing gives the same bytes for the same contents.
    ///
    /// # Examples
    ///
    /// ```
    /// use syncmap_epoch::SyncMap;
    /// use syncmap_serde::Snapshot;
    ///
    /// let live: SyncMap<u32, char> = [(3, 'c'), (1, 'a'), (2, 'b')].into_iter().collect();
    /// let mut snapshot = Snapshot::of(&live);
    /// snapshot.sort();
    /// assert_eq!(snapshot.entries(), &[(1, 'a'), (2, 'b'), (3, 'c')]);
    /// ```
    pub fn sort(&mut self)
    where
        K: Ord,
    {
        // Keys are distinct, so an unstable sort is deterministic.
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
}

impl<K, V> Default for Snapshot<K, V> {
    /// An empty snapshot.
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Snapshot<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K, V> IntoIterator for Snapshot<K, V> {
    type Item = (K, V);
    type IntoIter = vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Snapshot<K, V> {
    type Item = &'a (K, V);
    type IntoIter = slice::Iter<'a, (K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<K: Serialize, V: Serialize> Serialize for Snapshot<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(&self.entries, serializer)
    }
}

/// Writes `entries` as a serde map whose announced length is the number of entries written.
pub(crate) fn serialize_entries<K, V, S>(
    entries: &[(K, V)],
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    K: Serialize,
    V: Serialize,
    S: Serializer,
{
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (key, value) in entries {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

impl<'de, K, V> Deserialize<'de> for Snapshot<K, V>
where
    K: Deserialize<'de> + Hash + Eq,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let unique = deserializer
            .deserialize_map(MapVisitor::<Unique<K, V>, K, V>::new(Source::Snapshot))?;
        Ok(Self {
            entries: unique.entries,
        })
    }
}

/// Entries being decoded, with an index of their keys to refuse repeats.
pub(crate) struct Unique<K, V> {
    pub(crate) entries: Vec<(K, V)>,
    /// Positions in `entries`, hashed by key.
    index: HashTable<usize>,
    hasher: RandomState,
}

impl<K, V> Default for Unique<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq, V> Sink<K, V> for Unique<K, V> {
    fn insert(&mut self, key: K, value: V) -> bool {
        let hash = self.hasher.hash_one(&key);
        let entries = &self.entries;
        if self.index.find(hash, |&i| entries[i].0 == key).is_some() {
            return false;
        }
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, entries.len(), |&i| hasher.hash_one(&entries[i].0));
        self.entries.push((key, value));
        true
    }
}
