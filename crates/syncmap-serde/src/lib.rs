//! `syncmap-serde` will hold serde support for every backend: owned snapshots of a live map,
//! restorable into any backend, and `#[serde(with = ...)]` modules. It is empty until that work
//! lands (see the project's serde issue).
