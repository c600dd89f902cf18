//! `syncmap-benches` will hold the criterion benchmarks: Go's own `sync.Map` benchmark suite
//! ported faithfully, run over every backend and the Rust peers. It is empty until that work
//! lands (see the project's benchmarks issue).
