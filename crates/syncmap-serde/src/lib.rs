//! serde support for every `syncmap` backend: owned snapshots of a live map, restorable into
//! any backend, and `#[serde(with = ...)]` modules for live maps held in struct fields.
//!
//! Rust's orphan rule keeps this crate from implementing `Serialize` for
//! `syncmap_core::SyncMap` (both are foreign here), and it works for any
//! [`ConcurrentMap`](syncmap_core::ConcurrentMap) anyway, so it offers:
//!
//! * [`Snapshot<K, V>`]: an owned copy taken from a live map with [`Snapshot::of`] (keys and
//!   values are cloned), serializable as a map, restorable with [`Snapshot::into_map`] into a new
//!   map of any backend;
//! * [`map`] and [`seq`]: `#[serde(with = "syncmap_serde::map")]` (a serde map) or
//!   `#[serde(with = "syncmap_serde::seq")]` (a sequence of pairs, for keys JSON cannot use as
//!   object keys) on a field whose type is a live map;
//! * [`postcard`] (feature `postcard`, off by default): strict helpers for the compact binary
//!   format, which reject trailing bytes and keep this crate's error messages.
//!
//! # Features
//!
//! The crate itself works with any serde format and needs no feature. The `postcard` feature
//! adds the [`postcard`] module (and the postcard dependency); it is off by default so that a
//! user of another format does not compile postcard. Enable it with
//! `syncmap-serde = { version = "0.1", features = ["postcard"] }`.
//!
//! # Consistency
//!
//! A snapshot is one [`range`](syncmap_core::ConcurrentMap::range) call, not an atomic copy. With
//! concurrent writers it holds each key at most once, with some value the key had during the
//! call, and every key that had a value for the whole call. The entry count handed to the
//! serializer is the number of entries then written (it is not `len()`, which can disagree with
//! a concurrent iteration). See [`Snapshot`](Snapshot#what-a-snapshot-holds).
//!
//! # Bad input
//!
//! Deserializing always fills a fresh map (or snapshot), and hands it out only when the whole
//! input was valid; on error it is dropped. Each problem is a serde error of the format:
//!
//! | input | JSON (`serde_json`) | postcard ([`postcard::from_bytes`]) |
//! |---|---|---|
//! | a key twice | `duplicate key: entry 1 (counting from 0) repeats an earlier key, and a snapshot holds each key once`; read through [`map`] or [`seq`], it ends ``and a live map read with `syncmap_serde::map` holds each key once`` (or `seq`), and [`seq`] counts pairs (`pair 1`) | the same message |
//! | wrong type | `invalid type: string "x", expected u32` | caught when the bytes are invalid for the type (postcard is not self-describing) |
//! | truncated | `EOF while parsing ...` | `Hit the end of buffer, expected more data` |
//! | trailing data | `trailing characters` | `trailing data: N byte(s) after the end of the value` |
//!
//! No input makes these functions panic.
//!
//! # Examples
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use syncmap_epoch::SyncMap;
//! use syncmap_serde::Snapshot;
//!
//! let live: SyncMap<String, u64> = SyncMap::new();
//! live.store("requests".to_string(), 10);
//!
//! // An owned copy, taken while other threads keep reading and writing: each key once.
//! let snapshot = Snapshot::of(&live);
//! let json = serde_json::to_string(&snapshot).unwrap();
//! assert_eq!(json, r#"{"requests":10}"#);
//!
//! // Restore into a new map of any backend. Bad input is an error, never a partial map.
//! let restored: syncmap_arcswap::SyncMap<String, u64> =
//!     serde_json::from_str::<Snapshot<String, u64>>(&json).unwrap().into_map();
//! assert_eq!(*restored.load("requests").unwrap(), 10);
//! let err = serde_json::from_str::<Snapshot<String, u64>>(r#"{"a":1,"a":2}"#).unwrap_err();
//! assert!(err.to_string().starts_with("duplicate key"));
//!
//! // A live map as a struct field.
//! #[derive(Serialize, Deserialize)]
//! struct Stats {
//!     #[serde(with = "syncmap_serde::map")]
//!     counters: SyncMap<String, u64>,
//! }
//! let stats: Stats = serde_json::from_str(r#"{"counters":{"errors":2}}"#).unwrap();
//! assert_eq!(stats.counters.load("errors").as_deref(), Some(&2));
//! ```
//!
//! With the `postcard` feature, [`postcard`]'s example does the same in the compact binary
//! format. The crate's `examples/persist/` (feature `postcard`) saves a snapshot to a file atomically (temporary file,
//! fsync, rename, fsync of the directory) and loads it back.
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without the `postcard` feature the module is absent: its links point to the published docs.
#![cfg_attr(
    not(feature = "postcard"),
    doc = "",
    doc = "[`postcard`]: https://docs.rs/syncmap-serde/latest/syncmap_serde/postcard/index.html",
    doc = "[`postcard::from_bytes`]: https://docs.rs/syncmap-serde/latest/syncmap_serde/postcard/fn.from_bytes.html"
)]

/// This crate's `README.md`, whose example runs as a doc test (it ships in the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod de;
pub mod map;
#[cfg(feature = "postcard")]
pub mod postcard;
pub mod seq;
mod snapshot;

pub use snapshot::Snapshot;
