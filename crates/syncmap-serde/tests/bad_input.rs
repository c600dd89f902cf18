//! Bad input, for every backend and both formats: a repeated key, a wrong type, truncated and
//! trailing data each give an error naming the problem, never a panic, and no map is handed out
//! (the partly filled one is dropped: every value it took is freed before the error returns).

mod common;

use std::cell::Cell;

use common::for_each_backend;
use proptest::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use syncmap_core::ConcurrentMap;
use syncmap_serde::{Snapshot, postcard};

/// Each of these inputs holds the key "a" twice (JSON), for a map of `String -> u32`.
const JSON_DUPLICATES: [&str; 3] = [
    r#"{"a":1,"a":2}"#,
    r#"{"a":1,"b":2,"a":1}"#,
    r#"{"x":0,"y":0,"a":1,"z":0,"a":2}"#,
];

/// What a repeated key was decoded into: its error names it.
#[derive(Clone, Copy, Debug)]
enum Decoded {
    /// A `Snapshot`.
    Snapshot,
    /// A live map through `#[serde(with = "syncmap_serde::map")]`.
    Map,
    /// A live map through `#[serde(with = "syncmap_serde::seq")]`.
    Seq,
}

/// The whole message of a repeated key at `entry`, as `decoded` names it.
fn duplicate_message(decoded: Decoded, entry: usize) -> String {
    match decoded {
        Decoded::Snapshot => format!(
            "duplicate key: entry {entry} (counting from 0) repeats an earlier key, and a \
             snapshot holds each key once"
        ),
        Decoded::Map => format!(
            "duplicate key: entry {entry} (counting from 0) repeats an earlier key, and a live \
             map read with `syncmap_serde::map` holds each key once"
        ),
        Decoded::Seq => format!(
            "duplicate key: pair {entry} (counting from 0) repeats an earlier key, and a live \
             map read with `syncmap_serde::seq` holds each key once"
        ),
    }
}

/// `message` is exactly the duplicate-key message for `decoded` at `entry` (serde_json appends
/// where it stopped, ` at line L column C`; postcard's strict helper keeps the message as is).
fn assert_duplicate(message: &str, decoded: Decoded, entry: usize) {
    let expected = duplicate_message(decoded, entry);
    let rest = message.strip_prefix(&expected);
    assert!(
        rest.is_some_and(|rest| rest.is_empty() || rest.starts_with(" at line ")),
        "got:      {message}\nexpected: {expected}"
    );
}

/// A struct holding a live map (`map` module) next to other fields.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "M: ConcurrentMap<String, u32>",
    deserialize = "M: ConcurrentMap<String, u32> + Default"
))]
struct Holder<M> {
    #[serde(with = "syncmap_serde::map")]
    map: M,
}

/// Same, with the `seq` module.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "M: ConcurrentMap<String, u32>",
    deserialize = "M: ConcurrentMap<String, u32> + Default"
))]
struct SeqHolder<M> {
    #[serde(with = "syncmap_serde::seq")]
    map: M,
}

fn duplicates_json<M: ConcurrentMap<String, u32> + Default>() {
    let entries = [1, 2, 4];
    for (input, entry) in JSON_DUPLICATES.iter().zip(entries) {
        let err = serde_json::from_str::<Snapshot<String, u32>>(input).unwrap_err();
        assert_duplicate(&err.to_string(), Decoded::Snapshot, entry);
        // serde_json adds where it stopped.
        assert!(err.to_string().contains("at line 1 column"), "{err}");

        let err = serde_json::from_str::<Holder<M>>(&format!(r#"{{"map":{input}}}"#))
            .err()
            .unwrap();
        assert_duplicate(&err.to_string(), Decoded::Map, entry);

        // The module called directly, without a struct around it.
        let mut de = serde_json::Deserializer::from_str(input);
        let err = syncmap_serde::map::deserialize::<M, String, u32, _>(&mut de)
            .err()
            .unwrap();
        assert_duplicate(&err.to_string(), Decoded::Map, entry);
    }
    let err = serde_json::from_str::<SeqHolder<M>>(r#"{"map":[["a",1],["b",2],["a",3]]}"#)
        .err()
        .unwrap();
    assert_duplicate(&err.to_string(), Decoded::Seq, 2);
}

fn duplicates_postcard<M: ConcurrentMap<String, u32> + Default>() {
    // postcard encodes a map exactly as a sequence of pairs, so a Vec of pairs writes a map
    // with a repeated key.
    let pairs = vec![("a", 1u32), ("b", 2), ("a", 3)];
    let bytes = ::postcard::to_allocvec(&pairs).unwrap();

    let err = postcard::from_bytes::<Snapshot<String, u32>>(&bytes).unwrap_err();
    assert!(matches!(err, postcard::Error::Message(_)), "{err:?}");
    assert_duplicate(&err.to_string(), Decoded::Snapshot, 2);
    let err = postcard::from_bytes::<Holder<M>>(&bytes).err().unwrap();
    assert_duplicate(&err.to_string(), Decoded::Map, 2);
    let err = postcard::from_bytes::<SeqHolder<M>>(&bytes).err().unwrap();
    assert_duplicate(&err.to_string(), Decoded::Seq, 2);

    // postcard's own decoder drops the message: the reason the strict helper exists.
    let err = ::postcard::from_bytes::<Snapshot<String, u32>>(&bytes).unwrap_err();
    assert_eq!(err, ::postcard::Error::SerdeDeCustom);
}

fn wrong_types_json<M: ConcurrentMap<String, u32> + Default>() {
    let cases = [
        (r#"{"a":"x"}"#, r#"invalid type: string "x", expected u32"#),
        (r#"{"a":-1}"#, "invalid value: integer `-1`, expected u32"),
        (
            r#"[["a",1]]"#,
            "invalid type: sequence, expected a map with unique keys",
        ),
        (
            "7",
            "invalid type: integer `7`, expected a map with unique keys",
        ),
        (
            "null",
            "invalid type: null, expected a map with unique keys",
        ),
    ];
    for (input, expected) in cases {
        let err = serde_json::from_str::<Snapshot<String, u32>>(input).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{input}: {err}");
        let err = serde_json::from_str::<Holder<M>>(&format!(r#"{{"map":{input}}}"#))
            .err()
            .unwrap();
        assert!(err.to_string().starts_with(expected), "{input}: {err}");
    }
    // Integer keys are JSON strings; one that is not a number is refused.
    let err = serde_json::from_str::<Snapshot<u32, u32>>(r#"{"1":1,"one":2}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid value: expected key to be a number in quotes"),
        "{err}"
    );
    // The seq module wants pairs, not a map.
    let err = serde_json::from_str::<SeqHolder<M>>(r#"{"map":{"a":1}}"#)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("invalid type: map, expected a sequence of [key, value] pairs"),
        "{err}"
    );
}

fn wrong_types_postcard<M: ConcurrentMap<String, u32> + Default>() {
    // The key should be a string; 0xff is not UTF-8.
    let err = postcard::from_bytes::<Snapshot<String, u32>>(&[1, 1, 0xff, 1]).unwrap_err();
    assert_eq!(
        err,
        postcard::Error::Postcard(::postcard::Error::DeserializeBadUtf8)
    );
    // The value should be a bool; 2 is not one.
    let err = postcard::from_bytes::<Snapshot<u8, bool>>(&[1, 1, 2]).unwrap_err();
    assert_eq!(
        err,
        postcard::Error::Postcard(::postcard::Error::DeserializeBadBool)
    );
    // A u32 varint longer than five bytes.
    let err = postcard::from_bytes::<Holder<M>>(&[1, 1, b'a', 0xff, 0xff, 0xff, 0xff, 0xff, 1])
        .err()
        .unwrap();
    assert_eq!(
        err,
        postcard::Error::Postcard(::postcard::Error::DeserializeBadVarint)
    );
}

fn truncated<M: ConcurrentMap<String, u32> + Default>() {
    let map = M::default();
    for (i, k) in ["alpha", "beta", "gamma"].into_iter().enumerate() {
        map.store(k.to_string(), 1000 * i as u32);
    }
    let holder = Holder { map };

    // Every proper prefix of a valid document is an error that says the input ended.
    let json = serde_json::to_string(&holder).unwrap();
    for end in 0..json.len() {
        let err = serde_json::from_str::<Holder<M>>(&json[..end])
            .err()
            .unwrap();
        assert!(err.is_eof(), "{end}: {err}");
        assert!(
            err.to_string().starts_with("EOF while parsing"),
            "{end}: {err}"
        );
    }
    let bytes = postcard::to_vec(&holder).unwrap();
    for end in 0..bytes.len() {
        let err = postcard::from_bytes::<Holder<M>>(&bytes[..end])
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "Hit the end of buffer, expected more data",
            "{end}"
        );
    }
    // A count far beyond the input: an error, without reserving memory for it first.
    let huge = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, b'a', 1,
    ];
    let err = postcard::from_bytes::<Holder<M>>(&huge).err().unwrap();
    assert_eq!(
        err,
        postcard::Error::Postcard(::postcard::Error::DeserializeUnexpectedEnd)
    );
}

fn trailing<M: ConcurrentMap<String, u32> + Default>() {
    for input in [r#"{"map":{"a":1}} x"#, r#"{"map":{"a":1}}{"map":{}}"#] {
        let err = serde_json::from_str::<Holder<M>>(input).err().unwrap();
        assert!(err.to_string().starts_with("trailing characters"), "{err}");
    }
    let err = serde_json::from_str::<Snapshot<String, u32>>(r#"{"a":1}]"#).unwrap_err();
    assert!(err.to_string().starts_with("trailing characters"), "{err}");

    let mut bytes = postcard::to_vec(&Snapshot::of(&M::default())).unwrap();
    bytes.extend([0, 0]);
    let err = postcard::from_bytes::<Holder<M>>(&bytes).err().unwrap();
    assert_eq!(err, postcard::Error::TrailingBytes { count: 2 });
    assert_eq!(
        err.to_string(),
        "trailing data: 2 byte(s) after the end of the value"
    );
}

thread_local! {
    /// Live `Counted` values on this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// A value that counts its live instances, to see that a failed decode frees what it built.
#[derive(Debug, PartialEq, Eq, Serialize)]
struct Counted(u32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        LIVE.with(|n| n.set(n.get() + 1));
        Counted(self.0)
    }
}

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        LIVE.with(|n| n.set(n.get() + 1));
        Ok(Counted(v))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.with(|n| n.set(n.get() - 1));
    }
}

/// A failed decode hands out nothing, and drops the partly filled map (with every value it held)
/// before returning the error.
fn failure_frees_partial_map<M: ConcurrentMap<String, Counted> + Default>() {
    #[derive(Deserialize)]
    #[serde(bound(deserialize = "M: ConcurrentMap<String, Counted> + Default"))]
    struct H<M> {
        #[serde(with = "syncmap_serde::map")]
        #[allow(dead_code)] // only the error is looked at
        map: M,
    }
    LIVE.with(|n| n.set(0));
    let inputs = [
        r#"{"map":{"a":1,"b":2,"c":3,"a":4}}"#, // duplicate after three values
        r#"{"map":{"a":1,"b":2,"c":"x"}}"#,     // wrong type after two
        r#"{"map":{"a":1,"b":2,"c":3"#,         // truncated after three
        r#"{"map":{"a":1,"b":2}} trailing"#,    // a whole map, then junk
    ];
    for input in inputs {
        assert!(serde_json::from_str::<H<M>>(input).is_err(), "{input}");
        assert_eq!(LIVE.with(Cell::get), 0, "values still alive after {input}");
        assert!(serde_json::from_str::<Snapshot<String, Counted>>(&input[7..]).is_err());
        assert_eq!(LIVE.with(Cell::get), 0, "values still alive after {input}");
    }
    // The counter does count: a successful decode keeps its values alive.
    let ok = serde_json::from_str::<H<M>>(r#"{"map":{"a":1,"b":2}}"#).unwrap();
    assert_eq!(LIVE.with(Cell::get), 2);
    drop(ok);
    assert_eq!(LIVE.with(Cell::get), 0);
}

/// What the fuzz tests decode into.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "M: ConcurrentMap<String, Vec<u16>> + Default"))]
#[serde(bound(serialize = "M: ConcurrentMap<String, Vec<u16>>"))]
struct Fuzz<M> {
    #[serde(with = "syncmap_serde::map")]
    map: M,
    #[serde(with = "syncmap_serde::seq")]
    pairs: M,
}

macro_rules! bad_input_tests {
    ($($backend:ident => $map:ty;)*) => {$(
        mod $backend {
            use super::*;

            #[test]
            fn duplicate_keys_json() {
                duplicates_json::<$map>();
            }

            #[test]
            fn duplicate_keys_postcard() {
                duplicates_postcard::<$map>();
            }

            #[test]
            fn wrong_types_json() {
                super::wrong_types_json::<$map>();
            }

            #[test]
            fn wrong_types_postcard() {
                super::wrong_types_postcard::<$map>();
            }

            #[test]
            fn truncated_input() {
                truncated::<$map>();
            }

            #[test]
            fn trailing_data() {
                trailing::<$map>();
            }

            #[test]
            fn failed_decode_frees_the_partial_map() {
                failure_frees_partial_map::<$map>();
            }

            proptest! {
                /// Arbitrary bytes never panic; whatever decodes re-encodes to the same bytes
                /// (the decode was exact and complete) and has distinct keys.
                #[test]
                fn arbitrary_postcard_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                    if let Ok(value) = postcard::from_bytes::<Fuzz<$map>>(&bytes) {
                        prop_assert_eq!(value.map.len(), common::contents(&value.map).len());
                    }
                    if let Ok(snapshot) = postcard::from_bytes::<Snapshot<u8, u16>>(&bytes) {
                        let mut keys: Vec<u8> = snapshot.iter().map(|(k, _)| *k).collect();
                        keys.sort_unstable();
                        keys.dedup();
                        prop_assert_eq!(keys.len(), snapshot.len());
                        prop_assert_eq!(postcard::to_vec(&snapshot).unwrap(), bytes);
                    }
                }

                /// Arbitrary JSON-ish text never panics.
                #[test]
                fn arbitrary_json_never_panics(text in r#"[{}\[\]"a-c0-9:, ]{0,40}"#) {
                    let _ = serde_json::from_str::<Fuzz<$map>>(&text);
                    if let Ok(snapshot) = serde_json::from_str::<Snapshot<String, u16>>(&text) {
                        let again: Snapshot<String, u16> =
                            serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap();
                        prop_assert_eq!(again.len(), snapshot.len());
                    }
                }
            }
        }
    )*};
}

for_each_backend!(bad_input_tests);
