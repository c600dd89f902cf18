//! `syncmap-testsuite` will hold the conformance suite that every backend runs: generic test
//! bodies over `syncmap_core::ConcurrentMap` and one macro that expands them into `#[test]`s.
//! It is empty until that work lands (see the project's conformance issue).
