//! Benchmarks of syncmap: Go's own `sync.Map` benchmark suite (`src/sync/map_bench_test.go`),
//! ported faithfully, run over every syncmap backend and the maps a Rust user would pick
//! instead, plus a read-mostly workload, its thread scaling, and memory per entry.
//!
//! * [`maps`]: the maps under test behind one interface; every map hashes with foldhash.
//! * [`harness`]: Go's `b.RunParallel`, ported (ns/op = parallel wall time / total operations).
//! * [`workloads`]: the 24 Go benchmarks and `ReadMostly`.
//! * [`config`]: the knobs `cargo xtask bench` sets through the environment.
//!
//! Run everything with `cargo xtask bench [--quick]`, which also writes the report. The
//! criterion targets are `sync_map` (timings) and `memory` (bytes per entry).

/// The workspace `README.md`, whose examples run as doc tests here: this crate is never
/// published, so the file outside every package may be read (each published crate tests its own
/// `README.md` the same way).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;

pub mod config;
pub mod harness;
pub mod maps;
pub mod workloads;
