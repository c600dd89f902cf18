//! The one deserialization path every public entry point shares: entries go into a fresh
//! collection, a repeated key is an error, and the collection is returned only when the whole
//! input was read.

use core::{fmt, marker::PhantomData};

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use syncmap_core::ConcurrentMap;

/// Where decoded entries go. `insert` returns `false` (and keeps the first entry) when the key
/// is already there.
pub(crate) trait Sink<K, V> {
    fn insert(&mut self, key: K, value: V) -> bool;
}

/// A fresh live map being filled; handed out only once the whole input has been read.
#[derive(Default)]
pub(crate) struct Fresh<M>(pub(crate) M);

impl<K, V, M: ConcurrentMap<K, V>> Sink<K, V> for Fresh<M> {
    fn insert(&mut self, key: K, value: V) -> bool {
        !self.0.load_or_store(key, value).1
    }
}

/// What is being decoded, as the errors name it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// A [`Snapshot`](crate::Snapshot), from a serde map.
    Snapshot,
    /// A live map through [`crate::map`] (a `#[serde(with)]` field, or a direct call), from a
    /// serde map.
    Map,
    /// A live map through [`crate::seq`], from a sequence of `[key, value]` pairs.
    Seq,
}

/// The error for entry `index` of `source` repeating an earlier key.
pub(crate) fn duplicate_key<E: de::Error>(source: Source, index: usize) -> E {
    match source {
        Source::Snapshot => custom(format_args!(
            "duplicate key: entry {index} (counting from 0) repeats an earlier key, and a \
             snapshot holds each key once"
        )),
        Source::Map => custom(format_args!(
            "duplicate key: entry {index} (counting from 0) repeats an earlier key, and a live \
             map read with `syncmap_serde::map` holds each key once"
        )),
        Source::Seq => custom(format_args!(
            "duplicate key: pair {index} (counting from 0) repeats an earlier key, and a live \
             map read with `syncmap_serde::seq` holds each key once"
        )),
    }
}

/// `E::custom(msg)`, and with the `postcard` feature also remembered for
/// [`crate::postcard::from_bytes`], because postcard's error type drops the message.
fn custom<E: de::Error>(msg: fmt::Arguments<'_>) -> E {
    #[cfg(feature = "postcard")]
    crate::postcard::remember(msg.to_string());
    E::custom(msg)
}

/// A visitor's marker: it builds a `T` from `(K, V)` entries (and owns none of them).
type Produces<T, K, V> = PhantomData<fn() -> (T, K, V)>;

/// Decodes a serde map (`{key: value, ...}`) into a fresh `T`, for `source` (a snapshot or a
/// live map) as the errors name it.
pub(crate) struct MapVisitor<T, K, V>(Source, Produces<T, K, V>);

impl<T, K, V> MapVisitor<T, K, V> {
    pub(crate) fn new(source: Source) -> Self {
        Self(source, PhantomData)
    }
}

impl<'de, T, K, V> Visitor<'de> for MapVisitor<T, K, V>
where
    T: Sink<K, V> + Default,
    K: de::Deserialize<'de>,
    V: de::Deserialize<'de>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map with unique keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<T, A::Error> {
        let mut out = T::default();
        let mut index = 0;
        while let Some((key, value)) = access.next_entry::<K, V>()? {
            if !out.insert(key, value) {
                return Err(duplicate_key(self.0, index));
            }
            index += 1;
        }
        Ok(out)
    }
}

/// Decodes a serde sequence of `(key, value)` pairs into a fresh `T`.
pub(crate) struct SeqVisitor<T, K, V>(Produces<T, K, V>);

impl<T, K, V> SeqVisitor<T, K, V> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, T, K, V> Visitor<'de> for SeqVisitor<T, K, V>
where
    T: Sink<K, V> + Default,
    K: de::Deserialize<'de>,
    V: de::Deserialize<'de>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of [key, value] pairs with unique keys")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<T, A::Error> {
        let mut out = T::default();
        let mut index = 0;
        while let Some((key, value)) = access.next_element::<(K, V)>()? {
            if !out.insert(key, value) {
                return Err(duplicate_key(Source::Seq, index));
            }
            index += 1;
        }
        Ok(out)
    }
}
